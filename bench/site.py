"""`make bench`: the site against its raw-driver baseline (bench/baseline.py), in one run.

    .venv/bin/python -m bench.site [--rounds 5] [--seconds 5] [--connections 64]

Per database setup (SQLite; PostgreSQL direct over TLS with the statement cache off, the
default, and on; PgBouncer in transaction mode) it starts both apps under uvicorn, one worker
each, production settings, checks that they answer alike, warms them up, then drives every
workload with wrk, the apps taking turns (each round starting with the next one), for several
rounds. The cache-on setup also serves the app with the cache off, taking its turn in the same
rounds: the cache's cost is measured within one stretch of time, not across two setups run
minutes apart on a machine whose speed drifts. A ratio is the median over rounds of the two
apps' figures in one round, seconds apart. Medians, ratios, every round's figures, the CPU each
request cost the app and the database, and cold starts go to bench/results/site.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.processes import cpu_seconds, database_cpu_seconds, rss_megabytes, serve
from bench.seed import BENCH_CATEGORY
from bench.streams import measure_streams
from tests.support.postgres_servers import PgBouncer, PostgresServer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECRET_KEY = "bench-secret-key-that-is-long-enough-for-production-mode"  # noqa: S105 - a throwaway
BENCH_USER = "bench"
BENCH_PASSWORD = "bench-password"  # noqa: S105 - a throwaway database's
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
POST_SCRIPT = ROOT / "bench" / "register.lua"
CACHE_OFF = "PostgreSQL, TLS, cache off (default)"
CACHE_ON = "PostgreSQL, TLS, cache on"
OURS_CACHE_OFF = "ours, cache off"


class Workload:
    def __init__(self, name: str, path: str, *, post: bool = False) -> None:
        self.name = name
        self.path = path
        self.post = post


WORKLOADS = [
    Workload("JSON: one product", "/api/products/{product_id}"),
    Workload(
        "JSON: a page of 20, filtered", f"/api/products?category={BENCH_CATEGORY}&page_size=20"
    ),
    Workload("HTML: products page, 20 rows", f"/products?category={BENCH_CATEGORY}"),
    Workload("write: register (JSON)", "/api/webinars/registrants", post=True),
]


def csrf_headers(base: str) -> list[str]:
    """The cookie and header a script needs for the app's CSRF check (the baseline ignores them)."""
    page = httpx.get(f"{base}/webinars")
    token = CSRF_FIELD.search(page.text)
    # Production cookies are Secure, which a client on plain http won't store: read the header.
    cookie = re.search(r"site_csrf=([^;]+)", page.headers.get("set-cookie", ""))
    if not token or not cookie:
        raise SystemExit("the app's registration page carries no CSRF token")
    return [f"Cookie: site_csrf={cookie.group(1)}", f"x-site-csrf: {token.group(1)}"]


def wrk(
    url: str, seconds: float, connections: int, headers: list[str], post: bool
) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    if post:
        command += ["-s", str(POST_SCRIPT)]
    # Registrations need e-mail addresses never used before, in this run or an earlier one.
    environ = {**os.environ, "BENCH_RUN": str(time.time_ns())}
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, env=environ
    ).stdout
    return parse_wrk(output)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict[str, float]:
    def latency(percent: str) -> float:
        found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        return float(found.group(1)) * UNITS[found.group(2)] if found else float("nan")

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(map(int, socket.groups())) if socket else 0
    requests = re.search(r"(\d+) requests in", output)
    return {
        "rps": float(rate.group(1)) if rate else 0.0,
        "requests": int(requests.group(1)) if requests else 0,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": errors,
    }


def same_answers(ours: str, baseline: str, product_id: int) -> None:
    """Both apps must return the same data, or the comparison means nothing."""
    for workload in WORKLOADS[:2]:
        path = workload.path.format(product_id=product_id)
        mine, theirs = httpx.get(ours + path).json(), httpx.get(baseline + path).json()
        if mine != theirs:
            raise SystemExit(f"{path}: the app and the baseline disagree:\n{mine}\n{theirs}")
    rows = [
        re.findall(r"<tr>.*?</tr>", httpx.get(base + WORKLOADS[2].path).text, re.DOTALL)
        for base in (ours, baseline)
    ]
    if rows[0] != rows[1] or len(rows[0]) != 21:  # a header row and 20 products
        raise SystemExit("the products pages differ between the app and the baseline")


