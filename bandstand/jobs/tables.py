from piccolo.columns import Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table


class JobWorker(Table):
    """A live job worker: DBOS re-runs a dead process's jobs only when a process with the same
    executor id starts again, so each worker beats here, and the others re-queue the jobs of one
    whose heartbeat is older than JOBS_LEASE_SECONDS."""

    id: Serial
    executor_id = Varchar(length=100, unique=True)
    host = Varchar(length=255)
    pid = Integer()
    started_at = Timestamptz()
    heartbeat_at = Timestamptz(index=True)


TABLES = [JobWorker]
