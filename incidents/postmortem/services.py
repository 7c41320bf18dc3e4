"""Writes on the post-mortem: keyword-only functions, one transaction each.

The incident row is edited with compare-and-set on its version (incident_update); status and
post-mortem state move by guarded transitions that write their own timeline line. Rows of the
sections are written one by one and never through the incident's version, so two people working
on different rows (or one on a row and one on the prose) never collide. Each write is recorded in
the history by simple-history, with the acting user.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Max
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from deployments.models import Deployment, Service
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
from incidents.models.base import MarkdownModel, Ordered


def history_record(*, obj: models.Model, user: User | None) -> None:
    """Record the current state of a row written with .update(), which history signals miss.

    `obj` must already hold the new values (refresh_from_db after the update).
    """
    type(obj).history.bulk_history_create(  # type: ignore[attr-defined]  # added by simple-history, which ships no types
        [obj], update=True, default_user=user if user and user.is_authenticated else None
    )


@transaction.atomic
def timeline_event_add(
    *,
    incident: Incident,
    occurred_at: datetime,
    text: str,
    kind: str = TimelineEvent.Kind.NOTE,
    source: str = TimelineEvent.Source.MANUAL,
    created_by: User | None = None,
    deployment: Deployment | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        incident=incident,
        occurred_at=occurred_at,
        text=text,
        kind=kind,
        source=source,
        created_by=created_by,
        deployment=deployment,
    )
    event.render_markdown()
    event.full_clean()
    event.save()
    return event


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
INCIDENT_CREATE_FIELDS = EDITABLE_INCIDENT_FIELDS | {"status", "postmortem_state", "creation_key"}

RESOLVE_TO_SET_END = (
    "The end of an incident is set by resolving it: use Resolve on the incident page, or POST "
    "/api/v1/incidents/{ref}/resolve with resolved_at."
)


class StaleVersion(Exception):
    """Someone else saved the incident first. Carries the version that is current now, and the
    fields that both changed when the caller said what it started from (else empty)."""

    def __init__(self, *, current_version: int | None, fields: Sequence[str] = ()):
        self.current_version = current_version
        self.fields = list(fields)
        super().__init__(f"The incident changed meanwhile; it is now at version {current_version}.")


def comparable(value: Any) -> str:
    """A field's value as text that survives a round trip through a form: what an editor started
    from is kept in this shape, and compared in it."""
    if value is None:
        return ""
    if hasattr(value, "pk"):
        return str(value.pk)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def comparable_values(incident: Incident, names: Iterable[str]) -> dict[str, str]:
    return {name: comparable(getattr(incident, name)) for name in names}


def incident_number_next() -> int:
    """Allocate the next incident number. Call inside the transaction that saves the incident."""
    return _next_number(INCIDENT_COUNTER)


def _next_number(counter: str) -> int:
    # UPDATE first: it takes the row lock, so a concurrent creator waits here until we commit
    # and then reads our value + 1. A plain SELECT MAX() would hand both the same number.
    if not ReferenceCounter.objects.filter(name=counter).update(value=F("value") + 1):
        # First use (or a flushed test database): create the row, then increment it like
        # everyone else. get_or_create survives a concurrent first use through its savepoint.
        start = Incident.objects.order_by("-number").values_list("number", flat=True).first()
        ReferenceCounter.objects.get_or_create(name=counter, defaults={"value": start or 0})
        ReferenceCounter.objects.filter(name=counter).update(value=F("value") + 1)
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
    incident.full_clean(exclude=["number"], validate_unique=False)
    incident.number = incident_number_next()
    incident.save()
    if created_by is not None:
        incident.authors.add(created_by)
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
    return incident


@transaction.atomic
def incident_delete(*, incident: Incident, user: User | None) -> None:
    """Delete an incident and, through the database, every row of its post-mortem. The history
    keeps the incident's last state and who deleted it."""
    _acting(incident, user)
    incident.delete()


def _user_label(user: User | None) -> str:
    return user.get_username() if user is not None and user.is_authenticated else "Hindsight"


# How often a transition is judged again after losing a race; more than a few losses in a row
# means a runaway client, not contention.
TRANSITION_ATTEMPTS = 3


