"""What communications tell the change feed: a message as GET /communications/{id} shows it
(its own fields; the delivery counts and facts are left out, as they move without a change of
the message). tests/feed/test_incident_events.py holds the shape equal to the API's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User

from feed.kinds import EventKind
from feed.services import feed_actor, feed_record
from incidents.models import Communication


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def _name(user: User | None) -> str | None:
    return user.get_username() if user is not None else None


def communication_feed_data(communication: Communication) -> dict[str, Any]:
    return {
        "id": communication.pk,
        "incident": communication.incident.reference,
        "template": communication.template.slug if communication.template else None,
        "audience": communication.audience,
        "phase": communication.phase,
        "status": communication.status,
        "subject": communication.subject,
        "body": communication.body,
        "body_html": communication.body_html,
        "corrects": communication.corrects_id,
        "created_by": _name(communication.created_by),
        "approved_by": _name(communication.approved_by),
        "approved_at": _time(communication.approved_at),
        "sent_at": _time(communication.sent_at),
        "created_at": _time(communication.created_at),
        "updated_at": _time(communication.updated_at),
        "retracted_at": _time(communication.retracted_at),
        "retracted_by": _name(communication.retracted_by),
        "retraction_reason": communication.retraction_reason,
    }


def feed_message_sent(*, communication: Communication, user: User | None) -> None:
    data = communication_feed_data(communication)
    feed_record(
        kind=EventKind.MESSAGE_SENT,
        subject_id=communication.pk,
        incident=data["incident"],
        data=data,
        actor=feed_actor(user),
    )
