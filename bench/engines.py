"""What the safe default costs: Piccolo primary-key selects and inserts on each engine, in one run.

    .venv/bin/python -m bench.engines [--rounds 3] [--seconds 3]

Starts a throwaway PostgreSQL with TLS and a PgBouncer in transaction mode (pool 2) in front of
it, then runs the same workload (bench/engine_workload.py, on the framework's test tables, which
it makes) against: PostgreSQL direct over TLS with asyncpg's statement cache on (100) and off
(0, Bandstand's default), PgBouncer with it off, and SQLite. Rounds are interleaved and medians
reported, as ratios to direct-with-cache, so a noisy machine moves every column together.
Writes bench/results/engines.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests.support.postgres_servers import PgBouncer, PostgresServer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CONCURRENCY = 16


def measure(url: str, seconds: float) -> dict[str, float]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.engine_workload",
            "--seconds",
            str(seconds),
            "--concurrency",
            str(CONCURRENCY),
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "DATABASE_POOL_MAX": str(CONCURRENCY)},
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(result.stdout))


def table(rows: dict[str, dict[str, float]]) -> str:
    base = rows["PostgreSQL direct, TLS, cache on"]
    lines = [
        "| engine | pk selects/s | ratio | inserts/s | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        cells = [
            f"{row[key]:,.0f} | {row[key] / base[key]:.2f}"
            for key in ("select_per_s", "insert_per_s")
        ]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    arguments = parser.parse_args()

    with PostgresServer(ssl=True) as server, PgBouncer(server, default_pool_size=2) as bouncer:
        ca = str(server.ca_cert)
        sqlite = Path(tempfile.mkdtemp(prefix="bandstand-bench-")) / "bench.sqlite3"
        urls = {
            "PostgreSQL direct, TLS, cache on": server.url(
                sslmode="verify-full", sslrootcert=ca, statement_cache_size="100"
            ),
            "PostgreSQL direct, TLS, cache off (default)": server.url(
                sslmode="verify-full", sslrootcert=ca
            ),
            "PgBouncer (transaction mode, pool 2), TLS, cache off": bouncer.url(
                sslmode="verify-full", sslrootcert=ca
            ),
            "SQLite (WAL)": f"sqlite:///{sqlite}",
        }
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
        for round_number in range(arguments.rounds):
            for name, url in urls.items():
                samples[name].append(measure(url, arguments.seconds))
                print(f"round {round_number + 1}: {name}: {samples[name][-1]}", file=sys.stderr)

    medians = {
        name: {
            key: statistics.median(sample[key] for sample in runs)
            for key in ("select_per_s", "insert_per_s")
        }
        for name, runs in samples.items()
    }
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    markdown = (
        f"Piccolo through Bandstand's engines, {CONCURRENCY} concurrent tasks, medians of "
        f"{arguments.rounds} interleaved rounds of {arguments.seconds:g} s ({machine}, {when}).\n\n"
        f"{table(medians)}\n"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "engines.json").write_text(
        json.dumps(
            {"machine": machine, "date": when, "medians": medians, "samples": samples}, indent=2
        )
    )
    (RESULTS / "engines.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
