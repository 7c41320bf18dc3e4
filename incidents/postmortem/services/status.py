"""Guarded transitions of the incident: its status (resolving and reopening), its post-mortem
state, and marking it a duplicate of another or undoing that.

Each moves only if the incident still holds what the caller saw, and writes its own line on the
timeline (and, for a duplicate, on the original's).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from feed.kinds import EventKind
from incidents.live.services import DUPLICATE, incident_parts, live_mark_bump
from incidents.models import Incident, TimelineEvent
from incidents.postmortem.services.conflicts import TRANSITION_ATTEMPTS, StaleVersion
from incidents.postmortem.services.feed import feed_incident
from incidents.postmortem.services.history import history_record
from incidents.postmortem.services.timeline import timeline_event_add


def _user_label(user: User | None) -> str:
    return user.get_username() if user is not None and user.is_authenticated else "Hindsight"


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
    for event_kind in _event_kinds(field, incident):
        feed_incident(kind=event_kind, incident=incident, user=user, changes=changes)
    live_mark_bump(
        incident=incident,
        parts=[DUPLICATE] if field == "duplicate_of" else incident_parts(changes),
        user=user,
    )
    timeline_event_add(
        incident=incident,
        occurred_at=at,
        text=text,
        kind=kind,
        source=TimelineEvent.Source.SYSTEM,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    return True


def _event_kinds(field: str, incident: Incident) -> list[EventKind]:
    """What a transition of `field` tells the feed: resolving is a status change and the
    event tooling waits for."""
    if field == "status":
        if incident.status == Incident.Status.RESOLVED:
            return [EventKind.INCIDENT_STATUS_CHANGED, EventKind.INCIDENT_RESOLVED]
        return [EventKind.INCIDENT_STATUS_CHANGED]
    if field == "postmortem_state":
        return [EventKind.INCIDENT_POSTMORTEM_STATE_CHANGED]
    return [EventKind.INCIDENT_UPDATED]


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
            feed_incident(
                kind=EventKind.INCIDENT_UPDATED,
                incident=follower,
                user=user,
                changes=["duplicate_of"],
            )
            live_mark_bump(incident=follower, parts=[DUPLICATE], user=user)
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
