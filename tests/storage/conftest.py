"""Each storage backend set up for the same tests: a folder, the suite's database, S3 (moto)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
import pytest

from bandstand.settings import get_settings
from bandstand.storage.backends import create_storage
from bandstand.storage.base import Storage
from bandstand.storage.tables import MediaFile
from tests.support.s3_server import all_keys, raw_s3, set_auth_enforced

if TYPE_CHECKING:
    pass

# The database backend uses the suite's database, so it runs on both passes; the others don't
# touch it.
BACKENDS = [
    pytest.param("filesystem", marks=pytest.mark.engine_independent),
    pytest.param("database"),
    pytest.param("s3", marks=pytest.mark.engine_independent),
]


class Backend(msgspec.Struct):
    name: str
    settings: dict[str, Any]
    """The changes for `build_app(**settings)` that put the app's files here."""
    tmp: Path

    def storage(self) -> Storage:
        """A storage on the same place as the app's: built the way the app builds its own."""
        return create_storage(msgspec.structs.replace(get_settings(), **self.settings))

    async def everything(self) -> list[str]:
        """Every name stored, read without the storage under test: for a folder, every file
        under the test's temporary folder, inside the media root or not."""
        if self.name == "filesystem":
            return await anyio.to_thread.run_sync(_files_under, self.tmp)
        if self.name == "database":
            return list(await MediaFile.select(MediaFile.key).output(as_list=True))
        async with raw_s3(self.settings) as client:
            return await all_keys(client, self.settings["s3_bucket"])


def _files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name: str = request.param
    if name == "filesystem":
        settings: dict[str, Any] = {
            "storage_backend": "filesystem",
            "media_root": str(tmp_path / "media"),
        }
    elif name == "database":
        request.getfixturevalue("clean_tables")
        settings = {"storage_backend": "database"}
    else:
        settings = request.getfixturevalue("s3_server")
        request.getfixturevalue("empty_bucket")
    return Backend(name=name, settings=settings, tmp=tmp_path)


@pytest.fixture
async def storage(backend: Backend) -> AsyncIterator[Storage]:
    storage = backend.storage()
    yield storage
    await storage.aclose()


@pytest.fixture
def moto_without_auth(s3_server: dict[str, str]) -> Iterator[None]:
    set_auth_enforced(s3_server["s3_endpoint_url"], enforced=False)
    try:
        yield
    finally:
        set_auth_enforced(s3_server["s3_endpoint_url"], enforced=True)
