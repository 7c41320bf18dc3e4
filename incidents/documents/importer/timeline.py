"""Reader of timelines: events from list items, lines and table rows that start with a time,
and of "What happened" steps, which may come without times."""

from __future__ import annotations

import re
from datetime import date

from incidents.documents.importer import fields as f
from incidents.documents.importer.blocks import Block, Item, Section, parse_blocks
from incidents.documents.importer.draft import EventDraft
from incidents.documents.importer.items import leading_mark
from incidents.documents.importer.reader import Reader
from incidents.documents.rowtext import event_kind
from incidents.documents.text import SEP, cell_text, heading_words
from incidents.models import TimelineEvent

# A time at the start of a line, maybe with its date, maybe emphasised ("**06:01**", "[06:01]"):
# a closing mark is consumed only when an opening one was there.
STAMP_RE = re.compile(
    r"^\s*(?:(?P<bold>\*\*|__)|(?P<code>`)|(?P<bracket>\[))?"
    rf"(?:(?P<date>{f.DATE_RE.pattern})[\sT,]*)?(?P<time>{f.TIME_RE.pattern})"
    r"(?(bold)(?:\*\*|__))(?(code)`)(?(bracket)\])\s*(?:[-\u2013\u2014:|·]+\s*)?",
    re.I,
)
_KIND_LABELS = {
    **{label.lower(): value for value, label in TimelineEvent.Kind.choices},
    **{value: value for value in TimelineEvent.Kind.values},
}
_UTC_NOTE_RE = re.compile(r"^[\s(*_]*(all\s+)?times?\b.{0,20}\b(UTC|GMT)\b[\s).*_]*$", re.I)
# What a third-party timeline line says happened, by its words; the first match wins.
_KIND_WORDS = (
    (re.compile(r"roll(?:ed|ing)?[\s-]?back|revert", re.I), TimelineEvent.Kind.ROLLBACK),
    (
        re.compile(r"outage (?:begins|began|starts|started)|\btrigger", re.I),
        TimelineEvent.Kind.TRIGGER,
    ),
    (
        re.compile(r"outage ends|\bresolved\b|all clear|fully recovered", re.I),
        TimelineEvent.Kind.RESOLVED,
    ),
    (re.compile(r"\bmitigat", re.I), TimelineEvent.Kind.MITIGATED),
    (
        re.compile(r"\b(alert|paged|page fired|detected|noticed|reported)", re.I),
        TimelineEvent.Kind.DETECTED,
    ),
    (re.compile(r"\bdeploy", re.I), TimelineEvent.Kind.DEPLOYMENT),
    (
        re.compile(r"status page|\bemail(?:ed)?\b|announc|tweet|notif", re.I),
        TimelineEvent.Kind.COMMUNICATION,
    ),
)


# --- Timeline --------------------------------------------------------------------------------


def _kind_and_text(text: str) -> tuple[str, str]:
    kind, rest = event_kind(text)
    if kind is not None:
        return kind, rest
    label, sep, rest = text.partition(SEP.strip() + " ")
    if sep and label.strip().lower() in _KIND_LABELS:
        return _KIND_LABELS[label.strip().lower()], rest.strip()
    for pattern, kind in _KIND_WORDS:
        if pattern.search(text):
            return kind, text
    return TimelineEvent.Kind.NOTE, text


