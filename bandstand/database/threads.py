"""Worker threads for SQLite's blocking calls, lighter than `loop.run_in_executor`.

`run_in_executor` makes a `concurrent.futures.Future` per call (a Condition and its lock),
checks an idle-thread semaphore, and chains the result into an asyncio future through two more
callbacks: for a one-row read, a large share of the request's CPU (docs/performance.md).
Here a job is a tuple on a `SimpleQueue`, and the thread hands its outcome straight to the
awaiting loop's future.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _settle(future: asyncio.Future[Any], failed: bool, outcome: Any) -> None:
    if future.done():  # its caller was cancelled; the work ran anyway, as with an executor
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class QueryThreads:
    """`count` threads named `name_0`, `name_1`, ..., started at once, taking jobs in order.

    Daemon threads: a command that never closes its engine (the Piccolo CLI) must still exit,
    and a write cut short by the process ending is one SQLite rolls back."""

    def __init__(self, count: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}_{number}", daemon=True)
            for number in range(count)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, work: Callable[..., Result], *args: Any) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._jobs.put((loop, future, work, args))
        return await future

    def shutdown(self) -> None:
        """Each thread ends after the jobs queued before this call."""
        for _ in self._threads:
            self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, work, args = job
            try:
                failed, outcome = False, work(*args)
            except BaseException as error:  # noqa: BLE001 - raised again in the awaiting caller
                failed, outcome = True, error
            with contextlib.suppress(RuntimeError):  # the caller's loop has closed since
                loop.call_soon_threadsafe(_settle, future, failed, outcome)
