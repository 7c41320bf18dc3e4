"""Reading a post-mortem written in Markdown into a Draft (no database involved).

    draft = parse_postmortem(text_or_bytes, title=None)

Refuses what is not a post-mortem document with DocumentError: binary or not Markdown, empty,
over MAX_DOCUMENT_BYTES, or without a title (`code` says which, so each face can answer in its
own way: the UI asks for a title, the CLI suggests --title).

Headings are matched by meaning (see headings.py); at least three layouts are read: the seed's
(bold fields under the title, emoji headings, TODO lists by horizon), Google SRE's (fields,
an action items table, a timeline of time-prefixed lines) and PagerDuty's (overview, impact
table, responders, timeline table, task lists with @owners, messaging). Whatever is not
recognized is kept verbatim as an `other` final note and listed in the draft's report.
"""

from __future__ import annotations

import hashlib

from incidents.attachments.sniff import HEAD_BYTES, sniff
from incidents.documents.importer import forward, plans, sections, timeline
from incidents.documents.importer.blocks import LIST_RE
from incidents.documents.importer.draft import Draft, Report
from incidents.documents.importer.reader import Handler, Reader
from incidents.documents.text import FIELD_RE, HEADING_RE, fit, repair_mojibake

__all__ = ["MAX_DOCUMENT_BYTES", "DocumentError", "Draft", "Report", "decode", "parse_postmortem"]

MAX_DOCUMENT_BYTES = 1024 * 1024  # 1 MB

HANDLERS: dict[str, Handler] = {
    "summary": sections.prose,
    "resolution": sections.prose,
    "impact": sections.impact,
    "next_step": sections.prose,
    "detection": sections.detection,
    "what_happened": timeline.what_happened,
    "timeline": timeline.timeline,
    "status": sections.status,
    "current": sections.status,
    "working": sections.status,
    "known_issues": sections.status,
    "causes": sections.causes,
    "primary": sections.causes,
    "contributing": sections.causes,
    "trigger": sections.causes,
    "assumption": sections.causes,
    "lessons": sections.lessons,
    "went_wrong": sections.lessons,
    "went_right": sections.lessons,
    "lucky": sections.lessons,
    "final_notes": sections.notes,
    "accomplished": sections.notes,
    "learned": sections.notes,
    "moving_forward": sections.notes,
    "other_notes": sections.notes,
    "responders": sections.responders,
    "actions": plans.actions,
    "prevention": plans.actions,
    "criteria": plans.criteria,
    "path_forward": forward.path_forward,
    "priority": forward.priority,
    "communication": forward.communication,
}


# What the attachments' sniffer names by a file's signature, and a document never is.
BINARY_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
     "application/zip", "application/gzip"}
)  # fmt: skip


# What one document may hold. A post-mortem nests steps a few levels deep and has hundreds of
# rows; the reader's cost grows faster than the nesting (1,000 levels ran a minute, then out of
# stack), so a document past these is refused up front, naming the line, before any reading.
MAX_NESTING = 16
MAX_SECTION_ROWS = 2_000
MAX_ROWS = 10_000


class DocumentError(ValueError):
    """The document cannot be imported. `code`: binary, empty, too_large, no_title,
    too_deep, too_many_rows."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def decode(data: bytes | str) -> str:
    """Text of an uploaded document; refuses binary data, empty or oversized documents."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            "too_large",
            f"The document is {len(raw):,} bytes; the limit is {MAX_DOCUMENT_BYTES:,} (1 MB).",
        )
    if isinstance(data, str):
        text = data
    else:
        # By their signature first: an image or an archive can carry few enough NUL and control
        # bytes near its start to pass for Windows-1252 text.
        if sniff(raw[:HEAD_BYTES]) in BINARY_TYPES:
            raise _binary()
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                text = raw.decode("utf-16")
            except UnicodeDecodeError:
                raise _binary() from None
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                # Not UTF-8: a document saved by an older Windows editor is Windows-1252; real
                # binary data is still caught below by its NUL and control bytes.
                try:
                    text = raw.decode("cp1252")
                except UnicodeDecodeError:
                    raise _binary() from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text or _controls(text) > max(8, len(text) // 100):
        raise _binary()
    if not text.strip():
        raise DocumentError("empty", "The document is empty.")
    return text


def _controls(text: str) -> int:
    return sum(1 for c in text if c < " " and c not in "\n\r\t\f")


def _binary() -> DocumentError:
    return DocumentError("binary", "This is not a Markdown document (it looks like binary data).")


def _lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [line.rstrip() for line in repair_mojibake(text).split("\n")]


def _check_size(lines: list[str]) -> None:
    """Refuse nesting deeper than MAX_NESTING and more rows (list items, table rows) than
    MAX_SECTION_ROWS under one heading or MAX_ROWS in all, naming the first line past the limit.
    One pass, before the reader: the limits exist to spare the reader's time."""
    indents: list[int] = []
    section_rows = rows = 0
    for number, line in enumerate(lines, start=1):
        if HEADING_RE.match(line):
            indents, section_rows = [], 0
            continue
        item = LIST_RE.match(line)
        if item is None and not line.lstrip().startswith("|"):
            continue
        section_rows += 1
        rows += 1
        if item is not None:
            indent = len(item.group(1).expandtabs(4))
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
            if len(indents) > MAX_NESTING:
                raise DocumentError(
                    "too_deep",
                    f"Line {number} nests a list {len(indents)} levels deep; at most "
                    f"{MAX_NESTING} can be imported.",
                )
        if section_rows > MAX_SECTION_ROWS:
            raise DocumentError(
                "too_many_rows",
                f"Line {number} is row {section_rows:,} of its section; at most "
                f"{MAX_SECTION_ROWS:,} rows a section can be imported.",
            )
        if rows > MAX_ROWS:
            raise DocumentError(
                "too_many_rows",
                f"Line {number} is row {rows:,} of the document; at most {MAX_ROWS:,} rows "
                "can be imported.",
            )


def _looks_like_markdown(lines: list[str]) -> bool:
    return any(HEADING_RE.match(x) or LIST_RE.match(x) or FIELD_RE.match(x) for x in lines)


def parse_postmortem(data: bytes | str, *, title: str | None = None) -> Draft:
    """The document's draft and report. `title` is used when given (it wins over the
    document's own)."""
    text = decode(data)
    lines = _lines(text)
    _check_size(lines)
    if not _looks_like_markdown(lines):
        raise DocumentError(
            "binary",
            "This does not look like a Markdown post-mortem: it has no headings, lists or "
            "**Field:** lines.",
        )
    reader = Reader(HANDLERS)
    draft = reader.read(lines)
    draft.digest = hashlib.sha256("\n".join(lines).strip("\n").encode()).hexdigest()
    draft.report.repaired_characters = repair_mojibake(text) != text
    if title and title.strip():
        draft.title = title.strip()
    if not draft.title.strip():
        raise DocumentError(
            "no_title", "The document has no title (a top-level '# ' heading); give it one."
        )
    if len(draft.title) > 200:
        reader.unrecognized("", f"# {draft.title}")
        reader.warn(
            "The title was longer than 200 characters; it is cut, and kept whole as a note."
        )
        draft.title = fit(draft.title, 200)[0]
    reader.finish()
    if draft.report.repaired_characters:
        reader.warn(
            "Characters garbled by a wrong text encoding (emoji and the like) were repaired."
        )
    return draft
