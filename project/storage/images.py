"""Uploaded images, checked from their bytes and re-encoded before anything stores them.

What the browser says (file name, Content-Type) is ignored: Pillow decides what the bytes are.
Re-encoding drops whatever rides along in a valid image (EXIF with GPS, comments, a script
appended to a JPEG) and turns it upright; the size and pixel limits stop decompression bombs.
"""

from __future__ import annotations

import io
import warnings

import anyio
import msgspec
from litestar.exceptions import ClientException
from litestar.status_codes import (
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format -> (content type, extension, save options).
FORMATS: dict[str, tuple[str, str, dict[str, object]]] = {
    "JPEG": ("image/jpeg", "jpg", {"quality": 88, "optimize": True}),
    "PNG": ("image/png", "png", {"optimize": True}),
    "WEBP": ("image/webp", "webp", {"quality": 88}),
}
ACCEPTED = "JPEG, PNG or WebP"
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048


class UploadRejected(ClientException):
    """An upload that is not stored; `detail` says why, for the person who sent it."""


class CleanImage(msgspec.Struct, frozen=True):
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


async def clean_image(data: bytes, max_bytes: int) -> CleanImage:
    if not data:
        raise UploadRejected("The file is empty.")
    if len(data) > max_bytes:
        raise UploadRejected(
            f"The file is {_megabytes(len(data))}; the limit is {_megabytes(max_bytes)}.",
            status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    # Decoding is CPU work of tens of milliseconds: off the event loop.
    return await anyio.to_thread.run_sync(_reencode, data)


def _reencode(data: bytes) -> CleanImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise UploadRejected("The image has too many pixels.")
                image.load()
                pillow_format = image.format or ""
                content_type, extension, options = FORMATS[pillow_format]
                upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRejected(
            f"The file is not a {ACCEPTED} image.", status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE
        ) from None
    except (OSError, SyntaxError, ValueError):  # truncated or corrupt image data
        raise UploadRejected(
            "The image is damaged and cannot be read.", status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE
        ) from None
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    if pillow_format == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    output = io.BytesIO()
    upright.save(output, format=pillow_format, **options)
    return CleanImage(
        data=output.getvalue(),
        content_type=content_type,
        extension=extension,
        width=upright.width,
        height=upright.height,
    )


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
