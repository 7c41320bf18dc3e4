"""The one Markdown renderer. Everything a user typed reaches HTML through render().

Python-Markdown turns text into HTML, then nh3 (ammonia) keeps only an allow-list of tags,
attributes and URL schemes. The result is stored beside the source at save time, so pages never
render Markdown per request.
"""

from __future__ import annotations

import re
import threading

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
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
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]
# The one kind of image a text may show: a file attached to an incident, served by the app after
# its login check. Any other source (another site, a data: URL, a path of the app that is not an
# attachment) would let a text make readers' browsers fetch what its writer chose.
ATTACHMENT_SRC = re.compile(r"/attachments/[0-9]+/(?!\.\.?$)[^/?#\s\\]+")


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
            extensions=EXTENSIONS, output_format="html"
        )
    return converter


def sanitize(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes; an image keeps its source
    only when that is an attachment's."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render(text: str) -> str:
    """Markdown source to sanitized HTML. Raw HTML in the source is escaped or stripped."""
    if not text:
        return ""
    return sanitize(_converter().reset().convert(text))


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
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS - {"img"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        attribute_filter=_filter_public_attribute,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
