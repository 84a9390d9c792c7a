"""An app whose own process runs the jobs (JOBS_IN_PROCESS), and the tests' tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bandstand.jobs import JobQueue
from bandstand.jobs.queue import active_queue
from bandstand.testing.apps import build_app, client_for
from tests.jobs.tasks import create_tables


@pytest.fixture
async def job_tables() -> None:
    await create_tables()


@pytest.fixture
async def jobs(job_tables: None) -> AsyncIterator[JobQueue]:
    """The queue of an app that runs its jobs itself, started and stopped around the test."""
    app = await build_app(jobs_in_process=True)
    async with client_for(app):
        yield active_queue()  # the app made its queue the process's
