"""The SQLite engine's worker threads: results and errors reach the awaiting caller, a caller
that gives up leaves the threads working, and shutting down lets queued work finish."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import anyio
import pytest

from bandstand.database.threads import QueryThreads

pytestmark = pytest.mark.engine_independent


@pytest.fixture
def threads() -> Iterator[QueryThreads]:
    threads = QueryThreads(2, "test-query")
    yield threads
    threads.shutdown()


async def test_results_come_back_from_named_threads(threads: QueryThreads) -> None:
    def where(number: int) -> tuple[int, str]:
        return number * 2, threading.current_thread().name

    results = [await threads.run(where, number) for number in range(5)]

    assert [doubled for doubled, _ in results] == [0, 2, 4, 6, 8]
    assert {name for _, name in results} <= {"test-query_0", "test-query_1"}


async def test_an_error_is_raised_in_the_caller(threads: QueryThreads) -> None:
    def fail() -> None:
        raise ValueError("no such table")

    with pytest.raises(ValueError, match="no such table"):
        await threads.run(fail)
    assert await threads.run(lambda: "still serving") == "still serving"


async def test_a_caller_that_gives_up_leaves_the_threads_serving(threads: QueryThreads) -> None:
    release = threading.Event()
    finished = threading.Event()

    def slow() -> None:
        release.wait(5)
        finished.set()

    with anyio.move_on_after(0.05) as scope:
        await threads.run(slow)
    assert scope.cancelled_caught
    release.set()
    # The other thread answers meanwhile, and the given-up job still runs to its end.
    assert await threads.run(lambda: 42) == 42
    assert await anyio.to_thread.run_sync(finished.wait, 5)


async def test_shutdown_lets_queued_work_finish_then_ends_the_threads() -> None:
    threads = QueryThreads(1, "test-shutdown")
    (thread,) = [thread for thread in threading.enumerate() if thread.name == "test-shutdown_0"]
    gate = threading.Event()
    results: list[object] = []

    async def run(work: Callable[..., object], *args: object) -> None:
        results.append(await threads.run(work, *args))

    async with anyio.create_task_group() as group:
        group.start_soon(run, gate.wait, 5)
        await anyio.sleep(0.02)
        group.start_soon(run, lambda: "queued")
        await anyio.sleep(0.02)
        threads.shutdown()  # behind both jobs
        gate.set()

    assert results == [True, "queued"]
    await anyio.to_thread.run_sync(thread.join, 5)
    assert not thread.is_alive()
