"""Hostile uploads, through the sample site's photo form (bandstand.storage.images, then the
site's storage) and Piccolo Admin's media upload (bandstand.storage.admin) alike: files
that lie about what they are, polyglots, decompression bombs and path-traversal names. Refused
files leave nothing behind; accepted images are re-encoded (whatever rode along is gone) and
stored under a generated key, whatever name the browser sent."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import httpx
import pytest

from bandstand.settings import get_settings
from bandstand.storage.base import KEY
from bandstand.testing.accounts import People, csrf_token, log_in
from tests.stress.figures import Figures
from tests.stress.hostile import Counter
from tests.stress.payloads import (
    APPENDED,
    HOSTILE_NAMES,
    HTML,
    PDF,
    ZIP,
    hostile_files,
    png,
    valid_png_with,
)
from tests.support.sample.queries import photo_of
from tests.support.tables import Band, Fan

pytestmark = pytest.mark.engine_independent

PART = "hostile input: uploads"
SLOW = 2.0  # seconds: decoding a bomb would take far longer
# Where a traversal name would have put a file, were it ever used as a path (we run as root).
ESCAPES = [Path("/etc/passwd.png"), Path("/boot.ini.png"), Path("/.htaccess.png")]


def files_under(root: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root)
        for name in names
    }


async def media_files() -> set[str]:
    root = get_settings().path(get_settings().media_root)
    return await anyio.to_thread.run_sync(files_under, root)


async def test_hostile_uploads_are_refused_or_neutralised(
    client: httpx.AsyncClient, people: People, figures: Figures
) -> None:
    band = (await Band.insert(Band(name="Pythonistas")))[0]["id"]
    fan = (await Fan.insert(Fan(name="Ada", email="ada@example.com", band=band)))[0]["id"]
    hostile = await anyio.to_thread.run_sync(hostile_files)  # the bomb takes a moment to make
    counter = Counter()
    counter.attach(client)
    await log_in(client, "staff")
    site_token = await csrf_token(client, f"/fans/{fan}")
    await client.get("/admin/")  # the admin's own CSRF cookie
    admin_headers = {"X-CSRFToken": client.cookies["csrftoken"], "Origin": "http://localhost"}
    form_fields = {"table_name": Fan._meta.tablename, "column_name": Fan.photo._meta.name}

    async def site_upload(name: str, data: bytes, content_type: str) -> httpx.Response:
        return await client.post(
            f"/fans/{fan}/photo",
            data={"_csrf_token": site_token},
            files={"photo": (name, data, content_type)},
        )

    async def admin_upload(name: str, data: bytes, content_type: str) -> httpx.Response:
        return await client.post(
            "/admin/api/media/",
            data=form_fields,
            files={"file": (name, data, content_type)},
            headers=admin_headers,
        )

    problems: list[str] = []
    refused = 0
    slowest = 0.0
    before = await media_files()
    for label, (name, data, content_type, status) in hostile.items():
        # The admin shows the same refusal as a 422, the status it gives a failed upload.
        for where, upload, expected in (
            ("site", site_upload, status),
            ("admin", admin_upload, 422),
        ):
            started = time.monotonic()
            response = await upload(name, data, content_type)
            slowest = max(slowest, time.monotonic() - started)
            if response.status_code != expected:
                problems.append(f"{where}, {label}: {response.status_code} {response.text[:120]}")
            else:
                refused += 1
    if await photo_of(fan) is not None:
        problems.append("a refused upload became the fan's photo")
    if (after := await media_files()) != before:
        problems.append(f"refused uploads left files: {sorted(after - before)}")

    # Valid images under hostile names: stored, but only under a key the app made.
    keys: list[str] = []
    for name in HOSTILE_NAMES:
        response = await site_upload(name, png(), "image/png")
        if response.status_code != 303:
            problems.append(f"site, name {name[:40]!r}: {response.status_code}")
        elif (key := await photo_of(fan)) is not None:
            keys.append(key)
        response = await admin_upload(name, png(), "image/png")
        if response.status_code != 200:
            problems.append(f"admin, name {name[:40]!r}: {response.status_code}")
        else:
            keys.append(response.json()["file_key"])
    problems += [f"a key from a name: {key!r}" for key in keys if not KEY.fullmatch(key)]
    stored = await media_files() - before
    problems += [
        f"a file outside the generated keys: {path}" for path in stored if not KEY.fullmatch(path)
    ]
    escaped = await anyio.to_thread.run_sync(lambda: [str(p) for p in ESCAPES if p.exists()])
    problems += [f"written outside the media folder: {path}" for path in escaped]

    # Valid images carrying something else: accepted, re-encoded without it, served inertly.
    riders = {"html": APPENDED + HTML, "zip": ZIP, "pdf": PDF}
    for label, rider in riders.items():
        response = await site_upload(f"polyglot-{label}.png", valid_png_with(rider), "image/png")
        key = await photo_of(fan)
        if response.status_code != 303 or key is None:
            problems.append(f"a PNG with {label} appended: {response.status_code}")
            continue
        served = await client.get(f"/media/{key}")
        headers = served.headers
        if rider[:16] in served.content or b"<script" in served.content:
            problems.append(f"the {label} appended to a PNG was stored and served")
        if headers["content-type"] != "image/png" or headers.get("x-content-type-options") != (
            "nosniff"
        ):
            problems.append(f"/media/{key} served as {headers['content-type']} without nosniff")
        if "sandbox" not in headers.get("content-security-policy", ""):
            problems.append(f"/media/{key} served without a sandboxing policy")

    figures.record(PART, "hostile files tried (site and admin)", 2 * len(hostile))
    figures.record(PART, "hostile files refused with 4xx, nothing stored", refused)
    figures.record(PART, "traversal and odd names neutralised (site and admin)", len(keys))
    figures.record(PART, "polyglot images stored clean", len(riders))
    figures.record(PART, "slowest refusal, s (bombs included)", round(slowest, 3), f"limit {SLOW}")
    figures.record(PART, "requests", counter.requests)
    assert not problems, "\n".join(problems)
    assert slowest < SLOW, f"an upload took {slowest:.2f} s to refuse"
