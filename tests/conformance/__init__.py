"""Conformance: Bandstand's engines give what Piccolo's stock engines give.

Each test runs one scenario — an async function of the engine that uses the test-only tables
(tests/support/tables.py and this package's tables.py) and returns plain data — twice: once on
Piccolo's stock engine, once on Bandstand's, each on a database of its own made fresh for it,
with the tables bound to that engine. The two results, every value tagged with its type, must
be equal.

The pairs, one test parameter each (`harness.BACKENDS`):

- ``sqlite``: `SQLiteEngine` against `TunedSQLiteEngine`, each on a new file;
- ``postgres``: `PostgresEngine` (asyncpg's statement cache, as stock) against
  `PoolerSafePostgresEngine` with Bandstand's default, the cache off;
- ``postgres-cached``: the same stock engine against Bandstand's with
  ``?statement_cache_size=100``;
- ``pgbouncer``: through PgBouncer in transaction mode, `PostgresEngine` with
  ``statement_cache_size=0`` (the only stock setting that works there) against Bandstand's
  ``?pgbouncer=true``.

The PostgreSQL pairs run on the suite's throwaway TLS server (`tls_postgres`), each engine on a
database of its own, emptied (identities restarted) before every run. Every test builds its own
databases, so the package runs once, in the SQLite pass of `make test`:

    .venv/bin/python -m pytest tests/conformance            # every pair
    .venv/bin/python -m pytest tests/conformance -k sqlite  # one pair
"""
