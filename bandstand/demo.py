"""Demo data: every feature's, loaded, reset or cleared, by `piccolo project demo` or by a job
from the staff page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bandstand.features import Feature

DEMO_ACTIONS = ("load", "reset", "clear")


async def demo_steps(
    features: Sequence[Feature],
    action: str,
    progress: Callable[[int, int, str], Awaitable[None]],
) -> int:
    """Run the steps of `action` (one of DEMO_ACTIONS) on `features`, telling `progress` the
    steps done, of how many, and the feature whose step is next; returns how many ran."""
    steps = [
        (feature.name, step)
        for feature in features
        for step in (
            feature.clear_demo if action in ("reset", "clear") else None,
            feature.load_demo if action in ("load", "reset") else None,
        )
        if step is not None
    ]
    for done, (name, step) in enumerate(steps):
        await progress(done, len(steps), name)
        await step()
    await progress(len(steps), len(steps), "")
    return len(steps)
