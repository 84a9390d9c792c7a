"""The runner fails a tutorial whose steps no longer fit the project, and never skips a step
it does not understand: else the tutorials' tests could pass while the docs rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tutorials.conftest import TUTORIALS
from tests.tutorials.edits import EditError, apply_diff
from tests.tutorials.markdown import Block, TutorialSyntaxError, parse, parse_text
from tests.tutorials.runner import TutorialFailed, run_tutorial

pytestmark = pytest.mark.engine_independent

FEATURES = """\
FEATURES = (
    Feature("health"),
    Feature(
        "catalog",
        routes=catalog.ROUTES,
    ),
    Feature(
        "webinars",
        routes=webinars.ROUTES,
    ),
    Feature("chat"),
)
"""


@pytest.fixture
def features(tmp_path: Path) -> Path:
    path = tmp_path / "features.py"
    path.write_text(FEATURES)
    return path


def test_a_diff_replaces_exactly_its_lines(features: Path) -> None:
    apply_diff(
        features, '     Feature("health"),\n-    Feature(\n-        "catalog",\n-…\n-    ),\n'
    )

    assert features.read_text() == FEATURES.replace(
        '    Feature(\n        "catalog",\n        routes=catalog.ROUTES,\n    ),\n', ""
    )


def test_an_elision_stops_at_the_nearest_end(features: Path) -> None:
    apply_diff(features, '-        "catalog",\n-…\n-    ),\n+        "shop",\n+    ),\n')

    assert '"shop",\n    ),\n    Feature(\n        "webinars"' in features.read_text()


@pytest.mark.parametrize(
    ("diff", "problem"),
    [
        ('-    Feature("shop"),\n', "found nowhere"),
        ("-    ),\n", "found 2 times"),
        ('     Feature("health"),\n+    Feature("new"),\n@@\n-    Feature("gone"),\n', "nowhere"),
        ("-…\n-    ),\n", "must follow a - line"),
        ("-    Feature(\n-…\n", "must be followed by a - line"),
        ("*    Feature(\n", "starts with neither"),
    ],
)
def test_a_diff_that_does_not_fit_changes_nothing(features: Path, diff: str, problem: str) -> None:
    with pytest.raises(EditError, match=problem):
        apply_diff(features, diff)

    assert features.read_text() == FEATURES


@pytest.mark.parametrize(
    ("markdown", "problem"),
    [
        ("```sh serve\nls\n```", r"does not take \['serve'\]"),
        ("```python file=a.py mode=append\nx\n```", r"does not take \['mode'\]"),
        ("```text page=about\nx\n```", "a path starting with /"),
        ("```text page=/ status=ok\nx\n```", "an HTTP status code"),
        ("```text outputs\nx\n```", r"does not take \['outputs'\]"),
        ("<!-- runner: click Save -->", "unknown directive"),
        ("<!-- runner: login admin -->", "login takes 2 arguments"),
        ("<!--runner login admin secret-->", "write a directive as"),
        ("```sh\nls\n", "never closes"),
    ],
)
def test_what_the_runner_does_not_understand_is_an_error(markdown: str, problem: str) -> None:
    with pytest.raises(TutorialSyntaxError, match=problem):
        parse_text(markdown)


def test_a_longer_fence_holds_a_shorter_one() -> None:
    (block,) = parse_text("````markdown\n```sh\nrm -r /\n```\n````\n")

    assert isinstance(block, Block)
    assert block.kind == "show"
    assert block.text == "```sh\nrm -r /\n```"


def test_a_failing_command_or_a_missing_output_fails_the_tutorial(tmp_path: Path) -> None:
    project, logs = tmp_path / "project", tmp_path / "logs"
    project.mkdir()
    logs.mkdir()
    tutorial = tmp_path / "t.md"

    tutorial.write_text(
        "```sh\necho made > made.txt\ncat made.txt\n```\n```text output\nmade\n```\n"
    )
    assert run_tutorial(tutorial, project, logs).outputs == ["made\n"]

    tutorial.write_text("```sh\necho made\n```\n\n```text output\nmade it\n```\n")
    with pytest.raises(TutorialFailed, match=r"t.md:5: the command did not print 'made it'"):
        run_tutorial(tutorial, project, logs)

    tutorial.write_text("```sh\nfalse\necho never\n```\n")
    with pytest.raises(TutorialFailed, match=r"t.md:1: `false\necho never` exited with 1"):
        run_tutorial(tutorial, project, logs)


def test_a_replaced_value_must_still_be_in_the_tutorial(tmp_path: Path) -> None:
    tutorial = tmp_path / "t.md"
    tutorial.write_text("```sh\necho postgresql://old\n```\n")

    with pytest.raises(TutorialFailed, match=r"replaces \['postgresql://new'\]"):
        run_tutorial(tutorial, tmp_path, tmp_path, substitutions={"postgresql://new": "x"})


def test_every_tutorial_parses_and_is_listed_and_tested() -> None:
    tutorials = sorted(path.name for path in TUTORIALS.glob("*.md") if path.name != "README.md")
    index = (TUTORIALS / "README.md").read_text()

    assert tutorials
    for name in tutorials:
        steps = parse(TUTORIALS / name)
        assert any(getattr(step, "kind", "") == "server" for step in steps), name
        assert f"]({name})" in index
        # Its own test module, which a reader removes with the tutorial.
        test = Path(__file__).parent / f"test_{name.removesuffix('.md').replace('-', '_')}.py"
        assert f'TUTORIALS / "{name}"' in test.read_text(), test
