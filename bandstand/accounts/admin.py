from piccolo.apps.user.tables import BaseUser
from piccolo_admin.endpoints import TableConfig

from bandstand.accounts.tables import (
    ApiToken,
    Group,
    LoginThrottle,
    Membership,
    ProviderAccount,
    VerifiedEmail,
)

ADMIN = [
    TableConfig(
        BaseUser,
        visible_columns=[
            BaseUser._meta.primary_key,
            BaseUser.username,
            BaseUser.email,
            BaseUser.active,
            BaseUser.admin,
            BaseUser.superuser,
            BaseUser.last_login,
        ],
        visible_filters=[
            BaseUser.username,
            BaseUser.email,
            BaseUser.active,
            BaseUser.admin,
            BaseUser.superuser,
        ],
        menu_group="Accounts",
    ),
    TableConfig(Group, visible_filters=[Group.name], menu_group="Accounts"),
    TableConfig(
        Membership,
        visible_filters=[Membership.user, Membership.group],
        menu_group="Accounts",
    ),
    # Staff can confirm an address by hand here (a row with the account's address).
    TableConfig(
        VerifiedEmail,
        visible_filters=[VerifiedEmail.user, VerifiedEmail.address],
        menu_group="Accounts",
    ),
    # Staff revoke a token by setting its revoked_at; its hash is never shown.
    TableConfig(
        ApiToken,
        visible_columns=[
            ApiToken.id,
            ApiToken.user,
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.scopes,
            ApiToken.expires_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        ],
        exclude_visible_filters=[ApiToken.token_hash],
        menu_group="Accounts",
    ),
    # Deleting a row unlinks the provider account: it no longer logs its user in.
    TableConfig(
        ProviderAccount,
        visible_filters=[ProviderAccount.user, ProviderAccount.provider, ProviderAccount.email],
        menu_group="Accounts",
    ),
    TableConfig(
        LoginThrottle,
        visible_filters=[LoginThrottle.key],
        menu_group="Accounts",
    ),
]
