"""Writes on the post-mortem: keyword-only functions, one transaction each.

The incident row is edited with compare-and-set on its version (incident_update); status and
post-mortem state move by guarded transitions that write their own timeline line. Rows of the
sections are written one by one, each by compare-and-set on its own version (part_save), never
through the incident's, so two people working on different rows (or one on a row and one on the
prose) never collide, and two on the same row conflict only on the fields both changed. Each
write is recorded in the history by simple-history, with the acting user.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Max
from django.utils import timezone

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
from incidents.models.base import MarkdownModel, Ordered, Versioned


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

    what = "incident"

    def __init__(self, *, current_version: int | None, fields: Sequence[str] = ()):
        self.current_version = current_version
        self.fields = list(fields)
        super().__init__(
            f"The {self.what} changed meanwhile; it is now at version {current_version}."
        )


class StaleRow(StaleVersion):
    """Someone else saved a row of a section first (part_save, part_delete). `current_version`
    is None when the row is gone."""

    what = "row"


class AuditLineLocked(Exception):
    """The timeline line was written by Hindsight (a status change, a deployment, a health
    change, a message sent): it is the record of what happened, so nobody edits or deletes it.
    It can be hidden from the published post-mortem (timeline_event_set_hidden)."""

    def __init__(self) -> None:
        super().__init__(
            "Hindsight wrote this timeline line as the record of what happened: it cannot be "
            "edited or deleted. Hide it from the published post-mortem instead."
        )


def comparable(value: Any) -> str:
    """A field's value as text that survives a round trip through a form: what an editor started
    from is kept in this shape, and compared in it."""
    if value is None:
        return ""
    if hasattr(value, "pk"):
        return str(value.pk)
    if isinstance(value, datetime) and value.tzinfo is not None:
        # One instant, one text, whichever zone the form or the database handed it back in.
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def comparable_values(obj: models.Model, names: Iterable[str]) -> dict[str, str]:
    """comparable() of each named field; a relation by its id, without loading what it names."""
    values = {}
    for name in names:
        field = obj._meta.get_field(name)
        attname = field.attname if isinstance(field, models.ForeignKey) else name
        values[name] = comparable(getattr(obj, attname))
    return values


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
    # A new incident is never a duplicate (only incident_mark_duplicate makes one), so the check
    # on duplicate_of would cost its statements for nothing.
    incident.full_clean(exclude=["number", "duplicate_of"], validate_unique=False)
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


NOT_ITS_OWN_DUPLICATE = "An incident cannot be a duplicate of itself."


@transaction.atomic
def incident_mark_duplicate(
    *, incident: Incident, original: Incident, user: User | None
) -> Incident:
    """Close `incident` as a duplicate of `original`: linked to it, and left out of lists,
    counts and the status page from then on. Its status and times stay as they were (nothing
    says when a duplicate "ended"), so undoing it gives the incident back as it was.

    There are no chains: marking a duplicate of a duplicate points at the original, and the
    incident's own duplicates move to the original with it. A line on both timelines says who
    did it. Marking it again as a duplicate of the same original changes nothing.
    """
    # Both rows locked, in one order, so two people marking each incident a duplicate of the
    # other cannot both succeed: the second finds the first one's link and is refused.
    pks = sorted({incident.pk, original.pk})
    list(Incident.objects.select_for_update().filter(pk__in=pks).values_list("pk", flat=True))
    incident.refresh_from_db()
    root = Incident.objects.select_for_update().get(pk=original.pk)
    while root.duplicate_of_id is not None:
        root = Incident.objects.select_for_update().get(pk=root.duplicate_of_id)
    if root.pk == incident.pk:
        raise ValidationError(
            {
                "duplicate_of": NOT_ITS_OWN_DUPLICATE
                if original.pk == incident.pk
                else f"{original.reference} is a duplicate of this incident already."
            }
        )
    if incident.duplicate_of_id == root.pk:
        return incident
    who = _user_label(user)
    previous = incident.duplicate_of
    text = f"Marked as a duplicate of **{root.reference}** by {who}."
    if previous is not None:
        text = f"Marked as a duplicate of **{root.reference}** instead by {who}."
    now = timezone.now()
    if not _transition(
        incident=incident,
        field="duplicate_of",
        changes={"duplicate_of": root},
        user=user,
        at=now,
        kind=TimelineEvent.Kind.STATUS_CHANGE,
        text=text,
    ):
        raise StaleVersion(current_version=incident.version)
    # Its own duplicates follow it to the original, so every duplicate names the original.
    followers = list(Incident.objects.select_for_update().filter(duplicate_of=incident))
    if followers:
        Incident.objects.filter(pk__in=[f.pk for f in followers]).update(
            duplicate_of=root, version=F("version") + 1, updated_at=now
        )
        for follower in followers:
            follower.refresh_from_db()
            history_record(obj=follower, user=user)
    lines = [
        (
            root,
            f"**{incident.reference}** ({incident.title}) was marked as a duplicate of "
            f"this incident by {who}.",
        )
    ]
    if previous is not None:
        lines.append(
            (
                previous,
                f"**{incident.reference}** is now marked as a duplicate of "
                f"**{root.reference}** instead ({who}).",
            )
        )
    for other, line in lines:
        _duplicate_line(other, line, user=user, at=now)
    return incident


def _duplicate_line(incident: Incident, text: str, *, user: User | None, at: datetime) -> None:
    """The line on an original's timeline when a duplicate of it is marked or undone."""
    timeline_event_add(
        incident=incident,
        occurred_at=max(at, incident.started_at),
        text=text,
        kind=TimelineEvent.Kind.STATUS_CHANGE,
        source=TimelineEvent.Source.SYSTEM,
        created_by=user if user is not None and user.is_authenticated else None,
    )


