"""Cross-site scripting: every XSS payload in every text field of every form and JSON API of the
sample site and the framework, then every page that shows it (escaped, nothing injected) and
every JSON answer (verbatim); and every payload stored in every text column of every table the
app has, then every page and JSON answer of the app, and the admin's.

The fields come from the input Structs, so a new text field gets the payloads too; a new field
of another type stops the test until it is given a valid value here. The pages and the tables
come from the app under test, so a site's new page or table is covered as it is added.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from markupsafe import escape
from piccolo.apps.user.tables import BaseUser
from piccolo.columns import Column, Varchar
from piccolo.table import Table

from bandstand.accounts.schemas import LoginForm, SignupForm
from bandstand.app import site_of
from bandstand.audit.tables import AuditEntry
from bandstand.features import with_framework
from bandstand.testing.accounts import People, csrf_token, log_in_for_api
from bandstand.testing.apps import client_for
from tests.stress.figures import Figures
from tests.stress.hostile import HTML, Audit, Counter, column_name, text_columns
from tests.stress.markup import shown
from tests.stress.payloads import TEMPLATE_MARKERS, XSS, email_for
from tests.support.sample import build_sample_app
from tests.support.sample.schemas import AlbumIn, FanIn
from tests.support.tables import Album, Band, Fan

PART = "hostile input: XSS"
FORMS: tuple[type[msgspec.Struct], ...] = (AlbumIn, FanIn, LoginForm, SignupForm)
# GET routes that show no stored text: files, the API's description, the probes.
# Pages that show none of the tables' text: files, probes, the API schema, the background jobs
# (a task's name and error), the password reset pages, the address links' pages, which show
# what their signed token names (tests/accounts/test_email_addresses.py escapes a hostile one),
# and the login's code step, which shows a form only.
SHOWS_NO_DATA = re.compile(
    r"^/(static|media|schema|healthz$|readyz$|jobs|password-reset|verify-email/|account/email/"
    r"|login/code$|login/oidc/)"
)
ROUTE_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def is_text(field: msgspec.structs.FieldInfo) -> bool:
    info = msgspec.inspect.type_info(field.type)
    if isinstance(info, msgspec.inspect.Metadata):  # extra schema only: the type inside
        info = info.type
    return isinstance(info, msgspec.inspect.StrType)


def body_for(struct: type[msgspec.Struct], payload: str, valid: dict[str, Any]) -> dict[str, Any]:
    """The payload in every text field of `struct`; `valid` values where the field needs one."""
    body: dict[str, Any] = {}
    for field in msgspec.structs.fields(struct):
        if field.encode_name in valid:
            body[field.encode_name] = valid[field.encode_name]
        elif is_text(field):
            body[field.encode_name] = payload
        else:
            raise AssertionError(
                f"{struct.__name__}.{field.name} is new: give test_hostile_xss a valid value"
            )
    return body


def tagged(payload: str, number: int) -> str:
    """Payloads made unique, so one payload's escaped form is never mistaken for another's raw
    form."""
    return f"{payload} ~h{number:02d}"


@pytest.fixture
async def signup_site(clean_tables: None, test_tables: None) -> Litestar:
    """The sample site with sign-up open (every form the framework has)."""
    return await build_sample_app(signup_enabled=True)


@pytest.fixture
async def site_client(signup_site: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(signup_site) as client:
        yield client


async def test_payloads_through_every_form_and_api_are_escaped_on_pages_and_verbatim_in_json(
    site_client: httpx.AsyncClient, people: People, figures: Figures
) -> None:
    client = site_client
    counter = Counter()
    counter.attach(client)
    audit = Audit()
    band = (await Band.insert(Band(name="Pythonistas")))[0]["id"]
    await log_in_for_api(client, "boss")  # staff and superuser: every page opens
    token = client.headers["x-site-csrf"]
    # Two more browsers on the same app: someone not logged in, someone signing up.
    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://localhost")
    signup_client = httpx.AsyncClient(transport=client._transport, base_url="http://localhost")
    counter.attach(anonymous)
    counter.attach(signup_client)
    login_token = await csrf_token(anonymous)
    signup_token = await csrf_token(signup_client, "/signup")
    fields = {
        f"{struct.__name__}.{field.name}"
        for struct in FORMS
        for field in msgspec.structs.fields(struct)
        if is_text(field)
    }
    # Every JSON body the API takes is among them (a new one must be added to FORMS).
    schema = (await client.get("/schema/openapi.json")).json()
    bodies = {
        content["schema"]["$ref"].rsplit("/", 1)[-1]
        for item in schema["paths"].values()
        for operation in item.values()
        for content in operation.get("requestBody", {}).get("content", {}).values()
    }
    assert bodies <= {struct.__name__ for struct in FORMS}, bodies

    for number, raw in enumerate(XSS):
        payload = tagged(raw, number)
        # Albums: the JSON API, then the staff form, each read back on every page.
        valid = {"price": "9.99", "band_id": band}
        body = body_for(AlbumIn, payload, valid)
        created = audit.data(
            await client.post("/api/albums", json=body),
            {"title": payload.strip(), "description": payload},
            status=201,
        )
        form = {key: str(value) for key, value in body.items()}
        response = await client.post("/albums/new", data={**form, "_csrf_token": token})
        audit.require(response.status_code == 303, f"/albums/new: {response.status_code}")
        shown_here = (payload.strip(), payload)
        if response.status_code == 303:
            audit.page(await client.get(response.headers["location"]), shown_here, shown_here)
        if created:
            album = created["id"]
            audit.data(
                await client.put(f"/api/albums/{album}", json=body),
                {"title": payload.strip(), "description": payload},
            )
            for url in (f"/albums/{album}", f"/albums/{album}/edit"):
                audit.page(await client.get(url), shown_here, shown_here)
            audit.data(await client.get(f"/api/albums/{album}"), {"title": payload.strip()})
            response = await client.post(
                f"/albums/{album}/edit", data={**form, "_csrf_token": token}
            )
            audit.require(response.status_code == 303, f"edit: {response.status_code}")
        listed = await client.get("/albums", params={"q": payload, "band": payload})
        audit.page(listed, shown_here, [payload])  # the search echoed; no album in it
        listed = await client.get("/albums", params={"q": payload.strip()})
        audit.page(listed, shown_here, [payload.strip()])
        # A refused form shows what was typed again.
        refused = await client.post(
            "/albums/new", data={**form, "price": "free", "_csrf_token": token}
        )
        audit.page(refused, shown_here, [payload.strip()], status=400)

        # Joining: JSON for anyone, the form, the staff pages.
        email = email_for(raw, number)
        valid = {"email": email, "band_id": band}
        body = body_for(FanIn, payload, valid)
        joined = audit.data(
            await anonymous.post("/api/fans", json=body, headers={"x-site-csrf": login_token}),
            {"name": payload.strip(), "notes": payload, "email": email},
            status=201,
        )
        stored = (payload.strip(), payload, email)
        if joined:
            audit.page(await client.get(f"/fans/{joined['id']}"), stored, stored)
        audit.page(
            await client.get("/fans", params={"q": payload.strip()}), stored, [payload.strip()]
        )
        audit.data(await client.get("/api/fans", params={"q": payload.strip()}), {"total": 1})
        form = {
            key: str(value)
            for key, value in body_for(FanIn, payload, valid | {"email": f"form.{email}"}).items()
        }
        response = await anonymous.post("/join", data={**form, "_csrf_token": login_token})
        audit.require(response.status_code == 303, f"/join: {response.status_code}")
        if response.status_code == 303:  # the thanks, with the name, on the next page
            audit.page(await anonymous.get("/join"), stored, [payload.strip()])
        refused = await anonymous.post(
            "/join", data={**form, "band_id": "none", "_csrf_token": login_token}
        )
        audit.page(refused, stored, [payload.strip(), payload], status=400)

        # Logging in and signing up: what was typed is shown again, `next` is kept.
        login = body_for(LoginForm, payload, {"next": f"/albums?q={payload}"})
        response = await anonymous.post("/login", data={**login, "_csrf_token": login_token})
        audit.page(response, (payload, login["next"]), [payload.strip()], status={400, 429})
        response = await anonymous.get("/login", params={"next": f"/{payload}"})
        audit.page(response, (payload, f"/{payload}"), [])
        signup = body_for(SignupForm, payload, {"password": "pw", "confirm_password": "pw"})
        response = await signup_client.post("/signup", data={**signup, "_csrf_token": signup_token})
        audit.page(response, (payload.strip(),), [payload.strip()], status=400)
        # A filter that is not one of the choices is refused as JSON data, not echoed in a page.
        refused = await client.get("/albums", params={"sort": payload}, headers=HTML)
        audit.require(
            refused.status_code == 400
            and refused.headers["content-type"].startswith("application/json"),
            f"/albums?sort=…: {refused.status_code} {refused.headers['content-type']}",
        )

    for raw in XSS:  # template syntax stayed text: never evaluated (no 49 in its place)
        if any(marker in raw for marker in TEMPLATE_MARKERS):
            audit.require(
                any(raw in value for value in audit.shown), f"{raw!r} was not shown as typed"
            )
    await anonymous.aclose()
    await signup_client.aclose()
    figures.record(PART, "payloads", len(XSS))
    figures.record(PART, "form and API text fields", len(fields), ", ".join(sorted(fields)))
    figures.record(PART, "requests (writes and reads)", counter.requests)
    figures.record(PART, "HTML pages checked for escaping", audit.pages)
    figures.record(PART, "JSON answers checked verbatim", audit.json)
    audit.assert_clean()


def string_leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in string_leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in string_leaves(item)]
    return []


def feature_tables(app: Litestar) -> list[type[Table]]:
    features, _ = site_of(app)
    return [table for feature in with_framework(features) for table in feature.tables]


async def one_row_each(app: Litestar, owner: int) -> dict[type[Table], int]:
    """A row in every feature table of `app` (its defaults, foreign keys to the rows made
    before it), so that every text column has somewhere to hold a payload."""
    ids: dict[type[Table], int] = {BaseUser: owner}
    for table in feature_tables(app):
        parents: dict[Column, Any] = {
            key: ids[key._foreign_key_meta.resolved_references]
            for key in table._meta.foreign_key_columns
        }
        row = table(_data=parents)
        await row.save()
        ids[table] = int(getattr(row, table._meta.primary_key._meta.name))
    return ids


def stored_value(column: Column, code: int, number: int, payload: str) -> str:
    """The payload tagged with its column and round (first: short columns cut the end off),
    cut to the column's length, as PostgreSQL would insist."""
    value = f"c{code:02d}h{number:02d} {payload}"
    return value[: column.length] if isinstance(column, Varchar) else value


