"""Testing a Bandstand site with pytest, like `django.test`.

In the project's `tests/conftest.py`:

    pytest_plugins = ["bandstand.testing.plugin"]

Each run gets a fresh database of its own (SQLite, or PostgreSQL with
`BANDSTAND_TEST_DATABASE=postgres`), migrated before any test; every async test runs on the
test's event loop with a blocking-call detector around it. Fixtures: `client` (an HTTP client
on the app), `people` (users of each kind), `clean_tables`, `fresh_database_url`. Helpers:
`bandstand.testing.accounts` (logging in), `bandstand.testing.apps` (the app with other
settings), `bandstand.testing.sse` (Server-Sent Events read back from a response).
"""
