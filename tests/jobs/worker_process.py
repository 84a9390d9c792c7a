"""A worker process for the tests: `piccolo project worker`'s code on the project's features,
knowing the tests' tasks as well. Run as `python -m tests.jobs.worker_process`."""

import asyncio
import os

import tests.jobs.tasks  # registers the tests' tasks before the worker starts
from bandstand.app import site_of
from bandstand.commands.worker import run_worker
from bandstand.features import with_framework
from bandstand.settings import get_settings
from bandstand.testing.apps import project_app

if __name__ == "__main__":
    if os.environ.get("TESTS_CRON"):
        import tests.jobs.cron_tasks  # noqa: F401 - the schedule test's task
    features, _ = site_of(project_app())
    asyncio.run(run_worker(get_settings(), with_framework(features)))
