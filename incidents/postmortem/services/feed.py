"""What the post-mortem tells the change feed: an incident or an action item as the API's detail
shows it (the same field names), and the event of each change, recorded in the change's
transaction.

The shapes are built here from the row, not by the API's serializers (a service never calls
the REST face); tests/feed/test_incident_events.py holds them equal to the API's, field by field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.utils import timezone

from feed.kinds import EventKind
from feed.services import feed_actor, feed_record
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.incident import REFERENCE_PREFIX

# The name the API's incident detail gives each section.
SECTION_NAMES: dict[type[models.Model], str] = {
    TimelineEvent: "timeline",
    Cause: "causes",
    Lesson: "lessons",
    ActionItem: "action_items",
    SuccessCriterion: "success_criteria",
    StatusItem: "status_items",
    PathPriority: "priorities",
    SolutionOption: "priorities",
    FinalNote: "final_notes",
}

_Who = User | AnonymousUser | None


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _reference(number: int | None) -> str | None:
    return f"{REFERENCE_PREFIX}{number}" if number is not None else None


def incident_feed_data(incident: Incident) -> dict[str, Any]:
    """The incident as GET /incidents/{ref} shows it, without its sections (each has its own
    events) and the draft's proposals (not facts yet)."""
    duplicate_of = (
        Incident.objects.filter(pk=incident.duplicate_of_id)
        .values_list("number", flat=True)
        .first()
        if incident.duplicate_of_id is not None
        else None
    )
    return {
        "reference": incident.reference,
        "number": incident.number,
        "title": incident.title,
        "service": {"slug": incident.service.slug, "name": incident.service.name},
        "severity": incident.severity,
        "status": incident.status,
        "postmortem_state": incident.postmortem_state,
        "status_line": incident.status_line,
        "started_at": _time(incident.started_at),
        "detected_at": _time(incident.detected_at),
        "mitigated_at": _time(incident.mitigated_at),
        "resolved_at": _time(incident.resolved_at),
        "duplicate_of": _reference(duplicate_of),
        "public": incident.public_since is not None and duplicate_of is None,
        "public_since": _time(incident.public_since),
        "version": incident.version,
        "created_at": _time(incident.created_at),
        "updated_at": _time(incident.updated_at),
        "summary": incident.summary,
        "summary_html": incident.summary_html,
        "impact": incident.impact,
        "impact_html": incident.impact_html,
        "resolution": incident.resolution,
        "resolution_html": incident.resolution_html,
        "next_step": incident.next_step,
        "next_step_html": incident.next_step_html,
        "created_by": incident.created_by.get_username() if incident.created_by else None,
    }


def action_item_feed_data(item: ActionItem) -> dict[str, Any]:
    """The item as the incident detail's `action_items` shows it, with its incident's reference
    and service as the list of action items names them."""
    today = timezone.localdate()
    return {
        "id": item.pk,
        "incident": item.incident.reference,
        "service": item.incident.service.slug,
        "parent": item.parent_id,
        "title": item.title,
        "status": item.status,
        "closed_reason": item.closed_reason,
        "priority": item.priority,
        "kind": item.kind,
        "horizon": item.horizon,
        "owner": item.owner.get_username() if item.owner else None,
        "due_date": _day(item.due_date),
        "overdue": bool(
            item.due_date is not None
            and item.due_date < today
            and item.status not in ActionItem.CLOSED_STATUSES
        ),
        "blocks_deployments": item.blocks_deployments,
        "done_at": _time(item.done_at),
        "order": item.order,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
        "version": item.version,
        "detail": item.detail,
        "detail_html": item.detail_html,
    }


def feed_incident(
    *,
    kind: EventKind,
    incident: Incident,
    user: _Who,
    changes: Iterable[str] = (),
    fresh: bool = True,
) -> None:
    """Record a change of the incident (or, with `changes`, of parts of it), as it is now."""
    if fresh:
        incident.refresh_from_db()
    feed_record(
        kind=kind,
        subject_id=incident.reference,
        incident=incident.reference,
        data=incident_feed_data(incident),
        actor=feed_actor(user),
        changes=changes,
    )


