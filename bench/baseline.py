"""The ceiling for `make bench`: the site's benchmarked endpoints as bare Litestar handlers on
the raw driver (asyncpg, or sqlite3 on kept threads), no ORM and no middleware.

    BENCH_DATABASE_URL=... uvicorn bench.baseline:app

It answers with the same Structs and renders the same compiled templates as the app, so the
responses are the same bytes; only the path from the request to the database differs.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from litestar import Litestar, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Template
from litestar.status_codes import HTTP_409_CONFLICT

from bandstand.database.postgres import keep_session
from bandstand.pagination import Page
from bandstand.settings import get_settings
from bandstand.templating import create_template_config
from project.catalog.routes import SORT_LABELS
from project.catalog.schemas import PAGE_SIZE, CategoryOut, ProductOut, ProductPage
from project.features import FEATURES
from project.webinars.schemas import RegistrantOut, RegistrationIn

URL = os.environ.get("BENCH_DATABASE_URL", "sqlite:///data/bandstand.sqlite3")
CENTS = Decimal("0.01")
PRODUCT = """
    SELECT p.id, p.name, p.description, p.price, p.stock, p.created_at,
           c.id AS category_id, c.slug AS category_slug, c.name AS category_name
    FROM product p JOIN category c ON c.id = p.category
"""
# The same query shapes as the app's (project/catalog/queries.py, project/webinars/queries.py):
# a page carries its total (one query), a registration is one insert that a taken address skips.
IN_CATEGORY = "p.category = (SELECT id FROM category WHERE slug = {0})"
COUNT = f"SELECT COUNT(*) FROM product p WHERE {IN_CATEGORY}"  # noqa: S608 - constants
PAGE = (
    PRODUCT.replace("c.name AS category_name", "c.name AS category_name, (" + COUNT + ") AS total")
    + f" WHERE {IN_CATEGORY} ORDER BY LOWER(p.name), p.id LIMIT {{1}} OFFSET {{2}}"
)
CATEGORIES = "SELECT id, slug, name FROM category ORDER BY name"
REGISTER = """
    INSERT INTO registrant (name, email, company, webinar_date, notes, photo, registered_at)
    VALUES ({0}, {1}, {2}, {3}, {4}, NULL, {5})
    ON CONFLICT (email) DO NOTHING
    RETURNING id
"""


class Database:
    """Run SQL written with {0}, {1}... placeholders on either engine."""

    async def fetch(self, sql: str, *args: Any) -> Sequence[Sequence[Any]]:
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections."""


class Postgres(Database):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, url: str) -> Postgres:
        # asyncpg reads sslmode and sslrootcert itself; the cache size is the app's setting, and
        # so is giving connections back without a reset query (the same work per query).
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        cache = int(query.pop("statement_cache_size", "0"))
        dsn = urlunsplit(parts._replace(query=urlencode(query)))
        pool = await asyncpg.create_pool(
            dsn, min_size=10, max_size=10, statement_cache_size=cache, reset=keep_session
        )
        return cls(pool)

    async def fetch(self, sql: str, *args: Any) -> Sequence[Sequence[Any]]:
        placeholders = [f"${n + 1}" for n in range(len(args))]
        rows: list[asyncpg.Record] = await self.pool.fetch(sql.format(*placeholders), *args)
        return rows

    async def close(self) -> None:
        await self.pool.close()


