"""The site's own pages."""

from litestar import get
from litestar.response import Template

from bandstand.accounts.guards import requires_group
from project.pages.demo import TEAM_GROUP


@get("/", include_in_schema=False)
async def home() -> Template:
    return Template("pages/home.html")


@get("/team", guards=[requires_group(TEAM_GROUP)], include_in_schema=False)
async def team() -> Template:
    """An example of a page for one group's members, managed in the admin."""
    return Template("pages/team.html")


ROUTES = [home, team]
