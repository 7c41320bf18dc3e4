"""An incident as a GitHub-flavoured Markdown post-mortem.

The sections follow the seed document's order: the facts under the title, summary and impact,
the timeline (a table of time, kind and text), resolution, current status, root cause
analysis (a cause's category closes its line: "- **Title** (category: configuration)"),
lessons, action items (task lists by horizon, one item a line in rowtext's syntax:
"- [ ] Title p1 prevent @alex due:2026-01-09"), the path forward, communications (fenced,
with their subject), success criteria, final notes and the next step.
All times are UTC, to the second.

What it writes, the importer reads back to the same structure (tests/incidents/test_roundtrip
pins it): details of causes and action items are block quotes under their item, and a text that
would read as structure (a heading in a summary, say) is wrapped in a verbatim marker, an HTML
comment that GitHub does not show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from incidents.documents.editing.forwardtext import format_forward
from incidents.documents.importer.fields import describe_duration
from incidents.documents.rowtext import (
    action_detail,
    action_line,
    cause_line,
    continued,
    status_line,
)
from incidents.documents.text import (
    SEP,
    fence_for,
    indent,
    looks_structural,
    quote,
    table_cell,
    wrap_verbatim,
)
from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    FinalNote,
    Horizon,
    Incident,
    Lesson,
    StatusItem,
)

UTC_NOTE = "All times are UTC."
TIMELINE_COLUMNS = ("Time", "Kind", "What happened")
_STATUS_HEADINGS = {
    StatusItem.Kind.CURRENT: "Current status",
    StatusItem.Kind.WORKING: "What's Working",
    StatusItem.Kind.KNOWN_ISSUE: "Known Issues",
}
_CAUSE_HEADINGS = {
    Cause.Kind.PRIMARY: "Primary Cause",
    Cause.Kind.TRIGGER: "Trigger",
    Cause.Kind.CONTRIBUTING: "Contributing Factors",
    Cause.Kind.ASSUMPTION: "Incorrect Assumptions",
}
_LESSON_HEADINGS = {
    Lesson.Kind.WENT_WRONG: "What Went Wrong",
    Lesson.Kind.WENT_RIGHT: "What Went Right",
    Lesson.Kind.LUCKY: "Where We Got Lucky",
}
_NOTE_HEADINGS = {
    FinalNote.Kind.ACCOMPLISHED: "What We Accomplished",
    FinalNote.Kind.LEARNED: "What We Learned",
    FinalNote.Kind.MOVING_FORWARD: "Moving Forward",
    FinalNote.Kind.OTHER: "Other Notes",
}


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"


def _at(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d} {_clock(moment)} UTC"


def _safe_prose(text: str) -> str:
    text = text.strip("\n")
    return wrap_verbatim(text) if looks_structural(text) else text


def _item_text(text: str) -> str:
    """A text as a list item's content: continuation lines indented under the marker."""
    first, _, rest = text.strip("\n").partition("\n")
    return first + ("\n" + indent(rest, "  ") if rest else "")


class _Writer:
    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.out: list[str] = []

    def line(self, *lines: str) -> None:
        self.out.extend(lines)

    def section(self, title: str) -> None:
        while self.out and self.out[-1] == "":
            self.out.pop()
        if len(self.out) > 3:
            self.out.extend(["", "---", ""])
        self.out.extend([f"## {title}", ""])

    def sub(self, title: str) -> None:
        if self.out and self.out[-1] != "":
            self.out.append("")
        self.out.extend([f"### {title}", ""])

    def prose(self, title: str, text: str) -> None:
        if text.strip():
            self.section(title)
            self.line(_safe_prose(text))

    def text(self) -> str:
        return "\n".join(self.out).rstrip() + "\n"


def _header(w: _Writer, incident: Incident) -> None:
    start = incident.started_at.astimezone(UTC)
    end = incident.resolved_at.astimezone(UTC) if incident.resolved_at else None
    when = _at(start)
    if end is not None:
        end_text = _clock(end) if end.date() == start.date() else f"{end:%Y-%m-%d} {_clock(end)}"
        when = f"{start:%Y-%m-%d} {_clock(start)} - {end_text} UTC"
    facts = [
        ("Reference", incident.reference),
        ("Service", f"{incident.service.name} (`{incident.service.slug}`)"),
        ("Incident Date", when),
        ("Duration", describe_duration(end - start) if end is not None else ""),
        # The page's own words ("SEV2 · High"), which the importer reads back.
        ("Severity", incident.get_severity_display()),
        ("Incident status", incident.get_status_display()),
        ("Status", incident.status_line),
        ("Post-mortem", incident.get_postmortem_state_display()),
        ("Detected", _at(incident.detected_at) if incident.detected_at else ""),
        ("Mitigated", _at(incident.mitigated_at) if incident.mitigated_at else ""),
        ("Authors", ", ".join(a.get_username() for a in incident.authors.all())),
    ]
    w.line(f"# {incident.title}", "")
    shown = [(k, v) for k, v in facts if v]
    for index, (key, value) in enumerate(shown):
        # Two trailing spaces: a line break in Markdown, so the facts stay one per line.
        w.line(f"**{key}:** {value}" + ("  " if index < len(shown) - 1 else ""))


