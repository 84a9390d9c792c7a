"""Uploads can be stored: a probe file saved, read back and deleted through the configured
backend (the same code path as a photo upload)."""

from __future__ import annotations

import contextlib

import anyio

from bandstand.checks.findings import Finding
from bandstand.settings import Settings
from bandstand.storage.base import Storage, new_key
from bandstand.storage.filesystem import FileSystemStorage

TIMEOUT = 15.0
PROBE_FOLDER = "bandstand-check"

WRITABLE = "storage.I001"
NOT_WRITABLE = "storage.E001"
IDS = (WRITABLE, NOT_WRITABLE)


async def check_storage(
    storage: Storage, settings: Settings, *, seconds: float = TIMEOUT
) -> list[Finding]:
    where = _where(settings)
    key = new_key(PROBE_FOLDER, "txt")
    payload = f"written by piccolo project check: {key}".encode()
    try:
        with anyio.fail_after(seconds):
            await storage.save(key, payload, "text/plain")
            try:
                if (await storage.load(key)).data != payload:
                    raise ValueError("the file read back differs from the one saved")
            finally:
                await storage.delete(key)
    except Exception as error:  # noqa: BLE001 - whatever stops it is the finding
        return [
            Finding(
                NOT_WRITABLE,
                f"cannot store an upload in {where}: {type(error).__name__}: {error}",
                _hint(settings),
            )
        ]
    finally:
        await _remove_probe_folder(storage)
    return [Finding(WRITABLE, f"{where}: a file was saved, read back and deleted")]


def _where(settings: Settings) -> str:
    if settings.storage_backend == "database":
        return "the database (STORAGE_BACKEND=database, table media_file)"
    if settings.storage_backend == "s3":
        endpoint = settings.s3_endpoint_url or "AWS"
        return f"the S3 bucket {settings.s3_bucket} at {endpoint}"
    return f"the folder {settings.path(settings.media_root)} (MEDIA_ROOT)"


def _hint(settings: Settings) -> str:
    if settings.storage_backend == "database":
        return "run `piccolo migrations forwards all` (it creates the media_file table)"
    if settings.storage_backend == "s3":
        return (
            "check S3_BUCKET, S3_ENDPOINT_URL, S3_REGION and the keys: the bucket must exist "
            "and the keys allow PutObject, GetObject and DeleteObject"
        )
    return (
        "make MEDIA_ROOT a folder this user can create files in; on a PaaS whose disk is "
        "read-only or wiped on deploy, use STORAGE_BACKEND=database or s3"
    )


async def _remove_probe_folder(storage: Storage) -> None:
    # A folder saving made for the probe; left alone when it holds anything else.
    if isinstance(storage, FileSystemStorage):
        with contextlib.suppress(OSError):
            await anyio.Path(storage.root / PROBE_FOLDER).rmdir()
