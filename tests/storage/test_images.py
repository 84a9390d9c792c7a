"""`clean_image`: only real JPEG, PNG and WebP images get through, re-encoded and bare."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from bandstand.storage.images import MAX_PIXELS, MAX_SIDE, CleanImage, UploadRejected, clean_image

pytestmark = pytest.mark.engine_independent

LIMIT = 5 * 1024 * 1024
GPS_IFD = 0x8825
ORIENTATION = 0x0112
IMAGE_DESCRIPTION = 0x010E
ARTIST = 0x013B


def picture(
    image_format: str = "JPEG",
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    **options: object,
) -> bytes:
    image = Image.new(mode, size, "green")
    # A marker in the top-left corner, to see which way the picture was turned.
    image.paste("red", (0, 0, 8, 8))
    output = io.BytesIO()
    image.save(output, image_format, **options)
    return output.getvalue()


def noisy_jpeg(size: tuple[int, int] = (400, 300)) -> bytes:
    output = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(output, "JPEG", quality=95)
    return output.getvalue()


def private_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[IMAGE_DESCRIPTION] = "Ada at home"
    exif[ARTIST] = "Ada Lovelace"
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (51.0, 30.0, 26.0)  # latitude
    gps[3], gps[4] = "W", (0.0, 7.0, 39.0)  # longitude
    return exif


def opened(cleaned: CleanImage) -> Image.Image:
    image = Image.open(io.BytesIO(cleaned.data))
    image.load()
    return image


def rgb(image: Image.Image, at: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.convert("RGB").getpixel(at)
    assert isinstance(pixel, tuple)
    return pixel


def rgba(image: Image.Image, at: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.convert("RGBA").getpixel(at)
    assert isinstance(pixel, tuple)
    return pixel


def png_of_zeros(width: int, height: int) -> bytes:
    """A real 1-bit PNG of `width` x `height` black pixels: a few kilobytes that decode to
    width x height bytes in memory."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\0" * (1 + (width + 7) // 8)  # the filter byte, then the bits
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", compressed)
        + chunk(b"IEND", b"")
    )


async def rejected(data: bytes, max_bytes: int = LIMIT) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        await clean_image(data, max_bytes)
    return caught.value


# Size limits


async def test_a_file_over_the_limit_is_refused_with_413() -> None:
    data = picture("PNG")

    error = await rejected(data, max_bytes=len(data) - 1)

    assert error.status_code == 413
    assert "the limit is" in error.detail


async def test_a_file_exactly_at_the_limit_is_accepted() -> None:
    data = picture("PNG")
    assert (await clean_image(data, max_bytes=len(data))).content_type == "image/png"


async def test_an_empty_file_is_refused() -> None:
    error = await rejected(b"")
    assert error.status_code == 400
    assert error.detail == "The file is empty."


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (7000, 6000),  # above MAX_PIXELS, below Pillow's own warning
        (10_000, 10_000),  # above Pillow's warning (89 million pixels)
        (15_000, 15_000),  # above Pillow's hard limit (179 million pixels)
    ],
)
async def test_a_pixel_bomb_is_refused_before_it_is_decoded(width: int, height: int) -> None:
    bomb = png_of_zeros(width, height)
    assert len(bomb) < 1024 * 1024 < width * height

    error = await rejected(bomb)

    assert error.status_code == 413
    assert "too many pixels" in error.detail


async def test_an_image_just_under_the_pixel_limit_is_accepted_and_scaled_down() -> None:
    width = MAX_PIXELS // 5000
    cleaned = await clean_image(png_of_zeros(width, 5000), LIMIT)
    assert max(cleaned.width, cleaned.height) == MAX_SIDE


