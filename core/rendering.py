"""The one Markdown renderer. Everything a user typed reaches HTML through render().

Python-Markdown turns text into HTML, then nh3 (ammonia) keeps only an allow-list of tags,
attributes and URL schemes. The result is stored beside the source at save time, so pages never
render Markdown per request; after a change here, `manage.py rerender_markdown` renders the stored
rows again (a migration runs it once for each change that needs it).

The Markdown is the one people paste from chat and other editors: task lists, ~~strikethrough~~,
tables, fenced code (inside list items too), and a list right after the line that introduces it.
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as etree

import markdown
import nh3
from django.core.exceptions import ValidationError
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "input", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "code": {"class"},
    "img": {"src", "alt", "title"},
    "span": {"class"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
# A task list's tick is the only <input> there is: nh3 keeps nothing of one but `checked`, then
# each is written out again as a disabled checkbox, ticked or not, so raw HTML cannot smuggle in
# a text field, a button or a file picker. (nh3's set_tag_attribute_values would force the
# attributes too, but in an order that changes from one process to the next, and stored HTML
# should not change when nothing did.)
INPUT_VALUES = {"input": {"checked": {""}}}
INPUT = re.compile(r"<input\b([^>]*)>")
CHECKBOX = '<input type="checkbox" disabled="">'
TICKED_CHECKBOX = '<input type="checkbox" disabled="" checked="">'
ALLOWED_CLASSES = {"ul": {"task-list"}, "li": {"task-list-item"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


class ListAfterParagraph(Extension):
    """A list may start on the line right after a paragraph, as GitHub and CommonMark allow.

    Python-Markdown follows markdown.pl and wants a blank line first, and its maintainers keep it
    so; pymdown-extensions has nothing for it; the third-party extensions that do it either add
    blank lines inside fenced code too (a line preprocessor) or replace the core list processors
    with process-wide settings. This one only splits a paragraph block before its first line that
    starts a list, then lets the usual list processors read that part.
    """

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Below the block quote (20) and reference (15) processors, just above the paragraph
        # (10): only what would otherwise become a paragraph is looked at.
        md.parser.blockprocessors.register(_SplitBeforeList(md.parser), "list_after_paragraph", 12)


class _SplitBeforeList(BlockProcessor):
    # CommonMark's rule: a bullet, or a numbered list that starts at 1, interrupts a paragraph;
    # another number stays text, so a wrapped "... fixed in version\n7. Then" is not a list.
    LIST_START = re.compile(r"^ {0,3}(?:[*+-]|1\.)[ \t]+\S")

    def _first_list_line(self, block: str) -> int:
        for number, line in enumerate(block.split("\n")):
            if number and self.LIST_START.match(line):
                return number
        return 0

    def test(self, parent: etree.Element, block: str) -> bool:
        return self._first_list_line(block) > 0

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        lines = blocks[0].split("\n")
        at = self._first_list_line(blocks[0])
        blocks[0:1] = ["\n".join(lines[:at]), "\n".join(lines[at:])]


EXTENSIONS: list[str | Extension] = [
    "pymdownx.highlight",
    "pymdownx.superfences",
    "pymdownx.tasklist",
    "pymdownx.tilde",
    "tables",
    "sane_lists",
    "nl2br",
    ListAfterParagraph(),
]
EXTENSION_CONFIGS = {
    # Plain <code class="language-x">: the same HTML whether or not Pygments is installed.
    "pymdownx.highlight": {"use_pygments": False},
    # "~5 minutes" is an estimate, not a subscript; ~~two tildes~~ strike through.
    "pymdownx.tilde": {"subscript": False},
    # A column's alignment as the align attribute the allow-list keeps; the default, a style
    # attribute, is stripped by the sanitizer.
    "tables": {"use_align_attribute": True},
}
# The one kind of image a text may show: a file attached to an incident, served by the app after
# its login check. Any other source (another site, a data: URL, a path of the app that is not an
# attachment) would let a text make readers' browsers fetch what its writer chose.
ATTACHMENT_SRC = re.compile(r"/attachments/[0-9]+/(?!\.\.?$)[^/?#\s\\]+")
# What is left of an image whose source was refused: nothing to show, so nothing is kept.
IMAGE_WITHOUT_SOURCE = re.compile(r"<img\b(?![^>]*\bsrc=)[^>]*>")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if ATTACHMENT_SRC.fullmatch(value) else None
    return value


_local = threading.local()


def _converter() -> markdown.Markdown:
    # Building a Markdown instance (extensions, patterns) costs about 2 ms, more than converting
    # a typical text; one per thread, reset before each use, is what Python-Markdown advises.
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = markdown.Markdown(
            extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html"
        )
    return converter


def _checkbox(match: re.Match[str]) -> str:
    return TICKED_CHECKBOX if "checked" in match.group(1) else CHECKBOX


def sanitize(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes; an image keeps its source
    only when that is an attachment's."""
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        tag_attribute_values=INPUT_VALUES,
        allowed_classes=ALLOWED_CLASSES,
        attribute_filter=_filter_attribute,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return IMAGE_WITHOUT_SOURCE.sub("", INPUT.sub(_checkbox, clean))


