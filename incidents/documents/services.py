"""Importing a post-mortem document: every row of it in one transaction, or nothing.

Rows are written per section (incidents.documents.bulk: each row checked by clean_fields(), then
one bulk_create() for the rows and one for their history), level by level for nested causes and
action items, so the number of statements an import costs does not grow with its rows (on
SQLite, but for Django's batches of 999 values).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from deployments.services import service_create
from feed.kinds import EventKind
from feed.services import feed_actor, feed_record_many
from incidents.documents.bulk import rows_create
from incidents.documents.importer import Report
from incidents.documents.importer.draft import CauseDraft, ItemDraft
from incidents.documents.plan import AlreadyImported, ImportPlan, postmortem_plan
from incidents.documents.text import fit
from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.base import MarkdownModel
from incidents.postmortem.services import REASON_MAX_LENGTH, feed_incident_parts, incident_create
from incidents.postmortem.services.feed import SECTION_NAMES, action_item_feed_data

M = TypeVar("M", bound=MarkdownModel)

# Relations are set from rows this function just wrote; checking them would cost a query each.
# A won't do needs its reason (actionitem_wont_do_has_reason); a document may not give one.
NO_REASON_IN_DOCUMENT = "No reason was given in the imported document."

_RELATIONS = ["incident", "parent", "owner", "done_by", "deployment", "priority", "created_by"]


@dataclass
class ImportResult:
    incident: Incident
    report: Report


class _Writer:
    def __init__(self, incident: Incident, user: User | None) -> None:
        self.incident = incident
        self.user = user if user is not None and user.is_authenticated else None
        self.now = timezone.now()
        self._orders: dict[tuple, int] = defaultdict(int)

    def order(self, *group: Any) -> int:
        """The next position among a row's siblings, counted from 0 per sibling group."""
        value = self._orders[group]
        self._orders[group] += 1
        return value

    def save(self, model: type[M], rows: Sequence[M]) -> list[M]:
        if not rows:
            return []
        for row in rows:
            row.render_markdown()
        return rows_create(model, rows, user=self.user, exclude=_RELATIONS)

    def nested(
        self,
        model: type[M],
        drafts: list,
        build: Callable[[Any, M | None], M],
    ) -> None:
        """Write a forest of drafts level by level: each level is one bulk write."""
        level: list[tuple[Any, M | None]] = [(draft, None) for draft in drafts]
        while level:
            rows = self.save(model, [build(draft, parent) for draft, parent in level])
            level = [
                (child, row)
                for (draft, _parent), row in zip(level, rows, strict=True)
                for child in draft.children
            ]


def _incident(plan: ImportPlan, user: User | None) -> Incident:
    draft = plan.draft
    service = plan.service
    if service is None:
        assert plan.new_service is not None  # set whenever service is None
        name, slug = plan.new_service
        service = service_create(name=name, slug=slug)
    fields: dict[str, Any] = {
        name: getattr(draft, name)
        for name in (
            "status_line", "detected_at", "mitigated_at", "resolved_at", "summary", "impact",
            "resolution", "next_step", "status", "postmortem_state",
        )
        if getattr(draft, name)
    }  # fmt: skip
    fields["import_digest"] = draft.digest
    assert draft.started_at is not None  # Reader.finish() always sets it
    incident = incident_create(
        service=service,
        title=draft.title,
        started_at=draft.started_at,
        severity=draft.severity or Incident._meta.get_field("severity").default,
        created_by=user if user is not None and user.is_authenticated else None,
        **fields,
    )
    authors = [a for a in plan.authors if a != user]
    if authors:
        incident.authors.add(*authors)
    return incident


