"""Uploads can be stored: a probe file through the configured backend, and nothing left."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from bandstand.storage.tables import MediaFile
from tests.checks.helpers import run_check


async def test_the_database_backend_stores_the_probe_and_keeps_nothing() -> None:
    run = await run_check(STORAGE_BACKEND="database")

    assert run.level("storage.I001") == "info"
    assert run.returncode == 0, run.explain()
    assert await MediaFile.count().where(MediaFile.key.like("bandstand-check/%")) == 0


@pytest.mark.engine_independent
async def test_a_folder_stores_the_probe_and_keeps_nothing(tmp_path: Path) -> None:
    media = tmp_path / "media"
    run = await run_check(MEDIA_ROOT=str(media))

    assert run.level("storage.I001") == "info"
    assert run.returncode == 0, run.explain()
    assert [path async for path in anyio.Path(media).rglob("*")] == []


@pytest.mark.engine_independent
async def test_a_media_root_that_cannot_hold_files_is_an_error(tmp_path: Path) -> None:
    # A file where the folder should be: saving fails for any user. (A read-only folder does
    # not stop root, whom the tests may run as.)
    media = tmp_path / "not-a-folder"
    await anyio.Path(media).write_text("")

    run = await run_check(MEDIA_ROOT=str(media))

    assert run.level("storage.E001") == "error"
    assert str(media) in run.findings["storage.E001"].message
    assert "MEDIA_ROOT" in (run.findings["storage.E001"].hint or "")
    assert run.returncode == 1
