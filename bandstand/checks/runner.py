"""Every check, in order: configuration, database, migrations, storage, jobs, and with
`deploy` the production settings. Checks that need the database are left out when it cannot be
reached: its one error says why."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from bandstand.checks import configuration, database, deploy, jobs, migrations, storage
from bandstand.checks.findings import Finding
from bandstand.settings import Settings
from bandstand.storage.base import Storage

ALL_IDS = frozenset(
    (*configuration.IDS, *database.IDS, *migrations.IDS, *storage.IDS, *jobs.IDS, *deploy.IDS)
)


async def run_checks(
    settings: Settings,
    engine: Engine,  # type: ignore[type-arg]
    media: Storage,
    *,
    deploy_checks: bool,
    environ: Mapping[str, str],
    env_file: Path | None,
) -> list[Finding]:
    dotenv_names = await configuration.read_dotenv_names(env_file) if env_file else []
    findings = configuration.check_configuration(settings, dotenv_names=dotenv_names)
    report = await database.check_database(engine, deploy=deploy_checks)
    findings += report.findings
    if report.reachable:
        findings += await migrations.check_migrations(deploy=deploy_checks)
    if report.reachable or settings.storage_backend != "database":
        findings += await storage.check_storage(media, settings)
    if report.reachable:
        findings += await jobs.check_jobs(settings)
    if deploy_checks:
        kind: deploy.DatabaseKind = "postgres" if isinstance(engine, PostgresEngine) else "sqlite"
        findings += deploy.check_deploy(settings, database_kind=kind, environ=environ)
    return findings