@transaction.atomic
def _transition(
    *,
    incident: Incident,
    field: str,
    changes: dict[str, Any],
    user: User | None,
    at: datetime,
    kind: str,
    text: str,
) -> bool:
    """Apply a state change if `field` still holds what `incident` says, and write it on the
    timeline. Returns False, having written nothing, when another request moved it first.

    A transition is a discrete action, not an overwrite of someone's text, so it does not ask for
    an expected version; it still bumps the version so open editors learn of it. The guard on the
    state itself is what makes two concurrent resolves write one timeline event, not two.
    """
    candidate = copy.copy(incident)
    for name, value in changes.items():
        setattr(candidate, name, value)
    candidate.full_clean(validate_unique=False)
    updated = Incident.objects.filter(pk=incident.pk, **{field: getattr(incident, field)}).update(
        **changes, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:
        return False
    incident.refresh_from_db()
    history_record(obj=incident, user=user)
    timeline_event_add(
        incident=incident,
        occurred_at=at,
        text=text,
        kind=kind,
        source=TimelineEvent.Source.SYSTEM,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    return True


def incident_set_status(
    *,
    incident: Incident,
    status: str,
    user: User | None,
    at: datetime | None = None,
) -> Incident:
    """Move the incident through investigating, identified, monitoring and resolved.

    `at` is when the change happened, as the author says (now if not given): the timeline line
    is written at that time, so a post-mortem written after the fact reads in order. Resolving
    makes it the end of the incident; without `at`, an end already set is kept rather than
    replaced by the moment of the click. Moving to monitoring stamps mitigated_at only if it is
    not set. Reopening clears the end: the line written on the timeline, and the history, keep
    the earlier one. Asking for the status it already has changes nothing, also when a
    concurrent request got there first.
    """
    status = Incident.Status(status)
    for _ in range(TRANSITION_ATTEMPTS):
        if status == incident.status:
            return incident
        when = at or timezone.now()
        changes: dict[str, Any] = {"status": status}
        text = f"Status changed from **{incident.get_status_display()}** to **{status.label}**"
        if status == Incident.Status.RESOLVED:
            when = at or incident.resolved_at or when
            changes["resolved_at"] = when
        elif incident.status == Incident.Status.RESOLVED:
            changes["resolved_at"] = None
            if incident.resolved_at is not None:
                text += f" (it had been resolved at {incident.resolved_at:%Y-%m-%d %H:%M} UTC)"
        if status == Incident.Status.MONITORING and incident.mitigated_at is None:
            changes["mitigated_at"] = when
        if when < incident.started_at:
            raise ValidationError({"at": "A change of status cannot be before the start."})
        if _transition(
            incident=incident,
            field="status",
            changes=changes,
            user=user,
            at=when,
            kind=(
                TimelineEvent.Kind.RESOLVED
                if status == Incident.Status.RESOLVED
                else TimelineEvent.Kind.STATUS_CHANGE
            ),
            text=f"{text} by {_user_label(user)}.",
        ):
            return incident
        # Lost a race: judge the request again against the status it has now.
        incident.refresh_from_db()
    raise StaleVersion(current_version=incident.version)


def incident_set_postmortem_state(*, incident: Incident, state: str, user: User | None) -> Incident:
    """Draft, in review, published; any step may go back to draft."""
    state = Incident.PostmortemState(state)
    for _ in range(TRANSITION_ATTEMPTS):
        if state == incident.postmortem_state:
            return incident
        old = incident.get_postmortem_state_display()
        if _transition(
            incident=incident,
            field="postmortem_state",
            changes={"postmortem_state": state},
            user=user,
            at=timezone.now(),
            kind=TimelineEvent.Kind.STATUS_CHANGE,
            text=f"Post-mortem moved from **{old}** to **{state.label}** by {_user_label(user)}.",
        ):
            return incident
        incident.refresh_from_db()
    raise StaleVersion(current_version=incident.version)


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


# Any row of a section, and one kept in hand order: the services give back what they were given.
_Part = TypeVar("_Part", bound=MarkdownModel)
_Moved = TypeVar("_Moved", bound=Ordered)


def _acting(row: MarkdownModel, user: User | None) -> None:
    # simple-history takes the user from the request; outside one (CLI, tasks) from here.
    row._history_user = user if user is not None and user.is_authenticated else None  # type: ignore[attr-defined]  # added by simple-history, which ships no types


@transaction.atomic
def part_save(
    *,
    row: _Part,
    user: User | None,
    fields: Iterable[str] | None = None,
) -> _Part:
    """Validate and store a new or changed row, with its rendered Markdown.

    A new ordered row goes to the end of its siblings. For a changed row, `fields` names what
    the person edited: only those are written, over the row as it is now in the database, so an
    edit of an item's title never undoes someone ticking it done meanwhile.
    """
    if row.pk is None and isinstance(row, Ordered):
        last = row.siblings().aggregate(last=Max("order"))["last"]
        row.order = 0 if last is None else last + 1
    if row.pk is not None and fields is not None:
        fields = set(fields)
        current = type(row)._default_manager.select_for_update().get(pk=row.pk)
        for field in row._meta.concrete_fields:
            if field.name not in fields and not field.primary_key:
                setattr(row, field.attname, getattr(current, field.attname))
    row.render_markdown()
    row.full_clean()
    _acting(row, user)
    row.save()
    return row


@transaction.atomic
def part_delete(*, row: MarkdownModel, user: User | None) -> None:
    """Delete a row (and, through the database, its nested rows)."""
    _acting(row, user)
    row.delete()


@transaction.atomic
def part_move(*, row: _Moved, offset: int, user: User | None) -> _Moved:
    """Move a row `offset` places among its siblings (-1 is up), renumbering them 0..n-1."""
    siblings = list(row.siblings().select_for_update())
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == row.pk)
    target = max(0, min(len(siblings) - 1, index + offset))
    siblings.insert(target, siblings.pop(index))
    changed = []
    for position, sibling in enumerate(siblings):
        if sibling.order != position:
            sibling.order = position
            changed.append(sibling)
    if changed:
        bulk_update_with_history(
            changed,
            type(row),
            ["order"],
            default_user=user if user is not None and user.is_authenticated else None,
        )
    row.order = target
    return row


@transaction.atomic
def criterion_set_done(
    *, criterion: SuccessCriterion, done: bool, user: User | None
) -> SuccessCriterion:
    """Tick a success criterion as met, or take the tick back."""
    if criterion.done == done:
        return criterion
    criterion.done = done
    criterion.done_at = timezone.now() if done else None
    _acting(criterion, user)
    criterion.save(update_fields=["done", "done_at"])
    return criterion


# What the inline controls of the action items page may change.
ASSIGNABLE_FIELDS = frozenset({"owner", "due_date", "priority"})


@transaction.atomic
def action_item_complete(*, item: ActionItem, user: User | None) -> ActionItem:
    """Tick an item done. Ticking a done item again changes nothing (a double click is safe)."""
    now = timezone.now()
    changed = (
        ActionItem.objects.filter(pk=item.pk)
        .exclude(status=ActionItem.Status.DONE)
        .update(status=ActionItem.Status.DONE, done_at=now, done_by=user, updated_at=now)
    )
    item.refresh_from_db()
    if changed:
        history_record(obj=item, user=user)
    return item


@transaction.atomic
def action_item_reopen(*, item: ActionItem, user: User | None = None) -> ActionItem:
    changed = ActionItem.objects.filter(pk=item.pk, status=ActionItem.Status.DONE).update(
        status=ActionItem.Status.OPEN, done_at=None, done_by=None, updated_at=timezone.now()
    )
    item.refresh_from_db()
    if changed:
        history_record(obj=item, user=user)
    return item


@transaction.atomic
def action_item_assign(*, item: ActionItem, user: User | None, **changes: Any) -> ActionItem:
    """Set the owner, due date or priority of one item, and nothing else of it."""
    unknown = set(changes) - ASSIGNABLE_FIELDS
    if unknown:
        raise TypeError(f"action_item_assign() got unexpected fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(item, name, value)
    item.full_clean(exclude=[f.name for f in ActionItem._meta.fields if f.name not in changes])
    ActionItem.objects.filter(pk=item.pk).update(**changes, updated_at=timezone.now())
    item.refresh_from_db()
    history_record(obj=item, user=user)
    return item
