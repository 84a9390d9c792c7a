#!/usr/bin/env python3
"""Job-queue engine benchmark (stdlib only; each engine runs from its own venv in .venvs/).

    python3.11 bench/queues/bench.py bench [--rounds 3] [--n 2000] [--lat-n 200] [--lat-rate 100]
                                           [--engines a,b] [--workers 1]
    python3.11 bench/queues/bench.py smoke [--engines a,b]    # 20 jobs each, checks the wiring

Per engine/backend and round: reset its database/Redis db/SQLite file, start ONE worker process
(the engine's normal worker, concurrency 10), warm it up, then
  * throughput: enqueue N jobs as fast as 10 concurrent enqueuers can (a separate process, like a
    web app would), time from the first enqueue until the last job reports done -> jobs/s;
  * latency: enqueue 200 jobs paced at 100/s; enqueue-to-start latency p50/p99;
  * exactly-once check: every job reports start/done over UDP; duplicates and missing are counted.
Engines are interleaved (the order rotates every round); the report is the median of rounds.
Results: results/<mode>-<UTC time>.json (every row), in bench mode also results/queues.json (the
medians), and a markdown table on stdout; the runs behind docs/jobs.md are in results/recorded/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NotRequired, TypedDict

ROOT = Path(__file__).resolve().parent
VENVS = ROOT / ".venvs"
LOGS = ROOT / "logs"
DATA = ROOT / "data"
RESULTS = ROOT / "results"
SUMMARY = RESULTS / "queues.json"
PG = "postgresql://postgres@127.0.0.1:5432"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

# A datagram from a job, or a result row: free-form JSON objects.
Event = dict[str, Any]
Row = dict[str, Any]


class EngineSpec(TypedDict):
    venv: str
    app: str  # the engine module, run as `python -m app enqueue ...`
    env: dict[str, str]
    worker: Callable[[], list[str]]
    # PostgreSQL database to recreate before each run.
    db: NotRequired[str]
    # Redis db number to flush before each run.
    redis_db: NotRequired[int]
    # SQLite files to delete before each run.
    sqlite: NotRequired[list[Path]]
    # Schema command run after the reset.
    init: NotRequired[Callable[[], list[str]]]


def vbin(venv: str, exe: str) -> str:
    path = VENVS / venv / "bin" / exe
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `bash bench/queues/setup.sh` first")
    return str(path)


def only(names: Iterable[str], wanted: str) -> list[str]:
    """The `names` that contain any of the comma-separated `wanted` parts (all if it is empty):
    what `--only` picks."""
    parts = [part for part in wanted.split(",") if part]
    return [name for name in names if not parts or any(part in name for part in parts)]


def tool(name: str) -> str:
    """Absolute path of a command-line tool on PATH (psql, redis-cli, ...)."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found on PATH")
    return path


def _sqlite_files(name: str) -> list[Path]:
    f = DATA / f"{name}.sqlite"
    return [f, f.with_name(f.name + "-wal"), f.with_name(f.name + "-shm")]


def _dbos_worker() -> list[str]:
    return [vbin("dbos", "python"), "-m", "engines.dbos_app", "worker"]


def _saq_worker() -> list[str]:
    return [vbin("saq", "saq"), "engines.saq_app.settings"]


def _taskiq_worker() -> list[str]:
    return [
        vbin("taskiq", "taskiq"),
        "worker",
        "engines.taskiq_app:broker",
        "--workers",
        "1",
        "--max-async-tasks",
        "10",
    ]


