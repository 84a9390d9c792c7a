from piccolo_admin.endpoints import TableConfig

from bandstand.jobs.tables import JobWorker

# The jobs themselves are in the queue's own database (DBOS's tables), listed at /jobs: the
# admin's sidebar links there (bandstand/admin.py).
ADMIN = [
    TableConfig(
        JobWorker,
        visible_columns=[
            JobWorker.executor_id,
            JobWorker.host,
            JobWorker.pid,
            JobWorker.started_at,
            JobWorker.heartbeat_at,
        ],
        menu_group="Background jobs",
    ),
]
