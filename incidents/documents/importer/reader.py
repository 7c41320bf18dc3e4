"""Walks a document's sections and hands each to the reader of what it is.

The Reader holds what every section reader shares: the draft being filled, the report, the
document's fields (date, severity, status, ...) and the rule that nothing is dropped: a section,
block or field nobody understands becomes an `other` note, listed in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from incidents.documents.importer import fields as f
from incidents.documents.importer.blocks import Block, Section, parse_blocks, split_sections
from incidents.documents.importer.draft import CauseDraft, Draft, NoteDraft, Unrecognized
from incidents.documents.importer.headings import (
    PROSE_SECTIONS,
    classify,
    names_section,
    unread_asides,
)
from incidents.documents.importer.items import has_warning_mark, leading_mark
from incidents.documents.rowtext import WARNING_SIGN, split_category
from incidents.documents.text import (
    fit,
    heading_aside_list,
    heading_title,
    heading_words,
    plain_heading,
)
from incidents.models import Cause, FinalNote, Incident

# Field keys (in heading_words form) and what they set.
FIELD_KEYS: dict[str, tuple[str, ...]] = {
    "span": ("incident date", "date", "when", "incident window", "window", "time", "date and time"),
    "start": ("start", "started", "start time", "began", "started at", "incident start", "outage start"),
    "end": (
        "end", "ended", "end time", "resolved at", "resolved", "recovered", "ended at",
        "incident end", "outage end",
    ),
    "detected": ("detected", "detected at", "detection time", "time detected"),
    "mitigated": ("mitigated", "mitigated at", "mitigation time"),
    "duration": ("duration", "length", "downtime", "total duration", "outage duration"),
    "severity": ("severity", "sev", "severity level", "impact level", "incident severity"),
    "status": ("status",),
    "incident_status": ("incident status",),
    "postmortem": ("post mortem", "postmortem", "postmortem status", "post mortem status", "document status"),
    "service": ("service", "services", "product", "system", "affected service", "affected system"),
    "authors": ("authors", "author", "written by", "prepared by", "owners"),
    "reference": ("reference", "incident id", "incident", "id", "ref"),
    "title": ("title", "incident title"),
    "summary": ("summary", "overview", "tldr", "description"),
    "impact": ("impact", "customer impact", "user impact"),
    "root_cause": ("root cause", "root causes", "cause", "causes"),
    "trigger": ("trigger",),
    "resolution": ("resolution", "fix"),
    "detection": ("detection", "how it was detected"),
    "next_step": ("next step", "next steps"),
    "eta": ("eta", "expected", "expected by"),
}  # fmt: skip
_FIELD_LOOKUP = {phrase: key for key, phrases in FIELD_KEYS.items() for phrase in phrases}
# Keys whose values are prose appended to the incident's text of the same name.
_PROSE_FIELDS = {"summary": "summary", "impact": "impact", "resolution": "resolution"}
Handler = Callable[["Reader", Section, str], None]


def field_key(key: str) -> str | None:
    return _FIELD_LOOKUP.get(heading_words(key))


class Reader:
    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self.draft = Draft()
        self.report = self.draft.report
        self.day: date | None = None
        self.duration: tuple[timedelta, str] | None = None
        # Timeline entries whose date is settled once the whole document is read.
        self.pending_times: list[tuple[int, f.Moment, date | None]] = []
        self.trail: list[str] = []
        self.prose: dict[str, list[str]] = {}

    # --- The walk ---------------------------------------------------------------------------

    def read(self, lines: list[str]) -> Draft:
        root = split_sections(lines)
        top = root.children
        header = [root]
        title_section = next((s for s in top if s.level == 1), None)
        if title_section is not None and not names_section(title_section.heading):
            self.draft.title = heading_title(title_section.heading)
            header.append(title_section)
            index = top.index(title_section)
            top = [*top[:index], *title_section.children, *top[index + 1 :]]
        for section in header:
            self.header(section.body)
        for section in top:
            self.section(section, None)
        return self.draft

    def header(self, body: list[str]) -> None:
        """What sits above the first section: the document's fields and its lead paragraph."""
        for block in parse_blocks(body):
            if block.kind == "field":
                self.field(block, "")
            elif block.kind in ("paragraph", "verbatim"):
                plain = self.plain_field(block)
                if not plain:
                    self.append_prose("summary", block.raw())
            elif block.kind != "rule":
                self.unrecognized("", block.raw())

    def plain_field(self, block: Block) -> bool:
        """Header lines written as "Severity: SEV-2" without bold; True if every line is one."""
        found = []
        for line in block.lines:
            key, sep, value = line.partition(":")
            if not sep or not field_key(key.strip(" *_")):
                return False
            found.append((key.strip(" *_"), value.strip()))
        for key, value in found:
            self.field(Block("field", [f"{key}: {value}"], key=key, value=value), "")
        return True

    def section(self, section: Section, parent: str | None) -> None:
        key = classify(section.heading, parent)
        handler = self.handlers.get(key.split(":")[0] if key else "")
        if handler is None:
            self.unrecognized(self.here(), section.raw())
            return
        self.trail.append(plain_heading(section.heading))
        self.keep_asides(section.heading, key or "")
        try:
            handler(self, section, key or "")
        finally:
            self.trail.pop()

    def children(self, section: Section, key: str) -> None:
        for child in section.children:
            self.section(child, key)

    def here(self) -> str:
        """Where the reader is, as a heading path: "Root Cause Analysis > Contributing"."""
        return " > ".join(self.trail)

    # --- Keeping what is not understood -----------------------------------------------------

    def unrecognized(self, where: str, text: str) -> None:
        text = text.strip("\n")
        if not text.strip():
            return
        self.report.unrecognized.append(Unrecognized(where=where, text=text))
        self.draft.final_notes.append(NoteDraft(kind=FinalNote.Kind.OTHER, text=text))
        self.report.count("Other notes (kept verbatim)")

    def keep_asides(self, heading: str, key: str) -> None:
        """What a heading says in brackets beyond what the section is: the start of the text
        for a prose section, else a note under the heading's name ("Production
        (https://example.org)"), so a qualifier is never lost with the heading."""
        said = unread_asides(heading)
        if not said:
            return
        prose = PROSE_SECTIONS.get(key.split(":")[0])
        if prose:
            self.append_prose(prose, " ".join(f"({aside})" for aside in said))
        else:
            self.unrecognized(self.here(), heading_title(heading))

    def warn(self, message: str) -> None:
        if message not in self.report.warnings:
            self.report.warnings.append(message)

    # --- Prose and fields -------------------------------------------------------------------

    def append_prose(self, name: str, text: str) -> None:
        """Add a paragraph to one of the incident's texts. Parts are joined once, in finish():
        appending to a growing string per paragraph would be quadratic."""
        text = text.strip("\n")
        if not text.strip():
            return
        self.prose.setdefault(name, []).append(text)
        label = name.replace("_", " ").capitalize()
        self.report.counts.setdefault(label, 1)

    def field(self, block: Block, where: str) -> None:
        key = field_key(block.key)
        value = block.value
        draft = self.draft
        handled = True
        if key == "span":
            handled = self._span(value)
        elif key in ("start", "end", "detected", "mitigated"):
            handled = self._moment(key, value)
        elif key == "duration":
            parsed = f.parse_duration(value)
            handled = parsed is not None and self.duration is None
            if parsed is not None and handled:
                self.duration = (parsed, value)
        elif key == "severity":
            severity = f.parse_severity(value)
            handled = bool(severity) and not draft.severity
            if severity and handled:
                draft.severity = severity
                if heading_aside_list(value):
                    # "Critical (Complete Outage)": the words say what the level cannot.
                    self.append_prose("impact", f"Severity: {value}")
        elif key in ("status", "incident_status"):
            handled = self._status(key, value)
        elif key == "postmortem":
            state = f.parse_postmortem_state(value)
            handled = bool(state)
            draft.postmortem_state = state or draft.postmortem_state
        elif key in ("service", "reference", "title"):
            handled = not getattr(draft, key) and bool(value)
            if handled:
                setattr(draft, key, value.strip("`*_ "))
        elif key == "authors":
            names = [
                n.strip(" @`*_") for n in value.replace(" and ", ",").replace(";", ",").split(",")
            ]
            draft.authors.extend(n for n in names if n and " " not in n)
            handled = any(" " not in n for n in names if n)
            if not handled:
                self.unrecognized(where, block.raw())
                return
        elif key in _PROSE_FIELDS:
            self.append_prose(_PROSE_FIELDS[key], value)
        elif key in ("root_cause", "trigger"):
            kind = Cause.Kind.PRIMARY if key == "root_cause" else Cause.Kind.TRIGGER
            self.cause_from_text(kind, value)
        elif key == "detection":
            self.append_prose("summary", f"Detection: {value}")
        elif key == "next_step":
            self.append_prose("next_step", value)
        elif key == "eta":
            self.append_prose("next_step", f"ETA: {value}")
        else:
            handled = False
        if not handled:
            self.unrecognized(where, block.raw())

    def cause_from_text(self, kind: str, text: str) -> None:
        # "**Root cause:** The key expired (category: configuration)" reads as the export's
        # cause line does; an aside naming no category stays in the title.
        text, category, problem = split_category(text)
        title, overflow = fit(" ".join(text.split()), 300)
        if problem:
            self.warn(f"The cause “{title}”: {problem} Kept in its text; no category set.")
        detail = text if overflow else ""
        self.draft.causes.append(
            CauseDraft(kind=kind, title=title, detail=detail, category=category)
        )
        self.report.count("Causes")

    def _span(self, value: str) -> bool:
        day = f.parse_date(value)
        span = f.parse_span(value, day)
        if day and self.day is None:
            self.day = day
        if span.start is None:
            return day is not None
        if self.draft.started_at is None:
            self.draft.started_at = span.start
        if span.end is not None and self.draft.resolved_at is None:
            self.draft.resolved_at = span.end
        return True

    def _moment(self, key: str, value: str) -> bool:
        when = f.parse_datetime(value, self.day)
        if when is None:
            return False
        name = {"start": "started_at", "end": "resolved_at"}.get(key, f"{key}_at")
        if getattr(self.draft, name) is not None:
            return getattr(self.draft, name) == when
        setattr(self.draft, name, when)
        if key == "start" and self.day is None:
            self.day = when.date()
        return True

    def _status(self, key: str, value: str) -> bool:
        status = f.parse_status(value)
        draft = self.draft
        if key == "incident_status":
            if status and not draft.status:
                draft.status = status
                return True
            return status is not None and draft.status == status
        line = leading_mark(value)[1]
        if has_warning_mark(value):
            # ✅ and ❌ say what the incident's status says; a warning says more, so the free
            # text keeps it.
            line = f"{WARNING_SIGN} {line}"
        if draft.status_line and draft.status_line != line[:200]:
            return False
        draft.status_line = line[:200]
        if status and not draft.status:
            draft.status = status
        elif status is None and not draft.postmortem_state:
            # SRE's "Status: Draft" is the write-up's state, not the incident's.
            draft.postmortem_state = f.parse_postmortem_state(value) or ""
        return True

    # --- Once everything is read ----------------------------------------------------------

    def finish(self) -> Draft:
        draft = self.draft
        for name, parts in self.prose.items():
            setattr(draft, name, "\n\n".join(parts))
        if draft.started_at is None:
            earliest = min(
                (e.occurred_at for e in draft.timeline if e.occurred_at is not None), default=None
            )
            if earliest is None and self.pending_times:
                day = self.day or self.pending_times[0][2]
                if day is not None:
                    earliest = self.pending_times[0][1].on(day)
            if earliest is None and self.day is not None:
                earliest = datetime.combine(self.day, datetime.min.time(), tzinfo=UTC)
                self.warn(
                    "The document gives a date but no start time; the start is set to 00:00 UTC."
                )
            if earliest is None:
                earliest = datetime.now(UTC).replace(second=0, microsecond=0)
                self.warn(
                    "The document gives no date or time; the start is set to the time of import."
                )
            draft.started_at = earliest
        day = self.day or draft.started_at.date()
        for index, moment, when in self.pending_times:
            draft.timeline[index].occurred_at = moment.on(when or day)
        self._duration()
        untimed = [e for e in draft.timeline if e.occurred_at is None]
        for event in untimed:
            event.occurred_at = draft.started_at
        if untimed:
            self.warn(
                f"{len(untimed)} timeline step{'s' if len(untimed) != 1 else ''} had no time; "
                "they are placed at the incident's start, in the document's order."
            )
        self._times_in_order()
        if not draft.status:
            resolved = draft.resolved_at is not None
            draft.status = Incident.Status.RESOLVED if resolved else Incident.Status.INVESTIGATING
        if draft.status == Incident.Status.RESOLVED and draft.resolved_at is None:
            # Every event has its time by now (the untimed ones took the start's).
            times = (e.occurred_at for e in draft.timeline if e.occurred_at is not None)
            draft.resolved_at = max([draft.started_at, *times])
            self.warn(
                "The document says it is resolved but not when; the end is its last known time."
            )
        if draft.status != Incident.Status.RESOLVED and draft.resolved_at is not None:
            # Only a resolved incident has an end; the status the author wrote wins, and the
            # end they gave is said here rather than dropped unseen.
            self.warn(
                f"The document says the incident is {Incident.Status(draft.status).label.lower()}"
                f", so its end ({draft.resolved_at:%Y-%m-%d %H:%M} UTC) is not set; resolve the "
                "incident to set it."
            )
            draft.resolved_at = None
        return draft

    def _duration(self) -> None:
        draft = self.draft
        if self.duration is None:
            return
        duration, written = self.duration
        assert draft.started_at is not None  # finish() set it first
        if draft.resolved_at is None:
            draft.resolved_at = draft.started_at + duration
            return
        actual = draft.resolved_at - draft.started_at
        if abs(actual - duration) > timedelta(minutes=1):
            self.warn(
                f'The duration says "{written}", but the times run from '
                f"{draft.started_at:%Y-%m-%d %H:%M} to {draft.resolved_at:%Y-%m-%d %H:%M} "
                f"({f.describe_duration(actual)}); the times are kept."
            )

    def _times_in_order(self) -> None:
        """Detected, mitigated and resolved cannot come before the start; such a time is kept
        as a note instead of being stored out of order."""
        draft = self.draft
        for name in ("detected_at", "mitigated_at", "resolved_at"):
            value = getattr(draft, name)
            if value is not None and value < draft.started_at:
                label = name.removesuffix("_at").capitalize()
                self.unrecognized("", f"**{label}:** {value:%Y-%m-%d %H:%M %Z}")
                self.warn(f"{label} ({value:%Y-%m-%d %H:%M}) is before the start; kept as a note.")
                setattr(draft, name, None)
