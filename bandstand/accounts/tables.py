"""Groups for page-level permissions, and the login throttle's counters.

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


TABLES = [Group, Membership, LoginThrottle]
