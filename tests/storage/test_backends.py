"""The storage contract, on every backend; then `/media/` and Piccolo Admin's media column on
an app built with each backend. Backend-specific promises (file modes, private objects) last."""

from __future__ import annotations

import datetime
import http.server
import io
import json
import os
import stat
import threading
import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from botocore.exceptions import (  # type: ignore[import-untyped]
    ClientError,
    NoCredentialsError,
)
from litestar import Litestar
from PIL import Image

import bandstand.storage.s3
from bandstand.settings import get_settings
from bandstand.storage.base import KEY, FileMissing, InvalidKey, Storage, StoredFile, new_key
from bandstand.storage.filesystem import FileSystemStorage
from bandstand.storage.routes import CACHE_CONTROL
from bandstand.storage.s3 import S3Storage
from bandstand.testing.accounts import PASSWORD, People, log_in
from bandstand.testing.apps import build_app, client_for
from tests.storage.conftest import Backend
from tests.support.s3_server import raw_s3
from tests.support.sample import build_sample_app
from tests.support.sample.queries import PHOTO_FOLDER

HEX = uuid.UUID(int=0xA1).hex
# Keys `new_key` cannot make. Each must be refused before the backend is touched.
BAD_KEYS = [
    "../etc/passwd",
    "fans/../../x.jpg",
    f"fans/../{HEX}.jpg",
    "/etc/passwd",
    f"/fans/{HEX}.jpg",
    "..",
    ".",
    "",
    f"fans/{HEX}.jpg\0.png",
    f"fans/{HEX}\0.jpg",
    f"Fans/{HEX}.jpg",
    f"fans/{HEX.upper()}.jpg",
    f"fans/{HEX}.JPG",
    f"fans//{HEX}.jpg",
    f"fans/{HEX}.jpg/",
    f"fans/{HEX}.jpg\n",
    f"fans\\{HEX}.jpg",
    f"a/fans/{HEX}.jpg",
    f"fans/{HEX[:-1]}.jpg",
    f"fans/{HEX}",
    "fans/.htaccess",
]
BAD_FOLDERS = ["", "..", "../etc", "/fans", "fans/", "a/b", "Fans", "x\0"]

# Marks for tests that run on one backend only and never touch the database.
engine_independent = pytest.mark.engine_independent


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, "teal").save(output, "PNG")
    return output.getvalue()


# The contract, on every backend


@pytest.mark.parametrize(
    ("extension", "content_type"),
    [("png", "image/png"), ("jpg", "image/jpeg"), ("webp", "image/webp")],
)
async def test_save_then_load_gives_back_the_bytes_and_content_type(
    storage: Storage, extension: str, content_type: str
) -> None:
    key = new_key("photos", extension)
    data = bytes(range(256)) * 40  # every byte value, NUL included

    await storage.save(key, data, content_type)

    assert await storage.load(key) == StoredFile(data=data, content_type=content_type)
    assert await storage.exists(key)


async def test_saving_again_under_a_key_replaces_the_file(storage: Storage) -> None:
    key = new_key("photos", "png")
    await storage.save(key, b"first version, the longer one", "image/png")

    await storage.save(key, b"second", "image/png")

    assert (await storage.load(key)).data == b"second"


async def test_delete_removes_the_file_and_a_second_delete_is_fine(storage: Storage) -> None:
    key, kept = new_key("photos", "png"), new_key("photos", "png")
    await storage.save(key, b"gone soon", "image/png")
    await storage.save(kept, b"stays", "image/png")

    await storage.delete(key)

    with pytest.raises(FileMissing):
        await storage.load(key)
    assert not await storage.exists(key)
    assert (await storage.load(kept)).data == b"stays"
    await storage.delete(key)  # already gone
    await storage.delete(new_key("photos", "png"))  # never there


async def test_loading_a_missing_key_raises_file_missing(storage: Storage) -> None:
    key = new_key("photos", "png")
    with pytest.raises(FileMissing):
        await storage.load(key)
    assert not await storage.exists(key)


