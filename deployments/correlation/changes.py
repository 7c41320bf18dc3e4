"""What shipped or changed around a moment: deployments and changes in the correlation window,
and both together as one list for a timeline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from deployments.correlation._common import correlation_lead
from deployments.models import Change, Deployment, Service


def deployments_around(
    *,
    service: Service,
    start: datetime,
    end: datetime | None = None,
    before: timedelta | None = None,
) -> QuerySet[Deployment]:
    """Deployments of the service that started from `before` ahead of `start` (default: the
    correlation window) up to `end` (default: now), oldest first, with what a row shows."""
    lead = correlation_lead() if before is None else before
    return (
        Deployment.objects.filter(
            environment__service=service,
            started_at__gte=start - lead,
            started_at__lte=end or timezone.now(),
        )
        .select_related("environment", "rollback_of")
        .order_by("started_at", "id")
    )


def changes_around(
    *,
    service: Service,
    start: datetime,
    end: datetime | None = None,
    before: timedelta | None = None,
) -> QuerySet[Change]:
    """Changes of the service from `before` ahead of `start` (default: the correlation window)
    up to `end` (default: now), oldest first, as deployments_around() for deployments. Served
    by change_service_at_idx."""
    lead = correlation_lead() if before is None else before
    return (
        Change.objects.filter(service=service, at__gte=start - lead, at__lte=end or timezone.now())
        .select_related("environment")
        .order_by("at", "id")
    )


@dataclass(frozen=True)
class WhatChanged:
    """One thing that changed a service at a moment: a deployment or a recorded change."""

    at: datetime
    deployment: Deployment | None = None
    change: Change | None = None


def merge_changes(
    deployments: Iterable[Deployment], changes: Iterable[Change]
) -> list[WhatChanged]:
    """Deployments (by when they started) and changes (by when they took effect) in one list,
    oldest first; at the same moment deployments come first."""
    rows = [WhatChanged(at=d.started_at, deployment=d) for d in deployments if d.started_at]
    rows += [WhatChanged(at=c.at, change=c) for c in changes]
    return sorted(rows, key=lambda row: row.at)


def what_changed(*, service: Service, start: datetime, end: datetime) -> list[WhatChanged]:
    """Every deployment that started and every change that took effect in [start, end], oldest
    first. Two queries. What a timeline drafted from the facts reads."""
    deployments = deployments_around(service=service, start=start, end=end, before=timedelta(0))
    changes = changes_around(service=service, start=start, end=end, before=timedelta(0))
    return merge_changes(deployments, changes)