class SQLite(Database):
    """One connection per thread, opened once: sqlite3 is synchronous. The threads are the
    standard executor (the app's engine has lighter ones, bandstand/database/threads.py)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()
        self.threads = ThreadPoolExecutor(4)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            self.local.connection = connection
        return connection

    def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        numbered = [f"?{n + 1}" for n in range(len(args))]  # a value may be used twice
        return self._connection().execute(sql.format(*numbered), args).fetchall()

    async def fetch(self, sql: str, *args: Any) -> Sequence[Sequence[Any]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.threads, self._fetch, sql, args)

    async def close(self) -> None:
        self.threads.shutdown(wait=False)


def _timestamp(value: Any) -> datetime.datetime:
    # SQLite hands back Piccolo's text; asyncpg a datetime.
    return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)


def _product(row: Sequence[Any]) -> ProductOut:
    return ProductOut(
        id=row[0],
        name=row[1],
        description=row[2],
        price=Decimal(str(row[3])).quantize(CENTS),
        stock=row[4],
        category=CategoryOut(id=row[6], slug=row[7], name=row[8]),
        created_at=_timestamp(row[5]),
    )


async def _page(
    database: Database, category: str, page: int, size: int
) -> tuple[list[ProductOut], Page]:
    number = max(page, 1)
    rows = await database.fetch(PAGE, category, size, (number - 1) * size)
    if rows:
        return [_product(row) for row in rows], Page(number=number, size=size, total=rows[0][9])
    found = Page.of(page, size, (await database.fetch(COUNT, category))[0][0])
    if found.total:
        rows = await database.fetch(PAGE, category, size, found.offset)
    return [_product(row) for row in rows], found


def create_app(url: str = URL) -> Litestar:
    state: dict[str, Database] = {}

    @asynccontextmanager
    async def connect(app: Litestar) -> AsyncIterator[None]:
        if url.startswith("sqlite"):
            state["db"] = SQLite(url.split("///", 1)[1])
        else:
            state["db"] = await Postgres.connect(url)
        try:
            yield
        finally:
            await state["db"].close()

    @get("/api/products/{product_id:int}")
    async def product(product_id: FromPath[int]) -> ProductOut:
        rows = await state["db"].fetch(PRODUCT + " WHERE p.id = {0}", product_id)
        if not rows:
            raise NotFoundException("No such product.")
        return _product(rows[0])

    @get("/api/products")
    async def products(
        category: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        page_size: FromQuery[int] = PAGE_SIZE,
    ) -> ProductPage:
        items, found = await _page(state["db"], category, page, page_size)
        return ProductPage(
            items=items,
            page=found.number,
            page_size=found.size,
            total=found.total,
            pages=found.pages,
        )

    @get("/products")
    async def product_list(category: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
        items, found = await _page(state["db"], category, page, PAGE_SIZE)
        categories = [CategoryOut(*row) for row in await state["db"].fetch(CATEGORIES)]
        context = {
            "products": items,
            "page": found,
            "filters": {"q": "", "category": category, "sort": "name"},
            "categories": categories,
            "sort_labels": SORT_LABELS,
        }
        return Template("catalog/list.html", context=context)

    @post("/api/webinars/registrants")
    async def register(data: JSONBody[RegistrationIn]) -> RegistrantOut:
        database = state["db"]
        now = datetime.datetime.now(datetime.UTC)
        stored_now: Any = now if isinstance(database, Postgres) else now.isoformat(" ")
        stored_date: Any = (
            data.webinar_date if isinstance(database, Postgres) else data.webinar_date.isoformat()
        )
        rows = await database.fetch(
            REGISTER,
            data.name.strip(),
            data.email,
            data.company,
            stored_date,
            data.notes,
            stored_now,
        )
        if not rows:
            raise ClientException(
                "This e-mail address is already registered.", status_code=HTTP_409_CONFLICT
            )
        return RegistrantOut(
            id=rows[0][0],
            name=data.name.strip(),
            email=data.email,
            company=data.company,
            webinar_date=data.webinar_date,
            notes=data.notes,
            has_photo=False,
            registered_at=now,
        )

    @get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    template_config = create_template_config(get_settings(), FEATURES, "Bandstand")
    # The layout asks for flash messages; the baseline has none (and no session to keep them).
    template_config.engine_instance.register_template_callable("get_flashes", lambda context: [])
    return Litestar(
        route_handlers=[healthz, product, products, product_list, register],
        lifespan=[connect],
        template_config=template_config,
    )


app = create_app()
gc.freeze()  # as main.py does
