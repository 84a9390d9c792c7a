"""Staff upload, replace and remove registrants' photos, on each storage backend. The upload
answers at once; a job re-encodes it (here in the app's own process) and stores the photo."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from bandstand.settings import get_settings
from bandstand.storage.backends import create_storage
from bandstand.storage.base import Storage
from bandstand.testing.accounts import People, csrf_token, log_in
from bandstand.testing.apps import build_app, client_for
from project.webinars.tables import Registrant
from tests.support.waiting import until
from tests.webinars.conftest import image_bytes

BACKENDS = ["filesystem", "database", "s3"]


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The settings that put files in the given backend (a sync fixture: starting the S3
    server is blocking work, done before the test's event loop runs)."""
    changes: dict[str, Any] = {"storage_backend": request.param, "media_root": str(tmp_path)}
    if request.param == "s3":
        changes.update(request.getfixturevalue("s3_server"))
        request.getfixturevalue("empty_bucket")
    return changes


@pytest.fixture
async def site(
    backend_settings: dict[str, Any], people: People
) -> AsyncIterator[tuple[httpx.AsyncClient, Storage]]:
    """A staff member's client on an app storing files in the given backend, and that storage."""
    changes = backend_settings
    app = await build_app(jobs_in_process=True, **changes)
    storage = create_storage(msgspec.structs.replace(get_settings(), **changes))
    async with client_for(app) as client:
        await log_in(client, "staff")
        yield client, storage
    await storage.aclose()


@pytest.fixture
async def staff_client(people: People) -> AsyncIterator[httpx.AsyncClient]:
    """Staff on the suite's settings (files in its MEDIA_ROOT), jobs run by the app."""
    app = await build_app(jobs_in_process=True)
    async with client_for(app) as client:
        await log_in(client, "staff")
        yield client


async def upload(
    client: httpx.AsyncClient,
    registrant: int,
    content: bytes,
    filename: str = "me.png",
    content_type: str = "image/png",
) -> httpx.Response:
    """Upload, and once the upload is taken, wait for the job to be done with it."""
    token = await csrf_token(client)
    response = await client.post(
        f"/webinars/registrants/{registrant}/photo",
        data={"_csrf_token": token},
        files={"photo": (filename, content, content_type)},
    )
    if response.status_code == 303:
        await until(lambda: processed(client, registrant), seconds=30)
    return response


async def gone(storage: Storage, key: str) -> bool:
    return not await storage.exists(key)


async def processed(client: httpx.AsyncClient, registrant: int) -> bool:
    part = await client.get(f"/webinars/registrants/{registrant}/photo")
    return "Processing the new photo" not in part.text


async def photo_of(registrant: int) -> str | None:
    row = await Registrant.select(Registrant.photo).where(Registrant.id == registrant).first()
    assert row is not None
    photo: str | None = row["photo"]
    return photo


