"""The incident row: declaring one with the next reference (INC-n), changing its fields under
the one conflict policy of the page and the API (incident_update), deleting it, and rendering
its Markdown and its parts' again.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from deployments.models import Service
from feed.kinds import EventKind
from incidents.attachments.storage import attachment_files_delete
from incidents.live.services import incident_parts, live_mark_bump
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    ReferenceCounter,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.base import MarkdownModel
from incidents.postmortem.services.conflicts import (
    TRANSITION_ATTEMPTS,
    StaleVersion,
    comparable_values,
)
from incidents.postmortem.services.feed import (
    feed_incident,
    feed_incident_deleted,
)
from incidents.postmortem.services.history import _acting, history_record

INCIDENT_COUNTER = "incident"

# Fields of the incident row a person may change through incident_update. Status and
# post-mortem state move only through their transitions, which write the timeline and keep the
# times that go with them; everything else (number, version, the row's own timestamps) is
# Hindsight's.
EDITABLE_INCIDENT_FIELDS = frozenset(
    {
        "service",
        "title",
        "severity",
        "status_line",
        "started_at",
        "detected_at",
        "mitigated_at",
        "resolved_at",
        "impact",
        "summary",
        "resolution",
        "next_step",
    }
)


# What an incident may be created with besides: one written after the fact (an import, the
# demo) starts resolved, with its post-mortem published; a form's creation_key makes a second
# submit of the same form find the first one's incident.
INCIDENT_CREATE_FIELDS = EDITABLE_INCIDENT_FIELDS | {
    "status",
    "postmortem_state",
    "creation_key",
    "import_digest",
}

RESOLVE_TO_SET_END = (
    "The end of an incident is set by resolving it: use Resolve on the incident page, or POST "
    "/api/v1/incidents/{ref}/resolve with resolved_at."
)


def incident_number_next() -> int:
    """Allocate the next incident number. Call inside the transaction that saves the incident."""
    return _next_number(INCIDENT_COUNTER)


def incident_numbers_next(*, count: int) -> range:
    """Allocate `count` consecutive incident numbers at once, for a bulk load (the demo's
    history). Call inside the transaction that saves the incidents."""
    last = _next_number(INCIDENT_COUNTER, step=count)
    return range(last - count + 1, last + 1)


def _next_number(counter: str, *, step: int = 1) -> int:
    # UPDATE first: it takes the row lock, so a concurrent creator waits here until we commit
    # and then reads our value + 1. A plain SELECT MAX() would hand both the same number.
    if not ReferenceCounter.objects.filter(name=counter).update(value=F("value") + step):
        # First use (or a flushed test database): create the row, then increment it like
        # everyone else. get_or_create survives a concurrent first use through its savepoint.
        start = Incident.objects.order_by("-number").values_list("number", flat=True).first()
        ReferenceCounter.objects.get_or_create(name=counter, defaults={"value": start or 0})
        ReferenceCounter.objects.filter(name=counter).update(value=F("value") + step)
    return ReferenceCounter.objects.values_list("value", flat=True).get(name=counter)


@transaction.atomic
def incident_create(
    *,
    service: Service,
    title: str,
    started_at: datetime,
    severity: str = Incident._meta.get_field("severity").default,
    created_by: User | None = None,
    **fields: Any,
) -> Incident:
    """Declare an incident and give it the next reference (INC-n).

    An incident written after the fact may start resolved; an end time goes with that status
    only, so an open incident never carries one.
    """
    unknown = set(fields) - INCIDENT_CREATE_FIELDS
    if unknown:
        raise TypeError(f"incident_create() got unexpected fields: {sorted(unknown)}")
    if fields.get("resolved_at") and fields.get("status") != Incident.Status.RESOLVED:
        raise ValidationError({"resolved_at": RESOLVE_TO_SET_END})
    incident = Incident(
        service=service,
        title=title,
        severity=severity,
        started_at=started_at,
        created_by=created_by,
        **fields,
    )
    incident.render_markdown()
    # A new incident is never a duplicate (only incident_mark_duplicate makes one), so the check
    # on duplicate_of would cost its statements for nothing.
    incident.full_clean(exclude=["number", "duplicate_of"], validate_unique=False)
    incident.number = incident_number_next()
    incident.save()
    if created_by is not None:
        incident.authors.add(created_by)
    feed_incident(kind=EventKind.INCIDENT_DECLARED, incident=incident, user=created_by)
    # Its change counter from the start, so its page's first poll is the one query too.
    live_mark_bump(incident=incident, parts=[], user=created_by)
    return incident


@transaction.atomic
def incident_update(
    *,
    incident: Incident,
    expected_version: int,
    user: User | None = None,
    base: Mapping[str, str] | None = None,
    **changes: Any,
) -> Incident:
    """Change fields of the incident row, the one conflict policy of the page and the API.

    A compare-and-set UPDATE ... WHERE version = expected: of two concurrent editors exactly one
    matches. For the other, a stale version conflicts only on the fields both people changed:
    with `base` (each changed field's value when this editor started, as comparable() gives
    it), a field someone else changed meanwhile that this editor also changed raises
    StaleVersion naming it, and otherwise the change goes on top of theirs, leaving their
    fields as they set them. Without `base` nothing says what the caller started from, so any
    stale version raises (the API's If-Match: 412).
    """
    for _attempt in range(TRANSITION_ATTEMPTS):
        try:
            return _incident_update_once(
                incident=incident, expected_version=expected_version, user=user, changes=changes
            )
        except StaleVersion as stale:
            if base is None:
                raise
            incident.refresh_from_db()
            now = comparable_values(incident, changes)
            clashing = [name for name in changes if now[name] != base.get(name, now[name])]
            if clashing:
                raise StaleVersion(current_version=incident.version, fields=clashing) from None
            expected_version = stale.current_version or incident.version
    raise StaleVersion(current_version=incident.version, fields=list(changes))


def _incident_update_once(
    *,
    incident: Incident,
    expected_version: int,
    user: User | None,
    changes: dict[str, Any],
) -> Incident:
    unknown = set(changes) - EDITABLE_INCIDENT_FIELDS
    if unknown:
        raise TypeError(f"incident_update() got unexpected fields: {sorted(unknown)}")
    if (
        "resolved_at" in changes
        and changes["resolved_at"] != incident.resolved_at
        and incident.status != Incident.Status.RESOLVED
    ):
        # An open incident with an end time would read as over while nobody resolved it; the
        # end is set by resolving, which asks for it.
        raise ValidationError({"resolved_at": RESOLVE_TO_SET_END})
    if not changes:
        # Nothing to write: the precondition still holds or fails, but no version is spent.
        current = Incident.objects.filter(pk=incident.pk).values_list("version", flat=True).first()
        if current != expected_version:
            raise StaleVersion(current_version=current)
        return incident
    candidate = copy.copy(incident)
    for name, value in changes.items():
        setattr(candidate, name, value)
    html_fields = candidate.render_markdown()
    candidate.full_clean(validate_unique=False)

    values = {name: getattr(candidate, name) for name in (*changes, *html_fields)}
    updated = Incident.objects.filter(pk=incident.pk, version=expected_version).update(
        **values, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:
        current = Incident.objects.filter(pk=incident.pk).values_list("version", flat=True).first()
        raise StaleVersion(current_version=current)
    incident.refresh_from_db()
    history_record(obj=incident, user=user)
    feed_incident(kind=EventKind.INCIDENT_UPDATED, incident=incident, user=user, changes=changes)
    live_mark_bump(incident=incident, parts=incident_parts(changes), user=user)
    return incident


@transaction.atomic
def incident_delete(*, incident: Incident, user: User | None) -> None:
    """Delete an incident and, through the database, every row of its post-mortem; its attached
    files go from the storage once that is committed. The history keeps the incident's last
    state and who deleted it."""
    _acting(incident, user)
    feed_incident_deleted(incident=incident, user=user)
    files = list(incident.attachments.values_list("file", flat=True))
    incident.delete()
    attachment_files_delete(files)


# Every model whose rows belong to an incident and carry Markdown, with the path to the incident.
_INCIDENT_PARTS: tuple[tuple[type[MarkdownModel], str], ...] = (
    (TimelineEvent, "incident"),
    (Cause, "incident"),
    (Lesson, "incident"),
    (ActionItem, "incident"),
    (SuccessCriterion, "incident"),
    (StatusItem, "incident"),
    (PathPriority, "incident"),
    (SolutionOption, "priority__incident"),
    (FinalNote, "incident"),
)


@transaction.atomic
def incident_rerender_markdown(*, incident: Incident) -> int:
    """Render every stored Markdown field of an incident and its parts again.

    Run after the renderer or its sanitizer allow-list changes, so stored HTML follows the new
    rules. Writes only the *_html columns; returns how many rows it rewrote.
    """
    html_fields = incident.render_markdown()
    Incident.objects.filter(pk=incident.pk).update(
        **{name: getattr(incident, name) for name in html_fields}
    )
    count = 1
    for model, path in _INCIDENT_PARTS:
        rows = list(model._default_manager.filter(**{path: incident}))
        if not rows:
            continue
        fields = [f"{name}_html" for name in model.markdown_fields]
        for row in rows:
            row.render_markdown()
        model._default_manager.bulk_update(rows, fields, batch_size=500)
        count += len(rows)
    return count
