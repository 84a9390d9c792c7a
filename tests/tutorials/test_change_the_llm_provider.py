"""docs/tutorials/change-the-llm-provider.md (the chat demo's), followed word for word in a fresh
copy of the project, and its table of providers checked row by row (runner.py; the conventions
are in docs/tutorials/README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.fake_llm import DEFAULT_API_KEY, FakeLLM
from tests.tutorials.conftest import TUTORIALS
from tests.tutorials.markdown import Block, parse
from tests.tutorials.runner import run_tutorial

# It builds its own database and server, whichever pass runs the suite.
pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(300)]

TUTORIAL = TUTORIALS / "change-the-llm-provider.md"


def test_change_the_llm_provider(project: Path, logs: Path, fake_llm: FakeLLM) -> None:
    # The test cannot reach OpenAI: the fake OpenAI-compatible server stands in for it.
    openai = {
        "https://api.openai.com/v1": fake_llm.base_url,
        "sk-proj-your-key": DEFAULT_API_KEY,
        "api.openai.com": "127.0.0.1",
    }

    transcript = run_tutorial(TUTORIAL, project, logs, substitutions=openai)

    first, second = transcript.chats
    # The first answer streamed from the provider the tutorial set, token by token...
    assert first.reply == "You said: Hello there"
    assert first.tokens == 4
    assert first.done["provider"] == "gpt-4o-mini at 127.0.0.1"
    (request,) = fake_llm.requests
    assert request["model"] == "gpt-4o-mini"
    assert request["stream"] is True
    assert request["messages"][-1] == {"role": "user", "content": "Hello there"}
    # ... and the second from the offline provider, which never called it.
    assert second.done["provider"] == "offline demo provider"
    assert "the first was *Hello*" in second.reply


def provider_table() -> list[dict[str, str]]:
    """The tutorial's table of providers: each cell's `code`, or "" for none."""
    text = TUTORIAL.read_text()
    start = text.index("| provider |")
    header, _, *rows = text[start : text.index("\n\n", start)].splitlines()
    names = [cell.strip().strip("`") for cell in header.strip("|").split("|")]
    table = []
    for row in rows:
        cells = [re.findall(r"`([^`]*)`", cell) for cell in row.strip("|").split("|")]
        table.append(
            {name: found[0] if found else "" for name, found in zip(names, cells, strict=True)}
        )
    return table


@pytest.mark.parametrize("row", provider_table(), ids=lambda row: row["LLM_MODEL"] or "offline")
def test_each_provider_row_gives_the_provider_it_names(row: dict[str, str]) -> None:
    from bandstand.ai.providers import provider_for
    from bandstand.settings import load_settings

    settings = load_settings(
        {name: row[name] for name in ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL")}, env_file=None
    )

    assert provider_for(settings).name == row["the chat says"]


def test_the_provider_the_tutorial_applies_is_its_tables_first_row() -> None:
    steps = parse(TUTORIAL)
    edit = next(step for step in steps if isinstance(step, Block) and step.kind == "edit")
    applied = dict(line[1:].split("=", 1) for line in edit.text.splitlines() if line[0] == "+")

    openai = provider_table()[0]
    assert applied == {name: openai[name] for name in applied}
    assert set(applied) == {"LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL"}