ENGINES: dict[str, EngineSpec] = {
    "saq-redis": {
        "venv": "saq",
        "app": "engines.saq_app",
        "env": {"JOBS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/11"},
        "redis_db": 11,
        "worker": _saq_worker,
    },
    "saq-pg": {
        "venv": "saq",
        "app": "engines.saq_app",
        "env": {"JOBS_URL": f"{PG}/jobs_cmp_saq"},
        "db": "jobs_cmp_saq",
        "worker": _saq_worker,
    },
    "dbos-sqlite": {
        "venv": "dbos",
        "app": "engines.dbos_app",
        "env": {"JOBS_URL": f"sqlite:///{DATA}/dbos.sqlite", "DBOS_POLL": "0.1"},
        "sqlite": _sqlite_files("dbos"),
        "worker": _dbos_worker,
    },
    "dbos-pg": {
        "venv": "dbos",
        "app": "engines.dbos_app",
        "env": {"JOBS_URL": f"{PG}/jobs_cmp_dbos", "DBOS_POLL": "0.1"},
        "db": "jobs_cmp_dbos",
        "worker": _dbos_worker,
    },
    "procrastinate-pg": {
        "venv": "procrastinate",
        "app": "engines.procrastinate_app",
        "env": {"JOBS_URL": f"{PG}/jobs_cmp_procrastinate"},
        "db": "jobs_cmp_procrastinate",
        "init": lambda: [
            vbin("procrastinate", "procrastinate"),
            "--app=engines.procrastinate_app.app",
            "schema",
            "--apply",
        ],
        "worker": lambda: [
            vbin("procrastinate", "procrastinate"),
            "--app=engines.procrastinate_app.app",
            "worker",
            "-c",
            "10",
        ],
    },
    "pgqueuer-pg": {
        "venv": "pgqueuer",
        "app": "engines.pgqueuer_app",
        "env": {"JOBS_URL": f"{PG}/jobs_cmp_pgqueuer", "PGDSN": f"{PG}/jobs_cmp_pgqueuer"},
        "db": "jobs_cmp_pgqueuer",
        "init": lambda: [vbin("pgqueuer", "pgq"), "install"],
        "worker": lambda: [
            vbin("pgqueuer", "pgq"),
            "run",
            "engines.pgqueuer_app:create_pgqueuer",
            "--batch-size",
            "5",
            "--max-concurrent-tasks",
            "10",
        ],
    },
    "taskiq-redis": {
        "venv": "taskiq",
        "app": "engines.taskiq_app",
        "env": {"JOBS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/12"},
        "redis_db": 12,
        "worker": _taskiq_worker,
    },
    # Extras, not in the default set:
    "taskiq-pg": {
        "venv": "taskiq",
        "app": "engines.taskiq_app",
        "env": {"JOBS_URL": f"{PG}/jobs_cmp_taskiq"},
        "db": "jobs_cmp_taskiq",
        "worker": _taskiq_worker,
    },
    "dbos-sqlite-default": {
        "venv": "dbos",
        "app": "engines.dbos_app",
        "env": {"JOBS_URL": f"sqlite:///{DATA}/dbos.sqlite", "DBOS_POLL": "1.0"},
        "sqlite": _sqlite_files("dbos"),
        "worker": _dbos_worker,
    },
    "dbos-pg-default": {
        "venv": "dbos",
        "app": "engines.dbos_app",
        "env": {"JOBS_URL": f"{PG}/jobs_cmp_dbos", "DBOS_POLL": "1.0"},
        "db": "jobs_cmp_dbos",
        "worker": _dbos_worker,
    },
}
DEFAULT_SET = [
    "saq-redis",
    "saq-pg",
    "dbos-sqlite",
    "dbos-pg",
    "procrastinate-pg",
    "pgqueuer-pg",
    "taskiq-redis",
]


