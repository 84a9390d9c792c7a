"""A document's text, from its bytes, and its chunks: what the document search embeds.

PDF, Markdown and plain text, each checked from its bytes, not its name. A PDF is read by
pypdf within limits (streams, pages, the text it gives), so that a malformed or hostile one,
a decompression bomb among them, is refused with a reason rather than taking the worker's
memory or time. Reading is CPU work: call `extract` off the event loop (`anyio.to_thread`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PyPdfError

Kind = Literal["pdf", "markdown", "text"]
KINDS: dict[str, Kind] = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}
# The most a document may give, whatever its size on disk: pages read, and characters kept.
MAX_PAGES = 2000
MAX_CHARACTERS = 5_000_000
# The most one PDF stream may decompress to: far more than a page of text needs, far less than
# a bomb's gigabytes.
MAX_STREAM_BYTES = 20_000_000
CHUNK_CHARACTERS = 1200
CHUNK_OVERLAP = 200
_BLANK_LINES = re.compile(r"\n\s*\n")


class UnreadableDocument(ValueError):
    """The document is refused; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class Page:
    number: int  # from 1; a text file is one page
    text: str


@dataclass(frozen=True)
class Chunk:
    page: int
    position: int  # the chunk's number in the document, from 0
    text: str


def kind_of(filename: str, data: bytes) -> Kind:
    """The document's kind, by its name's extension, confirmed by its bytes."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    kind = KINDS.get(suffix)
    if kind is None:
        raise UnreadableDocument("Upload a PDF, a Markdown (.md) or a text (.txt) file.")
    if (kind == "pdf") != data.startswith(b"%PDF-"):
        raise UnreadableDocument(
            "The file is not a PDF." if kind == "pdf" else "The file is a PDF, not text."
        )
    return kind


def extract(filename: str, data: bytes) -> list[Page]:
    """The document's pages of text; UnreadableDocument if it cannot or may not be read."""
    if kind_of(filename, data) == "pdf":
        return _pdf_pages(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableDocument("The text is not UTF-8.") from None
    if "\0" in text:
        raise UnreadableDocument("The file holds binary data, not text.")
    return [Page(1, _within_limit(text, 0))]


def _pdf_pages(data: bytes) -> list[Page]:
    pages: list[Page] = []
    kept = 0
    try:
        with apply_configuration(
            zlib_maximum_output_length=MAX_STREAM_BYTES,
            lzw_maximum_output_length=MAX_STREAM_BYTES,
            run_length_maximum_output_length=MAX_STREAM_BYTES,
            array_based_stream_maximum_output_length=MAX_STREAM_BYTES,
            maximum_declared_stream_length=MAX_STREAM_BYTES,
        ):
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise UnreadableDocument("The PDF is encrypted; upload it without a password.")
            if len(reader.pages) > MAX_PAGES:
                raise UnreadableDocument(f"The PDF has more than {MAX_PAGES:,} pages.")
            for number, page in enumerate(reader.pages, start=1):
                # Decoded first, and kept: text extraction passes over a stream past the
                # limits in silence, and this says why the page is refused.
                if (contents := page.get_contents()) is not None:
                    contents.get_data()
                text = _within_limit(page.extract_text() or "", kept)
                kept += len(text)
                pages.append(Page(number, text))
    except UnreadableDocument:
        raise
    except LimitReachedError:
        raise UnreadableDocument(
            "The PDF expands to more than it may (a compressed stream past "
            f"{MAX_STREAM_BYTES:,} bytes, or too many objects)."
        ) from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise UnreadableDocument("The PDF is damaged and cannot be read.") from None
    if not any(page.text.strip() for page in pages):
        raise UnreadableDocument("The PDF has no text (a scan needs OCR first).")
    return pages


def _within_limit(text: str, kept: int) -> str:
    if kept + len(text) > MAX_CHARACTERS:
        raise UnreadableDocument(f"The document has more than {MAX_CHARACTERS:,} characters.")
    return text


def chunks(
    pages: list[Page], size: int = CHUNK_CHARACTERS, overlap: int = CHUNK_OVERLAP
) -> list[Chunk]:
    """Pieces of about `size` characters, cut at paragraph ends where there are some, each
    starting `overlap` characters before the last one ended, within a page."""
    found: list[Chunk] = []
    for page in pages:
        for text in _pieces(page.text, size, overlap):
            found.append(Chunk(page.number, len(found), text))
    return found


def _pieces(text: str, size: int, overlap: int) -> Iterator[str]:
    text = text.strip()
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            # The last paragraph break in the window's second half, else the last space.
            window = text[start:end]
            breaks = [match.start() for match in _BLANK_LINES.finditer(window)]
            cut = max([at for at in breaks if at > size // 2], default=window.rfind(" "))
            if cut > size // 2:
                end = start + cut
        piece = text[start:end].strip()
        if piece:
            yield piece
        if end >= len(text):
            return
        # The next piece starts `overlap` back, at the start of a word.
        start = max(end - overlap, start + 1)
        while start < end and not text[start - 1].isspace():
            start += 1