@transaction.atomic
def incident_unmark_duplicate(*, incident: Incident, user: User | None) -> Incident:
    """Undo incident_mark_duplicate: the incident counts again, as it was before. A line on
    both timelines says who did it. An incident that is no duplicate changes nothing."""
    incident.refresh_from_db()
    original = incident.duplicate_of
    if original is None:
        return incident
    who = _user_label(user)
    now = timezone.now()
    if not _transition(
        incident=incident,
        field="duplicate_of",
        changes={"duplicate_of": None},
        user=user,
        at=now,
        kind=TimelineEvent.Kind.STATUS_CHANGE,
        text=f"No longer a duplicate of **{original.reference}** ({who}).",
    ):
        raise StaleVersion(current_version=incident.version)
    _duplicate_line(
        original,
        f"**{incident.reference}** is no longer marked as a duplicate of this incident ({who}).",
        user=user,
        at=now,
    )
    return incident


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


# What a person's edit of a row never writes: its identity, its version, the HTML rendered from
# its Markdown and its own timestamps.
_NOT_EDITED = frozenset({"id", "version", "created_at", "updated_at"})


def _edited_fields(model: type[models.Model], fields: Iterable[str] | None) -> list[str]:
    """The row's columns among `fields` (all a person may write when None), in `fields`' order."""
    writable = [
        f.name
        for f in model._meta.concrete_fields
        if f.name not in _NOT_EDITED and not f.name.endswith("_html") and not f.primary_key
    ]
    if fields is None:
        return writable
    return [name for name in dict.fromkeys(fields) if name in writable]


def _refuse_audit_line(row: models.Model) -> None:
    # The stored source, not the one in hand: a request cannot unlock a line by claiming it.
    if isinstance(row, TimelineEvent) and row.pk is not None:
        source = TimelineEvent.objects.filter(pk=row.pk).values_list("source", flat=True).first()
        if source is not None and source != TimelineEvent.Source.MANUAL:
            raise AuditLineLocked()


