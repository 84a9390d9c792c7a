"""Worker SIGKILL mid-job: is the job re-run (when), lost, or stuck?

    python3.11 -m bench.queues.durability [--only name,name]
        -> results/durability-<time>.json + table

For each case: fresh database/Redis db, worker A, one job that sleeps 30 s; once it has started,
SIGKILL worker A's whole process group; start worker B at once; watch up to 180 s for the job to
start again (and finish). If it has not, enqueue one unrelated "nudge" job and watch 40 s more
(taskiq's Redis stream only reclaims unacked messages after a read returns something).
Cases run in parallel threads (they are mostly waiting), each on its own database.
"""

from __future__ import annotations

import argparse
import copy
import json
import signal
import threading
import time
from typing import Any, NamedTuple

from .bench import (
    DATA,
    ENGINES,
    PG,
    RESULTS,
    Collector,
    EngineSpec,
    engine_env,
    enqueue,
    only,
    psql,
    reset,
    start_worker,
    stop_worker,
    warm_up,
)

SLEEP = 30.0
WATCH = 180.0


class Case(NamedTuple):
    base: str  # engine in bench.ENGINES
    env: dict[str, str]  # env overrides for both workers and the enqueuer
    env_b: dict[str, str]  # env overrides for worker B only
    store: dict[str, str | int]  # "db", "redis_db" or "sqlite": its own database for the case


CASES = {
    "saq-redis (timeout=60, retries=1 default)": Case(
        "saq-redis", {"SAQ_TIMEOUT": "60"}, {}, {"redis_db": 13}
    ),
    "saq-redis (timeout=60, retries=2)": Case(
        "saq-redis", {"SAQ_TIMEOUT": "60", "SAQ_RETRIES": "2"}, {}, {"redis_db": 14}
    ),
    "saq-pg (timeout=60, retries=2)": Case(
        "saq-pg", {"SAQ_TIMEOUT": "60", "SAQ_RETRIES": "2"}, {}, {"db": "jobs_cmp_dur_saq"}
    ),
    "saq-pg (timeout=60, retries=1 default)": Case(
        "saq-pg", {"SAQ_TIMEOUT": "60"}, {}, {"db": "jobs_cmp_dur_saq1"}
    ),
    "dbos-sqlite (same executor id)": Case("dbos-sqlite", {}, {}, {"sqlite": "dur1"}),
    "dbos-pg (same executor id)": Case("dbos-pg", {}, {}, {"db": "jobs_cmp_dur_dbos"}),
    "dbos-pg (worker B has another executor id)": Case(
        "dbos-pg", {}, {"DBOS__VMID": "worker-b"}, {"db": "jobs_cmp_dur_dbos2"}
    ),
    "procrastinate-pg (defaults)": Case("procrastinate-pg", {}, {}, {"db": "jobs_cmp_dur_proc"}),
    "procrastinate-pg (+ retry_stalled_jobs periodic task)": Case(
        "procrastinate-pg",
        {"PROC_RECOVER_CRON": "* * * * * */5", "PROC_STALLED_S": "30"},
        {},
        {"db": "jobs_cmp_dur_proc2"},
    ),
    "pgqueuer-pg (heartbeat_timeout 30 s default)": Case(
        "pgqueuer-pg", {}, {}, {"db": "jobs_cmp_dur_pgq"}
    ),
    "taskiq-redis stream (idle_timeout 60 s)": Case(
        "taskiq-redis", {"TASKIQ_IDLE_MS": "60000"}, {}, {"redis_db": 15}
    ),
    "taskiq-pg (taskiq-postgres asyncpg)": Case("taskiq-pg", {}, {}, {"db": "jobs_cmp_dur_tqpg"}),
}


def make_spec(base: str, override: dict[str, str | int]) -> EngineSpec:
    spec = copy.copy(ENGINES[base])
    spec["env"] = dict(spec["env"])
    if "db" in override:
        spec["db"] = str(override["db"])
        spec["env"]["JOBS_URL"] = f"{PG}/{override['db']}"
        if "PGDSN" in spec["env"]:
            spec["env"]["PGDSN"] = spec["env"]["JOBS_URL"]
    if "redis_db" in override:
        spec["redis_db"] = int(override["redis_db"])
        url = spec["env"]["JOBS_URL"].rsplit("/", 1)[0]
        spec["env"]["JOBS_URL"] = f"{url}/{override['redis_db']}"
    if "sqlite" in override:
        f = DATA / f"{override['sqlite']}.sqlite"
        spec["sqlite"] = [f, f.with_name(f.name + "-wal"), f.with_name(f.name + "-shm")]
        spec["env"]["JOBS_URL"] = f"sqlite:///{f}"
    return spec


