"""What a parsed document says, before anything is written: plain values, no database.

The service (incidents.documents.services) turns a Draft into rows; the preview shows it as it
is. The report travels with it: what was mapped where, what was kept as notes, and warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from incidents.models import ActionItem, Audience, Communication, Horizon, TimelineEvent


@dataclass
class EventDraft:
    occurred_at: datetime | None  # None: the document gave no time; the service uses the start
    text: str
    kind: str = TimelineEvent.Kind.NOTE


@dataclass
class StatusDraft:
    kind: str
    label: str
    detail: str = ""
    ok: bool | None = None
    warning: bool = False  # marked ⚠️: neither healthy nor failing
    pre_existing: bool = False


@dataclass
class CauseDraft:
    kind: str
    title: str
    detail: str = ""
    category: str = ""  # a Cause.Category value, or "" for none
    children: list[CauseDraft] = field(default_factory=list)


@dataclass
class ItemDraft:
    title: str
    detail: str = ""
    status: str = ActionItem.Status.OPEN
    closed_reason: str = ""  # why a won't do will not be done, as the document says
    priority: str = ActionItem.Priority.P2
    kind: str = ActionItem.Kind.PREVENT
    horizon: str = Horizon.THIS_WEEK
    owner: str = ""  # a username as written; the service looks it up
    due_date: date | None = None
    blocks_deployments: bool = False
    children: list[ItemDraft] = field(default_factory=list)


@dataclass
class CriterionDraft:
    group: str
    text: str
    done: bool = False


@dataclass
class OptionDraft:
    label: str
    title: str
    estimate: str = ""
    detail: str = ""
    chosen: bool = False


@dataclass
class PriorityDraft:
    title: str
    urgent: bool = False
    detail: str = ""
    options: list[OptionDraft] = field(default_factory=list)


@dataclass
class CommunicationDraft:
    audience: str = Audience.USER_EMAIL
    subject: str = ""
    body: str = ""
    status: str = Communication.Status.DRAFT
    phase: str = ""


@dataclass
class NoteDraft:
    kind: str
    text: str


@dataclass
class Unrecognized:
    where: str  # the heading path it sat under, e.g. "Root Cause Analysis > Notes"
    text: str


@dataclass
class Report:
    """What the import did with the document, section by section."""

    counts: dict[str, int] = field(default_factory=dict)
    unrecognized: list[Unrecognized] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown_owners: list[str] = field(default_factory=list)
    repaired_characters: bool = False

    def count(self, label: str, n: int = 1) -> None:
        self.counts[label] = self.counts.get(label, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "unrecognized": [{"where": u.where, "text": u.text} for u in self.unrecognized],
            "warnings": list(self.warnings),
            "unknown_owners": list(self.unknown_owners),
        }

    def as_text(self) -> str:
        lines = ["Mapped:"]
        lines += [f"  {label}: {n}" for label, n in self.counts.items()]
        if self.unrecognized:
            lines.append(f"Kept as other notes ({len(self.unrecognized)}):")
            for part in self.unrecognized:
                first = part.text.strip().split("\n", 1)[0]
                lines.append(f"  [{part.where or 'top'}] {first[:100]}")
        if self.unknown_owners:
            lines.append("Owners with no Hindsight user: " + ", ".join(self.unknown_owners))
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  - {warning}" for warning in self.warnings]
        return "\n".join(lines)


@dataclass
class Draft:
    title: str = ""
    # SHA-256 of the document's lines as read (line endings, trailing blanks and garbled
    # characters aside): the same document imported twice has the same digest.
    digest: str = ""
    service: str = ""  # as the document names it: a slug or a name
    reference: str = ""  # the reference the document had elsewhere, e.g. INC-1
    severity: str = ""
    status: str = ""
    postmortem_state: str = ""
    status_line: str = ""
    started_at: datetime | None = None
    detected_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    summary: str = ""
    impact: str = ""
    resolution: str = ""
    next_step: str = ""
    authors: list[str] = field(default_factory=list)
    # Named in a responders section, which is kept as a note; known users become authors too.
    responders: list[str] = field(default_factory=list)
    timeline: list[EventDraft] = field(default_factory=list)
    status_items: list[StatusDraft] = field(default_factory=list)
    causes: list[CauseDraft] = field(default_factory=list)
    lessons: list[NoteDraft] = field(default_factory=list)
    action_items: list[ItemDraft] = field(default_factory=list)
    criteria: list[CriterionDraft] = field(default_factory=list)
    priorities: list[PriorityDraft] = field(default_factory=list)
    communications: list[CommunicationDraft] = field(default_factory=list)
    final_notes: list[NoteDraft] = field(default_factory=list)
    report: Report = field(default_factory=Report)

    def item_count(self) -> int:
        def walk(rows: list) -> int:
            return sum(1 + walk(getattr(r, "children", [])) for r in rows)

        return (
            len(self.timeline)
            + len(self.status_items)
            + walk(self.causes)
            + len(self.lessons)
            + walk(self.action_items)
            + len(self.criteria)
            + sum(1 + len(p.options) for p in self.priorities)
            + len(self.communications)
            + len(self.final_notes)
        )