def _with_timestamp(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    # .update() skips auto_now; a row that shows when it last changed must still say so.
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        return {**values, "updated_at": timezone.now()}
    return values


@transaction.atomic
def part_save(
    *,
    row: _Part,
    user: User | None,
    fields: Iterable[str] | None = None,
    expected_version: int | None = None,
    base: Mapping[str, str] | None = None,
) -> _Part:
    """Validate and store a new or changed row, with its rendered Markdown.

    A new ordered row goes to the end of its siblings. A changed row is written by
    compare-and-set on its version, which every write bumps (ticks and moves too). `fields`
    names what the person edited, all the row's fields when None: only those are written, over
    the row as it is now, so an edit of an item's title never undoes someone ticking it done
    meanwhile.

    `expected_version` is the version the editor read; None writes with no precondition (what
    Hindsight writes itself, the admin). Stale, it is the rule of incident_update: with `base`
    (each edited field's value when the editor started, as comparable() gives it) a field
    someone else changed meanwhile that this editor changed too raises StaleRow naming it, and
    otherwise the edit goes on top of theirs. Without `base` any stale version raises StaleRow
    (the API's If-Match: 412). Timeline lines Hindsight wrote raise AuditLineLocked.
    """
    if row.pk is None:
        if isinstance(row, Ordered):
            last = row.siblings().aggregate(last=Max("order"))["last"]
            row.order = 0 if last is None else last + 1
        row.render_markdown()
        row.full_clean()
        _acting(row, user)
        row.save()
        return row

    _refuse_audit_line(row)
    model = type(row)
    names = _edited_fields(model, fields)
    for _attempt in range(TRANSITION_ATTEMPTS):
        current = model._default_manager.get(pk=row.pk)
        assert isinstance(current, Versioned)  # every model with sections' rows is
        if expected_version is not None and current.version != expected_version:
            if base is None:
                raise StaleRow(current_version=current.version, fields=names)
            now = comparable_values(current, names)
            clashing = [name for name in names if now[name] != base.get(name, now[name])]
            if clashing:
                raise StaleRow(current_version=current.version, fields=clashing)
        if not names:
            # Nothing to write: the precondition held (or was merged), and no version is spent.
            row.refresh_from_db()
            return row
        candidate = copy.copy(current)
        for name in names:
            attname = model._meta.get_field(name).attname
            setattr(candidate, attname, getattr(row, attname))
        html_fields = candidate.render_markdown()
        candidate.full_clean()
        values = {
            model._meta.get_field(name).attname: getattr(candidate, name)
            for name in (*names, *html_fields)
        }
        # Against the version just read, not the expected one: a merged edit goes on top of
        # exactly what was judged, and a write slipping in between sends it round again.
        updated = model._default_manager.filter(pk=row.pk, version=current.version).update(
            **_with_timestamp(model, values), version=F("version") + 1
        )
        if updated == 1:
            break
        if expected_version is not None and base is None:
            raise StaleRow(
                current_version=model._default_manager.filter(pk=row.pk)
                .values_list("version", flat=True)
                .first(),
                fields=names,
            )
    else:
        raise StaleRow(current_version=None, fields=names)
    row.refresh_from_db()
    history_record(obj=row, user=user)
    return row


@transaction.atomic
def part_delete(
    *, row: MarkdownModel, user: User | None, expected_version: int | None = None
) -> None:
    """Delete a row (and, through the database, its nested rows).

    With `expected_version`, only the row as the caller read it: a row changed since raises
    StaleRow (current_version None when it is gone already). Timeline lines Hindsight wrote
    raise AuditLineLocked.
    """
    _refuse_audit_line(row)
    # Typed loosely: the model is known at run time only, and every section's model has a version.
    rows: models.QuerySet[Any] = type(row)._default_manager.all()
    # The compare-and-set takes the row's lock, so no edit lands between it and the delete.
    if expected_version is not None and not rows.filter(pk=row.pk, version=expected_version).update(
        version=F("version") + 1
    ):
        raise StaleRow(
            current_version=rows.filter(pk=row.pk).values_list("version", flat=True).first()
        )
    _acting(row, user)
    row.delete()


class _SiblingMoved(Exception):
    """A sibling was written between reading the order and renumbering it."""


@transaction.atomic
def part_move(*, row: _Moved, offset: int, user: User | None) -> _Moved:
    """Move a row `offset` places among its siblings (-1 is up), renumbering them 0..n-1.

    A move needs no expected version: it is one click, and a place in the list is nobody's
    text. Each renumbered row still bumps its version, by compare-and-set, so an editor who
    opened one learns of it, and a row written meanwhile sends the move round again.
    """
    for _attempt in range(TRANSITION_ATTEMPTS):
        try:
            with transaction.atomic():
                return _part_move_once(row=row, offset=offset, user=user)
        except _SiblingMoved:
            continue
    raise StaleRow(current_version=None, fields=["order"])


def _part_move_once(*, row: _Moved, offset: int, user: User | None) -> _Moved:
    model = type(row)
    siblings = list(row.siblings().select_for_update())
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == row.pk)
    target = max(0, min(len(siblings) - 1, index + offset))
    siblings.insert(target, siblings.pop(index))
    changed: list[int] = []
    for position, sibling in enumerate(siblings):
        if sibling.order != position:
            assert isinstance(sibling, Versioned)  # every ordered row is
            if not model._default_manager.filter(pk=sibling.pk, version=sibling.version).update(
                order=position, version=F("version") + 1
            ):
                raise _SiblingMoved()
            changed.append(sibling.pk)
    if changed:
        written = list(model._default_manager.filter(pk__in=changed))
        model.history.bulk_history_create(  # type: ignore[attr-defined]  # added by simple-history, which ships no types
            written,
            update=True,
            default_user=user if user is not None and user.is_authenticated else None,
        )
    row.refresh_from_db()
    return row