# Where each engine keeps its jobs, to show what state the killed job was left in.
STATE_QUERIES = {
    "saq-pg": "select status, count(*) from saq_jobs group by 1",
    "procrastinate": "select task_name, status, attempts from procrastinate_jobs order by id",
    "dbos-pg": "select name, status, executor_id, recovery_attempts from dbos.workflow_status "
    "order by created_at",
    "pgqueuer": "select entrypoint, status from pgqueuer",
    "taskiq-pg": "select task_name, status from taskiq_messages",
}


def state_after(base: str, spec: EngineSpec) -> str:
    try:
        for prefix, sql in STATE_QUERIES.items():
            if base.startswith(prefix):
                return psql(sql, spec["db"]).strip()
    # Diagnostic only: a failed query must not lose the case's measured result.
    except Exception as e:  # noqa: BLE001 - reason above
        return f"(state query failed: {e})"[:300]
    return ""


def run_case(col: Collector, case: str, out: dict[str, dict[str, Any]]) -> None:
    base, env_over, env_b, over = CASES[case]
    spec = make_spec(base, over)
    slug = "".join(c if c.isalnum() else "-" for c in case)[:60]
    env = engine_env(spec, col, env_over)
    r: dict[str, Any] = {"case": case}
    procs = []
    try:
        reset(base, spec, env)
        a = start_worker(base, spec, env, f"dur-A-{slug}")
        procs.append(a)
        warm_up(col, spec, env, f"dur-{slug}", a)
        run = f"dur-{slug}-{time.time():.3f}"
        enqueue(spec, env, run, 1, sleep=SLEEP)
        deadline = time.time() + 30
        while time.time() < deadline and not col.select(run, "start"):
            time.sleep(0.05)
        first = col.select(run, "start")
        if not first:
            raise RuntimeError("job never started on worker A")
        time.sleep(2)
        t_kill = time.time()
        stop_worker(a, sig=signal.SIGKILL, grace=10)
        r["killed_after_start_s"] = round(t_kill - first[0]["t"], 1)
        env_worker_b = engine_env(spec, col, {**env_over, **env_b})
        b = start_worker(base, spec, env_worker_b, f"dur-B-{slug}")
        procs.append(b)
        end = t_kill + WATCH
        nudged = False
        while time.time() < end:
            if len(col.select(run, "start")) > 1:
                break
            time.sleep(0.2)
        if len(col.select(run, "start")) <= 1:
            nudged = True
            enqueue(spec, env, f"nudge-{slug}-{time.time():.3f}", 1)
            end2 = time.time() + 40
            while time.time() < end2 and len(col.select(run, "start")) <= 1:
                time.sleep(0.2)
        starts = col.select(run, "start")
        if len(starts) > 1:
            r["rerun_after_kill_s"] = round(starts[1]["t"] - t_kill, 1)
            col.wait_done(run, 1, SLEEP + 15)
        r["starts"] = len(starts)
        r["completed"] = bool(col.select(run, "done"))
        r["nudged"] = nudged
        if len(starts) > 1:
            after_nudge = " (only after a nudge job)" if nudged else ""
            r["outcome"] = f"re-run after {r['rerun_after_kill_s']:.0f} s{after_nudge}"
        else:
            r["outcome"] = f"NOT re-run within {WATCH:.0f} s"
        r["state_after"] = state_after(base, spec)
    # Any failure is recorded as this case's result; the other cases keep running.
    except Exception as e:  # noqa: BLE001 - reason above
        r["error"] = f"{type(e).__name__}: {e}"[:1500]
    finally:
        for p in procs:
            stop_worker(p, grace=5)
    out[case] = r
    print(json.dumps(r), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    cases = only(CASES, a.only)
    col = Collector()
    DATA.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    out: dict[str, dict[str, Any]] = {}
    threads = [threading.Thread(target=run_case, args=(col, c, out)) for c in cases]
    for t in threads:
        t.start()
        time.sleep(3)  # stagger start-ups a little on 2 cores
    for t in threads:
        t.join()
    path = RESULTS / f"durability-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(out, indent=1))
    print("\n| case | killed after start | outcome | completed | state after |")
    print("|---|---|---|---|---|")
    for c in cases:
        r = out.get(c, {})
        state = str(r.get("state_after", "")).replace("\n", "; ")[:200]
        print(
            f"| {c} | {r.get('killed_after_start_s', '')} s "
            f"| {r.get('outcome', r.get('error', ''))} | {r.get('completed', '')} | {state} |"
        )
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
