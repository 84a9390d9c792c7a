"""PICCOLO_CONF modules for Piccolo's test suite: each builds `DB`, stock or Bandstand's, and the
`APP_REGISTRY` of Piccolo's tests/sqlite_conf.py and tests/postgres_conf.py.

The runner copies this package into each work tree as `piccolo_suite_confs` and tells the
modules where the database is with environment variables:

    PICCOLO_SUITE_SQLITE_PATH           the SQLite file, an absolute path (SQLite confs)
    PICCOLO_SUITE_DATABASE_URL          a postgresql:// URL (PostgreSQL confs)
    PICCOLO_SUITE_STATEMENT_CACHE_SIZE  asyncpg's statement_cache_size for the stock
                                        PostgresEngine (unset: asyncpg's default, 100)

Each module builds `DB` before `APP_REGISTRY`: making the registry imports the example apps'
tables, which look `DB` up in the (still importing) conf module.
"""

# Piccolo's tests/sqlite_conf.py and tests/postgres_conf.py install these two.
TEST_APPS = ["tests.example_apps.music.piccolo_app", "tests.example_apps.mega.piccolo_app"]
