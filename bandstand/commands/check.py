"""`piccolo project check`: Django-style system checks; exit code 1 on any error."""

from __future__ import annotations

import os
import sys

from piccolo.engine.finder import engine_finder

from bandstand.checks.report import format_report, has_errors
from bandstand.checks.runner import ALL_IDS, run_checks
from bandstand.settings import env_file_of, get_settings
from bandstand.storage.backends import create_storage

_TRUE = frozenset({"true", "t", "1", "yes", "on"})
_FALSE = frozenset({"false", "f", "0", "no", "off", ""})


async def check(deploy: bool = False, silence: str = "") -> None:
    """
    Check the configuration, the database (reachable; for PostgreSQL whether the live
    connection is encrypted, and whether a transaction-mode pooler is in front of a statement
    cache), pending migrations and the media storage. One line per finding, with an id
    (docs/checks.md explains each); exits 1 when any is an error.

    :param deploy:
        true: also check the production settings (secret key, debug, allowed hosts, secure
        cookies, HTTPS, data on the instance's disk), and make an unencrypted database
        connection and pending migrations errors.
    :param silence:
        comma-separated finding ids to leave out, e.g. database.E002 on a private network
        that is encrypted itself.
    """
    deploy_checks = _flag("deploy", deploy)
    silenced = _finding_ids(silence)
    engine = engine_finder()
    if engine is None:
        sys.exit("check: piccolo_conf.py has no DB engine")
    settings = get_settings()
    media = create_storage(settings)
    try:
        findings = await run_checks(
            settings,
            engine,
            media,
            deploy_checks=deploy_checks,
            environ=os.environ,
            env_file=env_file_of(),
        )
    finally:
        await media.aclose()
    shown = [finding for finding in findings if finding.id not in silenced]
    print(format_report(shown, silenced=len(findings) - len(shown)))
    if has_errors(shown):
        sys.exit(1)


def _flag(name: str, value: bool | str) -> bool:
    # targ turns true/false into booleans and hands anything else over as text.
    if isinstance(value, bool):
        return value
    if value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    sys.exit(f"check: --{name} takes true or false, not {value!r}")


def _finding_ids(text: str) -> frozenset[str]:
    ids = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(ids - ALL_IDS)
    if unknown:
        sys.exit(
            f"check: --silence names unknown finding ids {', '.join(unknown)} (see docs/checks.md)"
        )
    return ids