async def test_a_large_image_is_scaled_down_to_max_side_keeping_its_shape() -> None:
    cleaned = await clean_image(picture("JPEG", size=(3000, 1500)), LIMIT)

    image = opened(cleaned)
    assert image.size == (cleaned.width, cleaned.height) == (MAX_SIDE, MAX_SIDE // 2)


async def test_an_image_within_max_side_keeps_its_size() -> None:
    cleaned = await clean_image(picture("PNG", size=(MAX_SIDE, 10)), LIMIT)
    assert opened(cleaned).size == (MAX_SIDE, 10)


# What the bytes are, whatever the name says


@pytest.mark.parametrize(
    "data",
    [
        b"just some text, saved as photo.jpg\n",
        b"<!doctype html><html><script>alert(document.cookie)</script></html>",
        b"<?php system($_GET['c']); ?>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"\xff\xd8\xff",  # a JPEG's first three bytes and nothing else
    ],
    ids=["text", "html", "php", "svg", "pdf", "jpeg-magic-only"],
)
async def test_a_file_that_is_not_an_image_is_refused_with_415(data: bytes) -> None:
    error = await rejected(data)
    assert error.status_code == 415
    assert error.detail == "The file is not a JPEG, PNG or WebP image."


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF", "ICO", "PPM"])
async def test_an_image_in_another_format_is_refused_with_415(image_format: str) -> None:
    error = await rejected(picture(image_format))
    assert error.status_code == 415
    assert "is not a JPEG, PNG or WebP image" in error.detail


async def test_a_truncated_jpeg_is_refused_as_damaged() -> None:
    whole = noisy_jpeg()
    assert (await clean_image(whole, LIMIT)).content_type == "image/jpeg"

    error = await rejected(whole[: len(whole) * 2 // 3])

    assert error.status_code == 415
    assert "damaged" in error.detail


async def test_a_png_with_a_bad_checksum_is_refused_as_damaged() -> None:
    data = bytearray(picture("PNG"))
    data[data.index(b"IDAT") + 6] ^= 0xFF  # inside the image data: its CRC no longer matches

    error = await rejected(bytes(data))

    assert error.status_code == 415
    assert "damaged" in error.detail


# Formats kept, content re-encoded


@pytest.mark.parametrize(
    ("image_format", "content_type", "extension"),
    [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")],
)
async def test_each_accepted_format_stays_in_its_format(
    image_format: str, content_type: str, extension: str
) -> None:
    cleaned = await clean_image(picture(image_format), LIMIT)

    assert (cleaned.content_type, cleaned.extension) == (content_type, extension)
    assert opened(cleaned).format == image_format
    assert (cleaned.width, cleaned.height) == (64, 48)


async def test_a_png_keeps_its_transparency() -> None:
    cleaned = await clean_image(picture("PNG", mode="RGBA"), LIMIT)
    image = opened(cleaned)
    assert image.format == "PNG"
    assert rgba(image, (0, 0)) == (255, 0, 0, 255)
    transparent = await clean_image(_transparent_png(), LIMIT)
    assert rgba(opened(transparent), (5, 5))[3] == 0


def _transparent_png() -> bytes:
    output = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(output, "PNG")
    return output.getvalue()


async def test_a_cmyk_jpeg_comes_out_rgb() -> None:
    cleaned = await clean_image(picture("JPEG", mode="CMYK"), LIMIT)
    assert opened(cleaned).mode == "RGB"


async def test_a_phones_multi_picture_jpeg_is_accepted_as_its_first_picture() -> None:
    # Phones write MPO (a JPEG with more pictures after it); Pillow names the format "MPO".
    output = io.BytesIO()
    first = Image.new("RGB", (64, 48), "red")
    first.save(output, "MPO", save_all=True, append_images=[Image.new("RGB", (64, 48), "blue")])

    cleaned = await clean_image(output.getvalue(), LIMIT)

    image = opened(cleaned)
    assert (cleaned.content_type, image.format) == ("image/jpeg", "JPEG")
    assert rgb(image, (32, 24))[0] > 200  # the red one


# What rides along is dropped


async def test_jpeg_exif_gps_comment_and_xmp_are_stripped() -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Ada Lovelace, 12 Secret Street</x:xmpmeta>'
    data = picture("JPEG", exif=private_exif().tobytes(), comment=b"Ada's home address", xmp=xmp)
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(GPS_IFD)  # really there, before
    assert source.info["comment"]

    cleaned = await clean_image(data, LIMIT)

    image = opened(cleaned)
    assert dict(image.getexif()) == {}
    assert not {"exif", "comment", "xmp"} & set(image.info)
    for secret in (b"Ada", b"Secret Street", b"Exif\0\0"):
        assert secret not in cleaned.data


async def test_a_script_in_a_jpeg_comment_is_stripped() -> None:
    data = picture("JPEG", comment=b"<?php system($_GET['c']); ?>")
    # Really there, before: Pillow ignores a save option it doesn't know.
    assert Image.open(io.BytesIO(data)).info["comment"] == b"<?php system($_GET['c']); ?>"

    cleaned = await clean_image(data, LIMIT)

    assert b"<?php" not in cleaned.data
    assert "comment" not in opened(cleaned).info


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
async def test_png_and_webp_metadata_is_stripped(image_format: str) -> None:
    data = picture(image_format, exif=private_exif().tobytes(), xmp=b"<x>Ada Lovelace</x>")
    assert b"Ada Lovelace" in data

    cleaned = await clean_image(data, LIMIT)

    assert b"Ada" not in cleaned.data
    assert dict(opened(cleaned).getexif()) == {}


async def test_png_text_chunks_are_stripped() -> None:
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Comment", "<script>alert(1)</script>")
    text.add_text("Author", "Ada Lovelace", zip=True)
    data = picture("PNG", pnginfo=text)
    source = Image.open(io.BytesIO(data))
    assert source.info["Comment"] == "<script>alert(1)</script>"  # really there, before
    assert source.info["Author"] == "Ada Lovelace"

    cleaned = await clean_image(data, LIMIT)

    assert b"<script>" not in cleaned.data
    assert not {"Comment", "Author"} & set(opened(cleaned).info)


async def test_a_script_appended_after_the_jpeg_data_is_dropped() -> None:
    payload = b"<script>alert(document.cookie)</script><?php system($_GET['c']); ?>"
    data = picture("JPEG") + payload

    cleaned = await clean_image(data, LIMIT)

    assert b"<script>" not in cleaned.data
    assert b"<?php" not in cleaned.data
    assert cleaned.data.endswith(b"\xff\xd9")  # ends where the JPEG ends


async def test_the_picture_is_turned_upright_by_its_exif_orientation() -> None:
    # 6: the camera was turned; viewers rotate the picture 90 degrees clockwise to show it.
    data = picture("JPEG", size=(64, 48), exif=private_exif(orientation=6).tobytes())

    cleaned = await clean_image(data, LIMIT)

    image = opened(cleaned).convert("RGB")
    assert image.size == (48, 64)
    red, green, _ = rgb(image, (44, 3))  # the top-left marker, now top-right
    assert red > 200
    assert green < 80
    assert ORIENTATION not in image.getexif()


async def test_a_corrupt_exif_tag_does_not_break_the_upload() -> None:
    # An ImageDescription stored as a number: Pillow reads it, but ImageOps.exif_transpose
    # raised AttributeError writing it back (a 500 for a photo every viewer shows).
    exif = _tiff_exif(
        (ORIENTATION, 3, 1, struct.pack("<H", 6)),  # SHORT 6
        (IMAGE_DESCRIPTION, 5, 1, struct.pack("<I", 1)),  # RATIONAL, where text belongs
    )
    data = picture("JPEG", size=(64, 48), exif=exif)

    cleaned = await clean_image(data, LIMIT)

    assert (cleaned.width, cleaned.height) == (48, 64)  # still turned upright
    assert dict(opened(cleaned).getexif()) == {}


def _tiff_exif(*entries: tuple[int, int, int, bytes]) -> bytes:
    """EXIF written by hand (little-endian, one directory), to hold what Pillow won't write."""
    directory = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        for tag, kind, count, value in entries
    )
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + directory + struct.pack("<I", 0)


async def test_the_colour_profile_is_kept() -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    cleaned = await clean_image(picture("JPEG", icc_profile=profile), LIMIT)

    assert opened(cleaned).info.get("icc_profile") == profile