def prepare(url: str) -> None:
    environ = {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": tempfile.mkdtemp(),
        "SUPERUSER_USERNAME": BENCH_USER,
        "SUPERUSER_PASSWORD": BENCH_PASSWORD,
    }
    piccolo = str(Path(sys.executable).parent / "piccolo")
    for command in (
        [piccolo, "migrations", "forwards", "all"],
        [sys.executable, "-m", "bench.seed"],
        [piccolo, "project", "superuser"],
    ):
        subprocess.run(command, cwd=ROOT, env=environ, check=True, capture_output=True)


def production_environ(url: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "production",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "BENCH_DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": tempfile.mkdtemp(),
    }


def measure_setup(
    name: str, url: str, arguments: argparse.Namespace, ours_also: dict[str, str] | None = None
) -> dict[str, Any]:
    """Ours and the baseline on `url`, taking turns; `ours_also` adds the app on other URLs
    (to the same database) as more targets in the same turns, so that their figures share the
    machine's moods."""
    prepare(url)
    environ = production_environ(url)
    with ExitStack() as stack:
        ours, our_pid, _ = stack.enter_context(serve("main:app", environ))
        baseline, baseline_pid, _ = stack.enter_context(serve("bench.baseline:app", environ))
        targets = {"ours": ours, "baseline": baseline}
        pids = {"ours": our_pid, "baseline": baseline_pid}
        for target, other_url in (ours_also or {}).items():
            targets[target], pids[target], _ = stack.enter_context(
                serve("main:app", production_environ(other_url))
            )
        product_id = httpx.get(f"{ours}/api/products", params={"category": BENCH_CATEGORY}).json()[
            "items"
        ][0]["id"]
        same_answers(ours, baseline, product_id)
        headers = csrf_headers(ours)
        samples: dict[str, dict[str, list[dict[str, float]]]] = {
            workload.name: {target: [] for target in targets} for workload in WORKLOADS
        }
        for round_number in range(arguments.rounds + 1):  # round 0 warms up
            for workload in WORKLOADS:
                # Each round starts with the next target, so that none always takes the slot
                # after another's writes (and their autovacuum) or at the same point of a drift.
                order = list(targets.items())
                shift = round_number % len(order)
                for target, base in order[shift:] + order[:shift]:
                    url_ = base + workload.path.format(product_id=product_id)
                    seconds = 2 if round_number == 0 else arguments.seconds
                    app, database = cpu_seconds(pids[target]), database_cpu_seconds()
                    result = wrk(url_, seconds, arguments.connections, headers, workload.post)
                    # CPU time per request, the app's and the database's: it shows where the
                    # work went, which req/s doesn't (one worker uses one core of the two).
                    requests = max(result["requests"], 1)
                    result["app_cpu_us"] = (cpu_seconds(pids[target]) - app) / requests * 1e6
                    result["database_cpu_us"] = (database_cpu_seconds() - database) / requests * 1e6
                    if round_number:
                        samples[workload.name][target].append(result)
                        print(
                            f"{name} · round {round_number} · {workload.name} · {target}: "
                            f"{result['rps']:,.0f} req/s, p99 {result['p99_ms']:.1f} ms, "
                            f"{result['errors']:.0f} errors",
                            file=sys.stderr,
                        )
        rss = rss_megabytes(our_pid)
    medians = {
        workload: {
            target: {key: statistics.median(sample[key] for sample in runs) for key in runs[0]}
            for target, runs in targets.items()
        }
        for workload, targets in samples.items()
    }
    ratios = {
        workload: {
            target: paired_ratio(runs, targets["baseline"])
            for target, runs in targets.items()
            if target != "baseline"
        }
        for workload, targets in samples.items()
    }
    return {"medians": medians, "ratios": ratios, "rounds": samples, "rss_after_load_mb": rss}


def paired_ratio(runs: list[dict[str, float]], reference: list[dict[str, float]]) -> float:
    """The median over rounds of one round's req/s over the reference's in the same round."""
    return statistics.median(
        run["rps"] / other["rps"] for run, other in zip(runs, reference, strict=True)
    )


def measure_chat_streams(url: str, counts: list[int]) -> list[dict[str, Any]]:
    """Each count on a fresh server, so its peak memory is the streams' own."""
    environ = {**production_environ(url), "LLM_API_KEY": ""}
    results = []
    for count in counts:
        with serve("main:app", environ) as (base, pid, _):
            result = asyncio.run(measure_streams(base, pid, count, BENCH_USER, BENCH_PASSWORD))
        print(f"chat streams: {result}", file=sys.stderr)
        results.append(result)
    return results