def feed_incident_parts(*, incident: Incident | int, parts: Iterable[str], user: _Who) -> None:
    """incident.updated for a change of its sections (their API names in `parts`)."""
    # Read as it is now, with what its data names: one query.
    pk = incident if isinstance(incident, int) else incident.pk
    current = Incident.objects.select_related("service", "created_by").get(pk=pk)
    feed_incident(
        kind=EventKind.INCIDENT_UPDATED, incident=current, user=user, changes=parts, fresh=False
    )


def feed_action_item(*, kind: EventKind, item: ActionItem, user: _Who) -> None:
    item.refresh_from_db()
    data = action_item_feed_data(item)
    feed_record(
        kind=kind,
        subject_id=item.pk,
        incident=data["incident"],
        data=data,
        actor=feed_actor(user),
    )


def feed_action_item_deleted(*, item_id: int, incident: str, user: _Who) -> None:
    feed_record(
        kind=EventKind.ACTION_ITEM_DELETED,
        subject_id=item_id,
        incident=incident,
        data={"id": item_id, "incident": incident},
        actor=feed_actor(user),
    )


def _is_proposal(row: models.Model) -> bool:
    # A row the draft from the facts proposed is no fact until someone keeps it.
    return bool(getattr(row, "proposed", False))


def feed_row_saved(
    *,
    row: models.Model,
    user: _Who,
    created: bool,
    item_kind: EventKind | None = None,
    incident_too: bool = True,
) -> None:
    """A section's row was added or changed: the action item's own event for an action item
    (created or changed unless `item_kind` says), and incident.updated naming the section
    (unless the caller records that once for several rows)."""
    if _is_proposal(row):
        return
    if isinstance(row, ActionItem):
        kind = item_kind or (
            EventKind.ACTION_ITEM_CREATED if created else EventKind.ACTION_ITEM_CHANGED
        )
        feed_action_item(kind=kind, item=row, user=user)
    if not incident_too:
        return
    feed_incident_parts(incident=_incident_id(row), parts=[SECTION_NAMES[type(row)]], user=user)


def feed_row_deleted(*, row: models.Model, user: _Who) -> None:
    """A section's row is being deleted (call before the delete: it reads the row's incident).
    An action item takes its steps with it, and each has its own deletion."""
    if _is_proposal(row):
        return
    incident_id = _incident_id(row)
    if isinstance(row, ActionItem):
        reference = row.incident.reference
        for item_id in _with_steps(row.pk):
            feed_action_item_deleted(item_id=item_id, incident=reference, user=user)
    feed_incident_parts(incident=incident_id, parts=[SECTION_NAMES[type(row)]], user=user)


def feed_incident_deleted(*, incident: Incident, user: _Who) -> None:
    """The incident is being deleted, its action items with it (call before the delete)."""
    reference = incident.reference
    for item_id in ActionItem.objects.filter(incident=incident).values_list("pk", flat=True):
        feed_action_item_deleted(item_id=item_id, incident=reference, user=user)
    feed_record(
        kind=EventKind.INCIDENT_DELETED,
        subject_id=reference,
        incident=reference,
        data={"reference": reference, "number": incident.number},
        actor=feed_actor(user),
    )


def _with_steps(item_id: int) -> list[int]:
    found = [item_id]
    level = [item_id]
    while level:
        level = list(ActionItem.objects.filter(parent_id__in=level).values_list("pk", flat=True))
        found += level
    return found


def _incident_id(row: models.Model) -> int:
    if isinstance(row, SolutionOption):
        return row.priority.incident_id
    incident_id = getattr(row, "incident_id", None)
    assert isinstance(incident_id, int), f"{type(row).__name__} is no row of an incident"
    return incident_id
