"""Schemathesis against the app's own OpenAPI schema, every operation (the framework's and the
sample site's JSON API), anonymous, as staff and with a staff API token: no 5xx, and every
answer as the schema says (status, content type, body, headers), requests refused as the schema
says and schema-valid ones accepted.

In-process (ASGI) on the suite's database, with every feature's demo data loaded so ids in
paths and bodies find real rows. Seeded: a run sends the same requests on the same data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import anyio
import msgspec
import pytest
from litestar import Litestar
from schemathesis.python import asgi

from bandstand.accounts.api_tokens import create_token, scopes_of
from bandstand.accounts.users import find_user_id
from bandstand.app import site_of
from bandstand.features import with_framework
from bandstand.settings import get_settings
from tests.stress.figures import Figures
from tests.stress.fuzzing import (
    HOST,
    MAX_EXAMPLES,
    SCHEMA_CHECKS,
    SEED,
    CountingApp,
    Outcome,
    fuzz,
    stop_the_app,
)
from tests.support.sample import SAMPLE, sample_app

pytestmark = pytest.mark.timeout(300)

PART = "API fuzzing (schemathesis)"
PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def _load_data(app: Litestar) -> None:
    """Empty tables, every feature's demo data, and a staff account."""
    from piccolo.apps.user.tables import BaseUser
    from piccolo.table import Table
    from piccolo_api.session_auth.tables import SessionsBase

    from bandstand.accounts.users import create_user

    features = with_framework(site_of(app)[0])
    tables: list[type[Table]] = [
        BaseUser,
        SessionsBase,
        *(table for feature in features for table in feature.tables),
    ]
    for table in reversed(tables):
        await table.delete(force=True)
    for feature in features:
        if feature.load_demo:
            await feature.load_demo()
    await create_user("fuzzer", "fuzzer@example.com", PASSWORD, admin=True)


def _staff_headers(app: CountingApp) -> dict[str, str]:
    """Log in through the login form, as a script would: the session cookie, and the CSRF
    header with the token that matches the `site_csrf` cookie."""
    with asgi.get_client(app) as client:
        client.headers.update(HOST)
        login = CSRF_FIELD.search(client.get("/login").text)
        assert login
        response = client.post(
            "/login",
            data={"username": "fuzzer", "password": PASSWORD, "_csrf_token": login.group(1)},
            allow_redirects=False,
        )
        assert response.status_code == 303, response.text
        account = CSRF_FIELD.search(client.get("/account").text)
        assert account
        jar = client.cookies.get_dict()
        assert {"id", "site_csrf"} <= jar.keys(), jar
        cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
        return {"cookie": cookie, "x-site-csrf": account.group(1)}


def _token_headers() -> dict[str, str]:
    """A bearer token of the staff account, with every scope: no cookie, no CSRF header."""

    async def make() -> str:
        user_id = await find_user_id("fuzzer")
        assert user_id is not None
        features = with_framework([SAMPLE])
        scopes = scopes_of([feature.name for feature in features if feature.route_handlers()])
        return (await create_token(user_id, "fuzzer", scopes, days=1)).token

    return {"authorization": f"Bearer {anyio.run(make)}"}


@pytest.fixture(scope="module")
def app(tables_made: None) -> Iterator[CountingApp]:
    # Its own: schemathesis runs its lifespan on a loop of its own. The token's requests are
    # not held to the per-minute limit, which would answer the fuzzer 429.
    sample = sample_app(
        msgspec.structs.replace(get_settings(), api_token_requests_per_minute=1_000_000)
    )
    anyio.run(_load_data, sample)
    counting = CountingApp(sample)
    try:
        yield counting
    finally:
        stop_the_app()


def _report(outcome: Outcome, who: str, figures: Figures) -> None:
    note = f"{who}; seed {SEED}, {MAX_EXAMPLES} examples per operation and phase"
    figures.record(PART, f"operations ({who})", outcome.operations)
    figures.record(PART, f"requests ({who})", outcome.requests, note)
    figures.record(PART, f"5xx ({who})", outcome.server_errors)
    schema = outcome.failed(SCHEMA_CHECKS)
    figures.record(PART, f"schema violations ({who})", len(schema))
    other = outcome.failed(None).keys() - schema.keys()
    figures.record(PART, f"other check failures ({who})", len(other))


def _assert_clean(outcome: Outcome) -> None:
    assert not outcome.failures, "\n\n".join(outcome.failures.values())
    assert outcome.errors == []
    # Counted by the app's side too, whatever the checks saw.
    assert outcome.server_errors == 0, outcome.statuses
    # Every operation was sent requests, not skipped.
    assert len(outcome.tested) == outcome.operations, outcome.tested


def test_anonymous_requests(app: CountingApp, figures: Figures) -> None:
    outcome = fuzz(app, headers={})
    _report(outcome, "anonymous", figures)
    _assert_clean(outcome)
    # Without a session nothing is written: every write was refused.
    assert outcome.statuses[201] == 0


def test_api_token_requests(app: CountingApp, figures: Figures) -> None:
    outcome = fuzz(app, headers=_token_headers())
    _report(outcome, "API token", figures)
    _assert_clean(outcome)
    # The token worked, with no CSRF header: writes went through.
    assert outcome.statuses[201] > 0, outcome.statuses
    assert outcome.statuses[204] > 0, outcome.statuses


def test_staff_requests(app: CountingApp, figures: Figures) -> None:
    outcome = fuzz(app, headers=_staff_headers(app))
    _report(outcome, "staff", figures)
    _assert_clean(outcome)
    # The session and the CSRF header worked: writes went through.
    assert outcome.statuses[201] > 0, outcome.statuses
    assert outcome.statuses[204] > 0, outcome.statuses
