"""The sample site's data (its feature's `load_demo`, so `piccolo sample demo` loads it): rows
that are easy to get wrong, in the framework's tables and the sample's, written through Piccolo
as the site would write them, and uploaded files, stored through the storage API.

The tests compare what comes back out of a restore with these values.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from bandstand.accounts.tables import Group, LoginThrottle, Membership
from bandstand.settings import get_settings
from bandstand.storage.backends import create_storage
from bandstand.storage.base import StoredFile, check_key
from bandstand.storage.database import DatabaseStorage
from tests.backup.sample_app.tables import Item, Shelf

BERLIN = datetime.timezone(datetime.timedelta(hours=1))
PASSWORD_HASH = "pbkdf2_sha256$600000$c2FsdA$aGFzaA"

# Ids with gaps, and larger than the rows' count: a restore keeps them, and PostgreSQL's
# sequences must continue after the largest.
USERS: list[dict[str, Any]] = [
    {
        "id": 3,
        "username": "ñúñez",
        "email": "nunez@example.org",
        "first_name": "Ñúñez",
        "last_name": "Ångström",
        "admin": True,
    },
    {
        "id": 7,
        "username": "zoë",
        "email": "zoe@example.com",
        "first_name": "Zoë 🎷",
        "last_name": None,
        "last_login": datetime.datetime(2026, 3, 4, 5, 6, 7, 891011),
    },
    {
        "id": 12,
        "username": "ведущий",
        "email": "host@example.net",
        "first_name": "Ответ ∑ 😀",
        "active": False,
        "superuser": True,
        "last_login": datetime.datetime(1999, 12, 31, 23, 59, 59, 999999),
    },
]
SESSIONS: list[dict[str, Any]] = [
    {
        "token": "a-session-token",
        "user_id": 7,
        "expiry_date": datetime.datetime(2026, 3, 5, 5, 6, 7),
        "max_expiry_date": datetime.datetime(2026, 3, 11, 5, 6, 7, 500000),
    },
    {
        "token": "another-session-token",
        "user_id": 3,
        "expiry_date": datetime.datetime(2026, 3, 5, 5, 6, 8),
        "max_expiry_date": datetime.datetime(2026, 3, 11, 5, 6, 8),
    },
]
GROUPS: list[dict[str, Any]] = [
    {"id": 2, "name": "Редакторы «staff»"},
    {"id": 5, "name": 'It\'s "quoted" \\ too'},
]
MEMBERSHIPS: list[dict[str, Any]] = [
    {"user": 7, "group": 2},
    {"user": 7, "group": 5},
    {"user": 3, "group": 5},
]
THROTTLES: list[dict[str, Any]] = [
    {
        "key": "client:127.0.0.1",
        "failures": 3,
        "window_started": datetime.datetime(2026, 5, 5, 10, tzinfo=datetime.UTC),
    },
    {
        "key": "account:zoë",
        "failures": 0,
        # Another time zone: stored, backed up and restored as the same instant in UTC.
        "window_started": datetime.datetime(2026, 5, 5, 11, 0, 0, 250000, tzinfo=BERLIN),
    },
]
SHELVES: list[dict[str, Any]] = [
    {"id": 1, "name": "音楽 «quotes» 'single'"},
    {"id": 40, "name": "Ünïcode"},
]
# Enough plain items for several pages of a small --page_size.
PLAIN_ITEMS = 40
AWKWARD_ITEM: dict[str, Any] = {
    "id": 1000,
    "shelf": 40,
    "owner": 7,
    "name": "Saxophone 🎷",
    "notes": 'line one\nline "two"\ttab \\ backslash',
    "price": decimal.Decimal("12345678.99"),
    "quantity": 2**62,
    "flag": True,
    "day": datetime.date(2028, 2, 29),
    "seen_at": datetime.datetime(2026, 1, 2, 3, 4, 5, 123456),
    "added_at": datetime.datetime(2026, 1, 2, 4, 4, 5, 123456, tzinfo=BERLIN),
    "span": datetime.timedelta(days=3, seconds=5, microseconds=7),
    "identifier": uuid.UUID(int=0xB4D),
    "blob": bytes(range(256)),
    "document": '{"a": [1, null, "ü"], "b": {"c": 1.5}}',
    "binary_document": '{"k": ["v", null], "a": 2}',
    "tags": ["a", None, "ü", ""],
}
# Values that are false or empty, not NULL: they must not come back as NULL (or as true).
EMPTY_ITEM: dict[str, Any] = {
    "id": 1001,
    "shelf": 1,
    "owner": None,
    "name": "",
    "notes": "",
    "price": decimal.Decimal("0.10"),
    "quantity": 0,
    "flag": False,
    "day": datetime.date(1970, 1, 1),
    "seen_at": datetime.datetime(1970, 1, 1),
    "added_at": datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC),
    "span": datetime.timedelta(0),
    "identifier": uuid.UUID(int=0),
    "blob": b"",
    "document": "null",  # JSON's null, not SQL's NULL
    "binary_document": "{}",
    "tags": [],
}
NULL_ITEM: dict[str, Any] = {"id": 1002, "name": "nulls"}  # every other column NULL

# Uploaded files, stored in the site's STORAGE_BACKEND; folders as the features' would be.
PHOTOS = {
    check_key(f"photos/{uuid.UUID(int=n).hex}.png"): StoredFile(
        b"\x89PNG\r\n\x1a\n" + bytes([n]) * 64 * n, "image/png"
    )
    for n in (1, 2, 3)
}
DOCUMENT = check_key(f"documents/{uuid.UUID(int=0xD0C).hex}.bin")
DOCUMENT_FILE = StoredFile(bytes(range(256)) * 3, "application/octet-stream")
FILES = {**PHOTOS, DOCUMENT: DOCUMENT_FILE}
# A file the database backend stored as a row of `media_file`, whatever the backend is now (a
# site that moved its files elsewhere keeps such rows): bytes no text encoding survives.
ROW_FILE = check_key(f"files/{uuid.UUID(int=0xF11E).hex}.bin")
ROW_FILE_BYTES = b"\x00\xff\x00 stored as a row \xfe"


async def load() -> None:
    """The rows and the files, once."""
    if await Shelf.exists():
        return
    await BaseUser.insert(
        *[BaseUser(password=PASSWORD_HASH, **{"active": True, **user}) for user in USERS]
    )
    await SessionsBase.insert(*[SessionsBase(**session) for session in SESSIONS])
    await Group.insert(*[Group(**group) for group in GROUPS])
    await Membership.insert(*[Membership(**membership) for membership in MEMBERSHIPS])
    await LoginThrottle.insert(*[LoginThrottle(**throttle) for throttle in THROTTLES])
    await Shelf.insert(*[Shelf(**shelf) for shelf in SHELVES])
    await Item.insert(
        *[
            Item(shelf=1, name=f"item {n}", price=decimal.Decimal(n).scaleb(-2), quantity=n)
            for n in range(1, PLAIN_ITEMS + 1)
        ]
    )
    await Item.insert(*[Item(**item) for item in (AWKWARD_ITEM, EMPTY_ITEM, NULL_ITEM)])
    storage = create_storage(get_settings())
    try:
        for key, file in FILES.items():
            await storage.save(key, file.data, file.content_type)
    finally:
        await storage.aclose()
    await DatabaseStorage().save(ROW_FILE, ROW_FILE_BYTES, "application/octet-stream")
