"""Forged requests and the wrong people: every state-changing route of the site (enumerated
from the app) and every write of Piccolo Admin (from its own OpenAPI schema) refuses a missing
or forged CSRF token, writing nothing; every staff-only route and every admin API route refuses
anonymous and non-staff users, and a staff member whose account was deactivated."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, cast

import anyio
import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute
from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.guards import requires_staff, requires_superuser
from bandstand.accounts.sessions import start_session
from bandstand.admin import LazyAdmin
from bandstand.app import site_of
from bandstand.features import with_framework
from bandstand.jobs.staff_tasks import demo_data
from bandstand.settings import get_settings
from bandstand.storage.backends import create_storage
from bandstand.testing.accounts import PASSWORD, People, csrf_token, log_in
from tests.stress.figures import Figures
from tests.stress.hostile import Counter, fingerprint
from tests.stress.payloads import png
from tests.support.tables import Album, Band, Fan

PART = "hostile input: CSRF and access"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def site_writes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path) of every route that changes state: each must check CSRF (one that opts
    out with `exclude_from_csrf` is refused below like one that forgets)."""
    return [
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in sorted(handler.http_methods & WRITES)
    ]


def staff_routes(app: Litestar) -> list[tuple[str, str]]:
    return [
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if {requires_staff, requires_superuser} & set(handler.resolve_guards())
        for method in sorted(handler.http_methods)
    ]


def admin_table_names(app: Litestar) -> set[str]:
    settings = get_settings()
    storage = create_storage(settings)
    features, _ = site_of(app)
    return {
        config.table_class._meta.tablename
        for feature in with_framework(features)
        for config in feature.admin_tables(storage, settings)
    }


