"""Timeline lines: adding one, and hiding one from the published post-mortem.

The lines Hindsight writes itself (a status change, a deployment, a health change, a message
sent) are the record of what happened: editing or deleting one (rows.part_save, part_delete)
raises AuditLineLocked, and hiding is what is left.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from deployments.models import Deployment
from incidents.live.services import live_mark_row
from incidents.models import Incident, TimelineEvent
from incidents.postmortem.services.feed import feed_row_saved
from incidents.postmortem.services.history import history_record


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
    feed_row_saved(row=event, user=created_by, created=True)
    live_mark_row(row=event, user=created_by)
    return event


class AuditLineLocked(Exception):
    """The timeline line was written by Hindsight (a status change, a deployment, a health
    change, a message sent): it is the record of what happened, so nobody edits or deletes it.
    It can be hidden from the published post-mortem (timeline_event_set_hidden)."""

    def __init__(self) -> None:
        super().__init__(
            "Hindsight wrote this timeline line as the record of what happened: it cannot be "
            "edited or deleted. Hide it from the published post-mortem instead."
        )


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
        .update(hidden=hidden, version=F("version") + 1, updated_at=timezone.now())
    )
    event.refresh_from_db()
    if changed:
        history_record(obj=event, user=user)
        feed_row_saved(row=event, user=user, created=False)
        live_mark_row(row=event, user=user)
    return event
