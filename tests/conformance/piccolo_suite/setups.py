"""The seven setups, and the copy of Piccolo's tests each runs in."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

CONFS = Path(__file__).resolve().parent / "confs"
CONFS_PACKAGE = "piccolo_suite_confs"  # the confs' name in a work tree, beside Piccolo's `tests`


@dataclass(frozen=True)
class Setup:
    key: str
    name: str
    conf: str  # a module of confs/
    database: str  # "sqlite", "postgres" or "pgbouncer"
    description: str
    url_query: str = ""  # Bandstand's engines: DATABASE_URL's query
    statement_cache_size: int | None = None  # the stock PostgresEngine's asyncpg setting


SETUPS = {
    setup.key: setup
    for setup in [
        Setup("a", "a-sqlite-stock", "stock_sqlite_conf", "sqlite", "SQLite, stock SQLiteEngine"),
        Setup("b", "b-sqlite-ours", "bandstand_sqlite_conf", "sqlite", "SQLite, TunedSQLiteEngine"),
        Setup(
            "c",
            "c-pg-stock",
            "stock_postgres_conf",
            "postgres",
            "PostgreSQL, stock PostgresEngine (asyncpg cache 100)",
        ),
        Setup(
            "d",
            "d-pg-ours-cache-off",
            "bandstand_postgres_conf",
            "postgres",
            "PostgreSQL, PoolerSafePostgresEngine, cache off (default)",
        ),
        Setup(
            "e",
            "e-pg-ours-cache-on",
            "bandstand_postgres_conf",
            "postgres",
            "PostgreSQL, PoolerSafePostgresEngine, ?statement_cache_size=100",
            url_query="statement_cache_size=100",
        ),
        Setup(
            "f",
            "f-pgbouncer-stock",
            "stock_postgres_conf",
            "pgbouncer",
            "PgBouncer, stock PostgresEngine, statement_cache_size=0",
            statement_cache_size=0,
        ),
        Setup(
            "g",
            "g-pgbouncer-ours",
            "bandstand_postgres_conf",
            "pgbouncer",
            "PgBouncer, PoolerSafePostgresEngine, ?pgbouncer=true",
            url_query="pgbouncer=true",
        ),
    ]
}

# (stock, ours): the comparisons the check is about; then ones that help explain them.
PAIRS = [("a", "b"), ("c", "d"), ("c", "e"), ("f", "g")]
CONTEXT_PAIRS = [("c", "f"), ("d", "g"), ("d", "e")]


_ENGINE_TYPE_CHECK = re.compile(
    r"return type\(ENGINE\) is (PostgresEngine|SQLiteEngine|CockroachEngine)\b"
)
_ENGINE_TYPES = {
    "PostgresEngine": "postgres",
    "SQLiteEngine": "sqlite",
    "CockroachEngine": "cockroach",
}


def patch_base(text: str) -> str:
    """Piccolo's tests/base.py with `type(ENGINE) is XEngine` replaced by a comparison of
    `engine_type` (not isinstance: `CockroachEngine` is a `PostgresEngine`), so that the
    `*_only` markers count a subclass as its engine instead of skipping its tests."""

    def replace(match: re.Match[str]) -> str:
        engine_type = _ENGINE_TYPES[match[1]]
        return f'return ENGINE is not None and ENGINE.engine_type == "{engine_type}"'

    patched, count = _ENGINE_TYPE_CHECK.subn(replace, text)
    if count != len(_ENGINE_TYPES):
        raise SystemExit(
            f"tests/base.py: expected {len(_ENGINE_TYPES)} `type(ENGINE) is ...Engine` checks, "
            f"found {count}: Piccolo's test helpers changed, review the patch"
        )
    return patched


def other_exact_type_checks(tests: Path) -> list[str]:
    """Exact engine-type comparisons elsewhere in Piccolo's tests: reported, not patched."""
    pattern = re.compile(r"type\([^)]*\)\s+is\s+\w*Engine|__class__\s+is\s+\w*Engine")
    found = []
    for path in sorted(tests.rglob("*.py")):
        if path == tests / "base.py":
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(tests.parent)}:{number}: {line.strip()}")
    return found


def build_tree(checkout: Path, destination: Path, *, patch: bool) -> None:
    """A work tree: a copy of the checkout's tests/ and pytest configuration, the confs as
    `piccolo_suite_confs`, and (with `patch`) tests/base.py patched."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    shutil.copytree(checkout / "tests", destination / "tests", symlinks=True)
    for name in ("pyproject.toml", "pytest.ini", "setup.cfg"):
        if (checkout / name).is_file():
            shutil.copy2(checkout / name, destination / name)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(CONFS, destination / CONFS_PACKAGE, ignore=ignore)
    if patch:
        base = destination / "tests" / "base.py"
        base.write_text(patch_base(base.read_text()))
