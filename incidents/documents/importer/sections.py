"""Readers of the sections that tell what happened: prose, timeline, status, causes, lessons,
final notes and responders. Each takes (reader, section, key) and fills the reader's draft."""

from __future__ import annotations

import re

from incidents.documents.importer import fields as f
from incidents.documents.importer.blocks import Block, Item, Section, parse_blocks
from incidents.documents.importer.draft import CauseDraft, EventDraft, NoteDraft, StatusDraft
from incidents.documents.importer.headings import (
    CAUSE_KINDS,
    LESSON_KINDS,
    NOTE_KINDS,
    STATUS_KINDS,
    classify,
    label_of,
)
from incidents.documents.importer.items import bold_title, leading_mark, title_and_rest
from incidents.documents.importer.reader import Reader
from incidents.documents.text import (
    RULE_RE,
    SEP,
    VERBATIM_CLOSE,
    VERBATIM_OPEN,
    heading_asides,
    heading_words,
)
from incidents.models import Cause, FinalNote, Lesson, StatusItem, TimelineEvent

PROSE = {
    "summary": "summary",
    "resolution": "resolution",
    "impact": "impact",
    "next_step": "next_step",
}
_PRE_EXISTING_RE = re.compile(r"^\s*_?\(pre-?existing\)_?\s*:?\s*", re.I)
_PRE_EXISTING_END_RE = re.compile(r"\s*_?\(pre-?existing\)_?\s*$", re.I)
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