class TimelineReader:
    """Events from list items, lines and table rows that start with a time; date-only lines
    and headings set the day for the events after them."""

    def __init__(self, reader: Reader, *, untimed_ok: bool) -> None:
        self.reader = reader
        self.day: date | None = None
        self.untimed_ok = untimed_ok  # "What happened" steps may come without times
        self.more: dict[int, list[str]] = {}  # continuation lines per event, joined once

    def entry(self, text: str, more: str = "") -> bool:
        text = text.strip()
        stamp = STAMP_RE.match(text)
        if stamp is None and _UTC_NOTE_RE.search(text) and f.find_moment(text) is None:
            return True  # "All times are UTC": how to read the times, not an event
        if stamp is None:
            day = f.parse_date(text)
            if day and len(text) < 60 and f.find_moment(text) is None:
                self.day = day
                return True
            if not self.untimed_ok:
                return False
            kind, rest = _kind_and_text(leading_mark(text)[1])
            self._add(None, kind, rest, more)
            return True
        moment = f.find_moment(stamp.group(0))
        rest = text[stamp.end() :].strip()
        kind, rest = _kind_and_text(rest)
        self._add(moment, kind, rest, more)
        return True

    def _add(self, moment: f.Moment | None, kind: str, text: str, more: str) -> None:
        body = "\n".join(part for part in (text, more) if part)
        if not body.strip():
            return
        draft = self.reader.draft
        draft.timeline.append(EventDraft(occurred_at=None, text=body, kind=kind))
        if moment is not None:
            self.reader.pending_times.append((len(draft.timeline) - 1, moment, self.day))
        self.reader.report.count("Timeline")

    def items(self, items: list[Item]) -> None:
        for item in items:
            text = item.text
            if item.checked is not None:
                text = f"[{'x' if item.checked else ' '}] {text}"
            is_day = STAMP_RE.match(text) is None and f.parse_date(text) and len(text) < 60
            if is_day and item.children:
                self.entry(text)
                self.items(item.children)
            elif not self.entry(text, "\n".join(item.body)):
                self.reader.unrecognized(self.reader.here(), item.full_text())

    def table(self, block: Block) -> None:
        header = [heading_words(cell) for cell in block.rows[0]]
        kind_col = next((i for i, h in enumerate(header) if h in ("kind", "type")), None)
        for row in block.rows[1:]:
            row = [cell_text(cell) for cell in row]
            cells = [c for i, c in enumerate(row) if i != kind_col]
            line = " — ".join(c for c in cells[1:] if c)
            stamp = cells[0] if cells else ""
            if kind_col is not None and kind_col < len(row) and row[kind_col]:
                line = f"{row[kind_col]} · {line}"
            if not self.entry(f"{stamp} {line}".strip()):
                self.reader.unrecognized(self.reader.here(), "| " + " | ".join(row) + " |")

    def blocks(self, blocks: list[Block], *, prose_to: str = "") -> None:
        for block in blocks:
            if block.kind == "list" and prose_to and not _timed(block.items):
                # Numbered steps that give no time tell the story; as events they would all
                # sit at the start, in an order their times do not show.
                self.reader.append_prose(prose_to, block.raw())
            elif block.kind == "list":
                self.items(block.items)
            elif block.kind == "table":
                self.table(block)
            elif block.kind == "field":
                if f.parse_date(block.value) and not f.find_moment(block.value):
                    self.day = f.parse_date(block.value)
                else:
                    self.reader.field(block, self.reader.here())
            elif block.kind == "paragraph" and not prose_to:
                for line in block.lines:
                    if not self.entry(line):
                        if self.reader.draft.timeline and line.startswith((" ", "\t")):
                            # An indented line goes on the event above it.
                            self.more.setdefault(len(self.reader.draft.timeline) - 1, []).append(
                                line.strip()
                            )
                        else:
                            self.reader.unrecognized(self.reader.here(), line)
            elif block.kind in ("paragraph", "verbatim", "fence") and prose_to:
                self.reader.append_prose(prose_to, block.raw())
            elif block.kind != "rule":
                self.reader.unrecognized(self.reader.here(), block.raw())
        timeline = self.reader.draft.timeline
        for index, lines in self.more.items():
            timeline[index].text = "\n".join([timeline[index].text, *lines])
        self.more.clear()


def _timed(items: list[Item]) -> bool:
    """Whether any item of a list, at any depth, opens with a time."""
    stack = list(items)
    while stack:
        item = stack.pop()
        if STAMP_RE.match(item.text):
            return True
        stack.extend(item.children)
    return False


def timeline(reader: Reader, section: Section, key: str) -> None:
    events = TimelineReader(reader, untimed_ok=False)
    events.blocks(parse_blocks(section.body))
    for child in section.children:
        day = f.parse_date(child.heading)
        if day and not f.find_moment(child.heading):
            events.day = day
            events.blocks(parse_blocks(child.body))
            for grandchild in child.children:
                reader.section(grandchild, key)
        else:
            reader.section(child, key)


def what_happened(reader: Reader, section: Section, key: str) -> None:
    """Steps in a list with times are the timeline (a step there without one is placed at the
    start); paragraphs, and lists that give no time at all, are the summary."""
    events = TimelineReader(reader, untimed_ok=True)
    events.blocks(parse_blocks(section.body), prose_to="summary")
    reader.children(section, "summary")
