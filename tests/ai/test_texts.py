"""A document's text and chunks: PDFs, Markdown and text, checked from their bytes; damaged,
hostile and oversized ones refused with a reason."""

from __future__ import annotations

import pytest

from bandstand.ai import texts
from bandstand.ai.texts import Page, UnreadableDocument, chunks, extract, kind_of
from tests.support.pdfs import bomb_pdf, pdf, text_pdf

pytestmark = pytest.mark.engine_independent


def test_a_pdfs_pages_of_text_are_read() -> None:
    data = text_pdf([["Cats purr (mostly).", "A second line"], ["Page two, line one"]])

    pages = extract("Report.PDF", data)

    assert [page.number for page in pages] == [1, 2]
    assert "Cats purr (mostly)." in pages[0].text
    assert "A second line" in pages[0].text
    assert "Page two, line one" in pages[1].text


def test_markdown_and_text_are_read_as_utf8() -> None:
    assert extract("notes.md", "\ufeff# Café\n\nÜber".encode()) == [Page(1, "# Café\n\nÜber")]
    assert extract("notes.txt", b"plain") == [Page(1, "plain")]


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("setup.exe", b"MZ...", "Upload a PDF, a Markdown (.md) or a text (.txt) file."),
        ("README", b"text", "Upload a PDF, a Markdown (.md) or a text (.txt) file."),
        ("report.pdf", b"just text", "The file is not a PDF."),
        ("notes.txt", b"%PDF-1.7 ...", "The file is a PDF, not text."),
        ("notes.txt", "Café".encode("latin-1"), "The text is not UTF-8."),
        ("notes.md", b"a\x00b", "The file holds binary data, not text."),
        ("broken.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "The PDF is damaged"),
        ("cut.pdf", text_pdf([["Hello"]])[:120], "The PDF is damaged"),
        ("empty.pdf", text_pdf([[]]), "The PDF has no text (a scan needs OCR first)."),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_reason(
    filename: str, data: bytes, reason: str
) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        extract(filename, data)
    assert str(caught.value).startswith(reason)


def test_a_decompression_bomb_is_refused_before_it_expands() -> None:
    # Past this module's limit (20 MB a stream), within pypdf's own (75 MB).
    bomb = bomb_pdf(50_000_000)
    assert len(bomb) < 1_000_000  # a few kilobytes that inflate to 50 MB

    with pytest.raises(UnreadableDocument, match="The PDF expands to more than it may"):
        extract("bomb.pdf", bomb)


def test_a_pdf_with_too_many_pages_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(texts, "MAX_PAGES", 2)
    with pytest.raises(UnreadableDocument, match="more than 2 pages"):
        extract("long.pdf", text_pdf([["a"], ["b"], ["c"]]))


def test_a_document_with_too_much_text_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(texts, "MAX_CHARACTERS", 10)
    with pytest.raises(UnreadableDocument, match="more than 10 characters"):
        extract("long.txt", b"x" * 11)
    with pytest.raises(UnreadableDocument, match="more than 10 characters"):
        extract("long.pdf", text_pdf([["123456"], ["789012"]]))


def test_a_pdf_holding_no_page_tree_is_damaged() -> None:
    with pytest.raises(UnreadableDocument, match="damaged"):
        extract("odd.pdf", pdf([b"<< /Type /Catalog /Pages 9 0 R >>"]))


def test_chunks_cover_the_text_overlap_and_keep_their_page() -> None:
    paragraphs = [" ".join(f"p{p}w{w}" for w in range(40)) for p in range(12)]
    pages = [Page(1, "\n\n".join(paragraphs[:8])), Page(2, "\n\n".join(paragraphs[8:]))]

    found = chunks(pages, size=600, overlap=100)

    assert [chunk.position for chunk in found] == list(range(len(found)))
    assert {chunk.page for chunk in found} == {1, 2}
    assert all(len(chunk.text) <= 600 for chunk in found)
    words = {word for chunk in found for word in chunk.text.split()}
    assert words == {word for paragraph in paragraphs for word in paragraph.split()}
    # Neighbours on a page share their edge; a page's chunks never take another page's words.
    first, second = found[0].text.split(), found[1].text.split()
    assert set(first) & set(second)
    assert all(
        word.startswith(("p8", "p9", "p10", "p11"))
        for chunk in found
        if chunk.page == 2
        for word in chunk.text.split()
    )
    # Cut at a paragraph's end where one falls in the window's second half.
    assert found[0].text.endswith("p0w39") or found[0].text.endswith("p1w39")


def test_kind_of_goes_by_the_name_and_the_bytes() -> None:
    assert kind_of("A.Markdown", b"# x") == "markdown"
    assert kind_of("a.pdf", b"%PDF-1.4") == "pdf"
