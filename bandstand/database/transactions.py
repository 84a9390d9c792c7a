"""How a transaction ends, on either engine.

Piccolo's own exit gives the connection back only when commit or rollback succeeds. When the
connection died with the transaction (a database restart, the disk gone), the rollback fails
too: Piccolo then raises the rollback's error in place of the body's, keeps the connection out
of the pool (on SQLite: leaks it with aiosqlite's non-daemon thread, and the process hangs at
exit), and leaves the task "inside" the dead transaction, so its next one nests in it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any


async def end_transaction(
    transaction: Any, exception: BaseException | None, give_back: Callable[[], Awaitable[None]]
) -> bool:
    """Commit or roll back a Piccolo transaction, then always `give_back` its connection."""
    if transaction._parent:
        return exception is None
    try:
        if exception is None:
            if not transaction._committed and not transaction._rolled_back:
                await transaction.commit()
        elif not transaction._rolled_back:
            # The body's error is the one to report.
            with contextlib.suppress(Exception):
                await transaction.rollback()
    finally:
        await give_back()
        transaction.engine.current_transaction.reset(transaction.context)
    return exception is None
