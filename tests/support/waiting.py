"""Waiting, in a test, for something another process or thread makes true."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def until(
    check: Callable[[], Awaitable[bool]], *, seconds: float, every: float = 0.05
) -> None:
    """Return once `check()` is true; TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        while True:
            if await check():
                return
            await asyncio.sleep(every)
