"""Shared bits for the per-engine apps: the job body, the UDP reporter and the enqueue driver.

Every job is the same trivial coroutine: it reports "start" (with the enqueue timestamp it was
given), optionally sleeps, increments a process-local counter and reports "done". Reports are
UDP datagrams to the orchestrator (bench.py) so the job itself touches no database or broker.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypedDict

# The engine's own enqueue call: (run, seq, enqueue timestamp, sleep seconds).
EnqueueOne = Callable[[str, int, float, float], Coroutine[Any, Any, None]]

_sock: socket.socket | None = None
_addr: tuple[str, int] | None = None
COUNTER = 0


class EnqueueArgs(TypedDict):
    run: str
    n: int
    rate: float
    conc: int
    sleep: float


class EnqueueResult(TypedDict):
    enqueue_s: float
    n: int
    t0: float


def report(**fields: object) -> None:
    global _sock, _addr
    if _sock is None:
        host, port = os.environ.get("BENCH_UDP", "127.0.0.1:0").rsplit(":", 1)
        _addr = (host, int(port))
        _sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if _addr and _addr[1]:
        fields.setdefault("pid", os.getpid())
        _sock.sendto(json.dumps(fields).encode(), _addr)


async def job_body(run: str, seq: int, enq: float, sleep: float = 0.0) -> int:
    """The trivial job: note start, optional sleep, increment a counter, note done."""
    global COUNTER
    report(ev="start", run=run, seq=seq, enq=enq, t=time.time())
    if sleep:
        await asyncio.sleep(sleep)
    COUNTER += 1
    report(ev="done", run=run, seq=seq, t=time.time())
    return seq


async def drive(
    enqueue_one: EnqueueOne, n: int, rate: float, conc: int, run: str, sleep: float = 0.0
) -> EnqueueResult:
    """Enqueue n jobs: as a burst with `conc` concurrent enqueuers (rate 0), or paced at `rate`/s.

    `enqueue_one(run, seq, enq, sleep)` is the engine's own enqueue call.
    """
    t0 = time.time()
    if rate > 0:
        pending: set[asyncio.Task[None]] = set()
        for i in range(n):
            target = t0 + i / rate
            delay = target - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(enqueue_one(run, i, time.time(), sleep))
            # The set holds a strong reference so the task is not garbage-collected mid-flight.
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)
    else:
        # One shared iterator, so the `conc` enqueuers split the sequence numbers between them.
        it = iter(range(n))

        async def enqueuer() -> None:
            for i in it:
                await enqueue_one(run, i, time.time(), sleep)

        await asyncio.gather(*(enqueuer() for _ in range(conc)))
    t1 = time.time()
    return {"enqueue_s": t1 - t0, "n": n, "t0": t0}


def parse_enqueue_args(argv: list[str]) -> EnqueueArgs:
    # enqueue RUN N RATE CONC [SLEEP]
    run, n, rate, conc = argv[0], int(argv[1]), float(argv[2]), int(argv[3])
    sleep = float(argv[4]) if len(argv) > 4 else 0.0
    return {"run": run, "n": n, "rate": rate, "conc": conc, "sleep": sleep}


def emit(result: EnqueueResult) -> None:
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