async def test_upload_shows_the_photo_and_serves_it(
    site: tuple[httpx.AsyncClient, Storage], registrant: int
) -> None:
    client, storage = site

    response = await upload(client, registrant, image_bytes("PNG"))

    assert response.status_code == 303, response.text
    key = await photo_of(registrant)
    assert key is not None
    assert key.startswith("registrants/")
    assert key.endswith(".png")
    assert await storage.exists(key)
    page = await client.get(f"/webinars/registrants/{registrant}")
    assert f'src="/media/{key}"' in page.text
    assert "Processing" not in page.text
    assert await storage.keys("uploads") == []  # the upload as sent is gone
    served = await client.get(f"/media/{key}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == (await storage.load(key)).data


async def test_replacing_removes_the_old_file_and_removing_deletes_it(
    site: tuple[httpx.AsyncClient, Storage], registrant: int
) -> None:
    client, storage = site
    await upload(client, registrant, image_bytes("PNG"))
    first = await photo_of(registrant)
    assert first is not None

    await upload(client, registrant, image_bytes("JPEG", color="orange"), "new.jpg", "image/jpeg")
    second = await photo_of(registrant)

    assert second is not None
    assert second != first
    assert second.endswith(".jpg")
    # The job deletes the old file just after it commits the new one, which the page already
    # shows: the deletion may come a moment later.
    await until(lambda: gone(storage, first), seconds=10)
    assert await storage.exists(second)

    token = await csrf_token(client)
    response = await client.post(
        f"/webinars/registrants/{registrant}/photo/delete", data={"_csrf_token": token}
    )
    assert response.status_code == 303
    assert await photo_of(registrant) is None
    assert not await storage.exists(second)
    assert await storage.keys("registrants") == []


@pytest.mark.parametrize(
    ("content", "filename", "content_type", "status", "message"),
    [
        (
            b"<?php system($_GET['c']); ?>",
            "me.jpg",
            "image/jpeg",
            415,
            "is not a JPEG, PNG or WebP",
        ),
        (b"<html><script>alert(1)</script>", "me.png", "image/png", 415, "is not a JPEG"),
        (image_bytes("GIF"), "me.gif", "image/gif", 415, "is not a JPEG"),
        (image_bytes("PNG")[:20], "me.png", "image/png", 415, "damaged"),
        (b"", "me.png", "image/png", 400, "The file is empty."),
    ],
)
async def test_files_that_are_not_images_are_refused(
    staff_client: httpx.AsyncClient,
    registrant: int,
    content: bytes,
    filename: str,
    content_type: str,
    status: int,
    message: str,
) -> None:
    storage = create_storage(get_settings())
    # Other tests on this worker's storage may have left photos, or uploads queued for a job
    # that never runs: nothing is added to either.
    photos, uploads = await storage.keys("registrants"), await storage.keys("uploads")

    response = await upload(staff_client, registrant, content, filename, content_type)

    assert response.status_code == status
    assert message in response.text
    assert await photo_of(registrant) is None
    assert await storage.keys("registrants") == photos
    assert await storage.keys("uploads") == uploads


async def test_a_damaged_image_is_refused_by_the_job_and_the_old_photo_kept(
    site: tuple[httpx.AsyncClient, Storage], registrant: int
) -> None:
    client, storage = site
    await upload(client, registrant, image_bytes("PNG"))
    kept = await photo_of(registrant)

    # The header is whole, so the upload is taken; the pixels are missing, which only the
    # job's decoding finds.
    response = await upload(client, registrant, image_bytes("PNG")[:60])

    assert response.status_code == 303
    page = await client.get(f"/webinars/registrants/{registrant}")
    assert "The new photo was not used: The image is damaged" in page.text
    assert await photo_of(registrant) == kept
    assert await storage.keys("registrants") == [kept]
    assert await storage.keys("uploads") == []


async def test_the_upload_answers_before_any_job_has_run(
    client: httpx.AsyncClient, people: People, registrant: int
) -> None:
    # The suite's own app runs no jobs, and no worker is started: the job stays queued.
    await log_in(client, "staff")
    token = await csrf_token(client)
    response = await client.post(
        f"/webinars/registrants/{registrant}/photo",
        data={"_csrf_token": token},
        files={"photo": ("me.png", image_bytes("PNG"), "image/png")},
    )

    assert response.status_code == 303
    page = await client.get(f"/webinars/registrants/{registrant}")
    assert "Processing the new photo" in page.text
    assert 'hx-get="/webinars/registrants/' in page.text  # it asks again until it is done
    assert await photo_of(registrant) is None


async def test_an_oversize_photo_is_refused_and_the_old_one_kept(
    site: tuple[httpx.AsyncClient, Storage], registrant: int
) -> None:
    client, storage = site
    await upload(client, registrant, image_bytes("PNG"))
    kept = await photo_of(registrant)
    limit = get_settings().upload_max_bytes

    response = await upload(client, registrant, image_bytes("PNG") + b"\0" * limit)

    assert response.status_code == 413
    assert "the limit is 5.0 MB" in response.text
    assert await photo_of(registrant) == kept
    assert await storage.keys("registrants") == [kept]


@pytest.mark.parametrize(
    "filename", ["../../../etc/passwd.png", "/tmp/evil.png", "..\\..\\win.png", "a\0b.png", ".png"]
)
async def test_the_uploaded_file_name_never_reaches_storage(
    staff_client: httpx.AsyncClient, registrant: int, filename: str
) -> None:
    storage = create_storage(get_settings())
    before = await storage.keys("registrants")

    response = await upload(staff_client, registrant, image_bytes("PNG"), filename)

    assert response.status_code == 303
    key = await photo_of(registrant)
    assert key is not None
    assert sorted(await storage.keys("registrants")) == sorted([*before, key])
    for fragment in ("passwd", "evil", "win", ".."):
        assert fragment not in key


@pytest.mark.parametrize("who", ["anonymous", "plain"])
async def test_only_staff_upload(
    client: httpx.AsyncClient, people: People, registrant: int, who: str
) -> None:
    if who == "plain":
        await log_in(client, "plain")

    response = await upload(client, registrant, image_bytes("PNG"))

    assert response.status_code == (401 if who == "anonymous" else 403)
    assert await photo_of(registrant) is None
