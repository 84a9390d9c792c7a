"""Groups for page-level permissions, the login throttle's counters, and confirmed e-mail
addresses.

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


TABLES = [Group, Membership, LoginThrottle, VerifiedEmail]