def cold_start(module: str, url: str) -> dict[str, float]:
    environ = production_environ(url)
    seconds, rss = [], []
    for _ in range(3):
        with serve(module, environ) as (_, pid, elapsed):
            seconds.append(elapsed)
            rss.append(rss_megabytes(pid))
    return {"seconds": statistics.median(seconds), "rss_mb": statistics.median(rss)}


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"{results['machine']}, {results['date']}: one uvicorn worker each, `wrk -t2 "
        f"-c{results['connections']}`, medians of {results['rounds']} rounds of "
        f"{results['seconds']:g} s after a warm-up, the apps taking turns; a ratio is the median "
        "of each round's ratio.",
        "",
        "| setup | workload | req/s | baseline req/s | ratio | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for setup, result in results["setups"].items():
        for workload, targets in result["medians"].items():
            ours, base = targets["ours"], targets["baseline"]
            ratio = result["ratios"][workload]["ours"]
            lines.append(
                f"| {setup} | {workload} | {ours['rps']:,.0f} | {base['rps']:,.0f} | "
                f"{ratio:.2f} | {ours['p50_ms']:.1f} | {ours['p99_ms']:.1f} | "
                f"{ours['errors']:.0f} |"
            )
    on = results["setups"].get(CACHE_ON)
    if on:
        lines += [
            "",
            "What the statement cache's absence costs the app on direct PostgreSQL (the app with "
            "the cache off taking its turn in the cache-on setup's rounds; the median of each "
            "round's cost):",
            "",
            "| workload | cache off req/s | cache on req/s | cost | app CPU µs per request, "
            "off / on | database CPU µs per request, off / on |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for workload, targets in on["medians"].items():
            without = targets[OURS_CACHE_OFF]["rps"]
            with_cache = targets["ours"]["rps"]
            rounds = on["rounds"][workload]
            cost = 1 - paired_ratio(rounds[OURS_CACHE_OFF], rounds["ours"])
            uncached, cached = targets[OURS_CACHE_OFF], targets["ours"]
            lines.append(
                f"| {workload} | {without:,.0f} | {with_cache:,.0f} | {cost:.0%} | "
                f"{uncached['app_cpu_us']:.0f} / {cached['app_cpu_us']:.0f} | "
                f"{uncached['database_cpu_us']:.0f} / {cached['database_cpu_us']:.0f} |"
            )
    if results.get("chat_streams"):
        lines += [
            "",
            "Chat streams (offline provider, SQLite), all at once on one worker:",
            "",
            "| streams | errors | first token p50 ms | p99 ms | tokens/s each | peak RSS MB |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for row in results["chat_streams"]:
            lines.append(
                f"| {row['streams']:,} | {row['errors']} | {row['ttft_p50_ms']:.0f} | "
                f"{row['ttft_p99_ms']:.0f} | {row['tokens_per_s_per_stream']:.1f} | "
                f"{row['peak_rss_mb']:.0f} |"
            )
    start = results["cold_start"]
    lines += [
        "",
        f"Cold start (SQLite, to the first 200 on /healthz): {start['ours']['seconds']:.2f} s, "
        f"RSS {start['ours']['rss_mb']:.0f} MB (baseline {start['baseline']['seconds']:.2f} s, "
        f"{start['baseline']['rss_mb']:.0f} MB).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--only", help="run only the setups whose name contains this")
    parser.add_argument(
        "--streams",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 100, 1000],
        help="concurrent chat streams to measure, comma-separated (on SQLite)",
    )
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("make bench needs wrk: apt-get install wrk")

    results: dict[str, Any] = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "rounds": arguments.rounds,
        "seconds": arguments.seconds,
        "connections": arguments.connections,
        "setups": {},
    }
    sqlite = f"sqlite:///{tempfile.mkdtemp(prefix='bandstand-bench-')}/bench.sqlite3"
    with PostgresServer(ssl=True) as server, PgBouncer(server, default_pool_size=10) as bouncer:
        tls = {"sslmode": "verify-full", "sslrootcert": str(server.ca_cert)}
        setups = {
            "SQLite": sqlite,
            CACHE_OFF: server.url(**tls),
            CACHE_ON: server.url(**tls, statement_cache_size="100"),
            "PgBouncer (transaction mode), TLS": bouncer.url(**tls),
        }
        for name, url in setups.items():
            if arguments.only and arguments.only.lower() not in name.lower():
                continue
            ours_also = {OURS_CACHE_OFF: setups[CACHE_OFF]} if name == CACHE_ON else None
            results["setups"][name] = measure_setup(name, url, arguments, ours_also)
    sqlite_ready = "SQLite" in results["setups"]
    if sqlite_ready:
        results["chat_streams"] = measure_chat_streams(sqlite, arguments.streams)
    results["cold_start"] = {
        "ours": cold_start("main:app", sqlite),
        "baseline": cold_start("bench.baseline:app", sqlite),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "site.json").write_text(json.dumps(results, indent=2))
    text = markdown(results)
    (RESULTS / "site.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
