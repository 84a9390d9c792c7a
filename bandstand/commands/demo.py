"""`piccolo project demo`: every installed feature's demo data, loaded, reset or cleared."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence

from rich.progress import Progress

from bandstand.features import Feature

DEMO_ACTIONS = ("load", "reset", "clear")


def demo_command(features: Sequence[Feature]) -> Callable[[str], Awaitable[None]]:
    async def demo(action: str = "load") -> None:
        """
        Load, reset or clear the demo data of every installed feature.

        :param action:
            load (only into features that have none yet), reset (clear, then load) or clear.
        """
        await run_demo(features, action)

    return demo


async def run_demo(features: Sequence[Feature], action: str = "load") -> None:
    """Load, reset or clear the demo data of `features`."""
    if action not in DEMO_ACTIONS:
        sys.exit(f"demo: unknown action {action!r}; expected {', '.join(DEMO_ACTIONS)}")
    steps = [
        (feature.name, step)
        for feature in features
        for step in (
            feature.clear_demo if action in ("reset", "clear") else None,
            feature.load_demo if action in ("load", "reset") else None,
        )
        if step is not None
    ]
    with Progress(transient=False) as progress:
        task = progress.add_task(f"demo data: {action}", total=len(steps))
        for name, step in steps:
            progress.update(task, description=f"demo data: {action} {name}")
            await step()
            progress.advance(task)
        progress.update(task, description=f"demo data: {action} done")
