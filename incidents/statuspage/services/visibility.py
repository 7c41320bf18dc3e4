"""Visibility: which incidents the status page shows.

An incident is on the page only once the team makes it public (its `public_since`): by
publishing a status page update for it (communication_send calls incident_publish_with_update),
or by marking it public (incident_publish). Withdrawing its last published update takes it off
again unless it was marked public (incident_unpublish_after_withdrawal); incident_unpublish
takes it off whatever stands. Each of these first locks the incident's row, so a publish and a
withdrawal at the same moment cannot leave it internal with an update standing, then changes it
by compare-and-set on the state it read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from feed.kinds import EventKind
from incidents.live.services import VISIBILITY, live_mark_bump
from incidents.models import Audience, Communication, Incident, TimelineEvent
from incidents.postmortem.services import feed_incident, history_record, timeline_event_add
from incidents.statuspage.page import public_documents_mark_stale


def _who(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _name(user: User | None) -> str:
    acting = _who(user)
    return acting.get_username() if acting is not None else "Hindsight"


def _lock(incident: Incident) -> Incident:
    """The incident's row as it is now, locked until commit."""
    return (
        Incident.objects.select_for_update()
        .only("pk", "started_at", "public_since", "public_by", "public_marked", "version")
        .get(pk=incident.pk)
    )


def _change_visibility(
    incident: Incident, current: Incident, *, user: User | None, line: str, **changes: Any
) -> None:
    """Write `changes` if the row still holds the visibility `current` read, record it, write
    `line` on the timeline (unless empty) and mark the kept public pages stale, in this
    transaction."""
    now = timezone.now()
    updated = Incident.objects.filter(
        pk=current.pk,
        public_since__isnull=current.public_since is None,
        public_marked=current.public_marked,
    ).update(**changes, version=F("version") + 1, updated_at=now)
    # The row is locked: nobody can have changed it between the read and this write.
    assert updated == 1, "the incident's visibility changed under its lock"
    incident.refresh_from_db()
    history_record(obj=incident, user=user)
    feed_incident(kind=EventKind.INCIDENT_UPDATED, incident=incident, user=user, changes=["public"])
    live_mark_bump(incident=incident, parts=[VISIBILITY], user=user)
    if line:
        timeline_event_add(
            incident=incident,
            occurred_at=max(now, incident.started_at),
            text=line,
            kind=TimelineEvent.Kind.COMMUNICATION,
            source=TimelineEvent.Source.SYSTEM,
            created_by=_who(user),
        )
    public_documents_mark_stale(incident_number=incident.number)


@transaction.atomic
def incident_publish(*, incident: Incident, user: User | None) -> Incident:
    """Put the incident on the status page and in its feeds now, marked public: it stays there
    when its published updates are withdrawn, until someone makes it internal. One that its
    updates made public already keeps since when and by whom. Marking it twice changes nothing.
    """
    current = _lock(incident)
    if current.public_marked:
        incident.refresh_from_db()
        return incident
    if current.public_since is None:
        _change_visibility(
            incident,
            current,
            user=user,
            line=f"Put on the status page by {_name(user)}.",
            public_since=timezone.now(),
            public_by=_who(user),
            public_marked=True,
        )
    else:
        _change_visibility(
            incident,
            current,
            user=user,
            line=f"Marked public by {_name(user)}: it stays on the status page if its "
            "updates are withdrawn.",
            public_marked=True,
        )
    return incident


@transaction.atomic
def incident_unpublish(*, incident: Incident, user: User | None) -> Incident:
    """Take the incident off the status page and its feeds, whatever it has published: the
    updates stay on its record, and the next update published puts it back. Taking off an
    internal incident changes nothing."""
    current = _lock(incident)
    if current.public_since is None:
        incident.refresh_from_db()
        return incident
    _change_visibility(
        incident,
        current,
        user=user,
        line=f"Taken off the status page by {_name(user)}.",
        public_since=None,
        public_by=None,
        public_marked=False,
    )
    return incident


def _standing_updates(incident: Incident) -> QuerySet[Communication]:
    return Communication.objects.filter(
        incident_id=incident.pk,
        # The public post-mortem stands on the page too, like an update.
        audience__in=(Audience.STATUS_PAGE, Audience.PUBLIC_POSTMORTEM),
        status=Communication.Status.SENT,
        retracted_at__isnull=True,
    )


@transaction.atomic
def incident_publish_with_update(
    *, incident: Incident, user: User | None, at: datetime
) -> Incident:
    """An update of it was published at `at`: the incident is public from then, if it was not
    already. The update's own line on the timeline says so; this writes none."""
    current = _lock(incident)
    if current.public_since is not None:
        return incident
    _change_visibility(incident, current, user=user, line="", public_since=at, public_by=_who(user))
    return incident


@transaction.atomic
def incident_unpublish_after_withdrawal(*, incident: Incident, user: User | None) -> Incident:
    """An update of it was withdrawn: with no published update left standing, an incident that
    was not marked public goes off the status page."""
    current = _lock(incident)
    if (
        current.public_since is None
        or current.public_marked
        or _standing_updates(incident).exists()
    ):
        return incident
    _change_visibility(
        incident,
        current,
        user=user,
        line="Off the status page: its last published update was withdrawn.",
        public_since=None,
        public_by=None,
    )
    return incident
