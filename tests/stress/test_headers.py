"""Security headers and cookie flags on every page, in production mode: every GET route the app
has (the framework's and the sample site's, read from `app.routes`, so a new page is checked
without being listed here), every static and uploaded file, the error pages, the Piccolo Admin
mount, anonymous and logged in; and every cookie any of them, or a login, logout or form, sets.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any, cast
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from msgspec.structs import replace
from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.email_addresses import AddressChange, change_token, confirmation_token
from bandstand.accounts.password_reset import make_token
from bandstand.accounts.users import create_user
from bandstand.app import FRAMEWORK_STATIC, site_of
from bandstand.features import with_framework
from bandstand.headers import DOCS_PATH
from bandstand.jobs.staff_tasks import demo_data
from bandstand.settings import get_settings
from bandstand.storage.routes import MEDIA_PREFIX
from bandstand.testing.accounts import PASSWORD, csrf_token, log_in
from tests.stress.figures import Figures
from tests.support import PROJECT_ROOT
from tests.support.sample import build_sample_app
from tests.support.security_headers import (
    DOCS_POLICY,
    MEDIA_POLICY,
    MOUNT_POLICY,
    OTHER_HEADERS,
    SITE_POLICY,
    check_security_headers,
)
from tests.support.tables import Album, Band, Fan

pytestmark = pytest.mark.engine_independent
SECRET_KEY = "x" * 48  # the production site's

PART = "Security headers and cookies (production)"
BASE_URL = "https://localhost"
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
STATIC_FILES = sorted(
    {
        path.relative_to(folder).as_posix()
        for folder in (PROJECT_ROOT / "static", FRAMEWORK_STATIC)
        for path in folder.rglob("*")
        if path.is_file()
    }
)
ROUTE_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")

# Cookie flags that are missing on purpose; exact, so a change either way shows. Every other
# cookie must be Secure, HttpOnly and SameSite=Lax/Strict.
COOKIE_EXCEPTIONS = {
    # Piccolo Admin's JavaScript reads it (it sends it back as X-CSRFToken).
    "csrftoken": {"httponly"},
}
# What the OpenAPI page's policy lets through that the site's forbids: Swagger UI from its CDN,
# started by an inline script.
DOCS_ALLOWANCES = ("inline <script>", "from https://cdn.jsdelivr.net/", "<style> element", "style=")


class BlockedByPolicy(HTMLParser):
    """What the site's Content-Security-Policy would stop a browser from loading or running in
    a page: anything from another origin, inline scripts, style elements and attributes,
    event handler attributes."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self._script: dict[str, str | None] | None = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.blocked.append(f"<{tag} {name}={value!r}>")
        source = attributes.get("src") if tag in {"script", "img", "iframe"} else None
        if tag == "link" and attributes.get("rel") in {"stylesheet", "icon", "preload"}:
            source = attributes.get("href")
        if source and urlsplit(source).netloc not in {"", "localhost"}:
            self.blocked.append(f"<{tag}> from {source}")
        if tag == "style":
            self.blocked.append("<style> element")
        if tag == "script":
            self._script = attributes

    def handle_data(self, data: str) -> None:
        script = self._script
        executable = script is not None and script.get("type") in {
            None,
            "module",
            "text/javascript",
        }
        if executable and script is not None and "src" not in script and data.strip():
            self.blocked.append(f"inline <script>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


@dataclass
class Tally:
    responses: int = 0
    pages: int = 0
    pages_audited: int = 0
    headers: int = 0
    cookies: dict[str, set[str]] = field(default_factory=dict)
    cookies_checked: int = 0


@dataclass
class Site:
    app: Litestar
    anonymous: httpx.AsyncClient
    staff: httpx.AsyncClient
    plain: httpx.AsyncClient
    parameters: dict[str, list[str]]
    tally: Tally


def get_routes(app: Litestar) -> list[str]:
    """Every path template the app answers GET on (its own routes, the static files', the
    OpenAPI docs'); the admin mount is an ASGI route and is visited on its own."""
    return sorted(
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute) and "GET" in route.methods
    )


async def _load_rows(app: Litestar) -> dict[str, list[str]]:
    """Every feature's demo data, and the values for every path parameter a GET route has."""
    features, _ = site_of(app)
    for feature in with_framework(features):
        if feature.load_demo:
            await feature.load_demo()
    boss = await create_user("boss", "boss@example.com", PASSWORD, admin=True, superuser=True)
    await create_user("plain", "plain@example.com", PASSWORD)
    # A job that has ended (its live stream answers and closes), a backup to download, and a
    # reset link that works: each page then renders.
    job = await demo_data.using(run_after=3600).enqueue("load")
    await job.cancel()
    settings = get_settings()
    backups = settings.path(settings.backup_root)
    await anyio.Path(backups).mkdir(parents=True, exist_ok=True)
    backup = "backup-20260101T000000Z.bandstand.gz"
    await anyio.Path(backups / backup).write_bytes(gzip.compress(b"{}\n"))
    signing = replace(settings, secret_key=SECRET_KEY)
    hashed = await BaseUser.select(BaseUser.password).where(BaseUser.id == boss).first()
    assert hashed
    album = await Album.select(Album.id).first()
    fan = await Fan.select(Fan.id).first()
    photos = await Fan.select(Fan.photo).where(Fan.photo.is_not_null())
    assert album
    assert fan
    assert photos
    return {
        "album_id": [str(album["id"])],
        "fan_id": [str(fan["id"])],
        "key": [row["photo"] for row in photos],
        "job_id": [job.id],
        "name": [backup],
        "token": [make_token(boss, hashed["password"], "boss@example.com", signing)],
        # Routes whose token is of another kind, by route.
        "/verify-email/{token:str}": [confirmation_token(boss, "boss@example.com", signing)],
        "/account/email/{token:str}": [
            change_token(AddressChange(boss, "boss@example.com", "boss2@example.com"), signing)
        ],
        "file_path": STATIC_FILES,
        "path": ["no-such-schema-page"],
    }


