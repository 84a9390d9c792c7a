"""The account page, shown by every form on it: with a message, or with an error and its
status."""

from __future__ import annotations

from litestar.response import Template

from bandstand.accounts.email_addresses import is_verified
from bandstand.accounts.sessions import CurrentUser
from bandstand.accounts.tables import ProviderAccount
from bandstand.accounts.two_factor import is_enrolled
from bandstand.accounts.users import group_names


async def account_page(
    user: CurrentUser, *, message: str = "", error: str = "", status_code: int = 200
) -> Template:
    context = {
        "account": user,
        "groups": sorted(await group_names(user.id)),
        "verified": await is_verified(user.id, user.email),
        "two_factor": await is_enrolled(user.id),
        "provider_accounts": await ProviderAccount.select(
            ProviderAccount.id, ProviderAccount.provider, ProviderAccount.email
        )
        .where(ProviderAccount.user == user.id)
        .order_by(ProviderAccount.id),
        "message": message,
        "error": error,
    }
    return Template("accounts/account.html", context=context, status_code=status_code)
