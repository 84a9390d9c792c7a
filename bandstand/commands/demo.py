"""`piccolo project demo`: every installed feature's demo data, loaded, reset or cleared."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence

from bandstand.demo import DEMO_ACTIONS, demo_steps
from bandstand.features import Feature


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
    """Load, reset or clear the demo data of `features`, with a progress bar."""
    if action not in DEMO_ACTIONS:
        sys.exit(f"demo: unknown action {action!r}; expected {', '.join(DEMO_ACTIONS)}")
    from rich.progress import Progress

    with Progress(transient=False) as progress:
        bar = progress.add_task(f"demo data: {action}", total=None)

        async def show(done: int, total: int, name: str) -> None:
            progress.update(
                bar, completed=done, total=total, description=f"demo data: {action} {name}"
            )

        await demo_steps(features, action, show)
        progress.update(bar, description=f"demo data: {action} done")