@pytest.fixture(scope="module")
def tally(figures: Figures) -> Iterator[Tally]:
    """Counts over the module's tests, recorded at its end."""
    tally = Tally()
    yield tally
    figures.record(PART, "responses checked", tally.responses, "anonymous, staff and non-staff")
    figures.record(PART, "HTML pages checked", tally.pages)
    figures.record(PART, "pages audited against the CSP", tally.pages_audited)
    figures.record(PART, "headers checked", tally.headers)
    figures.record(PART, "cookies checked", tally.cookies_checked, ", ".join(sorted(tally.cookies)))


@pytest.fixture
async def site(clean_tables: None, test_tables: None, tally: Tally) -> AsyncIterator[Site]:
    app = await build_sample_app(
        environment="production",
        secret_key=SECRET_KEY,
        allowed_hosts=("localhost",),
        signup_enabled=True,
    )
    parameters = await _load_rows(app)
    transport = httpx.ASGITransport(app=cast(Any, app))
    # Three sessions on one app, in one lifespan (one database pool).
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as anonymous,
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as staff,
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as plain,
    ):
        site = Site(app, anonymous, staff, plain, parameters, tally)
        for client, username in ((staff, "boss"), (plain, "plain")):
            logged_in = await log_in(client, username)
            check_response(site, logged_in)
            assert logged_in.status_code == 303, logged_in.text
        yield site


def check_response(site: Site, response: httpx.Response) -> None:
    """The site's headers (or, on the admin mount, what it sends) and every cookie set."""
    tally = site.tally
    tally.responses += 1
    headers = response.headers
    if "text/html" in headers.get("content-type", ""):
        tally.pages += 1
    label = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    path = response.request.url.path
    policy = SITE_POLICY
    if path.startswith("/admin"):
        policy = MOUNT_POLICY
    elif path == DOCS_PATH or path.startswith(f"{DOCS_PATH}/"):
        policy = DOCS_POLICY
    elif path.startswith(MEDIA_PREFIX) and response.status_code == 200:
        policy = MEDIA_POLICY  # a file is no page: the media route's own, stricter policy
    names = ["content-security-policy", "strict-transport-security", *OTHER_HEADERS]
    for name in names:
        assert len(headers.get_list(name)) == 1, (label, name, headers.get_list(name))
    try:
        check_security_headers(headers, policy, hsts=True)
    except AssertionError as error:
        raise AssertionError(label) from error
    tally.headers += len(names)
    for set_cookie in headers.get_list("set-cookie"):
        check_cookie(site, label, set_cookie)


def check_cookie(site: Site, label: str, set_cookie: str) -> None:
    parsed = SimpleCookie()
    parsed.load(set_cookie)
    ((name, morsel),) = parsed.items()
    lacking = set()
    if not morsel["secure"]:
        lacking.add("secure")
    if not morsel["httponly"]:
        lacking.add("httponly")
    assert morsel["samesite"].lower() in {"lax", "strict"}, (label, set_cookie)
    assert lacking == COOKIE_EXCEPTIONS.get(name, set()), (label, set_cookie)
    site.tally.cookies.setdefault(name, set()).add(label)
    site.tally.cookies_checked += 1


async def visit(site: Site, client: httpx.AsyncClient, url: str) -> httpx.Response:
    response = await client.get(url, headers=BROWSER)
    check_response(site, response)
    return response


def urls_for(template: str, parameters: dict[str, list[str]]) -> list[str]:
    names = ROUTE_PARAMETER.findall(template)
    assert len(names) <= 1, template  # none has two yet; fill them as pairs if one does
    unknown = set(names) - parameters.keys()
    assert not unknown, f"a GET route with a new path parameter, give it a value: {template}"
    if not names:
        return [template]
    values = parameters.get(template, parameters[names[0]])
    return [ROUTE_PARAMETER.sub(value, template) for value in values]


