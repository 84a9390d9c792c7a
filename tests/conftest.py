"""Test set-up: Bandstand's pytest plugin (a fresh database per run, SQLite or PostgreSQL with
BANDSTAND_TEST_DATABASE=postgres, migrated before any test, and a blocking-call detector around
every async test), plus the servers this suite starts for itself."""

import os

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
# environment, start servers and browsers), in rough order of cost.
LONGEST = (
    "tests/tutorials/",
    "tests/packaging/test_new_project.py",
    "tests/deploy/",
    "tests/commands/",
    "tests/backup/",
    "tests/jobs/test_workers.py",
    "tests/chat/test_streaming_live.py",
    "tests/accounts/test_behind_a_proxy.py",
    "test_browser.py",
)


def _cost_rank(path: str) -> int | None:
    for rank, prefix in enumerate(LONGEST):
        if path.startswith(prefix) or path.endswith(prefix):
            return rank
    return None


def _first_blocks(total: int, workers: int) -> list[int]:
    """The sizes of the blocks xdist's work-stealing scheduler first hands each worker, in
    order: the tests in collection order, cut evenly."""
    sizes = []
    for remaining in range(workers, 0, -1):
        sizes.append(total // remaining)
        total -= sizes[-1]
    return sizes


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each worker starts on long tests of its own: the long modules are dealt out, whole (a
    module's fixtures, such as the Dockerfile's image, are then built once), to the heads of
    the workers' first blocks, which the rest of the tests fill. Listed first in one block, they
    ran one after another on one worker while the others stole its short tests."""
    modules: dict[str, list[pytest.Item]] = {}
    rest: list[pytest.Item] = []
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        (rest if _cost_rank(path) is None else modules.setdefault(path, [])).append(item)
    long = sorted(modules.items(), key=lambda module: _cost_rank(module[0]) or 0)
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    blocks: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for index, (_, module) in enumerate(long):
        blocks[index % workers].extend(module)
    rest.reverse()
    for block, size in zip(blocks, _first_blocks(len(items), workers), strict=True):
        while len(block) < size and rest:
            block.append(rest.pop())
    items[:] = [item for block in blocks for item in block] + rest[::-1]
