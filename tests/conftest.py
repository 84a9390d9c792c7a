"""Test set-up: Bandstand's pytest plugin (a fresh database per run, SQLite or PostgreSQL with
BANDSTAND_TEST_DATABASE=postgres, migrated before any test, and a blocking-call detector around
every async test), plus the servers this suite starts for itself."""

pytest_plugins = [
    "bandstand.testing.plugin",
    "tests.support.postgres_fixtures",
    "tests.support.browser",
    "tests.support.accounts",
    "tests.support.fake_llm",
    "tests.support.s3_server",
    "tests.support.tables",
]
