"""The webinars' tool for the chat's model: registrant lookup, for staff only. The check is
here, in the tool: whatever the model was told, it runs with the asking user's rights."""

from __future__ import annotations

import datetime

import msgspec

from bandstand.ai.tools import Tool, ToolRefused, ToolUser
from project.webinars.queries import find_registrants

RESULTS = 10


class LookUpRegistrants(msgspec.Struct, forbid_unknown_fields=True):
    query: str


class FoundRegistrant(msgspec.Struct):
    name: str
    email: str
    company: str
    webinar_date: datetime.date


class Found(msgspec.Struct):
    total: int
    registrants: list[FoundRegistrant]


async def look_up_registrants(arguments: LookUpRegistrants, user: ToolUser) -> Found:
    if not user.is_staff:
        raise ToolRefused("Looking up registrants is for staff only.")
    rows, page = await find_registrants(arguments.query, 1, RESULTS)
    return Found(
        total=page.total,
        registrants=[
            FoundRegistrant(
                name=row["name"],
                email=row["email"],
                company=row["company"],
                webinar_date=row["webinar_date"],
            )
            for row in rows
        ],
    )


LOOK_UP_REGISTRANTS = Tool(
    name="look_up_registrants",
    description=(
        "Find webinar registrants by words in their name, e-mail address or company. Staff only."
    ),
    arguments=LookUpRegistrants,
    run=look_up_registrants,
)
TOOLS = (LOOK_UP_REGISTRANTS,)