@transaction.atomic
def criterion_set_done(
    *, criterion: SuccessCriterion, done: bool, user: User | None
) -> SuccessCriterion:
    """Tick a success criterion as met, or take the tick back. One click, no expected version;
    ticking what is ticked changes nothing."""
    changed = (
        SuccessCriterion.objects.filter(pk=criterion.pk)
        .exclude(done=done)
        .update(done=done, done_at=timezone.now() if done else None, version=F("version") + 1)
    )
    criterion.refresh_from_db()
    if changed:
        history_record(obj=criterion, user=user)
    return criterion


@transaction.atomic
def timeline_event_set_hidden(
    *, event: TimelineEvent, hidden: bool, user: User | None
) -> TimelineEvent:
    """Leave a timeline line out of the published post-mortem (its exports and the printed
    page), or put it back. For the lines Hindsight writes, which nobody may edit or delete; the
    line itself stays, and the history says who hid it. One click, like a tick."""
    changed = (
        TimelineEvent.objects.filter(pk=event.pk)
        .exclude(hidden=hidden)
        .update(hidden=hidden, version=F("version") + 1)
    )
    event.refresh_from_db()
    if changed:
        history_record(obj=event, user=user)
    return event


# What the inline controls of the action items page may change.
ASSIGNABLE_FIELDS = frozenset({"owner", "due_date", "priority"})

REASON_MAX_LENGTH = ActionItem._meta.get_field("closed_reason").max_length or 500
REASON_REQUIRED = "Say why it won't be done."


class OpenSteps(Exception):
    """Closing an item would leave steps of it open. Nothing was written; `steps` are the open
    ones at every depth, in order, so the person can be asked whether to close them too."""

    def __init__(self, *, item: ActionItem, steps: Sequence[ActionItem]):
        self.item = item
        self.steps = list(steps)
        names = "; ".join(step.title for step in self.steps)
        super().__init__(f"{item.title} has open steps: {names}.")


def _reason(reason: str) -> str:
    """A reason as it is kept: one line (the export writes it on one), at most the column's
    length."""
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": f"Keep the reason to {REASON_MAX_LENGTH} characters or fewer."}
        )
    return reason


def _open_steps(item: ActionItem) -> list[ActionItem]:
    """The open steps under `item` at any depth (a step under a done step still counts), in
    order, locked until the transaction ends so none is reopened under the one closing them.
    One query per level of nesting, whatever the number of steps."""
    found: list[ActionItem] = []
    level = [item.pk]
    while level:
        children = list(
            ActionItem.objects.select_for_update()
            .filter(parent_id__in=level)
            .order_by("order", "id")
        )
        found += [child for child in children if child.is_open]
        level = [child.pk for child in children]
    return found


def _history_many(rows: Sequence[ActionItem], user: User | None) -> None:
    """history_record() for several rows written with one .update()."""
    if rows:
        ActionItem.history.bulk_history_create(
            list(rows), update=True, default_user=user if user and user.is_authenticated else None
        )


def _closing(status: str, *, user: User | None, reason: str, now: datetime) -> dict[str, Any]:
    """The columns that close an item as `status` (done or won't do), and nothing else."""
    if status == ActionItem.Status.DONE:
        return {"status": status, "done_at": now, "done_by": user, "closed_reason": ""}
    if not reason:
        raise ValidationError({"reason": REASON_REQUIRED})
    return {"status": status, "done_at": None, "done_by": None, "closed_reason": reason}


