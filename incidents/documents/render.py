"""The one renderer's output for many texts at once, for imports of thousands of rows.

It renders through incidents.rendering.render(), so there is one definition of what Markdown
becomes, and adds two shortcuts for documents of thousands of rows: a text seen before is not
rendered again, and a one-line text of letters, digits, spaces and plain punctuation (no
Markdown syntax, nothing to escape) is one paragraph of itself, so it skips the parser. Tests pin that the output equals render()'s, for
that alphabet by generating texts from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from incidents import rendering
from incidents.models.base import MarkdownModel

# Text Markdown leaves as it is: no emphasis, code, links, HTML or entities, and no line start
# that opens a block (list, heading, quote, numbered item).
PLAIN_TEXT = re.compile(r"(?!\d+[.)]\s)[A-Za-z0-9][A-Za-z0-9 ,.;:!?'()/%+=-]*")


class BatchRenderer:
    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if not text:
            return ""
        if text == text.rstrip() and PLAIN_TEXT.fullmatch(text):
            return f"<p>{text}</p>"
        html = self._cache.get(text)
        if html is None:
            html = self._cache[text] = rendering.render(text)
        return html

    def fill(self, rows: Iterable[MarkdownModel]) -> None:
        """Set every `<name>_html` of each row from its Markdown source."""
        for row in rows:
            for name in row.markdown_fields:
                setattr(row, f"{name}_html", self(getattr(row, name)))