# How deep tags may nest in the HTML that Markdown makes of a text. The sanitizer's HTML parser
# slows with the square of the depth of tags left open (25,000 nested <ul> took 7 s); Markdown's
# own nesting stays far below this, and at this depth the worst text costs milliseconds.
MAX_DEPTH = 256
# Raw HTML tags in one text's source. Python-Markdown slows faster than the count of inline tags
# grows (33,000 <b> took 3.5 s); a post-mortem needs a handful (<br>, <kbd>). Counted in the
# source, so HTML shown as code counts too: such a document is better attached as a file.
MAX_RAW_TAGS = 2000
RAW_TAG = re.compile(r"<[A-Za-z/!?]")
TOO_MANY_TAGS = (
    f"This text holds more than {MAX_RAW_TAGS:,} HTML tags (a < followed by a letter); write "
    "it as Markdown, or attach such a document as a file, and save again."
)
TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^>]*?(/?)>")
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})  # fmt: skip


def _too_deep(html: str) -> bool:
    """Whether tags nest deeper than MAX_DEPTH: open tags count up, closing ones down, in one
    pass (code the text shows is escaped by then, so it does not count)."""
    depth = 0
    for closing, name, self_closing in TAG.findall(html):
        if closing:
            depth = max(depth - 1, 0)
        elif not self_closing and name.lower() not in VOID:
            depth += 1
            if depth > MAX_DEPTH:
                return True
    return False


TOO_DEEP = (
    f"This text nests lists, quotes or HTML tags too deeply to show (more than {MAX_DEPTH} "
    "levels); flatten the nesting and save again."
)


def render(text: str) -> str:
    """Markdown source to sanitized HTML. Raw HTML in the source is escaped or stripped.

    Raises ValidationError for text that would cost seconds or exhaust the stack (thousands of
    raw HTML tags, nesting deeper than MAX_DEPTH, `1. 1. 1. …` thousands of times): refused like
    any invalid input, never a 500 and never a worker busy for seconds.
    """
    if not text:
        return ""
    if sum(1 for _tag in RAW_TAG.finditer(text)) > MAX_RAW_TAGS:
        raise ValidationError(TOO_MANY_TAGS, code="markdown_too_many_tags")
    try:
        html = _converter().reset().convert(text)
    except RecursionError:
        # The converter stopped halfway and reset() does not undo all of it: a later text
        # would come out wrong (a list glued to its paragraph). Build a new one next time.
        _local.converter = None
        html = None
    if html is None or _too_deep(html):
        raise ValidationError(TOO_DEEP, code="markdown_too_deep")
    return sanitize(html)


def _filter_public_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href" and ATTACHMENT_SRC.fullmatch(value):
        return None
    return value


def without_attachments(html: str) -> str:
    """Stored HTML for readers who are not logged in (the public status page and its feeds):
    attachments are served only behind the login, so their images are left out and links to
    them keep only their text, instead of a broken image and a link to the login page."""
    if "/attachments/" not in html:
        return html
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS - {"img"},
        attributes=ALLOWED_ATTRIBUTES,
        tag_attribute_values=INPUT_VALUES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=ALLOWED_URL_SCHEMES,
        attribute_filter=_filter_public_attribute,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    # Cleaning again strips a task list's checkbox to a bare (editable) <input>: written out
    # again as the disabled checkbox it was, as sanitize() does.
    return INPUT.sub(_checkbox, clean)
