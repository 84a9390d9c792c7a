"""Uploaded images, checked from their bytes and re-encoded before anything stores them.

What the browser says (file name, Content-Type) is ignored: Pillow decides what the bytes are.
Re-encoding drops whatever rides along in a valid image (EXIF with GPS, comments, a script
appended to a JPEG) and turns it upright; the size and pixel limits stop decompression bombs.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from http import HTTPStatus

import anyio
import msgspec
from PIL import ExifTags, Image, UnidentifiedImageError

# Pillow format -> (content type, extension, save options).
FORMATS: dict[str, tuple[str, str, dict[str, object]]] = {
    "JPEG": ("image/jpeg", "jpg", {"quality": 88, "optimize": True}),
    "PNG": ("image/png", "png", {"optimize": True}),
    "WEBP": ("image/webp", "webp", {"quality": 88}),
}
ACCEPTED = "JPEG, PNG or WebP"
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
# EXIF orientation -> the turn that makes the picture upright.
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class UploadRejected(Exception):
    """An upload that is not stored; `detail` says why, for the person who sent it, and
    `status_code` is the answer to give. Not a Litestar exception: the CLI imports this module
    (through the features' tasks and demo data), and not Litestar."""

    def __init__(self, detail: str, status_code: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code


class CleanImage(msgspec.Struct, frozen=True):
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


async def clean_image(data: bytes, max_bytes: int) -> CleanImage:
    _check_size(data, max_bytes)
    # Decoding is CPU work of tens of milliseconds: off the event loop.
    return await anyio.to_thread.run_sync(_reencode, data)


async def check_image(data: bytes, max_bytes: int) -> None:
    """What can be told of an upload without decoding its pixels (its size, its format from
    the header, its pixel count), for a request that leaves the re-encoding to a job. The job's
    `clean_image` can still refuse a damaged image."""
    _check_size(data, max_bytes)
    await anyio.to_thread.run_sync(_check_header, data)


def _check_size(data: bytes, max_bytes: int) -> None:
    if not data:
        raise UploadRejected("The file is empty.")
    if len(data) > max_bytes:
        raise UploadRejected(
            f"The file is {_megabytes(len(data))}; the limit is {_megabytes(max_bytes)}.",
            status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        )


def _check_header(data: bytes) -> None:
    with _opened(data):
        pass


@contextlib.contextmanager
def _opened(data: bytes) -> Iterator[Image.Image]:
    """The upload opened by Pillow: its header read and within the pixel limit, its pixels not
    yet. Failing to read it, here or in the `with` block, is an `UploadRejected`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise _too_many_pixels()
                yield image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit, above MAX_PIXELS: the same answer as ours.
        raise _too_many_pixels() from None
    except UnidentifiedImageError:
        raise UploadRejected(
            f"The file is not a {ACCEPTED} image.", status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE
        ) from None
    except (OSError, SyntaxError, ValueError):  # truncated or corrupt image data
        raise UploadRejected(
            "The image is damaged and cannot be read.",
            status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        ) from None


def _reencode(data: bytes) -> CleanImage:
    with _opened(data) as image:
        image.load()
        # A phone's multi-picture JPEG (MPO) opens as "MPO"; its first picture is the photo.
        pillow_format = "JPEG" if image.format == "MPO" else image.format or ""
        content_type, extension, options = FORMATS[pillow_format]
        upright = _upright(image)
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    # The colour profile goes along, or phone photos in Display P3 come out dull; not after a
    # conversion, though: a CMYK profile on RGB pixels would garble the colours.
    icc_profile = upright.info.get("icc_profile")
    if pillow_format == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
        icc_profile = None
    if icc_profile:
        options = {**options, "icc_profile": icc_profile}
    # Pillow's JPEG writer copies the upload's comment (COM) from `info` unless told
    # otherwise, and a comment can carry anything (a name, a PHP payload): keep only what
    # drawing the pixels needs.
    upright.info = {key: upright.info[key] for key in ("transparency",) if key in upright.info}
    output = io.BytesIO()
    upright.save(output, format=pillow_format, **options)
    return CleanImage(
        data=output.getvalue(),
        content_type=content_type,
        extension=extension,
        width=upright.width,
        height=upright.height,
    )


def _upright(image: Image.Image) -> Image.Image:
    # Not ImageOps.exif_transpose: it writes the EXIF back out, which is thrown away here, and
    # raises (AttributeError, TypeError, struct.error) on a corrupt tag: a 500 for a photo
    # that every viewer shows.
    orientation = image.getexif().get(ExifTags.Base.Orientation)
    turn = ORIENTATIONS.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(turn) if turn is not None else image.copy()


def _too_many_pixels() -> UploadRejected:
    return UploadRejected(
        f"The image has too many pixels; the limit is {MAX_PIXELS // 1_000_000} million.",
        status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    )


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
