"""`/account/tokens`: a user's API tokens, made (the token shown once), listed by their first
characters, and revoked."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from bandstand.accounts.api_tokens import create_token, revoke_token, tokens_of
from bandstand.accounts.guards import current_user, requires_login
from bandstand.audit.log import record_request
from bandstand.ids import RowId
from bandstand.settings import Settings

PATH = "/account/tokens"
MAX_NAME_LENGTH = 100
DEFAULT_DAYS = 90


async def _page(
    request: Request[Any, Any, Any],
    scopes: list[str],
    settings: Settings,
    *,
    error: str = "",
    status_code: int = 200,
) -> Template:
    context = {
        "tokens": await tokens_of(current_user(request).id),
        "scopes": scopes,
        "max_days": settings.api_token_max_days,
        "default_days": min(DEFAULT_DAYS, settings.api_token_max_days),
        "error": error,
    }
    return Template("accounts/tokens.html", context=context, status_code=status_code)


@get(PATH, guards=[requires_login], include_in_schema=False)
async def tokens_page(
    request: Request[Any, Any, Any],
    token_scopes: NamedDependency[list[str]],
    settings: NamedDependency[Settings],
) -> Template:
    return await _page(request, token_scopes, settings)


@post(PATH, guards=[requires_login], include_in_schema=False)
async def new_token(
    request: Request[Any, Any, Any],
    token_scopes: NamedDependency[list[str]],
    settings: NamedDependency[Settings],
) -> Template:
    form = await request.form()
    name = str(form.get("name", "")).strip()
    chosen = [str(scope) for scope in form.getall("scopes")] if "scopes" in form else []
    days = str(form.get("days", "")).strip()
    error = ""
    if not name or len(name) > MAX_NAME_LENGTH or "\0" in name:
        error = f"Name the token (at most {MAX_NAME_LENGTH} characters)."
    elif not chosen or not set(chosen) <= set(token_scopes):
        error = "Choose what the token may do, from the list."
    elif not days.isdigit() or not 1 <= int(days) <= settings.api_token_max_days:
        error = f"Choose how long it lasts: 1 to {settings.api_token_max_days} days."
    if error:
        return await _page(
            request, token_scopes, settings, error=error, status_code=HTTP_400_BAD_REQUEST
        )
    made = await create_token(current_user(request).id, name, chosen, int(days))
    await record_request(
        request,
        "token.create",
        target=("api_token", made.id),
        changes={"name": [None, name], "scopes": [None, " ".join(sorted(set(chosen)))]},
    )
    return Template("accounts/token_created.html", context={"token": made.token, "name": name})


@post(f"{PATH}/{{token_id:int}}/revoke", guards=[requires_login], include_in_schema=False)
async def revoke(request: Request[Any, Any, Any], token_id: FromPath[RowId]) -> Redirect:
    if await revoke_token(token_id, current_user(request).id):
        await record_request(request, "token.revoke", target=("api_token", token_id))
        flash(request, "Token revoked: it no longer works.", "success")
    else:
        flash(request, "No such token, or it was revoked already.", "error")
    return Redirect(PATH, status_code=303)


ROUTES = [tokens_page, new_token, revoke]
