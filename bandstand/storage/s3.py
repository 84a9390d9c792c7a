"""Files in an S3-compatible bucket: AWS, Cloudflare R2, Tigris, Leapcell, MinIO...

Objects stay private (no ACL is ever sent, so the bucket's private default applies): the app
reads them with its own keys and serves them to staff at `/media/`.
"""

from __future__ import annotations

import asyncio
import functools
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

# aiobotocore and botocore ship no type information; types-aiobotocore-s3 types the client.
from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    ClientError,
    NoCredentialsError,
)

from bandstand.storage.base import KEY, FileMissing, Storage, StoredFile, check_folder, check_key

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from bandstand.settings import Settings

# The codes S3 and the services copying it use for "no such object".
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
# Tigris serves buckets made since February 2025 at virtual-hosted addresses only
# (https://bucket.t3.storage.dev/key).
VIRTUAL_HOSTED_ONLY = ("t3.storage.dev", "fly.storage.tigris.dev")


class S3Storage(Storage):
    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self._client_options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            # None and None: botocore's own chain (environment, profile, container or
            # instance role).
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            "config": client_config(endpoint_url),
        }
        self._resolve_credentials = access_key_id is None and secret_access_key is None
        self._session: Any = None
        self._client: S3Client | None = None
        self._exit_stack: AsyncExitStack | None = None
        self._lock = anyio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        return cls(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region or None,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=settings.s3_secret_access_key or None,
        )

    async def save(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        client = await self._get_client()
        await client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def load(self, key: str) -> StoredFile:
        check_key(key)
        client = await self._get_client()
        try:
            response = await client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error_code(error) in MISSING:
                raise FileMissing(key) from None
            raise
        async with response["Body"] as body:
            data = await body.read()
        content_type = response.get("ContentType") or "application/octet-stream"
        return StoredFile(data=data, content_type=content_type)

    async def delete(self, key: str) -> None:
        check_key(key)
        client = await self._get_client()
        try:
            await client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            # S3 answers 204 for a missing object; a few compatible services answer 404.
            if error_code(error) not in MISSING:
                raise

    async def keys(self, folder: str) -> list[str]:
        prefix = check_folder(folder) + "/"
        client = await self._get_client()
        found: list[str] = []
        paginator = client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            # A bucket shared with something else may hold keys this app never made.
            found.extend(
                item["Key"] for item in page.get("Contents", []) if KEY.fullmatch(item["Key"])
            )
        return sorted(found)

    async def aclose(self) -> None:
        async with self._lock:
            stack, self._exit_stack, self._client = self._exit_stack, None, None
            if stack is not None:
                await stack.aclose()

    async def _get_client(self) -> S3Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await self._open_client()
        return self._client

    async def _open_client(self) -> S3Client:
        if self._session is None:
            prepare = functools.partial(prepared_session, self._resolve_credentials)
            self._session = await anyio.to_thread.run_sync(prepare)
        stack = AsyncExitStack()
        client: S3Client = await stack.enter_async_context(
            self._session.create_client("s3", **self._client_options)
        )
        self._exit_stack = stack
        return client


def client_config(endpoint_url: str | None) -> Any:
    options: dict[str, Any] = {
        # A stalled service fails the request in seconds instead of holding the worker.
        "connect_timeout": 5,
        "read_timeout": 30,
        "retries": {"mode": "standard", "max_attempts": 3},
        "max_pool_connections": 20,
    }
    if endpoint_url:
        # For any endpoint but AWS's, botocore addresses path-style (https://host/bucket/key),
        # which MinIO needs unless set up for wildcard DNS, and R2 and Leapcell accept.
        if urlsplit(endpoint_url).hostname in VIRTUAL_HOSTED_ONLY:
            options["s3"] = {"addressing_style": "virtual"}
        # botocore 1.36+ adds CRC checksum headers to every upload, which some S3-compatible
        # services refuse; TLS still protects the bytes on the way.
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    return AioConfig(**options)


def prepared_session(resolve_credentials: bool = False) -> Any:
    """A botocore session that has already read from disk what a client needs: the AWS config
    files, the S3 service models (megabytes of JSON) and, if asked, the credentials of the
    default chain. Call it in a worker thread, never on the event loop."""
    session = get_session()
    session.get_scoped_config()
    session.warm_up_loader_caches("s3")
    if resolve_credentials:
        walk_credential_chain(session)
    return session


def walk_credential_chain(session: Any) -> None:
    # aiobotocore's chain reads ~/.aws/credentials, ~/.aws/config and ~/.boto with plain file
    # calls inside its coroutines, so it runs here, on a loop of this worker thread's own. The
    # session keeps what it finds; a role's credentials later refresh over HTTP, on the app's
    # loop.
    if asyncio.run(session.get_credentials()) is None:
        # Now, not at the first request: the client would walk the chain again, on the loop.
        raise NoCredentialsError()


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
