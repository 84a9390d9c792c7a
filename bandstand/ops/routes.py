"""`/ops`: the operations page, for hosts without a shell. Routed only when OPS_PAGE_ENABLED;
superusers with two-factor sign-in on only; every action in the audit log.

It runs the project's own commands (bandstand/ops/runs.py): migration status, migrations, the
deploy check, a demo data reset and a backup (downloaded from `/jobs/backups/…`, which records
who took it). It also sends a user the password reset e-mail.
"""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body, FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.guards import SecondFactorRequired, current_user
from bandstand.accounts.tasks import send_password_reset
from bandstand.accounts.two_factor import is_enrolled
from bandstand.accounts.users import find_user_id
from bandstand.audit.log import record, record_request
from bandstand.jobs.staff_tasks import BACKUP_NAME
from bandstand.ops.runs import ACTIONS, Busy, Run, Runner
from bandstand.settings import Settings

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Runs = NamedDependency[Runner]
AnyRequest = Request[Any, Any, Any]
# While a run is under way, its page reloads this often.
REFRESH_SECONDS = 2


class UserForm(msgspec.Struct):
    login: str = ""


async def requires_operator(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A superuser with two-factor sign-in on, whatever STAFF_REQUIRE_2FA says."""
    user = current_user(connection)
    if not user.superuser:
        raise PermissionDeniedException("Superusers only.")
    if not await is_enrolled(user.id):
        raise SecondFactorRequired("Turn on two-factor sign-in to use the operations page.")


def _backups(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if BACKUP_NAME.fullmatch(p.name)), reverse=True)


@get("/ops", include_in_schema=False)
async def ops_page(runs: Runs, settings: NamedDependency[Settings]) -> Template:
    root = settings.path(settings.backup_root)
    context = {
        "actions": ACTIONS,
        "runs": list(runs.runs),
        "running": runs.running(),
        "backups": await asyncio.to_thread(_backups, root),
    }
    return Template("ops/page.html", context=context)


@post("/ops/run/{action:str}", include_in_schema=False)
async def start_run(
    request: AnyRequest, action: FromPath[str], runs: Runs, settings: NamedDependency[Settings]
) -> Redirect:
    if action not in ACTIONS:
        raise NotFoundException("No such action.")
    extra: list[str] = []
    if action == "backup":
        root = settings.path(settings.backup_root)
        await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        extra.append(str(root / f"backup-{stamp}.bandstand.gz"))
    user = current_user(request)

    async def finished(run: Run) -> None:
        changes = {"exit_code": [None, run.exit_code]}
        await record(
            f"ops.{action}.end", actor_id=user.id, target=("ops_run", run.id), changes=changes
        )

    try:
        run = runs.start(action, extra, user.username, finished)
    except Busy:
        flash(request, "Another command is running: wait for it to end.", "error")
        return Redirect("/ops", status_code=303)
    await record_request(request, f"ops.{action}", target=("ops_run", run.id))
    return Redirect(f"/ops/runs/{run.id}", status_code=303)


@get("/ops/runs/{run_id:int}", include_in_schema=False)
async def run_page(run_id: FromPath[int], runs: Runs) -> Template:
    run = runs.find(run_id)
    if run is None:
        raise NotFoundException("No such run (runs are kept by the instance that ran them).")
    context = {"run": run, "refresh": None if run.finished else REFRESH_SECONDS}
    return Template("ops/run.html", context=context)


@post("/ops/password-reset", include_in_schema=False)
async def send_reset(request: AnyRequest, data: Annotated[UserForm, Form]) -> Redirect:
    user_id = await find_user_id(data.login.strip())
    rows = await BaseUser.select(BaseUser.email).where(BaseUser.id == user_id) if user_id else []
    if not rows or not rows[0]["email"]:
        flash(request, "No account has that username or address.", "error")
        return Redirect("/ops", status_code=303)
    job = await send_password_reset.enqueue(rows[0]["email"])
    await record_request(request, "ops.password_reset", target=("piccolo_user", user_id))
    flash(request, f"The password reset e-mail is on its way (job {job.id}).", "success")
    return Redirect("/ops", status_code=303)


def ops_router(settings: Settings) -> Router:
    """The page's routes, with the runs of this instance."""
    runner = Runner(settings)
    return Router(
        path="/",
        route_handlers=[ops_page, start_run, run_page, send_reset],
        guards=[requires_operator],
        dependencies={"runs": Provide(lambda: runner, sync_to_thread=False)},
    )
