"""Timeline events: what people write, and what Hindsight records on their behalf."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from deployments.models import Deployment
from incidents.models import Incident, TimelineEvent


@transaction.atomic
def timeline_event_add(
    *,
    incident: Incident,
    occurred_at: datetime,
    text: str,
    kind: str = TimelineEvent.Kind.NOTE,
    source: str = TimelineEvent.Source.MANUAL,
    created_by: AbstractBaseUser | None = None,
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