def _write_sections(w: _Writer, plan: ImportPlan) -> None:
    # Relations by id: an instance assigned to a relation costs a descriptor and a check a row.
    draft, incident, user = plan.draft, w.incident.pk, w.user.pk if w.user else None
    w.save(
        TimelineEvent,
        [
            TimelineEvent(
                incident_id=incident,
                occurred_at=e.occurred_at,  # type: ignore[misc]  # Reader.finish() timed every event
                kind=e.kind,
                text=e.text,
                created_by_id=user,
            )
            for e in draft.timeline
        ],
    )
    w.save(
        StatusItem,
        [
            StatusItem(
                incident_id=incident, kind=s.kind, label=s.label, detail=s.detail, ok=s.ok,
                warning=s.warning, pre_existing=s.pre_existing, order=w.order("status", s.kind),
            )
            for s in draft.status_items
        ],
    )  # fmt: skip

    def cause(d: CauseDraft, parent: Cause | None) -> Cause:
        return Cause(
            incident_id=incident, parent_id=parent.pk if parent else None, kind=d.kind,
            title=d.title, detail=d.detail, category=d.category,
            order=w.order("cause", parent.pk if parent else None, d.kind),
        )  # fmt: skip

    w.nested(Cause, draft.causes, cause)
    w.save(
        Lesson,
        [
            Lesson(incident_id=incident, kind=n.kind, text=n.text, order=w.order("lesson", n.kind))
            for n in draft.lessons
        ],
    )

    def item(d: ItemDraft, parent: ActionItem | None) -> ActionItem:
        detail = d.detail
        owner = plan.owners.get(d.owner) if d.owner else None
        if d.owner and owner is None:
            # Kept readable on the item; the report lists it too.
            note = f"Owner: @{d.owner} (no Hindsight user by this name)"
            detail = f"{note}\n\n{detail}" if detail else note
        done = d.status == ActionItem.Status.DONE
        reason = ""
        if d.status == ActionItem.Status.WONT_DO:
            reason = d.closed_reason or NO_REASON_IN_DOCUMENT
        return ActionItem(
            incident_id=incident, parent_id=parent.pk if parent else None, title=d.title,
            detail=detail, status=d.status, closed_reason=fit(reason, REASON_MAX_LENGTH)[0],
            priority=d.priority, kind=d.kind, horizon=d.horizon,
            owner_id=owner.pk if owner else None, due_date=d.due_date,
            blocks_deployments=d.blocks_deployments, done_at=w.now if done else None,
            order=w.order("item", parent.pk if parent else None, d.horizon),
        )  # fmt: skip

    w.nested(ActionItem, draft.action_items, item)
    w.save(
        SuccessCriterion,
        [
            SuccessCriterion(
                incident_id=incident, group=c.group, text=c.text, done=c.done,
                done_at=w.now if c.done else None, order=w.order("criterion", c.group),
            )
            for c in draft.criteria
        ],
    )  # fmt: skip
    priorities = w.save(
        PathPriority,
        [
            PathPriority(
                incident_id=incident,
                title=p.title,
                urgent=p.urgent,
                detail=p.detail,
                order=w.order("priority"),
            )
            for p in draft.priorities
        ],
    )
    w.save(
        SolutionOption,
        [
            SolutionOption(
                priority_id=row.pk, label=o.label, title=o.title, estimate=o.estimate, detail=o.detail,
                chosen=o.chosen, order=w.order("option", row.pk),
            )
            for row, p in zip(priorities, draft.priorities, strict=True)
            for o in p.options
        ],
    )  # fmt: skip
    w.save(
        FinalNote,
        [
            FinalNote(incident_id=incident, kind=n.kind, text=n.text, order=w.order("note", n.kind))
            for n in draft.final_notes
        ],
    )
    w.save(
        Communication,
        [
            Communication(
                incident_id=incident, audience=c.audience, phase=c.phase, status=c.status,
                subject=c.subject, body=c.body, created_by_id=user,
                approved_at=w.now if c.status == Communication.Status.APPROVED else None,
            )
            for c in draft.communications
        ],
    )  # fmt: skip


def _feed_imported(incident: Incident, user: User | None) -> None:
    """The sections were written in bulk, past part_save: tell the feed of each action item
    and of the sections the incident now has (its declaration came before them)."""
    # One read and one INSERT however many items: an import's cost does not grow with its rows.
    items = ActionItem.objects.filter(incident=incident).select_related(
        "incident__service", "owner"
    )
    actor = feed_actor(user)
    feed_record_many(
        {
            "kind": EventKind.ACTION_ITEM_CREATED,
            "subject_id": item.pk,
            "incident": incident.reference,
            "data": action_item_feed_data(item),
            "actor": actor,
        }
        for item in items.order_by("pk")
    )
    sections = sorted(
        {
            name
            for model, name in SECTION_NAMES.items()
            if model is not SolutionOption
            and model._default_manager.filter(incident=incident).exists()
        }
    )
    if sections:
        feed_incident_parts(incident=incident, parts=sections, user=user)


@transaction.atomic
def postmortem_import(
    *,
    data: bytes | str,
    user: User | None,
    title: str | None = None,
    service_slug: str | None = None,
    create_service: bool = False,
    now: datetime | None = None,
    force: bool = False,
) -> ImportResult:
    """Create an incident from a Markdown post-mortem, with every part of it, or nothing.

    Raises incidents.documents.importer.DocumentError for a document that cannot be imported
    (binary, empty, too large, no title, no service), and AlreadyImported for a document that
    looks imported already (the same text, or the same service and start) unless `force`.
    `create_service` lets the document name a service that does not exist yet (the CLI's
    choice; the UI and API ask for an existing one).
    """
    plan = postmortem_plan(
        data=data, title=title, service_slug=service_slug, create_service=create_service
    )
    if plan.duplicate is not None and not force:
        raise AlreadyImported(plan.duplicate, plan.duplicate_reason)
    incident = _incident(plan, user)
    writer = _Writer(incident, user)
    if now is not None:
        writer.now = now
    _write_sections(writer, plan)
    _feed_imported(incident, user)
    return ImportResult(incident=incident, report=plan.draft.report)
