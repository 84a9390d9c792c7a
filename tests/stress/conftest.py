"""`make stress`: reliability and security under load, faults and hostile input.

Collected only with BANDSTAND_STRESS=1 (what `make stress` sets), so `make test` keeps its
length. The figures the tests record are printed at the end and written to
bench/results/stress-<database>.{json,md}.
"""

from __future__ import annotations

import os

import pytest

from bandstand.testing.database import TEST_DATABASE
from tests.stress.figures import Figures

if os.environ.get("BANDSTAND_STRESS") != "1":
    collect_ignore_glob = ["test_*.py"]

_figures = Figures(database=TEST_DATABASE)


@pytest.fixture(scope="session")
def figures() -> Figures:
    return _figures


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _figures.rows:
        return
    terminalreporter.section("stress figures")
    terminalreporter.write(_figures.table())
    _figures.write()
