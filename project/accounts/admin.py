from piccolo_admin.endpoints import TableConfig

from project.accounts.tables import Group, LoginThrottle, Membership
from project.accounts.users import User

ADMIN = [
    TableConfig(
        User,
        visible_columns=[
            User._meta.primary_key,
            User.username,
            User.email,
            User.active,
            User.admin,
            User.superuser,
            User.last_login,
        ],
        visible_filters=[User.username, User.email, User.active, User.admin, User.superuser],
        link_column=User.username,
        menu_group="Accounts",
    ),
    TableConfig(Group, visible_filters=[Group.name], link_column=Group.name, menu_group="Accounts"),
    TableConfig(
        Membership,
        visible_filters=[Membership.user, Membership.group],
        menu_group="Accounts",
    ),
    TableConfig(
        LoginThrottle,
        visible_filters=[LoginThrottle.key],
        link_column=LoginThrottle.key,
        menu_group="Accounts",
    ),
]
