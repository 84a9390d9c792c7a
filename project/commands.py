"""The project's management commands, run as `piccolo project <command>`."""

from __future__ import annotations

import sys
from typing import Literal

from project.features import FEATURES

DemoAction = Literal["load", "reset", "clear"]


async def demo(action: str = "load") -> None:
    """
    Load, reset or clear the demo data of every installed feature.

    :param action:
        load (only into features that have none yet), reset (clear, then load) or clear.
    """
    if action not in ("load", "reset", "clear"):
        sys.exit(f"demo: unknown action {action!r}; expected load, reset or clear")
    for feature in FEATURES:
        if action in ("reset", "clear") and feature.clear_demo is not None:
            await feature.clear_demo()
        if action in ("load", "reset") and feature.load_demo is not None:
            await feature.load_demo()
    print(f"demo data: {action} done")