def admin_api_routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path) of every route of Piccolo Admin's API, from the app `app` mounts (its
    own /admin/api/openapi.json redirects to itself behind the mount), once a request built it."""
    mount = next(route for route in app.routes if route.path == "/admin")
    handler = cast(Any, mount).route_handler
    cells = [cell.cell_contents for cell in handler.fn.__closure__ or ()]
    admin: Any = next(cell for cell in cells if isinstance(cell, LazyAdmin)).app
    assert admin is not None, "request /admin/ first: the admin is built by its first request"
    api = next(route for route in admin.routes if getattr(route, "path", "") == "/api").app
    while not hasattr(api, "routes"):  # under its authentication middleware
        api = api.app
    return [
        (method, "/api" + route.path)
        for route in api.routes
        for method in sorted(getattr(route, "methods", None) or ())
        if method in WRITES | {"GET"}
    ]


def fill(path: str, ids: Mapping[str, int | str]) -> str:
    missing = [name for name in PARAMETER.findall(path) if name not in ids]
    assert not missing, f"give the CSRF test an id for {missing} in {path}"
    return PARAMETER.sub(lambda found: str(ids[found.group(1)]), path)


async def test_every_write_refuses_a_missing_or_forged_csrf_token(
    client: httpx.AsyncClient, sample: Litestar, people: People, figures: Figures
) -> None:
    app = sample
    counter = Counter()
    counter.attach(client)
    band = (await Band.insert(Band(name="Pythonistas")))[0]["id"]
    album = (await Album.insert(Album(title="Blue", price=1, band=band)))[0]["id"]
    fan = (await Fan.insert(Fan(name="Ada", email="ada@example.com", band=band)))[0]["id"]
    waiting = await demo_data.using(run_after=3600).enqueue("load")  # never run here
    ids: dict[str, int | str] = {
        "album_id": album,
        "fan_id": fan,
        "job_id": waiting.id,
        "action": "load",
        "token": "not-a-token",
        "token_id": 1,
        "name": "google",
        "account_id": 1,
    }
    await log_in(client, "boss")
    token = await csrf_token(client, "/account")
    transport = cast(httpx.ASGITransport, client._transport)
    other = httpx.AsyncClient(transport=transport, base_url="http://localhost")
    others_token = await csrf_token(other)
    await other.aclose()
    cookieless = httpx.AsyncClient(
        transport=transport, base_url="http://localhost", cookies={"id": client.cookies["id"]}
    )
    counter.attach(cookieless)
    album_form = {"title": "Async Nights", "price": "2.00", "band_id": str(band)}
    joining = {"name": "Bo", "email": "bo@example.com", "band_id": str(band)}
    # What each write needs besides the token, so that only the token decides; a new route
    # stops the test until it is given its request here.
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/login"): {"data": {"username": "boss", "password": PASSWORD}},
        ("POST", "/account/password"): {
            "data": {
                "current_password": PASSWORD,
                "new_password": PASSWORD,
                "confirm_password": PASSWORD,
            }
        },
        ("POST", "/signup"): {"data": {"username": "eve", "email": "eve@example.com"}},
        ("POST", "/api/albums"): {"json": {**album_form, "band_id": band}},
        ("PUT", "/api/albums/{album_id:int}"): {"json": {**album_form, "band_id": band}},
        ("POST", "/albums/new"): {"data": album_form},
        ("POST", "/albums/{album_id:int}/edit"): {"data": album_form},
        ("POST", "/api/fans"): {"json": {**joining, "band_id": band}},
        ("POST", "/join"): {"data": {**joining, "email": "cy@example.com"}},
        ("POST", "/fans/{fan_id:int}/photo"): {"files": {"photo": ("me.png", png(), "image/png")}},
        ("POST", "/fans/{fan_id:int}/photo/delete"): {},
        ("POST", "/albums/{album_id:int}/delete"): {},
        ("DELETE", "/api/albums/{album_id:int}"): {},
        ("POST", "/password-reset"): {"data": {"email": "boss@example.com"}},
        ("POST", "/password-reset/{token:str}"): {
            "data": {"new_password": PASSWORD, "confirm_password": PASSWORD}
        },
        ("POST", "/verify-email/{token:str}"): {},
        ("POST", "/account/verify-email"): {},
        ("POST", "/account/email"): {
            "data": {"new_email": "boss2@example.com", "current_password": PASSWORD}
        },
        ("POST", "/account/email/{token:str}"): {},
        ("POST", "/jobs/{job_id:uuid}/cancel"): {},
        ("POST", "/jobs/{job_id:uuid}/retry"): {},
        ("POST", "/jobs/demo/{action:str}"): {},
        ("POST", "/jobs/backup"): {},
        ("POST", "/logout"): {},
        ("POST", "/login/code"): {"data": {"code": "123456"}},
        ("POST", "/account/two-factor/setup"): {"data": {"current_password": PASSWORD}},
        ("POST", "/account/two-factor/confirm"): {"data": {"token": "x", "code": "123456"}},
        ("POST", "/account/two-factor/recovery-codes"): {"data": {"current_password": PASSWORD}},
        ("POST", "/account/two-factor/disable"): {"data": {"current_password": PASSWORD}},
        ("POST", "/account/tokens"): {
            "data": {"name": "script", "scopes": "albums:read", "days": "30"}
        },
        ("POST", "/account/tokens/{token_id:int}/revoke"): {},
        ("POST", "/login/oidc/{name:str}"): {"data": {"next": "/"}},
        ("POST", "/account/sign-in/link/{name:str}"): {},
        ("POST", "/account/sign-in/unlink/{account_id:int}"): {
            "data": {"current_password": PASSWORD}
        },
    }
    writes = site_writes(app)
    missing = [write for write in writes if write not in bodies]
    assert not missing, f"give the CSRF test a request for {missing}"

    def with_form_token(body: dict[str, Any], value: str) -> dict[str, Any]:
        if "data" in body or "files" in body:
            return {**body, "data": {**body.get("data", {}), "_csrf_token": value}}
        return body

    variants: dict[str, Callable[[dict[str, Any]], tuple[httpx.AsyncClient, dict[str, Any]]]] = {
        "no token": lambda body: (client, body),
        "a forged token": lambda body: (
            client,
            {**with_form_token(body, "forged"), "headers": {"x-site-csrf": "forged"}},
        ),
        "a token of the right shape, all zeros": lambda body: (
            client,
            {
                **with_form_token(body, "0" * len(token)),
                "headers": {"x-site-csrf": "0" * len(token)},
            },
        ),
        "another browser's token": lambda body: (
            client,
            {**with_form_token(body, others_token), "headers": {"x-site-csrf": others_token}},
        ),
        "a token without its cookie": lambda body: (
            cookieless,
            {**with_form_token(body, token), "headers": {"x-site-csrf": token}},
        ),
        "the token in the query string": lambda body: (
            client,
            {**body, "params": {"_csrf_token": token, "x-site-csrf": token}},
        ),
    }
    before = await fingerprint(app)
    problems: list[str] = []
    refused = 0
    for method, path in writes:
        url = fill(path, ids)
        for label, variant in variants.items():
            sender, request = variant(bodies[(method, path)])
            response = await sender.request(method, url, **request)
            if response.status_code == 403:
                refused += 1
            else:
                problems.append(f"{method} {url} with {label}: {response.status_code}")
    after = await fingerprint(app)
    await cookieless.aclose()
    assert not problems, "\n".join(problems)
    assert after == before, "a write without a valid CSRF token changed the database"

    # The same requests with the token are not refused for it: the 403s above were CSRF's.
    for method, path in sorted(writes, key=lambda write: list(bodies).index(write)):
        url = fill(path, ids)
        body = bodies[(method, path)]
        response = await client.request(method, url, **{**body, "headers": {"x-site-csrf": token}})
        assert response.status_code != 403, f"{method} {url} with the token: {response.text[:200]}"

    figures.record(PART, "site writes (from the app's routes)", len(writes))
    figures.record(PART, "forged or missing CSRF refusals (403, nothing written)", refused)
    figures.record(PART, "requests", counter.requests)


async def test_admin_writes_refuse_a_missing_or_forged_csrf_token_and_non_staff(
    client: httpx.AsyncClient, sample: Litestar, people: People, figures: Figures
) -> None:
    counter = Counter()
    counter.attach(client)
    await log_in(client, "boss")
    await client.get("/admin/")
    routes = admin_api_routes(sample)
    tables = await anyio.to_thread.run_sync(admin_table_names, sample)
    listed = {
        found.group(1) for _, path in routes if (found := re.match(r"/api/tables/(\w+)/$", path))
    }
    assert tables <= listed, f"admin tables missing from its routes: {tables - listed}"

    def url(path: str) -> str:
        return "/admin" + re.sub(r"\{[^}]+\}", "1", path)

    transport = cast(httpx.ASGITransport, client._transport)
    other = httpx.AsyncClient(transport=transport, base_url="http://localhost")
    await other.get("/admin/")
    others_token = other.cookies["csrftoken"]
    await other.aclose()
    # Who is not staff, with the admin's CSRF token so that only who they are decides.
    deactivated = await start_session(people.staff, get_settings())
    await BaseUser.update({BaseUser.active: False}).where(BaseUser.id == people.staff)
    visitors: dict[str, httpx.AsyncClient] = {}
    for who in ("anonymous", "plain", "member", "deactivated staff"):
        visitor = httpx.AsyncClient(transport=transport, base_url="http://localhost")
        counter.attach(visitor)
        if who in ("plain", "member"):
            await log_in(visitor, who)
        if who == "deactivated staff":
            visitor.cookies.set("id", deactivated)
        await visitor.get("/admin/")
        visitors[who] = visitor
    before = await fingerprint(sample)
    problems: list[str] = []
    refusals = 0
    writes = [(method, path) for method, path in routes if method in WRITES]
    for method, path in writes:
        for label, headers in (
            ("no token", {}),
            ("a forged token", {"X-CSRFToken": "forged"}),
            ("another browser's token", {"X-CSRFToken": others_token}),
        ):
            response = await client.request(method, url(path), json={}, headers=headers)
            if response.status_code == 403:
                refusals += 1
            else:
                problems.append(f"staff {method} {url(path)} with {label}: {response.status_code}")

    denied = 0
    for who, visitor in visitors.items():
        headers = {"X-CSRFToken": visitor.cookies["csrftoken"]}
        for method, path in routes:
            response = await visitor.request(method, url(path), json={}, headers=headers)
            if response.status_code in {401, 403}:
                denied += 1
            else:
                problems.append(f"{who}: {method} {url(path)} is {response.status_code}")
        await visitor.aclose()
    assert not problems, "\n".join(problems[:60])
    assert await fingerprint(sample) == before, "a refused admin request changed the database"
    # Staff are let in by the same URLs: the refusals above were about who asked.
    for method, path in routes:
        if method == "GET":
            response = await client.get(url(path))
            assert response.status_code not in {401, 403}, f"staff: GET {url(path)}"
    figures.record(PART, "admin API routes (from the mounted app's routes)", len(routes))
    figures.record(PART, "admin writes refused without a valid CSRF token", refusals)
    figures.record(
        PART, "admin requests refused to anonymous, non-staff, deactivated staff", denied
    )
    figures.record(PART, "requests (admin)", counter.requests)


async def test_staff_routes_refuse_anonymous_and_non_staff(
    client: httpx.AsyncClient, sample: Litestar, people: People, figures: Figures
) -> None:
    app = sample
    routes = staff_routes(app)
    ids: dict[str, int | str] = {
        "album_id": 1,
        "fan_id": 1,
        "job_id": "00000000-0000-4000-8000-000000000001",
        "action": "load",
        "name": "backup-20260101T000000Z.bandstand.gz",
    }
    transport = cast(httpx.ASGITransport, client._transport)
    visitors: list[tuple[str, httpx.AsyncClient, str, int]] = []
    for who, expected in (("anonymous", 401), ("plain", 403), ("member", 403)):
        visitor = httpx.AsyncClient(transport=transport, base_url="http://localhost")
        if who != "anonymous":
            await log_in(visitor, who)
        visitors.append((who, visitor, await csrf_token(visitor, "/login"), expected))
    before = await fingerprint(app)
    problems: list[str] = []
    denied = 0
    for who, visitor, token, expected in visitors:
        for method, path in routes:
            url = fill(path.replace("{key:path}", "fans/" + "0" * 32 + ".png"), ids)
            response = await visitor.request(
                method, url, headers={"x-site-csrf": token, "accept": "application/json"}
            )
            if response.status_code == expected:
                denied += 1
            else:
                problems.append(f"{who}: {method} {url} is {response.status_code}")
        await visitor.aclose()
    assert not problems, "\n".join(problems)
    assert await fingerprint(app) == before
    figures.record(PART, "staff-only site routes (from their guards)", len(routes))
    figures.record(PART, "staff-only requests refused to anonymous and non-staff", denied)