async def test_keys_lists_that_folder_only(storage: Storage) -> None:
    photos = sorted(new_key("photos", "png") for _ in range(3))
    # Folders whose names start like "photos", and one it starts like.
    elsewhere = [new_key("photos-old", "png"), new_key("photos2", "jpg"), new_key("photo", "png")]
    for key in photos + elsewhere:
        await storage.save(key, b"x", "image/png")

    assert await storage.keys("photos") == photos
    assert await storage.keys("photo") == [elsewhere[2]]
    assert await storage.keys("empty") == []


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_a_key_new_key_cannot_make_is_refused_before_anything_is_touched(
    backend: Backend, storage: Storage, key: str
) -> None:
    with pytest.raises(InvalidKey):
        await storage.save(key, b"should not be stored", "image/png")
    with pytest.raises(InvalidKey):
        await storage.load(key)
    with pytest.raises(InvalidKey):
        await storage.exists(key)
    with pytest.raises(InvalidKey):
        await storage.delete(key)
    assert await backend.everything() == []


@pytest.mark.parametrize("folder", BAD_FOLDERS)
async def test_a_folder_new_key_cannot_use_is_refused(storage: Storage, folder: str) -> None:
    with pytest.raises(InvalidKey):
        await storage.keys(folder)


# /media/<key> on an app with each backend


async def test_media_serves_a_stored_file_to_staff_only(backend: Backend, people: People) -> None:
    key, data = new_key("fans", "png"), png()
    seeder = backend.storage()
    await seeder.save(key, data, "image/png")
    await seeder.aclose()
    app = await build_app(**backend.settings)

    async with client_for(app) as anonymous:
        refused = await anonymous.get(f"/media/{key}")
        redirected = await anonymous.get(f"/media/{key}", headers={"accept": "text/html"})
    assert refused.status_code == 401
    assert data not in refused.content
    assert redirected.status_code == 303
    assert redirected.headers["location"].startswith("/login?next=")

    async with client_for(app) as plain:
        await log_in(plain, "plain")
        forbidden = await plain.get(f"/media/{key}")
    assert forbidden.status_code == 403
    assert data not in forbidden.content

    async with client_for(app) as staff:
        await log_in(staff, "staff")
        response = await staff.get(f"/media/{key}")
        unknown = await staff.get(f"/media/{new_key('fans', 'png')}")
        malformed = [
            await staff.get(f"/media/{path}")
            for path in (
                "fans/not-a-key.png",
                key.upper(),
                key + "x",
                f"{key}%00.html",
                "..%2F..%2Fetc%2Fpasswd",
                "%2e%2e/%2e%2e/etc/passwd",
            )
        ]
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == CACHE_CONTROL
    assert {"private", "immutable"} <= {
        part.strip() for part in response.headers["cache-control"].split(",")
    }
    assert response.headers["x-content-type-options"] == "nosniff"
    assert unknown.status_code == 404
    assert [answer.status_code for answer in malformed] == [404] * len(malformed)


# Piccolo Admin's media column on an app with each backend: the fans' photos of the sample
# site (tests/support/sample/)


async def app_with_photos(backend: Backend) -> Litestar:
    return await build_sample_app(**backend.settings)


