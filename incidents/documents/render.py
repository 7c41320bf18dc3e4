"""The one renderer's output for many texts at once, for imports of thousands of rows.

incidents.rendering.render() builds a Python-Markdown instance per call, which costs about 2 ms:
fine for one edit, 20 s for a 10,000-line document. This module renders with one instance,
reset between texts, and the same extensions and sanitizer settings, imported from
incidents.rendering so there is still one definition of what Markdown becomes. A one-line text
of letters, digits, spaces and plain punctuation (no Markdown syntax, nothing to escape) is one
paragraph of itself, so it skips the parser. Tests pin that the output equals render()'s, for
that alphabet by generating texts from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import markdown
import nh3

from incidents import rendering
from incidents.models.base import MarkdownModel

# Text Markdown leaves as it is: no emphasis, code, links, HTML or entities, and no line start
# that opens a block (list, heading, quote, numbered item).
PLAIN_TEXT = re.compile(r"(?!\d+[.)]\s)[A-Za-z0-9][A-Za-z0-9 ,.;:!?'()/%+=-]*")


class BatchRenderer:
    def __init__(self) -> None:
        self._markdown = markdown.Markdown(extensions=rendering.EXTENSIONS, output_format="html")
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if not text:
            return ""
        if text == text.rstrip() and PLAIN_TEXT.fullmatch(text):
            return f"<p>{text}</p>"
        html = self._cache.get(text)
        if html is None:
            html = nh3.clean(
                self._markdown.reset().convert(text),
                tags=rendering.ALLOWED_TAGS,
                attributes=rendering.ALLOWED_ATTRIBUTES,
                url_schemes=rendering.ALLOWED_URL_SCHEMES,
                link_rel="noopener noreferrer nofollow",
                strip_comments=True,
            )
            self._cache[text] = html
        return html

    def fill(self, rows: Iterable[MarkdownModel]) -> None:
        """Set every `<name>_html` of each row from its Markdown source."""
        for row in rows:
            for name in row.markdown_fields:
                setattr(row, f"{name}_html", self(getattr(row, name)))
