"""Recording changes in the feed."""

from __future__ import annotations

from typing import Any

from core import plugins
from feed.kinds import EventKind
from feed.models import FeedEvent


def feed_record(
    *,
    kind: EventKind,
    subject_id: str | int,
    data: dict[str, Any],
    incident: str = "",
    actor: str = "",
) -> FeedEvent:
    """Record a change; call it inside the transaction that made the change. The listeners
    (webhooks) run here too, so a change, its event and its deliveries commit together."""
    event = FeedEvent.objects.create(
        kind=kind, subject_id=str(subject_id), data=data, incident=incident, actor=actor
    )
    for listener in plugins.feed_listeners():
        listener(event)
    return event
