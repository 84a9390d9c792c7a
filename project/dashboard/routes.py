"""The staff dashboard: a page for people, and the same numbers as JSON for its charts."""

from litestar import get
from litestar.response import Template

from bandstand.accounts.guards import requires_staff
from bandstand.accounts.schemas import STAFF_REQUIRED
from project.dashboard.queries import load_dashboard, utc_today
from project.dashboard.schemas import Dashboard


@get("/dashboard", guards=[requires_staff], include_in_schema=False)
async def dashboard_page() -> Template:
    # The figures go into the page too: its tables are the charts' text alternative, and all
    # there is to see without JavaScript.
    return Template(
        "dashboard/index.html", context={"dashboard": await load_dashboard(utc_today())}
    )


@get(
    "/api/dashboard",
    guards=[requires_staff],
    tags=["dashboard"],
    exclude_from_csrf=True,
    responses=STAFF_REQUIRED,
)
async def dashboard_data() -> Dashboard:
    """Products per category (all categories, by name), products per price band, and
    webinar registrations per UTC day of `registered_at` for the last 30 days, oldest first;
    and this UTC month's AI calls: tokens and cost per user and per model, the 20 largest
    spenders first."""
    return await load_dashboard(utc_today())


ROUTES = [dashboard_page, dashboard_data]