# ---------------------------------------------------------------- UDP collector
class Collector:
    """Receives the jobs' start/done datagrams."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Bursts of thousands of datagrams must not be dropped while the reader thread is busy.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.events: list[Event] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            data, _ = self.sock.recvfrom(65536)
            try:
                ev = json.loads(data)
            except ValueError:
                continue
            ev["recv"] = time.time()
            with self.lock:
                self.events.append(ev)

    def select(self, run: str | None = None, ev: str | None = None) -> list[Event]:
        with self.lock:
            return [
                e
                for e in self.events
                if (run is None or e.get("run") == run) and (ev is None or e.get("ev") == ev)
            ]

    def done_seqs(self, run: str) -> set[int]:
        return {e["seq"] for e in self.select(run, "done")}

    def wait_done(
        self,
        run: str,
        n: int,
        timeout: float,
        proc: subprocess.Popen[bytes] | None = None,
    ) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.done_seqs(run)) >= n:
                return True
            if proc is not None and proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False


# ---------------------------------------------------------------- processes
def engine_env(
    spec: EngineSpec, collector: Collector | None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(spec["env"])
    # The engine modules are the package `engines`, imported from this folder.
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    if collector:
        env["BENCH_UDP"] = collector.addr
    env.update(extra or {})
    return env


def sh(
    cmd: list[str], env: dict[str, str] | None = None, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(
            f"{cmd} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}"
        )
    return p


def psql(sql: str, db: str = "postgres") -> str:
    cmd = [tool("psql"), "-X", "-q", "-At", "-h", "127.0.0.1", "-U", "postgres", "-d", db]
    return sh([*cmd, "-c", sql]).stdout


def reset(name: str, spec: EngineSpec, env: dict[str, str]) -> None:
    if "db" in spec:
        psql(f'DROP DATABASE IF EXISTS "{spec["db"]}" WITH (FORCE)')
        psql(f'CREATE DATABASE "{spec["db"]}"')
    if "redis_db" in spec:
        redis = [tool("redis-cli"), "-h", REDIS_HOST, "-p", str(REDIS_PORT)]
        sh([*redis, "-n", str(spec["redis_db"]), "FLUSHDB"])
    for f in spec.get("sqlite", []):
        f.unlink(missing_ok=True)
    if "init" in spec:
        sh(spec["init"](), env=env)


def start_worker(
    name: str,
    spec: EngineSpec,
    env: dict[str, str],
    tag: str,
    args: list[str] | None = None,
) -> subprocess.Popen[bytes]:
    LOGS.mkdir(exist_ok=True)
    # The worker inherits the file; the parent's copy is closed as soon as the child has it.
    with (LOGS / f"{name}-{tag}-worker.log").open("w") as log:
        # Own session, so stop_worker can signal the worker's whole process group by its id.
        return subprocess.Popen(
            spec["worker"]() + (args or []),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 15
) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def enqueue(
    spec: EngineSpec,
    env: dict[str, str],
    run: str,
    n: int,
    rate: float = 0,
    conc: int = 10,
    sleep: float = 0,
    timeout: float = 600,
) -> dict[str, float]:
    cmd = [vbin(spec["venv"], "python"), "-m", spec["app"], "enqueue", run]
    p = sh([*cmd, str(n), str(rate), str(conc), str(sleep)], env=env, timeout=timeout)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, float] = json.loads(line[7:])
            return result
    raise RuntimeError(f"no RESULT from enqueue: {p.stdout[-2000:]} {p.stderr[-2000:]}")


PROBE_ERRORS: list[str] = []
WORKERS = 1


def warm_up(
    col: Collector,
    spec: EngineSpec,
    env: dict[str, str],
    tag: str,
    proc: subprocess.Popen[bytes],
    timeout: float = 90,
) -> None:
    """Enqueue single probes until one runs (the worker is up and its schema exists), then 20."""
    deadline = time.time() + timeout
    i = 0
    last_err = ""
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}")
        run = f"probe-{tag}-{i}-{time.time():.3f}"
        i += 1
        try:
            enqueue(spec, env, run, 1, timeout=30)
        # Expected while the worker has not created its tables yet: retry.
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            last_err = str(e)[-500:]
            PROBE_ERRORS.append(f"{tag}: {last_err[-300:]}")
            time.sleep(1)
            continue
        if col.wait_done(run, 1, 3, proc):
            break
    else:
        raise RuntimeError("worker never ran a probe job " + last_err)
    run = f"warm-{tag}-{time.time():.3f}"
    enqueue(spec, env, run, 20)
    if not col.wait_done(run, 20, 60, proc):
        raise RuntimeError("warm-up jobs did not finish")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def exactly_once(col: Collector, run: str, n: int) -> tuple[int, int]:
    starts = col.select(run, "start")
    seen: dict[int, int] = {}
    for e in starts:
        seen[e["seq"]] = seen.get(e["seq"], 0) + 1
    dups = sum(c - 1 for c in seen.values() if c > 1)
    missing = n - len(col.done_seqs(run))
    return dups, missing


def measure(col: Collector, name: str, rnd: int, n: int, lat_n: int, lat_rate: float) -> Row:
    spec = ENGINES[name]
    env = engine_env(spec, col)
    tag = f"{name}-r{rnd}"
    reset(name, spec, env)
    proc = start_worker(name, spec, env, f"r{rnd}")
    extra = [
        start_worker(name, spec, dict(env, DBOS__VMID=f"worker-{i}"), f"r{rnd}-w{i}")
        for i in range(2, WORKERS + 1)
    ]
    # Several DBOS workers sharing a database need distinct executor ids.
    if name.startswith("dbos") and extra:
        stop_worker(proc)
        proc = start_worker(name, spec, dict(env, DBOS__VMID="worker-1"), f"r{rnd}")
    out: Row = {"engine": name, "round": rnd, "workers": WORKERS}
    try:
        warm_up(col, spec, env, tag, proc)
        time.sleep(1)
        # Throughput
        run = f"tp-{tag}-{time.time():.3f}"
        res = enqueue(spec, env, run, n, conc=10)
        ok = col.wait_done(run, n, timeout=600, proc=proc)
        done = col.select(run, "done")
        last = max(e["t"] for e in done) if done else float("nan")
        t0 = res["t0"]
        out.update(
            enqueue_per_s=n / res["enqueue_s"],
            jobs_per_s=(len(done) / (last - t0)) if done else 0.0,
            tp_complete=ok,
        )
        out["tp_dups"], out["tp_missing"] = exactly_once(col, run, n)
        time.sleep(1)
        # Latency at a moderate rate
        run = f"lat-{tag}-{time.time():.3f}"
        enqueue(spec, env, run, lat_n, rate=lat_rate)
        ok2 = col.wait_done(run, lat_n, timeout=120, proc=proc)
        lats = [(e["t"] - e["enq"]) * 1000 for e in col.select(run, "start")]
        out.update(lat_p50_ms=pct(lats, 0.5), lat_p99_ms=pct(lats, 0.99), lat_complete=ok2)
        out["lat_dups"], out["lat_missing"] = exactly_once(col, run, lat_n)
        out["worker_alive"] = proc.poll() is None
    # Whatever goes wrong with one engine is recorded in its row, and the others still run.
    except Exception as e:  # noqa: BLE001 - reason above
        out["error"] = f"{type(e).__name__}: {e}"[:2000]
    finally:
        stop_worker(proc)
        for p in extra:
            stop_worker(p)
    return out


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        with Path("/proc/cpuinfo").open() as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    pgv = psql("show server_version").strip()
    info = sh([tool("redis-cli"), "-h", REDIS_HOST, "INFO", "server"]).stdout
    redisv = next(
        (ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("redis_version")),
        "?",
    )
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": sh([vbin("saq", "python"), "-V"]).stdout.strip(),
        "postgres": pgv,
        "redis": redisv,
        "loadavg": os.getloadavg(),
    }


def versions() -> dict[str, list[str]]:
    out = {}
    for v in ("saq", "dbos", "procrastinate", "pgqueuer", "taskiq"):
        p = sh(
            [vbin(v, "python"), "-m", "pip", "freeze", "--disable-pip-version-check"],
            check=False,
        )
        out[v] = p.stdout.split()
    return out


def _median(rows: list[Row], key: str) -> float:
    vals = [r[key] for r in rows if isinstance(r.get(key), int | float)]
    return statistics.median(vals) if vals else float("nan")


def summary(rows: list[Row]) -> list[Row]:
    """One row per engine: the medians over its successful rounds."""
    by: dict[str, list[Row]] = {}
    for r in rows:
        by.setdefault(r["engine"], []).append(r)
    out = []
    for name, rs in by.items():
        good = [r for r in rs if "error" not in r]
        out.append(
            {
                "engine": name,
                "rounds_ok": len(good),
                "rounds": len(rs),
                "jobs_per_s": _median(good, "jobs_per_s"),
                "enqueue_per_s": _median(good, "enqueue_per_s"),
                "lat_p50_ms": _median(good, "lat_p50_ms"),
                "lat_p99_ms": _median(good, "lat_p99_ms"),
                "dups": sum(r.get("tp_dups", 0) + r.get("lat_dups", 0) for r in good),
                "missing": sum(r.get("tp_missing", 0) + r.get("lat_missing", 0) for r in good),
            }
        )
    return out


def table(summ: list[Row]) -> str:
    lines = [
        "| engine/backend | rounds ok | jobs/s end-to-end | enqueue/s | latency p50 ms "
        "| latency p99 ms | dups | missing |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summ:
        lines.append(
            f"| {s['engine']} | {s['rounds_ok']}/{s['rounds']} | {s['jobs_per_s']:.0f} "
            f"| {s['enqueue_per_s']:.0f} | {s['lat_p50_ms']:.1f} | {s['lat_p99_ms']:.1f} "
            f"| {s['dups']} | {s['missing']} |"
        )
    return "\n".join(lines)


def _json_safe(summ: list[Row]) -> list[Row]:
    # NaN (an engine with no successful round) is not valid JSON: write null instead.
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in s.items()}
        for s in summ
    ]


def main() -> None:
    global WORKERS
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["bench", "smoke"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--lat-n", type=int, default=200)
    ap.add_argument("--lat-rate", type=float, default=100)
    ap.add_argument("--engines", default=",".join(DEFAULT_SET))
    ap.add_argument(
        "--workers", type=int, default=1, help="worker processes per engine (default 1)"
    )
    a = ap.parse_args()
    WORKERS = a.workers
    names = a.engines.split(",")
    if a.mode == "smoke":
        a.rounds, a.n, a.lat_n = 1, 20, 20
    col = Collector()
    DATA.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    meta: dict[str, Any] = {"machine": machine(), "versions": versions(), "args": vars(a)}
    rows = []
    for rnd in range(1, a.rounds + 1):
        k = (rnd - 1) % len(names)
        order = names[k:] + names[:k]  # interleave: rotate the order every round
        for name in order:
            t = time.time()
            r = measure(col, name, rnd, a.n, a.lat_n, a.lat_rate)
            r["wall_s"] = round(time.time() - t, 1)
            rows.append(r)
            print(json.dumps(r), flush=True)
    meta["machine"]["loadavg_end"] = os.getloadavg()
    meta["probe_errors"] = PROBE_ERRORS
    suffix = f"-w{a.workers}" if a.workers > 1 else ""
    out = RESULTS / f"{a.mode}{suffix}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    summ = summary(rows)
    print(f"\n{meta['machine']}\n")
    print(table(summ))
    print(f"\nwritten {out}")
    # Only a full benchmark writes results/queues.json: a smoke run's numbers mean nothing.
    if a.mode == "bench":
        SUMMARY.write_text(
            json.dumps(
                {
                    "machine": meta["machine"],
                    "args": vars(a),
                    "engines": _json_safe(summ),
                    "raw": out.name,
                },
                indent=1,
            )
            + "\n"
        )
        print(f"written {SUMMARY}")


if __name__ == "__main__":
    main()
