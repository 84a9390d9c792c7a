"""DBOS: what happens when a second worker with the SAME executor id starts while the first is
running a job (both default to executor id "local")? Start-up recovery re-enqueues every PENDING
workflow of its executor id, so the live job may run twice.

    python3.11 -m bench.queues.dbos_shared_id [--control]
        -> results/dbos-shared-id[-control]-<time>.json

--control runs the same without worker B, to show the job runs once then.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from typing import Any

from .bench import (
    ENGINES,
    PG,
    RESULTS,
    Collector,
    engine_env,
    enqueue,
    reset,
    start_worker,
    stop_worker,
    warm_up,
)


def main() -> None:
    control = "--control" in sys.argv
    col = Collector()
    out: dict[str, dict[str, Any]] = {}
    for backend in ("dbos-pg", "dbos-sqlite"):
        spec = copy.copy(ENGINES[backend])
        spec["env"] = dict(spec["env"])
        if backend == "dbos-pg":
            spec["db"] = "jobs_cmp_dur_dbos3"
            spec["env"]["JOBS_URL"] = f"{PG}/jobs_cmp_dur_dbos3"
        env = engine_env(spec, col)
        reset(backend, spec, env)
        a = start_worker(backend, spec, env, "shared-A")
        procs = [a]
        try:
            warm_up(col, spec, env, f"shared-{backend}", a)
            run = f"shared-{backend}-{time.time():.3f}"
            enqueue(spec, env, run, 1, sleep=20)
            while not col.select(run, "start"):
                time.sleep(0.05)
            if not control:
                b = start_worker(backend, spec, env, "shared-B")  # same default executor id
                procs.append(b)
            col.wait_done(run, 1, 40)
            time.sleep(25)
            starts = col.select(run, "start")
            second = round(starts[1]["t"] - starts[0]["t"], 1) if len(starts) > 1 else None
            out[backend] = {
                "worker_A_pid": a.pid,
                "control_no_B": control,
                "starts": len(starts),
                "pids": sorted({e["pid"] for e in starts}),
                "second_start_after_s": second,
            }
        finally:
            for p in procs:
                stop_worker(p, grace=5)
        print(backend, json.dumps(out[backend]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = f"dbos-shared-id{'-control' if control else ''}-{stamp}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
