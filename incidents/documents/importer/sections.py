"""Readers of the sections that tell what happened: prose, status, causes, lessons, final notes
and responders (the timeline is in timeline.py). Each takes (reader, section, key) and fills the
reader's draft."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from incidents.documents.importer.blocks import Block, Item, Section, parse_blocks
from incidents.documents.importer.draft import CauseDraft, NoteDraft, StatusDraft
from incidents.documents.importer.headings import (
    CAUSE_KINDS,
    LESSON_KINDS,
    NOTE_KINDS,
    STATUS_KINDS,
    classify,
    label_of,
)
from incidents.documents.importer.items import (
    bold_title,
    has_warning_mark,
    leading_mark,
    title_and_rest,
)
from incidents.documents.importer.reader import Reader
from incidents.documents.rowtext import split_category
from incidents.documents.text import (
    RULE_RE,
    VERBATIM_CLOSE,
    VERBATIM_OPEN,
    fit,
    heading_asides,
    heading_words,
)
from incidents.models import Cause, FinalNote, Lesson, StatusItem

PROSE = {
    "summary": "summary",
    "resolution": "resolution",
    "impact": "impact",
    "next_step": "next_step",
}
_PRE_EXISTING_RE = re.compile(r"^\s*_?\(pre-?existing\)_?\s*:?\s*", re.I)
_PRE_EXISTING_END_RE = re.compile(r"\s*_?\(pre-?existing\)_?\s*$", re.I)


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
    text = text or item.text
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
    label, cut = fit(label.strip() or "(untitled)", 200)
    if cut:
        detail = "\n".join(p for p in (text, more) if p)
    return StatusDraft(
        kind=kind,
        label=label,
        detail=detail,
        ok=ok,
        warning=has_warning_mark(item.text),
        pre_existing=pre_existing,
    )


# --- Causes ----------------------------------------------------------------------------------


def cause_from_item(item: Item, kind: str, warn: Callable[[str], None]) -> CauseDraft:
    _, text = leading_mark(item.text)
    first, newline, rest = text.partition("\n")
    # The category closes the first line ("- **Title** (category: data)"); an aside that names
    # no category stays in the text, where the person who wrote it finds it again.
    first, category, problem = split_category(first)
    text = first + newline + rest
    title, rest = title_and_rest(text)
    label = label_of(title, "causes")
    if label in CAUSE_KINDS:
        kind = CAUSE_KINDS[label]
    title, cut = fit(title, 300)
    if problem:
        warn(f"The cause “{title}”: {problem} Kept in its text; no category set.")
    detail = "\n".join(p for p in (text if cut else rest, item.detail()) if p)
    children = [cause_from_item(child, kind, warn) for child in item.children]
    return CauseDraft(
        kind=kind,
        title=title or "(untitled)",
        detail=detail,
        category=category,
        children=children,
    )


def causes(reader: Reader, section: Section, key: str) -> None:
    kind = CAUSE_KINDS.get(key)
    last: CauseDraft | None = None
    # Code, tables and kept text that follow a cause are its detail; joined once, at the end.
    tails: dict[int, tuple[CauseDraft, list[str]]] = {}
    for block in parse_blocks(section.body):
        if block.kind == "list":
            for item in block.items:
                last = cause_from_item(item, kind or Cause.Kind.CONTRIBUTING, reader.warn)
                reader.draft.causes.append(last)
                reader.report.count("Causes", 1 + _count(last.children))
        elif block.kind == "paragraph":
            reader.cause_from_text(kind or Cause.Kind.PRIMARY, "\n".join(block.lines))
            last = reader.draft.causes[-1]
        elif block.kind == "field":
            reader.field(block, reader.here())
        elif block.kind in ("fence", "table", "verbatim") and last is not None:
            tail = tails.setdefault(id(last), (last, [last.detail] if last.detail else []))
            tail[1].append(block.raw())
        elif block.kind != "rule":
            reader.unrecognized(reader.here(), block.raw())
    for cause, parts in tails.values():
        cause.detail = "\n\n".join(parts)
    reader.children(section, "causes")


def _count(rows: list) -> int:
    return sum(1 + _count(row.children) for row in rows)


# --- Lessons and notes -------------------------------------------------------------------------


def _texts(reader: Reader, section: Section) -> Iterator[tuple[bool | None, str]]:
    """(mark, text) of each list item and paragraph of a section body; fields go to the
    reader, anything else is kept as it is."""
    for block in parse_blocks(section.body):
        if block.kind == "list":
            for item in block.items:
                mark, text = leading_mark(item.full_text())
                # An item that is only a mark ("- ✅") keeps the mark as its text.
                yield mark, text or item.full_text()
        elif block.kind in ("paragraph", "fence", "table") or block.kind == "verbatim":
            yield None, block.raw()
        elif block.kind == "field":
            reader.field(block, reader.here())


def lessons(reader: Reader, section: Section, key: str) -> None:
    kind = LESSON_KINDS.get(key)
    for mark, text in _texts(reader, section):
        if not text.strip():
            continue
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
        if not text.strip():
            continue
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
