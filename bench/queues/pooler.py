"""The same enqueue+work program behind PgBouncer in pool_mode=transaction.

    python3.11 -m bench.queues.pooler [--only substr,substr]
        -> results/pooler-<time>.json + table

Starts a throwaway PgBouncer (config written to data/pgbouncer/, port 6479, run as the postgres
user) in front of the local PostgreSQL, then for each engine variant: fresh database (created
directly), schema set-up THROUGH the pooler (falls back to a direct connection and says so), one
worker and the enqueuer both through the pooler, 40 jobs at 20/s, watched for 75 s. Records how
many ran, the latency, and the distinct error lines from the worker log / enqueuer / schema step,
plus the advisory locks left in pg_locks. Stops PgBouncer at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import time
from typing import Any

from .bench import (
    DATA,
    ENGINES,
    LOGS,
    RESULTS,
    Collector,
    engine_env,
    only,
    pct,
    psql,
    sh,
    start_worker,
    stop_worker,
    tool,
    vbin,
)

PGB_DIR = DATA / "pgbouncer"
INI = PGB_DIR / "pgbouncer.ini"
PIDFILE = PGB_DIR / "pgbouncer.pid"
PORT = 6479
DIRECT = "postgresql://postgres@127.0.0.1:5432"
POOLED = f"postgresql://postgres@127.0.0.1:{PORT}"
N, RATE, WATCH = 40, 20.0, 75.0

INI_TEXT = f"""\
; throwaway transaction-mode pooler in front of the local PostgreSQL (pooler.py only)
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {PORT}
unix_socket_dir =
auth_type = trust
auth_file = {PGB_DIR}/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
logfile = {PGB_DIR}/pgbouncer.log
pidfile = {PIDFILE}
admin_users = postgres
"""

# name -> (engine, env overrides, extra worker args)
VARIANTS: dict[str, tuple[str, dict[str, str], list[str]]] = {
    "saq-pg default": ("saq-pg", {}, []),
    "saq-pg prepare_threshold=None": ("saq-pg", {"SAQ_NO_PREPARE": "1"}, []),
    "saq-pg prepare_threshold=None + poll_interval=0.5": (
        "saq-pg",
        {"SAQ_NO_PREPARE": "1", "SAQ_POLL": "0.5"},
        [],
    ),
    "procrastinate default": ("procrastinate-pg", {}, []),
    "procrastinate prepare_threshold=None": ("procrastinate-pg", {"PROC_NO_PREPARE": "1"}, []),
    "procrastinate prepare_threshold=None + --no-listen-notify -p 0.5": (
        "procrastinate-pg",
        {"PROC_NO_PREPARE": "1"},
        ["--no-listen-notify", "-p", "0.5"],
    ),
    "pgqueuer default (asyncpg)": ("pgqueuer-pg", {}, []),
    "pgqueuer statement_cache_size=0": ("pgqueuer-pg", {"PGQ_NO_STMT_CACHE": "1"}, []),
    "pgqueuer statement_cache_size=0 + --dequeue-timeout 0.5": (
        "pgqueuer-pg",
        {"PGQ_NO_STMT_CACHE": "1"},
        ["--dequeue-timeout", "0.5"],
    ),
    "dbos-pg default": ("dbos-pg", {}, []),
    "dbos-pg prepare_threshold=None": ("dbos-pg", {"DBOS_NO_PREPARE": "1"}, []),
    "dbos-pg prepare_threshold=None + use_listen_notify=False": (
        "dbos-pg",
        {"DBOS_NO_PREPARE": "1", "DBOS_LISTEN": "0"},
        [],
    ),
    "taskiq-pg default (asyncpg)": ("taskiq-pg", {}, []),
    "taskiq-pg statement_cache_size=0": ("taskiq-pg", {"PGQ_NO_STMT_CACHE": "1"}, []),
}

ERR_RE = re.compile(
    r"(error|exception|does not exist|already exists|warning|traceback|failed)", re.IGNORECASE
)


def write_config() -> None:
    PGB_DIR.mkdir(parents=True, exist_ok=True)
    INI.write_text(INI_TEXT)
    (PGB_DIR / "userlist.txt").write_text('"postgres" ""\n')
    # PgBouncer runs as postgres and writes its log and pid file here.
    shutil.chown(PGB_DIR, user="postgres")


def start_pgbouncer() -> int:
    write_config()
    if PIDFILE.exists():
        PIDFILE.unlink()
    cmd = [tool("runuser"), "-u", "postgres", "--", tool("pgbouncer"), "-d", str(INI)]
    subprocess.run(cmd, check=True)
    for _ in range(50):
        if PIDFILE.exists() and PIDFILE.read_text().strip():
            break
        time.sleep(0.1)
    pid = int(PIDFILE.read_text().strip())
    conn = ["-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "-d", "postgres"]
    sh([tool("psql"), "-X", "-At", *conn, "-c", "select 1"])
    return pid


def stop_pgbouncer(pid: int) -> None:
    # Already gone is as good as stopped.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def distinct_errors(text: str, limit: int = 8) -> list[str]:
    seen: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        # Traceback source lines and their markers repeat the error without adding to it.
        if not line or line.startswith(("File ", "^", "~", "│", "|")):
            continue
        if ERR_RE.search(line):
            # Normalise ids and timestamps so the same error from different jobs counts once.
            line = re.sub(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b", "<uuid>", line)
            line = re.sub(r"_pg3_\d+", "_pg3_N", line)
            line = re.sub(r"__asyncpg_stmt_[0-9a-f]+__", "__asyncpg_stmt_N__", line)
            line = re.sub(r"\d{4}-\d\d-\d\d[T ][\d:.,+]+", "", line)
            line = line[:300]
            if line not in seen:
                seen.append(line)
        if len(seen) >= limit:
            break
    return seen


def run_variant(col: Collector, name: str) -> dict[str, Any]:
    base, env_over, args = VARIANTS[name]
    spec = copy.copy(ENGINES[base])
    db = spec["db"]
    spec["env"] = dict(spec["env"], JOBS_URL=f"{POOLED}/{db}")
    if "PGDSN" in spec["env"]:
        spec["env"]["PGDSN"] = f"{POOLED}/{db}"
    env = engine_env(spec, col, env_over)
    r: dict[str, Any] = {"variant": name}
    psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{db}"')
    if "init" in spec:
        p = sh(spec["init"](), env=env, check=False, timeout=60)
        if p.returncode != 0:
            errors = distinct_errors(p.stdout + p.stderr, 4)
            r["schema_via_pooler"] = "FAILED: " + " / ".join(errors)
            sh(spec["init"](), env=dict(env, JOBS_URL=f"{DIRECT}/{db}", PGDSN=f"{DIRECT}/{db}"))
        else:
            r["schema_via_pooler"] = "ok"
    slug = "pooler-" + "".join(c if c.isalnum() else "-" for c in name)[:50]
    proc = start_worker(base, spec, env, slug, args)
    run = f"{slug}-{time.time():.3f}"
    enq_out = ""
    try:
        time.sleep(4)  # let the worker start and create its schema
        # enqueue retries a few times: the worker may still be creating its tables
        cmd = [vbin(spec["venv"], "python"), "-m", spec["app"], "enqueue", run, str(N), str(RATE)]
        for _ in range(5):
            p = sh([*cmd, "1", "0"], env=env, check=False, timeout=120)
            enq_out += p.stdout[-3000:] + p.stderr[-6000:]
            if p.returncode == 0:
                break
            time.sleep(3)
        r["enqueue_ok"] = p.returncode == 0
        col.wait_done(run, N, WATCH, proc)
        starts = col.select(run, "start")
        lats = [(e["t"] - e["enq"]) * 1000 for e in starts]
        r["done"] = f"{len(col.done_seqs(run))}/{N}"
        r["lat_p50_ms"] = round(pct(lats, 0.5), 1) if lats else None
        r["lat_max_ms"] = round(max(lats), 1) if lats else None
        r["worker_alive"] = proc.poll() is None
    finally:
        stop_worker(proc, grace=8)
    log = (LOGS / f"{base}-{slug}-worker.log").read_text(errors="replace")
    r["worker_errors"] = distinct_errors(log)
    r["enqueue_errors"] = distinct_errors(enq_out, 5)
    # Session advisory locks outlive a transaction-mode client: count those left behind.
    locks_sql = (
        "select count(*) from pg_locks l join pg_database d on d.oid=l.database "  # noqa: S608 - db is from ENGINES, not input
        f"where locktype='advisory' and d.datname='{db}'"
    )
    r["advisory_locks_left"] = psql(locks_sql).strip()
    print(json.dumps(r), flush=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    names = only(VARIANTS, a.only)
    col = Collector()
    RESULTS.mkdir(exist_ok=True)
    pid = start_pgbouncer()
    ver = sh([tool("pgbouncer"), "--version"]).stdout.splitlines()[0]
    rows: list[dict[str, Any]] = []
    try:
        for n in names:
            try:
                rows.append(run_variant(col, n))
            # Any failure is recorded as this variant's result; the others still run.
            except Exception as e:  # noqa: BLE001 - reason above
                rows.append({"variant": n, "error": f"{type(e).__name__}: {e}"[:1500]})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        stop_pgbouncer(pid)
    path = RESULTS / f"pooler-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps({"pgbouncer": ver, "rows": rows}, indent=1))
    print(f"\n{ver}, pool_mode=transaction\n")
    print(
        "| variant | schema via pooler | jobs done | p50 / max latency ms "
        "| errors (worker; enqueuer) |"
    )
    print("|---|---|---|---|---|")
    for r in rows:
        errs = "; ".join(r.get("worker_errors", [])[:3] + r.get("enqueue_errors", [])[:2])
        errs = errs or r.get("error", "")
        schema = r.get("schema_via_pooler", "n/a (worker creates it)")
        print(
            f"| {r['variant']} | {schema} | {r.get('done', '')} "
            f"| {r.get('lat_p50_ms')} / {r.get('lat_max_ms')} | {errs[:400]} |"
        )
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
