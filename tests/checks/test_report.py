"""The command's contract: a clean run, the exit code, its arguments, and the docs' table."""

from __future__ import annotations

import re

import pytest

from bandstand.checks.findings import Finding, Level, level_of
from bandstand.checks.runner import ALL_IDS
from tests.checks.helpers import run_check
from tests.support import PROJECT_ROOT

# The only warning a clean run may show: names in a developer's own .env that no setting reads.
DEVELOPER_DOTENV = "configuration.W004"


async def test_a_clean_run_exits_0_and_says_what_it_verified(database_kind: str) -> None:
    run = await run_check()

    assert run.returncode == 0, run.explain()
    assert not run.ids("error"), run.explain()
    assert run.ids("warning") <= {DEVELOPER_DOTENV}, run.explain()
    verified = ["configuration.I001", "database.I001", "migrations.I001", "storage.I001"]
    if database_kind == "postgres":
        verified.append("database.I004")  # the suite's server is direct, no pooler
    for finding_id in verified:
        assert run.level(finding_id) == "info"
    assert not [key for key in run.findings if key.startswith("deploy.")]
    assert re.search(r"^System check identified .*\(0 silenced\)\.$", run.stdout, re.MULTILINE)


@pytest.mark.engine_independent
async def test_a_setting_that_cannot_be_used_stops_the_check_with_exit_1() -> None:
    run = await run_check(DEBUG="maybe")

    assert run.returncode == 1
    assert "bandstand: configuration error: DEBUG='maybe' is not valid" in run.stderr
    assert not run.findings


@pytest.mark.engine_independent
async def test_deploy_takes_only_true_or_false() -> None:
    run = await run_check("--deploy=maybe")

    assert run.returncode == 1
    assert "check: --deploy takes true or false, not 'maybe'" in run.stderr


@pytest.mark.engine_independent
async def test_silence_refuses_an_unknown_id() -> None:
    run = await run_check("--silence=database.E999")

    assert run.returncode == 1
    assert "check: --silence names unknown finding ids database.E999" in run.stderr


def test_the_level_is_the_ids_letter() -> None:
    assert Finding("database.E001", "down").level is Level.ERROR
    assert Finding("deploy.W004", "no https").level is Level.WARNING
    assert Finding("storage.I001", "fine").level is Level.INFO
    with pytest.raises(ValueError, match="not a finding id"):
        Finding("database.X001", "?")


def test_docs_explain_every_finding_id_with_its_level() -> None:
    table = (PROJECT_ROOT / "docs" / "checks.md").read_text()
    rows = re.findall(r"^\| `([a-z]+\.[EWI]\d{3})` \| (\w+) \|", table, re.MULTILINE)
    documented = {finding_id: level for finding_id, level in rows}

    assert len(rows) == len(documented), "an id is listed twice"
    assert set(documented) == ALL_IDS
    for finding_id, level in documented.items():
        assert level == level_of(finding_id).value, finding_id
