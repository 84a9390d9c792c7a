"""Demo registrants, a few with photos drawn here (no binary files in the repository)."""

from __future__ import annotations

import datetime
import io
import random

import anyio
from PIL import Image, ImageDraw, ImageFont

from bandstand.settings import get_settings
from bandstand.storage.backends import create_storage
from bandstand.storage.base import Storage
from bandstand.storage.images import clean_image
from project.webinars.queries import set_photo
from project.webinars.tables import Registrant

DEMO_DOMAIN = "demo.bandstand.example"
FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Katherine",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "Guido",
    "Sophie",
    "Donald",
    "Annie",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "van Rossum",
    "Wilson",
    "Knuth",
    "Easley",
]
COMPANIES = [
    "Analytical Engines",
    "Bletchley Labs",
    "Compiler Co",
    "Orbital Maths",
    "Kernel Works",
    "Apollo Software",
    "",
    "Spanning Trees",
    "Unix Lab",
    "Fortran Friends",
]
COLOURS = ["#4f46e5", "#0d9488", "#db2777", "#ea580c", "#2563eb", "#65a30d"]
REGISTRANTS = 40
PHOTOS = 6


def _people() -> list[tuple[str, str, str]]:
    # Seeded: the same people every time, so demo data is stable between runs.
    chance = random.Random(5)  # noqa: S311 - sample data, not security
    people = []
    for number in range(REGISTRANTS):
        first, last = FIRST[number % len(FIRST)], chance.choice(LAST)
        email = f"{first}.{last}.{number}@{DEMO_DOMAIN}".lower().replace(" ", "")
        people.append((f"{first} {last}", email, chance.choice(COMPANIES)))
    return people


def avatar(initials: str, colour: str) -> bytes:
    """A 256 px PNG with the person's initials on a coloured disc."""
    image = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 248, 248), fill=colour)
    font = ImageFont.load_default(size=96)
    draw.text((128, 128), initials, fill="white", font=font, anchor="mm")
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


async def is_loaded() -> bool:
    return bool(await Registrant.exists().where(Registrant.email.like(f"%@{DEMO_DOMAIN}")))


async def load() -> None:
    if await is_loaded():
        return
    now = datetime.datetime.now(datetime.UTC)
    upcoming = [now.date() + datetime.timedelta(days=days) for days in (7, 21, 35)]
    people = _people()
    await Registrant.insert(
        *(
            Registrant(
                name=name,
                email=email,
                company=company,
                webinar_date=upcoming[number % len(upcoming)],
                notes="Interested in the PostgreSQL session." if number % 7 == 0 else "",
                # Busier as the dates come closer: more registrations in recent days.
                registered_at=now
                - datetime.timedelta(hours=int(720 * (number / REGISTRANTS) ** 2)),
            )
            for number, (name, email, company) in enumerate(people)
        )
    )
    storage = create_storage(get_settings())
    try:
        await _add_photos(storage, [email for _, email, _ in people[:PHOTOS]])
    finally:
        await storage.aclose()


async def _add_photos(storage: Storage, emails: list[str]) -> None:
    rows = await Registrant.select(Registrant.id, Registrant.name).where(
        Registrant.email.is_in(emails)
    )
    for number, row in enumerate(rows):
        initials = "".join(part[0] for part in row["name"].split()[:2])
        data = await anyio.to_thread.run_sync(avatar, initials, COLOURS[number % len(COLOURS)])
        await set_photo(storage, row["id"], await clean_image(data, len(data)))


async def clear() -> None:
    storage = create_storage(get_settings())
    try:
        rows = await Registrant.select(Registrant.id).where(
            Registrant.email.like(f"%@{DEMO_DOMAIN}") & Registrant.photo.is_not_null()
        )
        for row in rows:
            await set_photo(storage, row["id"], None)
    finally:
        await storage.aclose()
    await Registrant.delete().where(Registrant.email.like(f"%@{DEMO_DOMAIN}"))
