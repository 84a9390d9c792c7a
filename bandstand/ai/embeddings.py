"""Text to vectors: any OpenAI-compatible `/embeddings` endpoint (EMBEDDING_* settings), or,
with no EMBEDDING_API_KEY, a built-in offline embedder that needs no network and no weights.

Every request is a call in the AI call log (`kind` "embedding"), held to no budget: embedding
is the site's work (a document's ingest), not a user's question.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from bandstand.ai.calls import Call
from bandstand.ai.providers import TLS_CONTEXT, estimate_tokens, refusal_of
from bandstand.settings import Settings

Vector = list[float]
_WORDS = re.compile(r"\w+")


class EmbeddingError(Exception):
    """The embedder failed; the message says why, for the person who asked for the work."""


class Embedder(Protocol):
    name: str
    model: str
    dimensions: int

    async def embed(self, texts: Sequence[str], user_id: int | None = None) -> list[Vector]:
        """One vector of `dimensions` per text, in order, each of length 1 (0 for a text with
        no words)."""
        ...


class OfflineEmbedder:
    """Words and pairs of neighbouring words, hashed into `dimensions` buckets (the hashing
    trick), counted sublinearly and normalised. Deterministic, instant, with no model: two texts
    are near when they share words or pairs of words, whatever they mean. "Invoice" and
    "invoices" are different words to it, and it knows no synonyms. For tests and `make run`;
    a real model for anything else (docs/ai.md)."""

    name = "offline embedder"
    model = "offline"

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions

    async def embed(self, texts: Sequence[str], user_id: int | None = None) -> list[Vector]:
        return [self.vector(text) for text in texts]

    def vector(self, text: str) -> Vector:
        words = _WORDS.findall(text.casefold())
        features = words + [f"{first} {second}" for first, second in itertools.pairwise(words)]
        counts: dict[int, float] = {}
        for feature in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dimensions
            sign = 1.0 if digest[4] & 1 else -1.0
            counts[bucket] = counts.get(bucket, 0.0) + sign
        vector = [0.0] * self.dimensions
        for bucket, count in counts.items():
            vector[bucket] = math.copysign(1 + math.log(abs(count)), count) if count else 0.0
        return _normalised(vector)


class OpenAICompatibleEmbedder:
    """`POST {EMBEDDING_BASE_URL}/embeddings`, EMBEDDING_BATCH texts a request."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_url = settings.embedding_base_url.rstrip("/")
        self.model = settings.embedding_model
        self.dimensions = settings.embedding_dimensions
        self.name = f"{self.model} at {urlsplit(self.base_url).hostname}"
        self.timeout = httpx.Timeout(
            settings.llm_read_timeout_seconds, connect=settings.llm_connect_timeout_seconds
        )

    async def embed(self, texts: Sequence[str], user_id: int | None = None) -> list[Vector]:
        vectors: list[Vector] = []
        batch = self.settings.embedding_batch
        async with httpx.AsyncClient(timeout=self.timeout, verify=TLS_CONTEXT) as client:
            for start in range(0, len(texts), batch):
                vectors += await self._request(client, texts[start : start + batch], user_id)
        return vectors

    async def _request(
        self, client: httpx.AsyncClient, texts: Sequence[str], user_id: int | None
    ) -> list[Vector]:
        call = Call(user_id, "embedding", self.model)
        call.usage.prompt_tokens = sum(estimate_tokens(text) for text in texts)
        body = {"model": self.model, "input": list(texts), "dimensions": self.dimensions}
        headers = {"authorization": f"Bearer {self.settings.embedding_api_key}"}
        try:
            response = await client.post(f"{self.base_url}/embeddings", json=body, headers=headers)
            if response.status_code != 200:
                raise EmbeddingError(refusal_of(response, response.content, "EMBEDDING_API_KEY"))
            vectors = self._vectors(response, len(texts), call)
        except httpx.TimeoutException:
            await call.record(self.settings, "failed", "timeout")
            raise EmbeddingError("The embedding provider did not answer in time.") from None
        except httpx.TransportError:
            await call.record(self.settings, "failed", "connection")
            raise EmbeddingError("The connection to the embedding provider failed.") from None
        except EmbeddingError as failure:
            await call.record(self.settings, "failed", str(failure))
            raise
        await call.record(self.settings, "complete")
        return vectors

    def _vectors(self, response: httpx.Response, count: int, call: Call) -> list[Vector]:
        try:
            answer = response.json()
            rows = sorted(answer["data"], key=lambda row: int(row["index"]))
            vectors = [[float(value) for value in row["embedding"]] for row in rows]
            if usage := answer.get("usage"):
                call.usage.prompt_tokens = int(usage["prompt_tokens"])
                call.usage.estimated = False
        except (ValueError, KeyError, TypeError):
            raise EmbeddingError(
                "The embedding provider sent something other than embeddings; check "
                "EMBEDDING_BASE_URL."
            ) from None
        if len(vectors) != count:
            raise EmbeddingError(f"The embedding provider sent {len(vectors)} of {count} vectors.")
        for vector in vectors:
            if len(vector) != self.dimensions:
                raise EmbeddingError(
                    f"The embedding model gives {len(vector)} dimensions, not "
                    f"EMBEDDING_DIMENSIONS={self.dimensions}: set that, or a model that takes "
                    "a `dimensions` parameter."
                )
        return [_normalised(vector) for vector in vectors]


def _normalised(vector: Vector) -> Vector:
    length = math.sqrt(sum(value * value for value in vector))
    return [value / length for value in vector] if length else vector


def embedder_for(settings: Settings) -> Embedder:
    if not settings.embedding_api_key:
        return OfflineEmbedder(settings.embedding_dimensions)
    return OpenAICompatibleEmbedder(settings)


def cosine(first: Vector, second: Vector) -> float:
    """Of two vectors of length 1, as every embedder here gives them."""
    return sum(a * b for a, b in zip(first, second, strict=True))
