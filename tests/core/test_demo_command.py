"""`piccolo project demo`: every feature's demo data loaded, reset or cleared, feature by
feature in the site's order; a bad action fails clearly. On the sample site's feature
(tests/support/sample/) and on recording ones, not on the site's."""

from __future__ import annotations

import datetime

import pytest

from bandstand.commands.demo import demo_command, run_demo
from bandstand.features import Feature
from tests.support.cli import piccolo
from tests.support.sample import SAMPLE, demo
from tests.support.tables import Album, Band, Fan

OURS = "Not a demo band"


def recording(name: str, steps: list[str]) -> Feature:
    """A feature whose demo steps only say that they ran."""

    async def load() -> None:
        steps.append(f"load {name}")

    async def clear() -> None:
        steps.append(f"clear {name}")

    return Feature(name, load_demo=load, clear_demo=clear)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def contents() -> tuple[list[str], int, int, int]:
    """The bands' names; how many albums, fans, and fans with a photo there are."""
    names = sorted(await Band.select(Band.name).output(as_list=True))
    photos = await Fan.count().where(Fan.photo.is_not_null())
    return names, await Album.count(), await Fan.count(), photos


async def test_load_reset_and_clear_the_demo_rows(test_tables: None) -> None:
    run = demo_command([SAMPLE])
    loaded = (sorted(demo.BANDS), demo.ALBUMS, demo.FANS, demo.PHOTOS)

    await run("load")
    assert await contents() == loaded
    await run("load")  # loaded already: nothing twice
    assert await contents() == loaded

    # A visitor's changes to the demo rows, and rows of the visitor's own.
    first = await Album.select(Album.id).order_by(Album.id).first()
    assert first is not None
    await Album.update({Album.title: "Edited"}).where(Album.id == first["id"])
    await Fan.delete().where(Fan.email == f"fan{demo.FANS - 1}@{demo.DEMO_DOMAIN}")
    (ours,) = await Band.insert(Band(name=OURS))
    await Album.insert(Album(title="Ours", price=1, band=ours["id"], created_at=now()))
    await Fan.insert(Fan(name="Ours", email="ours@example.com", band=ours["id"], joined_at=now()))
    await run("reset")
    # The demo as loaded, the visitor's rows kept.
    assert await contents() == (
        sorted([*demo.BANDS, OURS]),
        demo.ALBUMS + 1,
        demo.FANS + 1,
        demo.PHOTOS,
    )
    assert await Album.count().where(Album.title == "Edited") == 0

    await run("clear")
    assert await contents() == ([OURS], 1, 1, 0)


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
