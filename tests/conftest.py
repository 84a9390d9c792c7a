"""Test set-up: Bandstand's pytest plugin (a fresh database per run, SQLite or PostgreSQL with
BANDSTAND_TEST_DATABASE=postgres, migrated before any test, and a blocking-call detector around
every async test), plus the servers this suite starts for itself."""

import pytest

pytest_plugins = [
    "bandstand.testing.plugin",
    "tests.support.postgres_fixtures",
    "tests.support.browser",
    "tests.support.accounts",
    "tests.support.fake_llm",
    "tests.support.s3_server",
    "tests.support.tables",
]

# The longest tests (a minute or so each: they copy the project, build a wheel or a virtual
# environment, start servers and browsers) are handed to the workers first, so that none is
# left running one of them alone at the end of the run.
LONGEST_FIRST = (
    "tests/tutorials/",
    "tests/packaging/test_new_project.py",
    "tests/deploy/",
    "tests/backup/",
    "tests/chat/test_streaming_live.py",
    "tests/commands/",
    "tests/accounts/test_behind_a_proxy.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def longest_first(item: pytest.Item) -> bool:
        path = item.nodeid.split("::", 1)[0]
        return not (path.startswith(LONGEST_FIRST) or path.endswith("test_browser.py"))

    items.sort(key=longest_first)  # stable: the rest keep their order
