"""Markdown to HTML that is safe to put in a page, whoever wrote the text.

Raw HTML in the source is escaped, not passed through (`html: False`), and markdown-it's link
validation drops `javascript:`, `vbscript:` and `data:` URLs; code blocks stay code blocks.
"""

from markdown_it import MarkdownIt
from markupsafe import Markup

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text: str) -> Markup:
    return Markup(_renderer.render(text))  # noqa: S704 - escaped by markdown-it, see above