async def admin_login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    """Log in through the admin's own login; the headers its API then wants."""
    await client.get("/admin/")  # sets the admin's CSRF cookie
    headers = {"X-CSRFToken": client.cookies["csrftoken"]}
    response = await client.post(
        "/admin/public/login/",
        json={"username": username, "password": PASSWORD},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return headers


async def upload_photo(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes, filename: str
) -> httpx.Response:
    return await client.post(
        "/admin/api/media/",
        data={"table_name": "fan", "column_name": "photo"},
        files={"file": (filename, content, "image/png")},
        headers=headers,
    )


async def test_admin_upload_stores_a_cleaned_image_in_the_backend(
    backend: Backend, people: People
) -> None:
    app = await app_with_photos(backend)
    async with client_for(app) as client:
        headers = await admin_login(client, "staff")

        response = await upload_photo(client, headers, png((40, 30)), "photo.png")

        assert response.status_code == 200, response.text
        key = response.json()["file_key"]
        served = await client.get(f"/media/{key}")
        url = await client.post(
            "/admin/api/media/generate-file-url/",
            json={"table_name": "fan", "column_name": "photo", "file_key": key},
            headers=headers,
        )

    assert KEY.fullmatch(key)
    assert key.startswith(f"{PHOTO_FOLDER}/")
    assert key.endswith(".png")
    assert await backend.everything() == [_stored_name(backend, key)]
    storage = backend.storage()
    try:
        stored = await storage.load(key)
    finally:
        await storage.aclose()
    assert stored.content_type == "image/png"
    image = Image.open(io.BytesIO(stored.data))
    assert (image.format, image.size) == ("PNG", (40, 30))
    assert served.status_code == 200
    assert served.content == stored.data
    assert url.status_code == 200, url.text
    assert url.json() == {"file_url": f"/media/{key}"}


async def test_admin_refuses_a_text_file_named_like_an_image(
    backend: Backend, people: People
) -> None:
    app = await app_with_photos(backend)
    async with client_for(app) as client:
        headers = await admin_login(client, "staff")

        response = await upload_photo(client, headers, b"not an image, honest\n", "photo.png")

    assert response.status_code == 422
    assert response.json()["detail"] == "The file is not a JPEG, PNG or WebP image."
    assert await backend.everything() == []


async def test_admin_media_upload_is_for_staff_only(backend: Backend, people: People) -> None:
    app = await app_with_photos(backend)
    async with client_for(app) as client:
        headers = await admin_login(client, "plain")

        response = await upload_photo(client, headers, png(), "photo.png")

    assert response.status_code in {401, 403}
    assert await backend.everything() == []


def _stored_name(backend: Backend, key: str) -> str:
    """How `Backend.everything` names the file stored under `key`."""
    return f"media/{key}" if backend.name == "filesystem" else key


# The filesystem: owner-only files, nothing outside the root


@engine_independent
async def test_filesystem_writes_owner_only_files_and_folders(tmp_path: Path) -> None:
    storage = FileSystemStorage(tmp_path / "media")
    key = new_key("photos", "png")

    await storage.save(key, b"first", "image/png")
    await storage.save(key, b"second", "image/png")  # a replacement keeps the modes

    def modes() -> tuple[int, int, list[str]]:
        path = tmp_path / "media" / key
        return (
            stat.S_IMODE(path.stat().st_mode),
            stat.S_IMODE(path.parent.stat().st_mode),
            sorted(os.listdir(path.parent)),
        )

    file_mode, folder_mode, names = await anyio.to_thread.run_sync(modes)
    assert oct(file_mode) == oct(0o600)
    assert oct(folder_mode) == oct(0o700)
    assert names == [key.split("/")[1]]  # no partial file left behind


@engine_independent
async def test_filesystem_writes_nothing_outside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "media"
    victim = tmp_path / "etc" / "passwd"

    def plant() -> None:
        victim.parent.mkdir()
        victim.write_text("root:x:0:0")

    await anyio.to_thread.run_sync(plant)
    storage = FileSystemStorage(root)
    await storage.save(new_key("photos", "png"), b"inside", "image/png")

    for key in ("../etc/passwd", f"../etc/{HEX}.png", f"{tmp_path}/etc/passwd"):
        with pytest.raises(InvalidKey):
            await storage.save(key, b"pwned", "image/png")
        with pytest.raises(InvalidKey):
            await storage.delete(key)

    def outside_the_root() -> list[Path]:
        return [
            path
            for path in tmp_path.rglob("*")
            if path.is_file() and root not in path.parents and path != victim
        ]

    assert await anyio.to_thread.run_sync(outside_the_root) == []
    assert await anyio.Path(victim).read_text() == "root:x:0:0"


# S3: private objects, signed requests, one client per storage


@engine_independent
async def test_s3_objects_have_no_public_grant_and_keep_their_content_type(
    s3_server: dict[str, str], empty_bucket: None
) -> None:
    storage = S3Storage.from_settings(_settings(s3_server))
    key, public = new_key("photos", "png"), new_key("photos", "png")
    await storage.save(key, b"private", "image/png")
    await storage.aclose()

    async with raw_s3(s3_server) as client:
        bucket = s3_server["s3_bucket"]
        acl = await client.get_object_acl(Bucket=bucket, Key=key)
        head = await client.head_object(Bucket=bucket, Key=key)
        # What a public object looks like, to show the check below can see one.
        await client.put_object(Bucket=bucket, Key=public, Body=b"public", ACL="public-read")
        public_acl = await client.get_object_acl(Bucket=bucket, Key=public)

    assert [grant["Permission"] for grant in acl["Grants"]] == ["FULL_CONTROL"]
    assert acl["Grants"][0]["Grantee"] == {"Type": "CanonicalUser", "ID": acl["Owner"]["ID"]}
    assert _group_grants(public_acl["Grants"]) == [
        "http://acs.amazonaws.com/groups/global/AllUsers"
    ]
    assert _group_grants(acl["Grants"]) == []
    assert head["ContentType"] == "image/png"


def _group_grants(grants: Any) -> list[str]:
    return [grant["Grantee"]["URI"] for grant in grants if grant["Grantee"]["Type"] == "Group"]


@engine_independent
async def test_s3_objects_cannot_be_read_anonymously(
    s3_server: dict[str, str], empty_bucket: None, moto_without_auth: None
) -> None:
    # moto refuses an unsigned GET of an object unless its ACL or the bucket policy allows
    # public reads (it checks this even with its signature checks off, which this test needs:
    # with them on it answers an unsigned GET of a public object with a 500).
    storage = S3Storage.from_settings(_settings(s3_server))
    key, public = new_key("photos", "png"), new_key("photos", "png")
    await storage.save(key, b"private", "image/png")
    await storage.aclose()
    async with raw_s3(s3_server) as client:
        await client.put_object(
            Bucket=s3_server["s3_bucket"], Key=public, Body=b"public", ACL="public-read"
        )
    base = f"{s3_server['s3_endpoint_url']}/{s3_server['s3_bucket']}"

    # httpx reads its CA bundle when a client is made: not on the event loop.
    anonymous = await anyio.to_thread.run_sync(httpx.AsyncClient)
    async with anonymous:
        refused = await anonymous.get(f"{base}/{key}")
        control = await anonymous.get(f"{base}/{public}")

    assert refused.status_code == 403
    assert b"private" not in refused.content
    assert (control.status_code, control.content) == (200, b"public")


@engine_independent
async def test_s3_requests_are_signed_with_the_configured_keys(
    s3_server: dict[str, str], empty_bucket: None
) -> None:
    wrong = S3Storage.from_settings(_settings(s3_server, s3_secret_access_key="not-the-secret"))
    try:
        with pytest.raises(ClientError) as refused:
            await wrong.save(new_key("photos", "png"), b"x", "image/png")
    finally:
        await wrong.aclose()
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"

    unknown = S3Storage.from_settings(_settings(s3_server, s3_access_key_id="AKIANOBODY"))
    try:
        with pytest.raises(ClientError) as refused:
            await unknown.load(new_key("photos", "png"))
    finally:
        await unknown.aclose()
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"


async def assert_round_trip_without_keys(s3_server: dict[str, str], content: bytes) -> None:
    """A storage with no keys set finds them through botocore's chain and can use them."""
    storage = S3Storage.from_settings(
        _settings(s3_server, s3_access_key_id="", s3_secret_access_key="")
    )
    key = new_key("photos", "png")
    try:
        await storage.save(key, content, "image/png")
        assert (await storage.load(key)).data == content
    finally:
        await storage.aclose()


@engine_independent
async def test_s3_without_keys_uses_botocores_own_credential_chain(
    s3_server: dict[str, str], empty_bucket: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server["s3_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server["s3_secret_access_key"])
    await assert_round_trip_without_keys(s3_server, b"via the environment")


@engine_independent
async def test_s3_opens_one_client_for_concurrent_first_use_and_reopens_after_close(
    s3_server: dict[str, str], empty_bucket: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared: list[object] = []
    prepare = bandstand.storage.s3.prepared_session

    def counting(*args: bool) -> Any:
        session = prepare(*args)
        prepared.append(session)
        return session

    monkeypatch.setattr(bandstand.storage.s3, "prepared_session", counting)
    storage = S3Storage.from_settings(_settings(s3_server))
    key = new_key("photos", "png")
    seen: list[StoredFile | None] = []

    async def look() -> None:
        try:
            seen.append(await storage.load(key))
        except FileMissing:
            seen.append(None)

    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(look)
    assert seen == [None] * 8
    assert len(prepared) == 1

    await storage.aclose()
    await storage.save(key, b"after close", "image/png")  # as after the app's restart
    assert (await storage.load(key)).data == b"after close"
    await storage.aclose()
    await storage.aclose()  # closing twice is fine
    assert len(prepared) == 1  # the session, with its models read, is kept


@engine_independent
async def test_s3_keys_pages_through_more_than_one_listing(
    s3_server: dict[str, str], empty_bucket: None
) -> None:
    storage = S3Storage.from_settings(_settings(s3_server))
    keys = sorted(new_key("many", "png") for _ in range(1005))  # S3 lists 1,000 at a time
    limit = anyio.Semaphore(32)

    async def put(key: str) -> None:
        async with limit:
            await storage.save(key, b"", "image/png")

    try:
        async with anyio.create_task_group() as group:
            for key in keys:
                group.start_soon(put, key)
        assert await storage.keys("many") == keys
    finally:
        await storage.aclose()


@engine_independent
async def test_s3_keys_leaves_out_objects_the_app_did_not_make(
    s3_server: dict[str, str], empty_bucket: None
) -> None:
    storage = S3Storage.from_settings(_settings(s3_server))
    key = new_key("photos", "png")
    await storage.save(key, b"ours", "image/png")
    async with raw_s3(s3_server) as client:
        for foreign in ("photos/README.txt", "photos/nested/thing.png", "photos/UPPER.PNG"):
            await client.put_object(Bucket=s3_server["s3_bucket"], Key=foreign, Body=b"x")
    try:
        assert await storage.keys("photos") == [key]
    finally:
        await storage.aclose()


def _settings(s3_server: dict[str, str], **changes: str) -> Any:
    return msgspec.structs.replace(get_settings(), **{**s3_server, **changes})


def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing from the developer's machine or environment reaches botocore's chain."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@engine_independent
async def test_s3_without_keys_reads_the_shared_credentials_file_off_the_loop(
    s3_server: dict[str, str],
    empty_bucket: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _no_ambient_aws(monkeypatch, tmp_path)
    credentials = tmp_path / "credentials"
    await anyio.Path(credentials).write_text(
        "[default]\n"
        f"aws_access_key_id = {s3_server['s3_access_key_id']}\n"
        f"aws_secret_access_key = {s3_server['s3_secret_access_key']}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    await assert_round_trip_without_keys(s3_server, b"via the credentials file")


@engine_independent
async def test_s3_role_credentials_found_off_the_loop_refresh_on_the_apps_loop(
    s3_server: dict[str, str],
    s3_role_credentials: dict[str, str],
    empty_bucket: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """As on ECS: a local endpoint hands out expiring credentials. The chain finds them on the
    worker thread's own loop; every refresh afterwards runs on the app's loop."""
    _no_ambient_aws(monkeypatch, tmp_path)
    asked: list[str] = []

    class CredentialsEndpoint(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(threading.current_thread().name)
            # 12 minutes: inside botocore's 15-minute advisory window, so each request
            # refreshes, and outside its 10-minute mandatory one, so none fails for it.
            expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=12)
            body = json.dumps(
                {
                    "AccessKeyId": s3_role_credentials["access_key_id"],
                    "SecretAccessKey": s3_role_credentials["secret_access_key"],
                    "Token": s3_role_credentials["session_token"],
                    "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CredentialsEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{port}/creds")
    storage = S3Storage.from_settings(
        _settings(s3_server, s3_access_key_id="", s3_secret_access_key="")
    )
    key = new_key("photos", "png")
    try:
        await storage.save(key, b"via a role", "image/png")
        assert (await storage.load(key)).data == b"via a role"
    finally:
        await storage.aclose()
        await anyio.to_thread.run_sync(server.shutdown)
        server.server_close()
    assert len(asked) >= 3  # found once, then refreshed for the save and for the load


@engine_independent
async def test_s3_without_keys_or_any_credentials_says_so(
    s3_server: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_ambient_aws(monkeypatch, tmp_path)
    storage = S3Storage.from_settings(
        _settings(s3_server, s3_access_key_id="", s3_secret_access_key="")
    )
    try:
        with pytest.raises(NoCredentialsError, match="Unable to locate credentials"):
            await storage.load(new_key("photos", "png"))
    finally:
        await storage.aclose()
