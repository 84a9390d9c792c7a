"""Shared by the hostile-input tests: the site's tables and text columns (every table of the
features the app under test was built from, so a new feature's are covered without editing
the tests), a fingerprint of everything stored, a request counter, and the page audit that
collects every escaping problem before failing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser
from piccolo.columns import Column, Secret, Text, Varchar
from piccolo.table import Table
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.app import site_of
from bandstand.features import with_framework
from tests.stress.markup import injected, leaks, shown

HTML = {"accept": "text/html"}


def site_tables(app: Litestar) -> list[type[Table]]:
    """Users, sessions and the tables of every feature `app` serves, parents before
    children."""
    features, _ = site_of(app)
    return [
        BaseUser,
        SessionsBase,
        *(table for feature in with_framework(features) for table in feature.tables),
    ]


def text_columns(table: type[Table]) -> list[Column]:
    """The columns a person's text can be stored in (not secrets such as password hashes, nor
    a column marked `secret=True`, such as an API token's hash)."""
    return [
        column
        for column in table._meta.columns
        if isinstance(column, Varchar | Text)
        and not isinstance(column, Secret)
        and not column._meta.secret
    ]


def column_name(column: Column) -> str:
    return f"{column._meta.table._meta.tablename}.{column._meta.name}"


async def row_counts(app: Litestar, skip: Sequence[type[Table]] = ()) -> dict[str, int]:
    return {
        table._meta.tablename: await table.count()
        for table in site_tables(app)
        if table not in skip
    }


async def fingerprint(app: Litestar, skip: Sequence[type[Table]] = ()) -> str:
    """A digest of every row of every table of `app`'s site: equal digests, nothing
    written."""
    digest = hashlib.sha256()
    for table in site_tables(app):
        if table in skip:
            continue
        rows = await table.select().order_by(table._meta.primary_key)
        digest.update(table._meta.tablename.encode())
        digest.update(json.dumps(rows, default=str, sort_keys=True).encode())
    return digest.hexdigest()


class Counter:
    """Counts the requests a client sends (an httpx event hook)."""

    def __init__(self) -> None:
        self.requests = 0

    async def __call__(self, request: httpx.Request) -> None:
        self.requests += 1

    def attach(self, client: httpx.AsyncClient) -> httpx.AsyncClient:
        client.event_hooks["request"].append(self)
        return client


class Audit:
    """Checks page after page and keeps every problem, so one run reports them all."""

    def __init__(self) -> None:
        self.pages = 0
        self.json = 0
        self.problems: list[str] = []
        self.shown: set[str] = set()

    def page(
        self,
        response: httpx.Response,
        values: Iterable[str],
        must_show: Iterable[str] = (),
        *,
        status: int | Iterable[int] = 200,
    ) -> None:
        where = f"{response.request.method} {response.request.url}"
        statuses = {status} if isinstance(status, int) else set(status)
        if response.status_code not in statuses:
            self.problems.append(f"{where}: {response.status_code}, expected {statuses}")
            return
        if not response.headers.get("content-type", "").startswith("text/html"):
            self.problems.append(f"{where}: not HTML but {response.headers.get('content-type')}")
            return
        self.pages += 1
        html = response.text
        self.problems += [f"{where}: unescaped {value!r}" for value in leaks(html, values)]
        self.problems += [f"{where}: {problem}" for problem in injected(html)]
        for value in must_show:
            if shown(html, value):
                self.shown.add(value)
            else:
                self.problems.append(f"{where}: does not show {value!r}")

    def data(self, response: httpx.Response, expected: dict[str, Any], status: int = 200) -> Any:
        """A JSON answer whose fields hold exactly `expected`; returns the decoded body."""
        where = f"{response.request.method} {response.request.url}"
        if response.status_code != status:
            self.problems.append(f"{where}: {response.status_code} {response.text[:200]}")
            return None
        if not response.headers.get("content-type", "").startswith("application/json"):
            self.problems.append(f"{where}: not JSON but {response.headers.get('content-type')}")
            return None
        self.json += 1
        body = response.json()
        for key, value in expected.items():
            if body.get(key) != value:
                self.problems.append(f"{where}: {key} is {body.get(key)!r}, not {value!r}")
        return body

    def require(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)

    def assert_clean(self) -> None:
        assert not self.problems, f"{len(self.problems)} problems:\n" + "\n".join(
            self.problems[:60]
        )