async def test_every_get_route_sends_the_security_headers(site: Site, figures: Figures) -> None:
    routes = get_routes(site.app)
    visited: set[str] = set()
    for template in routes:
        for url in urls_for(template, site.parameters):
            staff = await visit(site, site.staff, url)
            # As a superuser every page renders (only the docs' made-up page is a 404, the
            # login's code step, with no password given first, goes back to the login, and no
            # sign-in provider is set up here, so none answers), so the headers are checked on
            # the real pages, not only on redirects to the login.
            expected = {
                "/schema/{path:str}": 404,
                "/login/code": 303,
                "/login/oidc/{name:str}/callback": 404,
            }.get(template, 200)
            assert staff.status_code == expected, (url, staff.status_code)
            if "text/html" in staff.headers["content-type"] and expected == 200:
                blocked = BlockedByPolicy(staff.text).blocked
                site.tally.pages_audited += 1
                if template.startswith(DOCS_PATH):
                    blocked = [b for b in blocked if not any(a in b for a in DOCS_ALLOWANCES)]
                assert blocked == [], (url, blocked)
            for who, client in (("anonymous", site.anonymous), ("plain", site.plain)):
                response = await visit(site, client, url)
                assert response.status_code < 500, (who, url, response.status_code)
            visited.add(template)
    # Every GET route the app has was visited, and the only other kind of route is the admin
    # mount (test_the_admin_mount): a new page, or a new mount, can't be left out.
    assert visited == set(routes)
    assert [route.path for route in site.app.routes if not isinstance(route, HTTPRoute)] == [
        "/admin"
    ]
    figures.record(PART, "GET routes visited", len(visited), "all of app.routes, 3 sessions each")


async def test_error_pages_send_the_security_headers(site: Site) -> None:
    cases = [
        (site.anonymous, "/no-such-page", 404),
        (site.anonymous, "/api/no-such-endpoint", 404),
        (site.anonymous, "/albums/999999", 404),
        (site.anonymous, f"{MEDIA_PREFIX}fans/none.jpg", 303),
        (site.staff, f"{MEDIA_PREFIX}fans/none.jpg", 404),
        (site.plain, "/fans", 403),
        (site.plain, "/backstage", 403),
        (site.plain, "/api/fans", 403),
        (site.anonymous, "/api/fans", 401),
        (site.anonymous, "/api/albums?page=0", 400),
    ]
    for client, url, status in cases:
        response = await visit(site, client, url)
        assert response.status_code == status, (url, response.status_code)
    other_host = await site.anonymous.get("/", headers={"host": "attacker.example"})
    check_response(site, other_host)
    assert other_host.status_code == 400
    wrong_method = await site.anonymous.put("/healthz")
    check_response(site, wrong_method)
    assert wrong_method.status_code == 405


async def test_the_admin_mount(site: Site) -> None:
    index = await visit(site, site.staff, "/admin/")
    assert index.status_code == 200
    assert "csrftoken" in site.tally.cookies
    assets = re.findall(r'(?:src|href)="\./(assets/[^"]+)"', index.text)
    assert assets
    table = Album._meta.tablename
    row = site.parameters["album_id"][0]
    paths = [
        "/admin",
        *(f"/admin/{asset}" for asset in assets),
        "/admin/public/meta/",
        "/admin/api/tables/",
        f"/admin/api/tables/{table}/",
        f"/admin/api/tables/{table}/schema/",
        f"/admin/api/tables/{table}/{row}/",
        "/admin/api/user/",
        "/admin/api/forms/",
    ]
    for path in paths:
        staff = await visit(site, site.staff, path)
        assert staff.status_code in {200, 307}, (path, staff.status_code)
        anonymous = await visit(site, site.anonymous, path)
        assert anonymous.status_code in {200, 307, 401}, (path, anonymous.status_code)
    # The admin's own login sets the session cookie too.
    await visit(site, site.anonymous, "/admin/")
    login = await site.anonymous.post(
        "/admin/public/login/",
        json={"username": "boss", "password": PASSWORD},
        # In production piccolo_api's CSRF check also wants the page it came from.
        headers={
            "X-CSRFToken": site.anonymous.cookies["csrftoken"],
            "referer": f"{BASE_URL}/admin/",
        },
    )
    check_response(site, login)
    assert login.status_code == 200, login.text
    assert any(cookie.startswith("id=") for cookie in login.headers.get_list("set-cookie"))


async def test_cookies_set_by_logins_forms_and_logout(site: Site) -> None:
    token = await csrf_token(site.staff, "/albums/new")
    band = await Band.select(Band.id).first()
    assert band
    created = await site.staff.post(
        "/albums/new",
        data={"title": "Cookie jar", "price": "3.50", "band_id": band["id"]},
        headers={"x-site-csrf": token},
    )
    check_response(site, created)
    assert created.status_code == 303, created.text
    shown = await visit(site, site.staff, created.headers["location"])  # reads the flash message
    assert "Added Cookie jar." in shown.text
    logout = await site.staff.post("/logout", data={"_csrf_token": token})
    check_response(site, logout)
    assert logout.status_code == 303
    # Each cookie the site and the admin set was seen, with its flags checked.
    assert {"id", "site_csrf", "site_flash"} <= site.tally.cookies.keys(), site.tally.cookies
