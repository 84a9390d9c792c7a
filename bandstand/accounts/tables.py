"""Groups for page-level permissions, the login throttle's counters, confirmed e-mail
addresses, API tokens, and the accounts of sign-in providers linked to users.

Users and sessions are Piccolo's own tables (`piccolo_user`, `sessions`), from the
`piccolo.apps.user` and `piccolo_api.session_auth` apps.
"""

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.readable import Readable
from piccolo.table import Table


class Group(Table):
    id: Serial
    name = Varchar(length=150, unique=True)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class Membership(Table):
    """A user in a group."""

    id: Serial
    user = ForeignKey(BaseUser, on_delete=OnDelete.cascade, null=False, index=True)
    group = ForeignKey(Group, on_delete=OnDelete.cascade, null=False, index=True)


class LoginThrottle(Table):
    """Failed logins per client address or account, shared by every app instance."""

    id: Serial
    key = Varchar(length=300, unique=True)
    failures = Integer(default=0)
    window_started = Timestamptz()


class VerifiedEmail(Table):
    """The address an account proved it receives mail at, from a link sent there. The account
    is verified while its address is this one: an address changed another way (in the admin)
    is not verified until a link sent to it is used."""

    id: Serial
    user = ForeignKey(BaseUser, on_delete=OnDelete.cascade, null=False, unique=True)
    # Lower case, as compared.
    address = Varchar(length=255)
    verified_at = Timestamptz()


class ApiToken(Table):
    """A personal token for the JSON API, sent as `Authorization: Bearer …`. Only its SHA-256 is
    kept (a token is 32 random bytes: no salt or slow hash is needed), and its first characters,
    which name it on the pages."""

    id: Serial
    user = ForeignKey(BaseUser, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=100)
    prefix = Varchar(length=16)
    token_hash = Varchar(length=64, unique=True, secret=True)
    # Space-separated `<feature>:read` and `<feature>:write`.
    scopes = Varchar(length=1000)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s (%s…)", columns=[cls.name, cls.prefix])


class ProviderAccount(Table):
    """An account at a sign-in provider (Google, GitHub, an OpenID Connect issuer) that logs its
    user in. One key per provider account, `<provider>:<subject>`: the provider's own id for
    it, which lasts when its e-mail address changes."""

    id: Serial
    user = ForeignKey(BaseUser, on_delete=OnDelete.cascade, null=False, index=True)
    key = Varchar(length=300, unique=True)
    provider = Varchar(length=50)
    # The address the provider gave at the last sign-in, to tell the user which account it is.
    email = Varchar(length=255)
    linked_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s (%s)", columns=[cls.provider, cls.email])


TABLES = [Group, Membership, LoginThrottle, VerifiedEmail, ApiToken, ProviderAccount]
