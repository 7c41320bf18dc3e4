"""The one Markdown renderer. Everything a user typed reaches HTML through render().

Python-Markdown turns text into HTML, then nh3 (ammonia) keeps only an allow-list of tags,
attributes and URL schemes. The result is stored beside the source at save time, so pages never
render Markdown per request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "code": {"class"},
    "span": {"class"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]


_local = threading.local()


def _converter() -> markdown.Markdown:
    # Building a Markdown instance (extensions, patterns) costs about 2 ms, more than converting
    # a typical text; one per thread, reset before each use, is what Python-Markdown advises.
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = markdown.Markdown(
            extensions=EXTENSIONS, output_format="html"
        )
    return converter


def sanitize(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render(text: str) -> str:
    """Markdown source to sanitized HTML. Raw HTML in the source is escaped or stripped."""
    if not text:
        return ""
    return sanitize(_converter().reset().convert(text))


# --- Many texts at once, for imports ---------------------------------------------------------
# Text Markdown leaves as it is: no emphasis, code, links, HTML or entities, and no line start
# that opens a block (list, heading, quote, numbered item).
PLAIN_TEXT = re.compile(r"(?!\d+[.)]\s)[A-Za-z0-9][A-Za-z0-9 ,.;:!?'()/%+=-]*")


class BatchRenderer:
    """render()'s output for many texts at once, for an import's rows.

    Two shortcuts over render(): a text seen before is not rendered again, and a one-line text of
    letters, digits, spaces and plain punctuation (no Markdown syntax, nothing to escape) is one
    paragraph of itself, so it skips the parser. Tests pin that the output equals render()'s.
    """

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if not text:
            return ""
        if text == text.rstrip() and PLAIN_TEXT.fullmatch(text):
            return f"<p>{text}</p>"
        html = self._cache.get(text)
        if html is None:
            html = self._cache[text] = render(text)
        return html

    def fill(self, rows: Iterable[Any]) -> None:
        """Set every `<name>_html` of each row from its Markdown source."""
        for row in rows:
            for name in row.markdown_fields:
                setattr(row, f"{name}_html", self(getattr(row, name)))
