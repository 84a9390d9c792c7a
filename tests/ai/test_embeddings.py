"""Embeddings: the offline embedder's vectors, and an OpenAI-compatible `/embeddings` API over
real HTTP (the fake LLM): batches, order, the call log, and failures in words."""

from __future__ import annotations

import hashlib
import math
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from bandstand.ai.embeddings import (
    EmbeddingError,
    OfflineEmbedder,
    OpenAICompatibleEmbedder,
    cosine,
    embedder_for,
)
from bandstand.ai.tables import AiCall
from bandstand.settings import Settings, get_settings
from bandstand.testing.accounts import People
from tests.support.fake_llm import FakeLLM


def settings(**changes: Any) -> Settings:
    return msgspec.structs.replace(get_settings(), **changes)


def over_the_wire(fake_llm: FakeLLM, **changes: Any) -> OpenAICompatibleEmbedder:
    values = {
        "embedding_base_url": fake_llm.base_url,
        "embedding_api_key": "test-key",
        "embedding_model": "embed",
        "embedding_dimensions": 8,
        **changes,
    }
    embedder = embedder_for(settings(**values))
    assert isinstance(embedder, OpenAICompatibleEmbedder)
    return embedder


async def test_the_offline_embedder_is_deterministic_and_near_for_shared_words() -> None:
    embedder = embedder_for(settings(embedding_dimensions=64))
    assert isinstance(embedder, OfflineEmbedder)
    query, near, far, again, empty = await embedder.embed(
        [
            "How loud do cats purr?",
            "Cats purr loudly when they are content.",
            "Tax returns are due at the end of April.",
            "HOW LOUD do CATS purr",
            "  ...  ",
        ]
    )

    assert [len(vector) for vector in (query, near, far)] == [64, 64, 64]
    assert math.isclose(cosine(query, query), 1.0)
    assert cosine(query, near) > 0.3 > cosine(query, far)
    assert again == query  # case and punctuation aside, the same words
    assert empty == [0.0] * 64
    # The same vectors in another process: the buckets come from a digest, not hash().
    assert await OfflineEmbedder(64).embed(["How loud do cats purr?"]) == [query]


async def test_an_api_is_asked_in_batches_and_its_vectors_kept_in_order(
    fake_llm: FakeLLM, people: People
) -> None:
    embedder = over_the_wire(fake_llm, embedding_batch=2, ai_prices=("embed=20/0",))
    texts = ["one", "two words", "three words here", "four"]

    vectors = await embedder.embed(texts, user_id=people.plain)

    assert [request["input"] for request in fake_llm.requests] == [texts[:2], texts[2:]]
    assert all(request["dimensions"] == 8 for request in fake_llm.requests)
    # The fake answers in reverse order, each with its index; and unnormalised.
    for text, vector in zip(texts, vectors, strict=True):
        raw = [byte / 255 - 0.5 for byte in hashlib.shake_128(text.encode()).digest(8)]
        length = math.sqrt(sum(value * value for value in raw))
        assert vector == pytest.approx([value / length for value in raw])
    calls = await AiCall.select(
        AiCall.user, AiCall.kind, AiCall.model, AiCall.prompt_tokens, AiCall.cost, AiCall.outcome
    ).order_by(AiCall.id)
    assert calls == [
        {
            "user": people.plain,
            "kind": "embedding",
            "model": "embed",
            "prompt_tokens": tokens,
            "cost": Decimal(tokens * 20) / 1_000_000,
            "outcome": "complete",
        }
        for tokens in (3, 4)  # the fake's word tokens
    ]


@pytest.mark.parametrize(
    ("model", "changes", "message"),
    [
        (
            "embed",
            {"embedding_api_key": "wrong"},
            "The provider refused the API key; check EMBEDDING_API_KEY (401: Invalid API key)",
        ),
        ("server-error", {}, "The provider failed (500: Upstream exploded)"),
        (
            "wrong-dimensions",
            {},
            "The embedding model gives 9 dimensions, not EMBEDDING_DIMENSIONS=8",
        ),
    ],
)
async def test_a_failure_is_told_in_words_and_logged(
    fake_llm: FakeLLM, clean_tables: None, model: str, changes: dict[str, Any], message: str
) -> None:
    embedder = over_the_wire(fake_llm, **changes)
    embedder.model = model

    with pytest.raises(EmbeddingError) as caught:
        await embedder.embed(["a text"])

    assert str(caught.value).startswith(message)
    assert await AiCall.select(AiCall.outcome, AiCall.error) == [
        {"outcome": "failed", "error": str(caught.value)}
    ]


async def test_an_unreachable_api_is_told_in_words(clean_tables: None) -> None:
    embedder = embedder_for(
        settings(embedding_base_url="http://127.0.0.1:9/v1", embedding_api_key="k")
    )
    with pytest.raises(EmbeddingError, match="The connection to the embedding provider failed"):
        await embedder.embed(["a text"])
