"""A task on a cron schedule of every second, imported only by the test about schedules (and
the worker processes it starts): imported, it would run in every worker of the process."""

from __future__ import annotations

import os
from datetime import datetime

from piccolo.columns import Integer, Serial, Timestamptz
from piccolo.table import Table

from bandstand.jobs import task


class CronTick(Table):
    id: Serial
    scheduled_at = Timestamptz()
    pid = Integer()


@task(name="tests.every_second", cron="* * * * * *")
async def every_second(scheduled_at: datetime) -> None:
    await CronTick.insert(CronTick(scheduled_at=scheduled_at, pid=os.getpid()))
