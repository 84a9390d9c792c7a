"""`make bench`, jobs: what Bandstand's job queue (DBOS underneath) does on this machine.

    .venv/bin/python -m bench.jobs [--rounds 3] [--jobs 1000] [--only NAME]

Per database setup (SQLite; PostgreSQL over TLS; PgBouncer in transaction mode, TLS) one worker
process (`piccolo project worker`'s code, JOBS_CONCURRENCY=10, the default poll) runs a job
that only records when it started. Jobs per second: JOBS queued by 10 concurrent enqueuers while
the worker runs, from the first enqueue to the last job's start. Latency: enqueue to start,
for jobs queued one at a time at 10 and at 50 per second. Medians over rounds go to
bench/results/jobs.{json,md}. DBOS publishes no figures for its queues to set beside these;
docs/jobs.md compares it with the other engines measured on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from bandstand.jobs import JobQueue
from bandstand.jobs.queue import active_queue, use_queue
from bandstand.settings import load_settings
from bench.job_tasks import stamp
from tests.support.postgres_servers import PgBouncer, PostgresServer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECRET_KEY = "bench-secret-key-that-is-long-enough-for-production-mode"  # noqa: S105 - a throwaway
ENQUEUERS = 10
PACES = (10, 50)  # jobs per second, for the latency
PACED_JOBS = 100


def environ(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "production",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": tempfile.mkdtemp(),
        "PYTHONPATH": str(ROOT),
    }


def migrate(url: str) -> None:
    piccolo = str(Path(sys.executable).parent / "piccolo")
    subprocess.run(
        [piccolo, "migrations", "forwards", "all"],
        cwd=ROOT,
        env=environ(url),
        check=True,
        capture_output=True,
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def throughput(count: int) -> float:
    start = time.time()
    limit = asyncio.Semaphore(ENQUEUERS)

    async def one() -> str:
        async with limit:
            return (await stamp.enqueue(time.time())).id

    ids = await asyncio.gather(*(one() for _ in range(count)))
    queue = active_queue()
    started: list[float] = [(await queue.result(job_id))[1] for job_id in ids]
    return count / (max(started) - start)


async def latencies(pace: int, count: int) -> list[float]:
    ids = []
    for _ in range(count):
        ids.append((await stamp.enqueue(time.time())).id)
        await asyncio.sleep(1 / pace)
    queue = active_queue()
    waits = []
    for job_id in ids:
        enqueued_at, started_at = await queue.result(job_id)
        waits.append((started_at - enqueued_at) * 1000)
    return waits


async def measure_round(url: str, jobs: int) -> dict[str, float]:
    settings = msgspec.structs.replace(
        load_settings(environ(url), env_file=None), jobs_in_process=False
    )
    queue = JobQueue(settings)
    use_queue(queue)
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.job_tasks",
        cwd=ROOT,
        env=environ(url),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        await asyncio.wait_for(worker.stdout.readline(), 60)  # "worker: … takes jobs from …"
        await latencies(10, 10)  # warm up
        figures: dict[str, float] = {"jobs_per_second": await throughput(jobs)}
        for pace in PACES:
            waits = await latencies(pace, PACED_JOBS)
            figures[f"p50_ms_at_{pace}"] = percentile(waits, 0.5)
            figures[f"p99_ms_at_{pace}"] = percentile(waits, 0.99)
        return figures
    finally:
        worker.terminate()
        await worker.wait()
        await queue.aclose()


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"{results['machine']}, {results['date']}: one worker process (`JOBS_CONCURRENCY=10`, "
        f"polling every {results['poll_seconds']} s), medians of {results['rounds']} rounds; "
        f"jobs/s over {results['jobs']} jobs from {ENQUEUERS} enqueuers, latency from enqueue "
        f"to start over {PACED_JOBS} jobs at a steady pace.",
        "",
        "| setup | jobs/s | p50 / p99 ms at 10/s | p50 / p99 ms at 50/s |",
        "|---|---:|---:|---:|",
    ]
    for name, figures in results["setups"].items():
        lines.append(
            f"| {name} | {figures['jobs_per_second']:,.0f} "
            f"| {figures['p50_ms_at_10']:.0f} / {figures['p99_ms_at_10']:.0f} "
            f"| {figures['p50_ms_at_50']:.0f} / {figures['p99_ms_at_50']:.0f} |"
        )
    lines += [
        "",
        "DBOS publishes no throughput or latency figures for its queues; docs/jobs.md measures "
        "it beside SAQ, procrastinate, pgqueuer and taskiq on the same machine.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--only", help="run only the setups whose name contains this")
    arguments = parser.parse_args()
    defaults = load_settings({}, env_file=None)
    results: dict[str, Any] = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "rounds": arguments.rounds,
        "jobs": arguments.jobs,
        "poll_seconds": defaults.jobs_poll_seconds,
        "setups": {},
    }
    sqlite = f"sqlite:///{tempfile.mkdtemp(prefix='bandstand-bench-')}/bench.sqlite3"
    with PostgresServer(ssl=True) as server, PgBouncer(server, default_pool_size=10) as bouncer:
        tls = {"sslmode": "verify-full", "sslrootcert": str(server.ca_cert)}
        setups = {
            "SQLite": sqlite,
            "PostgreSQL, TLS": server.url(**tls),
            "PgBouncer (transaction mode), TLS": bouncer.url(**tls),
        }
        for name, url in setups.items():
            if arguments.only and arguments.only.lower() not in name.lower():
                continue
            migrate(url)
            rounds = [
                asyncio.run(measure_round(url, arguments.jobs)) for _ in range(arguments.rounds)
            ]
            results["setups"][name] = {
                key: statistics.median(one[key] for one in rounds) for key in rounds[0]
            } | {"rounds": rounds}
            print(name, results["setups"][name], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "jobs.json").write_text(json.dumps(results, indent=2))
    text = markdown(results)
    (RESULTS / "jobs.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