def get_urls(app: Litestar, ids: dict[str, int]) -> list[str]:
    """Every GET route of `app` that can show stored text, its path parameters filled."""
    urls = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.methods:
            continue
        if SHOWS_NO_DATA.match(route.path):
            continue
        missing = set(ROUTE_PARAMETER.findall(route.path)) - ids.keys()
        assert not missing, f"a GET route with a new path parameter, give it a row: {route.path}"
        urls.append(ROUTE_PARAMETER.sub(lambda found: str(ids[found.group(1)]), route.path))
    return urls


async def test_payloads_in_every_stored_text_column_are_escaped_on_pages_and_verbatim_in_json(
    signup_site: Litestar, people: People, figures: Figures
) -> None:
    app = signup_site
    audit = Audit()
    counter = Counter()
    ids = await one_row_each(app, people.superuser)
    columns = [column for table in ids for column in text_columns(table)]
    # By identity: a Piccolo column's == builds a WHERE clause, so list.index() can't find one.
    codes = {id(column): code for code, column in enumerate(columns)}
    urls = get_urls(app, {"album_id": ids[Album], "fan_id": ids[Fan]})
    shown_on_pages: set[str] = set()
    in_admin: set[str] = set()
    async with client_for(app) as client:
        counter.attach(client)
        await log_in_for_api(client, "boss")  # a superuser: every page opens
        admin_tables = (await client.get("/admin/api/tables/")).json()
        for number, payload in enumerate(XSS):
            values: dict[str, str] = {}
            for table, row_id in ids.items():
                changes: dict[Column | str, Any] = {}
                for column in text_columns(table):
                    value = stored_value(column, codes[id(column)], number, payload)
                    changes[column] = value
                    values[value] = column_name(column)
                if changes and table is AuditEntry:
                    # Append-only (a trigger refuses updates): each payload is a new entry.
                    fields = {
                        key._meta.name if isinstance(key, Column) else key: value
                        for key, value in changes.items()
                    }
                    await table.insert(table(**fields))
                elif changes:
                    await table.update(changes).where(table._meta.primary_key == row_id)
            band = await Band.select(Band.name).where(Band.id == ids[Band]).first()
            assert band is not None
            for url in [*urls, f"/albums?{urlencode({'band': band['name']})}"]:
                response = await client.get(url, headers=HTML)
                if response.headers.get("content-type", "").startswith("application/json"):
                    leaves = string_leaves(audit.data(response, {}))
                    audit.require(
                        any(value in leaves for value in values), f"{url} carries no payload"
                    )
                    audit.problems += [
                        f"{url}: HTML-escaped in JSON: {value!r}"
                        for value in values
                        if str(escape(value)) != value and str(escape(value)) in leaves
                    ]
                    continue
                audit.page(response, values)
                on_page = [value for value in values if shown(response.text, value)]
                audit.require(bool(on_page), f"{url} shows none of the stored payloads")
                shown_on_pages.update(values[value] for value in on_page)
            for table in admin_tables:
                listed = await client.get(
                    f"/admin/api/tables/{table}/",
                    params={"__page_size": 100, "__readable": "true"},
                )
                leaves = string_leaves(audit.data(listed, {}))
                in_admin.update(values[value] for value in values if value in leaves)
    expected_in_admin = {
        column_name(column)
        for table in ids
        if table._meta.tablename in admin_tables
        for column in text_columns(table)
    }
    audit.require(
        expected_in_admin <= in_admin,
        f"not carried verbatim by the admin: {sorted(expected_in_admin - in_admin)}",
    )
    figures.record(PART, "stored text columns given payloads", len(columns))
    figures.record(PART, "GET routes checked (from the app)", len(urls))
    figures.record(
        PART,
        "stored text columns shown on site pages",
        len(shown_on_pages),
        ", ".join(sorted(shown_on_pages)),
    )
    figures.record(PART, "stored text columns verbatim in the admin's JSON", len(in_admin))
    figures.record(PART, "requests over stored payloads", counter.requests)
    figures.record(PART, "HTML pages checked (stored payloads)", audit.pages)
    audit.assert_clean()
