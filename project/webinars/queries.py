"""Registrants: registration, the staff list, and photos kept in step with their files."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from bandstand.database.compiled import CompiledQuery, Slot
from bandstand.database.search import contains_text
from bandstand.forms import FieldError, refuse_nul
from bandstand.pagination import Page
from bandstand.storage.base import Storage, new_key
from bandstand.storage.images import CleanImage
from project.webinars.schemas import RegistrationIn
from project.webinars.tables import Registrant

PHOTO_FOLDER = "registrants"
TAKEN = "This e-mail address is already registered."


class EmailTaken(FieldError):
    def __init__(self) -> None:
        super().__init__("email", TAKEN)


COLUMNS = (
    Registrant.id,
    Registrant.name,
    Registrant.email,
    Registrant.company,
    Registrant.webinar_date,
    Registrant.notes,
    Registrant.photo,
    Registrant.photo_job,
    Registrant.registered_at,
)


# One statement: a taken address inserts nothing and returns no row, however many requests race.
REGISTER = CompiledQuery(
    lambda: (
        Registrant.insert(
            Registrant(
                name=Slot("name"),
                email=Slot("email"),
                company=Slot("company"),
                webinar_date=Slot("webinar_date"),
                notes=Slot("notes"),
                photo=None,
                registered_at=Slot("registered_at"),
            )
        )
        .on_conflict(target=Registrant.email, action="DO NOTHING")
        .returning(*COLUMNS)
    )
)


async def register(data: RegistrationIn) -> Mapping[str, Any]:
    """The new registrant's row; `EmailTaken` if the address is already registered, and
    `FieldError` for text holding NUL (PostgreSQL cannot store it; SQLite would)."""
    refuse_nul(data)
    rows = await REGISTER.rows(
        name=data.name.strip(),
        email=data.email,
        company=data.company,
        webinar_date=data.webinar_date,
        notes=data.notes,
        registered_at=datetime.datetime.now(datetime.UTC),
    )
    if not rows:
        raise EmailTaken
    return rows[0]


async def find_registrants(search: str, page: int, size: int) -> tuple[list[dict[str, Any]], Page]:
    query = Registrant.select(*COLUMNS)
    count = Registrant.count()
    if "\0" in search:  # no stored text holds NUL (PostgreSQL refuses it in the query too)
        return [], Page.of(page, size, 0)
    if search := search.strip():
        where = contains_text(search, Registrant.name, Registrant.email, Registrant.company)
        query, count = query.where(where), count.where(where)
    found = Page.of(page, size, await count)
    rows = await (
        query.order_by(Registrant.registered_at, ascending=False)
        .order_by(Registrant.id, ascending=False)
        .limit(found.size)
        .offset(found.offset)
    )
    return rows, found


async def get_registrant(registrant_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await Registrant.select(*COLUMNS).where(Registrant.id == registrant_id).first()
    )
    return row


async def set_photo(storage: Storage, registrant_id: int, image: CleanImage | None) -> str | None:
    """Store `image` as the registrant's photo (None removes it) and delete the file it
    replaces. Returns the new key. Raises LookupError for a missing registrant."""
    new = new_key(PHOTO_FOLDER, image.extension) if image else None
    if image and new:
        await storage.save(new, image.data, image.content_type)
    try:
        async with Registrant._meta.db.transaction():
            row = (
                await Registrant.select(Registrant.photo)
                .where(Registrant.id == registrant_id)
                .first()
            )
            if row is None:
                raise LookupError(registrant_id)
            # Set directly, the photo supersedes any upload a job is still making into one.
            await Registrant.update({Registrant.photo: new, Registrant.photo_job: None}).where(
                Registrant.id == registrant_id
            )
    except Exception:
        # The row still names the old file: the new one would be an orphan.
        if new:
            await storage.delete(new)
        raise
    if row["photo"]:
        await storage.delete(row["photo"])
    return new


async def start_photo_job(registrant_id: int, job_id: str) -> None:
    """Mark the registrant's photo as being made by `job_id` (a newer upload takes over from an
    older one still running). Raises LookupError for a missing registrant."""
    updated = (
        await Registrant.update({Registrant.photo_job: job_id})
        .where(Registrant.id == registrant_id)
        .returning(Registrant.id)
    )
    if not updated:
        raise LookupError(registrant_id)


async def finish_photo_job(
    storage: Storage, registrant_id: int, image: CleanImage | None, *, job_id: str, upload: str
) -> bool:
    """The job `job_id` is done with `upload`: store `image` as the photo (None: the upload was
    refused, and the job's answer says why). Nothing changes if another upload has taken over,
    or the registrant is gone. Returns whether the photo was stored."""
    new = new_key(PHOTO_FOLDER, image.extension) if image else None
    if image and new:
        await storage.save(new, image.data, image.content_type)
    async with Registrant._meta.db.transaction():
        row = (
            await Registrant.select(Registrant.photo, Registrant.photo_job)
            .where(Registrant.id == registrant_id)
            .first()
        )
        current = row is not None and row["photo_job"] == job_id
        if current and new:
            await Registrant.update({Registrant.photo: new, Registrant.photo_job: None}).where(
                Registrant.id == registrant_id
            )
    if new and not current:
        await storage.delete(new)
    if current and new and row and row["photo"]:
        await storage.delete(row["photo"])
    await storage.delete(upload)
    return bool(current and new)
