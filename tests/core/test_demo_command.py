"""`piccolo project demo`: every feature's demo data loaded, reset or cleared, feature by
feature in the site's order; a bad action fails clearly. On the tests' own feature
(tests/support/bands.py) and on recording ones, not on the site's."""

from __future__ import annotations

import pytest

from bandstand.commands.demo import demo_command, run_demo
from bandstand.features import Feature
from tests.support.bands import BANDS, DEMO_BANDS
from tests.support.cli import piccolo
from tests.support.tables import Band


def recording(name: str, steps: list[str]) -> Feature:
    """A feature whose demo steps only say that they ran."""

    async def load() -> None:
        steps.append(f"load {name}")

    async def clear() -> None:
        steps.append(f"clear {name}")

    return Feature(name, load_demo=load, clear_demo=clear)


async def band_names() -> list[str]:
    return sorted(await Band.select(Band.name).output(as_list=True))


async def test_load_reset_and_clear_the_demo_rows(test_tables: None) -> None:
    demo = demo_command([BANDS])

    await demo("load")
    assert await band_names() == sorted(DEMO_BANDS)

    await Band.update({Band.name: "Renamed"}).where(Band.name == DEMO_BANDS[0])
    await Band.insert(Band(name="Not a demo band"))
    await demo("reset")
    assert await band_names() == sorted([*DEMO_BANDS, "Not a demo band", "Renamed"])

    await demo("clear")
    assert await band_names() == ["Not a demo band", "Renamed"]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("load", ["load first", "load second"]),
        ("reset", ["clear first", "load first", "clear second", "load second"]),
        ("clear", ["clear first", "clear second"]),
    ],
)
async def test_each_action_runs_each_features_steps_in_order(
    action: str, expected: list[str]
) -> None:
    steps: list[str] = []
    features = [recording("first", steps), Feature("without demo"), recording("second", steps)]

    await run_demo(features, action)

    assert steps == expected


async def test_an_unknown_action_runs_nothing() -> None:
    steps: list[str] = []

    with pytest.raises(SystemExit, match="unknown action 'explode'; expected load, reset, clear"):
        await run_demo([recording("first", steps)], "explode")

    assert steps == []


async def test_an_unknown_action_fails_clearly_on_the_command_line() -> None:
    result = await piccolo("project", "demo", "--action=explode")

    assert result.returncode == 1
    output = (result.stdout + result.stderr).decode()
    assert "unknown action 'explode'; expected load, reset, clear" in output