def fit(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to `limit` characters at a word, with an ellipsis; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…", True


def body_text(lines: list[str]) -> str:
    """A section body as text: without the blank lines and rules that frame it, and unwrapped
    when it is one verbatim region."""
    start, end = 0, len(lines)
    while start < end and (not lines[start].strip() or RULE_RE.match(lines[start])):
        start += 1
    while end > start and (not lines[end - 1].strip() or RULE_RE.match(lines[end - 1])):
        end -= 1
    inner = lines[start:end]
    if (
        len(inner) >= 2
        and inner[0].strip() == VERBATIM_OPEN
        and inner[-1].strip() == VERBATIM_CLOSE
        and sum(1 for line in inner if line.strip() == VERBATIM_OPEN) == 1
    ):
        inner = inner[1:-1]
    return "\n".join(inner)


def prose(reader: Reader, section: Section, key: str) -> None:
    name = PROSE[key]
    reader.append_prose(name, body_text(section.body))
    for child in section.children:
        child_key = classify(child.heading, key)
        if child_key and child_key.split(":")[0] in reader.handlers and child_key != key:
            reader.section(child, key)
        else:
            # A sub-heading of a text is part of that text.
            reader.append_prose(name, child.raw())


def detection(reader: Reader, section: Section, key: str) -> None:
    text = body_text(section.body)
    if text:
        reader.append_prose("summary", f"Detection: {text}")
    reader.children(section, key)


def impact(reader: Reader, section: Section, key: str) -> None:
    """Impact is kept as written; a table or field lines in it may also name the severity,
    the times and the duration."""
    prose(reader, section, key)
    for block in parse_blocks(section.body):
        pairs = [(b.key, b.value) for b in [block] if b.kind == "field"]
        if block.kind == "table":
            pairs = [(row[0], row[1]) for row in block.rows[1:] if len(row) >= 2]
        for name, value in pairs:
            field = Block("field", [], key=name.strip("*_ "), value=value.strip("*_ "))
            if heading_words(field.key) in (
                "severity",
                "duration",
                "start",
                "end",
                "start time",
                "end time",
            ):
                reader.field(field, reader.here())


# --- Timeline --------------------------------------------------------------------------------


def _kind_and_text(text: str) -> tuple[str, str]:
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
        self.day = None
        self.untimed_ok = untimed_ok  # "What happened" steps may come without times

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
            cells = [c for i, c in enumerate(row) if i != kind_col]
            line = " — ".join(c for c in cells[1:] if c)
            stamp = cells[0] if cells else ""
            if kind_col is not None and kind_col < len(row) and row[kind_col]:
                line = f"{row[kind_col]} · {line}"
            if not self.entry(f"{stamp} {line}".strip()):
                self.reader.unrecognized(self.reader.here(), "| " + " | ".join(row) + " |")

    def blocks(self, blocks: list[Block], *, prose_to: str = "") -> None:
        for block in blocks:
            if block.kind == "list":
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
                            self.reader.draft.timeline[-1].text += "\n" + line.strip()
                        else:
                            self.reader.unrecognized(self.reader.here(), line)
            elif block.kind in ("paragraph", "verbatim", "fence") and prose_to:
                self.reader.append_prose(prose_to, block.raw())
            elif block.kind != "rule":
                self.reader.unrecognized(self.reader.here(), block.raw())


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
    """Steps in a list are the timeline (with or without times); paragraphs are the summary."""
    events = TimelineReader(reader, untimed_ok=True)
    events.blocks(parse_blocks(section.body), prose_to="summary")
    reader.children(section, "summary")


# --- Status ----------------------------------------------------------------------------------


def status(reader: Reader, section: Section, key: str) -> None:
    kind = STATUS_KINDS.get(key, StatusItem.Kind.CURRENT)
    pre_existing = "pre" in heading_asides(section.heading) or "pre existing" in heading_words(
        section.heading
    )
    for block in parse_blocks(section.body):
        if block.kind == "list":
            for item in block.items:
                reader.draft.status_items.append(_status_item(item, kind, pre_existing))
                reader.report.count(StatusItem.Kind(kind).label)
        elif block.kind == "field":
            reader.field(block, reader.here())
        elif block.kind != "rule":
            reader.unrecognized(reader.here(), block.raw())
    reader.children(section, "status")


def _status_item(item: Item, kind: str, pre_existing: bool) -> StatusDraft:
    ok, text = leading_mark(item.text)
    more = "\n".join(item.body)
    bold = bold_title(text)
    if bold:
        label, rest = bold
        marker = _PRE_EXISTING_RE.match(rest)
        if marker:
            pre_existing = True
            rest = rest[marker.end() :]
        detail = "\n".join(p for p in (rest, more) if p)
    else:
        trailing = _PRE_EXISTING_END_RE.search(text)
        if trailing:
            pre_existing = True
            text = text[: trailing.start()]
        label, detail = text, more
    label, cut = fit(label, 200)
    if cut:
        detail = "\n".join(p for p in (text, more) if p)
    return StatusDraft(kind=kind, label=label, detail=detail, ok=ok, pre_existing=pre_existing)


# --- Causes ----------------------------------------------------------------------------------


def cause_from_item(item: Item, kind: str) -> CauseDraft:
    _, text = leading_mark(item.text)
    title, rest = title_and_rest(text)
    label = label_of(title, "causes")
    if label in CAUSE_KINDS:
        kind = CAUSE_KINDS[label]
    title, cut = fit(title, 300)
    detail = "\n".join(p for p in (text if cut else rest, item.detail()) if p)
    children = [cause_from_item(child, kind) for child in item.children]
    return CauseDraft(kind=kind, title=title or "(untitled)", detail=detail, children=children)


def causes(reader: Reader, section: Section, key: str) -> None:
    kind = CAUSE_KINDS.get(key)
    last: CauseDraft | None = None
    for block in parse_blocks(section.body):
        if block.kind == "list":
            for item in block.items:
                last = cause_from_item(item, kind or Cause.Kind.CONTRIBUTING)
                reader.draft.causes.append(last)
                reader.report.count("Causes", 1 + _count(last.children))
        elif block.kind == "paragraph":
            reader.cause_from_text(kind or Cause.Kind.PRIMARY, "\n".join(block.lines))
            last = reader.draft.causes[-1]
        elif block.kind == "field":
            reader.field(block, reader.here())
        elif block.kind in ("fence", "table", "verbatim") and last is not None:
            last.detail = "\n\n".join(p for p in (last.detail, block.raw()) if p)
        elif block.kind != "rule":
            reader.unrecognized(reader.here(), block.raw())
    reader.children(section, "causes")


def _count(rows: list) -> int:
    return sum(1 + _count(row.children) for row in rows)


# --- Lessons and notes -------------------------------------------------------------------------


def _texts(reader: Reader, section: Section):
    """(mark, text) of each list item and paragraph of a section body; fields go to the
    reader, anything else is kept as it is."""
    for block in parse_blocks(section.body):
        if block.kind == "list":
            for item in block.items:
                yield leading_mark(item.full_text())
        elif block.kind in ("paragraph", "fence", "table") or block.kind == "verbatim":
            yield None, block.raw()
        elif block.kind == "field":
            reader.field(block, reader.here())


def lessons(reader: Reader, section: Section, key: str) -> None:
    kind = LESSON_KINDS.get(key)
    for mark, text in _texts(reader, section):
        if kind is None and mark is None:
            reader.draft.final_notes.append(NoteDraft(kind=FinalNote.Kind.LEARNED, text=text))
            reader.report.count(FinalNote.Kind.LEARNED.label)
            continue
        chosen = kind or (Lesson.Kind.WENT_RIGHT if mark else Lesson.Kind.WENT_WRONG)
        reader.draft.lessons.append(NoteDraft(kind=chosen, text=text))
        reader.report.count(Lesson.Kind(chosen).label)
    reader.children(section, "lessons")


def notes(reader: Reader, section: Section, key: str) -> None:
    kind = NOTE_KINDS.get(key, FinalNote.Kind.OTHER)
    for _mark, text in _texts(reader, section):
        reader.draft.final_notes.append(NoteDraft(kind=kind, text=text))
        reader.report.count(FinalNote.Kind(kind).label)
    reader.children(section, "final_notes")


def responders(reader: Reader, section: Section, key: str) -> None:
    """People are kept as written (a note); those named by username become authors."""
    for block in parse_blocks(section.body):
        for item in block.items:
            value = item.text.rsplit(":", 1)[-1]
            names = re.findall(r"@([\w.@+-]*\w)", value) or [value.strip(" *_`")]
            reader.draft.responders.extend(n for n in names if n and " " not in n)
    text = section.raw()
    reader.draft.final_notes.append(NoteDraft(kind=FinalNote.Kind.OTHER, text=text))
    reader.report.count("Responders (kept as a note)")