def _close(
    *,
    item: ActionItem,
    user: User | None,
    status: str,
    leaving: Iterable[str],
    reason: str,
    close_children: str,
) -> ActionItem:
    """Close `item` as `status` if it is still in one of the `leaving` statuses (else change
    nothing: a second click, or a click on a page read before someone else closed it).

    A parent is never closed over open steps: they are closed with it as `close_children` says
    (done, or won't do with `reason`), and without it OpenSteps is raised and nothing written.
    """
    now = timezone.now()
    leaving = tuple(leaving)
    user = user if user is not None and user.is_authenticated else None
    reason = _reason(reason)
    if close_children and close_children not in ActionItem.CLOSED_STATUSES:
        raise ValidationError({"close_children": "Close the steps as done or as won't do."})
    values = _closing(status, user=user, reason=reason, now=now)
    # Locks the row first, so the steps read below are the ones it is closed over.
    current = ActionItem.objects.select_for_update().get(pk=item.pk)
    if current.status not in leaving:
        item.refresh_from_db()
        return item
    steps = _open_steps(current)
    if steps and not close_children:
        raise OpenSteps(item=current, steps=steps)
    if steps:
        step_values = _closing(close_children, user=user, reason=reason, now=now)
        ActionItem.objects.filter(pk__in=[step.pk for step in steps]).update(
            **step_values, updated_at=now, version=F("version") + 1
        )
        _history_many(list(ActionItem.objects.filter(pk__in=[s.pk for s in steps])), user)
    changed = ActionItem.objects.filter(pk=item.pk, status__in=leaving).update(
        **values, updated_at=now, version=F("version") + 1
    )
    item.refresh_from_db()
    if changed:
        history_record(obj=item, user=user)
    return item


@transaction.atomic
def action_item_complete(
    *, item: ActionItem, user: User | None, close_children: str = "", reason: str = ""
) -> ActionItem:
    """Tick an item done. Ticking a done item again changes nothing (a double click is safe).

    An item with open steps is refused with OpenSteps unless `close_children` says how to close
    them: "done", or "wont_do" with the `reason` they will not be done.
    """
    leaving = [value for value in ActionItem.Status.values if value != ActionItem.Status.DONE]
    return _close(
        item=item,
        user=user,
        status=ActionItem.Status.DONE,
        leaving=leaving,
        reason=reason,
        close_children=close_children,
    )


@transaction.atomic
def action_item_drop(
    *, item: ActionItem, user: User | None, reason: str, close_children: str = ""
) -> ActionItem:
    """Decide against an open or started item, saying why ("won't do"). It then counts as
    neither open nor overdue, and no longer holds the deployment gate.

    Only an open or started item is dropped: a done one is reopened first, so a click on a page
    read before someone ticked it never undoes that. Open steps are refused or closed with it
    as for action_item_complete; closed as won't do, they take the same reason.
    """
    return _close(
        item=item,
        user=user,
        status=ActionItem.Status.WONT_DO,
        leaving=ActionItem.OPEN_STATUSES,
        reason=reason,
        close_children=close_children,
    )


@transaction.atomic
def action_item_start(*, item: ActionItem, user: User | None) -> ActionItem:
    """Say someone is working on an open item. Only an open item starts: a closed one is
    reopened first, so a click on a page read before someone closed it never undoes that."""
    changed = ActionItem.objects.filter(pk=item.pk, status=ActionItem.Status.OPEN).update(
        status=ActionItem.Status.IN_PROGRESS, updated_at=timezone.now(), version=F("version") + 1
    )
    item.refresh_from_db()
    if changed:
        history_record(obj=item, user=user)
    return item


@transaction.atomic
def action_item_reopen(*, item: ActionItem, user: User | None = None) -> ActionItem:
    """Take back a done or won't do: the item is open again, without its tick or reason (the
    history keeps both). An item that is open or started changes nothing."""
    changed = ActionItem.objects.filter(pk=item.pk, status__in=ActionItem.CLOSED_STATUSES).update(
        status=ActionItem.Status.OPEN,
        done_at=None,
        done_by=None,
        closed_reason="",
        updated_at=timezone.now(),
        version=F("version") + 1,
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
    ActionItem.objects.filter(pk=item.pk).update(
        **changes, updated_at=timezone.now(), version=F("version") + 1
    )
    item.refresh_from_db()
    history_record(obj=item, user=user)
    return item
