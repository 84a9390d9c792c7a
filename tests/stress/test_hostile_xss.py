"""Cross-site scripting: every XSS payload in every text field of every form and JSON API,
then every page that shows it (escaped, nothing injected) and every JSON answer (verbatim).

The fields come from the input Structs, so a new text field gets the payloads too; a new field
of another type stops the test until it is given a valid value here.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import msgspec
import pytest
from markupsafe import escape
from piccolo.apps.user.tables import BaseUser
from piccolo.columns import Column, Varchar
from piccolo.table import Table

from bandstand.accounts.schemas import LoginForm, SignupForm
from bandstand.features import with_framework
from bandstand.testing.accounts import People, csrf_token, log_in_for_api
from bandstand.testing.apps import build_app, client_for
from project.catalog.schemas import ProductIn
from project.catalog.tables import Category, Product
from project.chat.schemas import MessageIn, NewConversation, RenameForm
from project.chat.tables import Conversation, Message
from project.features import FEATURES
from project.webinars.schemas import RegistrationIn
from project.webinars.tables import Registrant
from tests.stress.figures import Figures
from tests.stress.hostile import HTML, Audit, Counter, column_name, text_columns
from tests.stress.markup import injected, leaks, shown
from tests.stress.payloads import TEMPLATE_MARKERS, XSS, email_for
from bandstand.testing.sse import parse_sse

PART = "hostile input: XSS"
FORMS: tuple[type[msgspec.Struct], ...] = (
    ProductIn,
    RegistrationIn,
    NewConversation,
    MessageIn,
    RenameForm,
    LoginForm,
    SignupForm,
)


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
    """Payloads made unique (the tag goes last: the offline chat answer echoes the first word),
    so one payload's escaped form is never mistaken for another's raw form."""
    return f"{payload} ~h{number:02d}"


def in_days(days: int) -> str:
    return (datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=days)).isoformat()


@pytest.fixture
async def signup_client(clean_tables: None) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(await build_app(signup_enabled=True)) as client:
        yield client


async def test_payloads_through_every_form_and_api_are_escaped_on_pages_and_verbatim_in_json(
    client: httpx.AsyncClient,
    signup_client: httpx.AsyncClient,
    people: People,
    figures: Figures,
) -> None:
    counter = Counter()
    counter.attach(client)
    counter.attach(signup_client)
    audit = Audit()
    category = (await Category.insert(Category(name="Tools", slug="tools")))[0]["id"]
    await log_in_for_api(client, "boss")  # staff and superuser: every page opens
    token = client.headers["x-site-csrf"]
    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://localhost")
    counter.attach(anonymous)
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
        # Products: the JSON API, then the staff form, each read back on every page.
        valid = {"price": "9.99", "stock": 3, "category_id": category}
        body = body_for(ProductIn, payload, valid)
        created = audit.data(
            await client.post("/api/products", json=body),
            {"name": payload.strip(), "description": payload},
            status=201,
        )
        form = {key: str(value) for key, value in body_for(ProductIn, payload, valid).items()}
        response = await client.post("/products/new", data={**form, "_csrf_token": token})
        audit.require(response.status_code == 303, f"/products/new: {response.status_code}")
        shown_here = (payload.strip(), payload)
        if response.status_code == 303:
            audit.page(await client.get(response.headers["location"]), shown_here, shown_here)
        if created:
            product = created["id"]
            audit.data(
                await client.put(f"/api/products/{product}", json=body),
                {"name": payload.strip(), "description": payload},
            )
            for url in (f"/products/{product}", f"/products/{product}/edit"):
                audit.page(await client.get(url), shown_here, shown_here)
            audit.data(await client.get(f"/api/products/{product}"), {"name": payload.strip()})
            response = await client.post(
                f"/products/{product}/edit", data={**form, "_csrf_token": token}
            )
            audit.require(response.status_code == 303, f"edit: {response.status_code}")
        listed = await client.get("/products", params={"q": payload, "category": payload})
        audit.page(listed, shown_here, [payload])  # the search echoed; no product in it
        listed = await client.get("/products", params={"q": payload.strip()})
        audit.page(listed, shown_here, [payload.strip()])
        # A refused form shows what was typed again.
        refused = await client.post(
            "/products/new", data={**form, "price": "free", "_csrf_token": token}
        )
        audit.page(refused, shown_here, [payload.strip()], status=400)

        # Webinar registration: JSON for anyone, the form, the staff pages.
        email = email_for(raw, number)
        valid = {"email": email, "webinar_date": in_days(7)}
        body = body_for(RegistrationIn, payload, valid)
        registered = audit.data(
            await anonymous.post(
                "/api/webinars/registrants", json=body, headers={"x-site-csrf": login_token}
            ),
            {"name": payload.strip(), "company": payload, "notes": payload, "email": email},
            status=201,
        )
        stored = (payload.strip(), payload, email)
        if registered:
            audit.page(
                await client.get(f"/webinars/registrants/{registered['id']}"), stored, stored
            )
        audit.page(
            await client.get("/webinars/registrants", params={"q": payload.strip()}),
            stored,
            [payload.strip()],
        )
        audit.data(
            await client.get("/api/webinars/registrants", params={"q": payload.strip()}),
            {"total": 1},
        )
        form = body_for(RegistrationIn, payload, valid | {"email": f"form.{email}"})
        response = await anonymous.post("/webinars", data={**form, "_csrf_token": login_token})
        audit.require(response.status_code == 303, f"/webinars: {response.status_code}")
        if response.status_code == 303:  # the thanks, with the name, on the next page
            audit.page(await anonymous.get("/webinars"), stored, [payload.strip()])
        refused = await anonymous.post(
            "/webinars",
            data={**form, "webinar_date": "yesterday", "_csrf_token": login_token},
        )
        audit.page(refused, stored, [payload.strip(), payload], status=400)

        # Chat: a conversation titled with the payload, a message, the answer, a rename.
        conversation = audit.data(
            await client.post(
                "/api/chat/conversations", json=body_for(NewConversation, payload, {})
            ),
            {"title": payload.strip()[:200]},
            status=201,
        )
        if conversation:
            chat = conversation["id"]
            reply = await client.post(
                f"/api/chat/conversations/{chat}/messages", json=body_for(MessageIn, payload, {})
            )
            events = parse_sse(reply.text)
            tokens = "".join(str(data) for kind, data in events if kind == "token")
            done = next((data for kind, data in events if kind == "done"), None)
            first_word = payload.strip().split()[0]
            audit.require(first_word in tokens, f"the answer does not echo {first_word!r}")
            if isinstance(done, dict):
                # Markdown decodes entities (`&lt;` shows as "<", as text), so only a raw tag in
                # the echoed word says whether markdown escaped it.
                raw_tags = [word for word in (first_word,) if "<" in word]
                problems = injected(done["html"]) + leaks(done["html"], raw_tags)
                audit.problems += [f"chat {chat} rendered answer: {p}" for p in problems]
            else:
                audit.problems.append(f"chat {chat}: no done event in {reply.text[:200]}")
            messages = (await client.get(f"/api/chat/conversations/{chat}")).json()["messages"]
            audit.require(
                messages[0]["content"] == payload.strip() and messages[1]["content"] == tokens,
                f"chat {chat}: the API does not carry the messages verbatim: {messages}",
            )
            said = (payload.strip(), payload)
            audit.page(await client.get(f"/chat/{chat}"), said, [payload.strip()])
            response = await client.post(
                f"/chat/{chat}/rename",
                data={**body_for(RenameForm, payload, {}), "_csrf_token": token},
            )
            audit.require(response.status_code == 303, f"rename: {response.status_code}")
            audit.page(await client.get(f"/chat/{chat}"), said, [payload.strip()])
            audit.page(await client.get("/chat"), said, [payload.strip()])

        # Logging in and signing up: what was typed is shown again, `next` is kept.
        login = body_for(LoginForm, payload, {"next": f"/products?q={payload}"})
        response = await anonymous.post("/login", data={**login, "_csrf_token": login_token})
        audit.page(response, (payload, login["next"]), [payload.strip()], status={400, 429})
        response = await anonymous.get("/login", params={"next": f"/{payload}"})
        audit.page(response, (payload, f"/{payload}"), [])
        signup = body_for(SignupForm, payload, {"password": "pw", "confirm_password": "pw"})
        response = await signup_client.post("/signup", data={**signup, "_csrf_token": signup_token})
        audit.page(response, (payload.strip(),), [payload.strip()], status=400)
        # A filter that is not one of the choices is refused as JSON data, not echoed in a page.
        refused = await client.get("/products", params={"sort": payload}, headers=HTML)
        audit.require(
            refused.status_code == 400
            and refused.headers["content-type"].startswith("application/json"),
            f"/products?sort=…: {refused.status_code} {refused.headers['content-type']}",
        )

    for raw in XSS:  # template syntax stayed text: never evaluated (no 49 in its place)
        if any(marker in raw for marker in TEMPLATE_MARKERS):
            audit.require(
                any(raw in value for value in audit.shown), f"{raw!r} was not shown as typed"
            )
    await anonymous.aclose()
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


async def one_row_each(owner: int) -> dict[type[Table], int]:
    """A row in every feature table (its defaults, foreign keys to the rows made before it),
    so that every text column has somewhere to hold a payload."""
    ids: dict[type[Table], int] = {BaseUser: owner}
    for table in (table for feature in with_framework(FEATURES) for table in feature.tables):
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


async def test_payloads_in_every_stored_text_column_are_escaped_on_pages_and_verbatim_in_json(
    client: httpx.AsyncClient, people: People, figures: Figures
) -> None:
    counter = Counter()
    counter.attach(client)
    audit = Audit()
    ids = await one_row_each(people.superuser)
    # The chat page shows an answer's provider, and a failed one's error, only for such rows;
    # its content goes through markdown.
    answer = Message(conversation=ids[Conversation], role="assistant", status="failed")
    await answer.save()
    await log_in_for_api(client, "boss")
    admin_tables = (await client.get("/admin/api/tables/")).json()
    columns = [column for table in ids for column in text_columns(table)]
    # By identity: a Piccolo column's == builds a WHERE clause, so list.index() can't find one.
    codes = {id(column): code for code, column in enumerate(columns)}
    product, registrant = ids[Product], ids[Registrant]
    conversation = ids[Conversation]
    pages = [
        "/",
        "/products",
        f"/products/{product}",
        f"/products/{product}/edit",
        "/webinars",
        "/webinars/registrants",
        f"/webinars/registrants/{registrant}",
        "/chat",
        f"/chat/{conversation}",
        "/dashboard",
        "/account",
        "/team",
    ]
    apis = [
        "/api/products",
        f"/api/products/{product}",
        "/api/webinars/registrants",
        "/api/chat/conversations",
        f"/api/chat/conversations/{conversation}",
        "/api/dashboard",
    ]
    shown_on_pages: set[str] = set()
    in_admin: set[str] = set()

    for number, payload in enumerate(XSS):
        values: dict[str, str] = {}
        for table, row_id in ids.items():
            changes: dict[Column | str, Any] = {}
            for column in text_columns(table):
                value = stored_value(column, codes[id(column)], number, payload)
                changes[column] = value
                values[value] = column_name(column)
            if changes:
                await table.update(changes).where(table._meta.primary_key == row_id)
        rendered: dict[Column | str, Any] = {}
        for code, column in enumerate((Message.content, Message.provider, Message.error)):
            rendered[column] = stored_value(column, len(columns) + code, number, payload)
            values[rendered[column]] = f"{column_name(column)} (an answer)"
        await Message.update(rendered).where(Message.id == answer.id)
        markdown = rendered[Message.content]
        # Markdown escapes what makes markup in text (< > &) but leaves quotes, harmless there,
        # and decodes entity references (`&lt;` is shown as "<", as text): the raw check
        # applies to its text only for a tag. The structural check applies to all of it.
        if "&" in markdown or not re.search("[<>]", markdown):
            values.pop(markdown)
        slug = await Category.select(Category.slug).where(Category.id == ids[Category]).first()
        assert slug is not None
        for url in [*pages, f"/products?{urlencode({'category': slug['slug']})}"]:
            response = await client.get(url)
            audit.page(response, values)
            on_page = [value for value in values if shown(response.text, value)]
            audit.require(bool(on_page), f"{url} shows none of the stored payloads")
            shown_on_pages.update(values[value] for value in on_page)
        for url in apis:
            leaves = string_leaves(audit.data(await client.get(url), {}))
            audit.require(
                any(value in leaves for value in values), f"{url} carries no stored payload"
            )
            audit.problems += [
                f"{url}: HTML-escaped in JSON: {value!r}"
                for value in values
                if str(escape(value)) != value and str(escape(value)) in leaves
            ]
        for table in admin_tables:
            listed = await client.get(
                f"/admin/api/tables/{table}/", params={"__page_size": 100, "__readable": "true"}
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
