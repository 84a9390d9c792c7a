"""The demo's group: the /team page is for its members."""

from bandstand.accounts.tables import Group

TEAM_GROUP = "team"


async def load() -> None:
    if not await Group.exists().where(Group.name == TEAM_GROUP):
        await Group.insert(Group(name=TEAM_GROUP))


async def clear() -> None:
    await Group.delete().where(Group.name == TEAM_GROUP)
