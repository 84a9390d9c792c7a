"""`/media/<key>`: stored files, served by the app to staff only (they hold personal data)."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from bandstand.accounts.guards import requires_staff
from bandstand.storage.base import FileMissing, InvalidKey, Storage

# A key names one upload forever (a replacement gets a new key), so browsers may keep it;
# "private" keeps it out of shared caches and proxies.
MEDIA_PREFIX = "/media/"
CACHE_CONTROL = "private, max-age=31536000, immutable"


@get("/media/{key:path}", guards=[requires_staff], include_in_schema=False, exclude_from_csrf=True)
async def media(key: FromPath[str], storage: NamedDependency[Storage]) -> Response[bytes]:
    try:
        stored = await storage.load(key.lstrip("/"))
    except (InvalidKey, FileMissing):
        raise NotFoundException("No such file.") from None
    return Response(
        stored.data,
        media_type=stored.content_type,
        headers={
            "cache-control": CACHE_CONTROL,
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


ROUTES = [media]