def _timeline(w: _Writer, incident: Incident, events: Iterable) -> None:
    # A line an editor hid from the published post-mortem stays on the page and on record only;
    # so does one the draft from the facts proposed that nobody kept yet.
    events = [event for event in events if not event.hidden and not event.proposed]
    if not events:
        return
    w.section("Timeline")
    w.line(UTC_NOTE, "")
    # A table, as post-mortems are usually written and read: one row an event, its lines
    # joined by <br> (the importer splits them again).
    w.line(f"| {' | '.join(TIMELINE_COLUMNS)} |", "| --- | --- | --- |")
    day: date = incident.started_at.astimezone(UTC).date()
    for event in events:
        at = event.occurred_at.astimezone(UTC)
        stamp = _clock(at) if at.date() == day else f"{at:%Y-%m-%d} {_clock(at)}"
        w.line(f"| {stamp} | {event.get_kind_display()} | {table_cell(event.text)} |")


def _status(w: _Writer, rows: list[StatusItem]) -> None:
    if not rows:
        return
    w.section("Current Status")
    for kind, heading in _STATUS_HEADINGS.items():
        mine = [r for r in rows if r.kind == kind]
        if not mine:
            continue
        w.sub(heading)
        for row in mine:
            w.line(f"- {status_line(row)}")


def _tree(rows: Iterable[Any]) -> tuple[list[Any], dict[int, list[Any]]]:
    children: dict[int, list[Any]] = defaultdict(list)
    top: list[Any] = []
    for row in sorted(rows, key=lambda r: (r.order, r.pk)):
        (children[row.parent_id] if row.parent_id else top).append(row)
    return top, children


def _cause(w: _Writer, cause: Cause, children: dict[int, list], depth: int) -> None:
    pad = "  " * depth
    w.line(f"{pad}- {cause_line(cause)}")
    if cause.detail:
        w.line(quote(cause.detail, pad + "  "))
    for child in children.get(cause.pk, []):
        _cause(w, child, children, depth + 1)


def _causes(w: _Writer, rows: list[Cause]) -> None:
    top, children = _tree(rows)
    if not top:
        return
    w.section("Root Cause Analysis")
    for kind, heading in _CAUSE_HEADINGS.items():
        mine = [c for c in top if c.kind == kind]
        if mine:
            w.sub(heading)
            for cause in mine:
                _cause(w, cause, children, 0)


def _grouped_texts(w: _Writer, title: str, headings: dict, rows: list) -> None:
    if not rows:
        return
    w.section(title)
    for kind, heading in headings.items():
        mine = sorted((r for r in rows if r.kind == kind), key=lambda r: (r.order, r.pk))
        if not mine:
            continue
        w.sub(heading)
        for row in mine:
            if kind == FinalNote.Kind.OTHER:
                w.line(wrap_verbatim(row.text.strip("\n")), "")
            else:
                w.line(f"- {continued(row.text)}")


def _action(
    w: _Writer,
    item: ActionItem,
    children: dict[int, list[ActionItem]],
    depth: int,
    parent: ActionItem | None = None,
) -> None:
    pad = "  " * depth
    w.line(f"{pad}- {action_line(item, parent.horizon if parent is not None else None)}")
    # A won't do's reason opens the quote, on its one line; the importer takes it back there.
    detail = action_detail(item)
    if detail:
        w.line(quote(detail, pad + "  "))
    for child in children.get(item.pk, []):
        _action(w, child, children, depth + 1, item)


def _actions(w: _Writer, rows: list[ActionItem]) -> None:
    top, children = _tree(rows)
    if not top:
        return
    w.section("Action Items")
    for horizon, label in Horizon.choices:
        mine = [i for i in top if i.horizon == horizon]
        if mine:
            w.sub(label)
            for item in mine:
                _action(w, item, children, 0)


def _path_forward(w: _Writer, priorities: list) -> None:
    if not priorities:
        return
    w.section("Path Forward")
    text, _ = format_forward(sorted(priorities, key=lambda p: (p.order, p.pk)))
    w.line(text.rstrip("\n"))


def _communications(w: _Writer, rows: list[Communication]) -> None:
    if not rows:
        return
    w.section("Communication")
    for message in rows:
        parts = [message.get_audience_display()]
        if message.phase:
            parts.append(message.get_phase_display())
        parts.append(message.get_status_display().split(" ")[0])
        w.sub(SEP.join(parts))
        content = f"Subject: {message.subject}\n\n{message.body}".rstrip("\n")
        fence = fence_for(content)
        w.line(fence, content, fence)


def _criteria(w: _Writer, rows: list) -> None:
    if not rows:
        return
    w.section("Success Criteria")
    for group, label in Horizon.choices:
        mine = sorted((c for c in rows if c.group == group), key=lambda c: (c.order, c.pk))
        if mine:
            w.sub(label)
            for criterion in mine:
                w.line(f"- [{'x' if criterion.done else ' '}] {continued(criterion.text)}")


def postmortem_markdown(incident: Incident, communications: Iterable[Communication] = ()) -> str:
    """The whole post-mortem. Pass an incident read with selectors.incident_document (every
    section prefetched) and its communications; nothing here queries per row."""
    w = _Writer(incident)
    _header(w, incident)
    w.prose("Summary", incident.summary)
    w.prose("Impact", incident.impact)
    _timeline(w, incident, incident.timeline_events.all())
    w.prose("Resolution", incident.resolution)
    _status(w, list(incident.status_items.all()))
    _causes(w, [c for c in incident.causes.all() if not c.proposed])
    _grouped_texts(w, "Lessons Learned", _LESSON_HEADINGS, list(incident.lessons.all()))
    _actions(w, list(incident.action_items.all()))
    _path_forward(w, list(incident.priorities.all()))
    _communications(w, list(communications))
    _criteria(w, list(incident.success_criteria.all()))
    _grouped_texts(w, "Final Notes", _NOTE_HEADINGS, list(incident.final_notes.all()))
    w.prose("Next Step", incident.next_step)
    return w.text()
