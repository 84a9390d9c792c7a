"""Piccolo ORM's own test suite, run on Piccolo's stock engines and on Bandstand's, compared.

A development check, not part of `make test` (nothing here is collected by pytest): it runs the
tests in Piccolo's repository (`tests/`, at the version Bandstand pins) seven times, one setup
after the other, and compares the outcomes test by test:

    a  SQLite: stock `SQLiteEngine`
    b  SQLite: `TunedSQLiteEngine`
    c  PostgreSQL: stock `PostgresEngine` (asyncpg's statement cache on)
    d  PostgreSQL: `PoolerSafePostgresEngine`, statement cache off (its default)
    e  PostgreSQL: `PoolerSafePostgresEngine`, ?statement_cache_size=100
    f  PgBouncer (transaction mode): stock `PostgresEngine`, statement_cache_size=0
    g  PgBouncer (transaction mode): `PoolerSafePostgresEngine`, ?pgbouncer=true

A test that passes on one side of a pair (a/b, c/d, c/e, f/g) and not on the other is run again
alone on both sides, to tell a real difference from a flaky one. `OUT/summary.md` has the table.

Piccolo's tests. They are not in the wheel, so they come from a source tree of Piccolo at the
pinned version (1.38.0). Where GitHub is reachable, a clone is all it takes:

    git clone https://github.com/piccolo-orm/piccolo .piccolo-suite/piccolo
    git -C .piccolo-suite/piccolo checkout 1.38.0

`prepare-checkout.sh DEST [GIT]` does that from a clone URL or a local git directory; when the
repository has no 1.38.0 tag (a mirror that stops at 1.36.0 plus commit 3599b756), it builds the
tree from that commit with the PyPI sdist piccolo-1.38.0.tar.gz laid over it: the sdist has
Piccolo's package and the 1.38.0 test files but not the suite's support files (tests/base.py,
conftest.py, the *_conf.py modules, the example apps' migrations), which come from git.

The one command, from the repository's root, after the tree is in `.piccolo-suite/piccolo`:

    .venv/bin/python -m tests.conformance.piccolo_suite.run --bandstand-rev HEAD

`--bandstand-rev` runs a `git archive` of that commit (a working tree that changes during the
long run can't break it); without it the working tree is used. `--help` lists the options. It
needs psql and a PostgreSQL on localhost:5432 that lets `postgres` create databases without a
password, and pgbouncer for f and g. Piccolo's tests hard-code the database name `piccolo`:
each PostgreSQL setup creates it and drops it afterwards.

What it changes in Piccolo's tests, in its own copies: `tests/base.py` decides `postgres_only`,
`sqlite_only` and `cockroach_only` with `type(ENGINE) is SQLiteEngine` (and the like), false for
a subclass such as Bandstand's engines, whose tests would then be skipped without a word. The
copies compare `ENGINE.engine_type` instead (`setups.patch_base`).
"""
