"""What the correlation topics share: the window's length, what counts as failing, the scheduled
snapshots, and the picks of the last deployment and the last change before health turned red
(the suspects, and the correlation summary that names them without asking twice)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, QuerySet, Value, When

from deployments.models import (
    Change,
    Deployment,
    Environment,
    HealthSnapshot,
    HealthStatus,
    Service,
)

# Degraded pages people as much as down does: both count as failing.
FAILING_STATUSES = (HealthStatus.DOWN, HealthStatus.DEGRADED)
# Only scheduled snapshots measure every check; a one-check "run now" says nothing overall.
_SCHEDULED = HealthSnapshot.Kind.SCHEDULED
# Deployments that got out: a failed one never served traffic.
_SHIPPED = (Deployment.Status.SUCCEEDED, Deployment.Status.ROLLED_BACK)


def correlation_lead() -> timedelta:
    """How far before a moment deployments are looked at (HINDSIGHT_CORRELATION_WINDOW_HOURS)."""
    return timedelta(hours=settings.HINDSIGHT_CORRELATION_WINDOW_HOURS)


def _scheduled(service: Service | int) -> QuerySet[HealthSnapshot]:
    return HealthSnapshot.objects.filter(service=service, kind=_SCHEDULED)


def _production_first(environment: str) -> Case:
    """0 for production and for what names no environment (the whole service), else 1."""
    return Case(
        When(**{f"{environment}__kind": Environment.Kind.PRODUCTION}, then=Value(0)),
        When(**{f"{environment}__isnull": True}, then=Value(0)),
        default=Value(1),
    )


def _last_shipped(*, service: Service, red_at: datetime) -> Deployment | None:
    return (
        Deployment.objects.filter(
            environment__service=service,
            status__in=_SHIPPED,
            finished_at__lte=red_at,
            finished_at__gte=red_at - correlation_lead(),
        )
        .select_related("environment", "rollback_of")
        .order_by(_production_first("environment"), "-finished_at", "-id")
        .first()
    )


def _last_change(*, service: Service, red_at: datetime) -> Change | None:
    return (
        Change.objects.filter(service=service, at__lte=red_at, at__gte=red_at - correlation_lead())
        .select_related("environment")
        .order_by(_production_first("environment"), "-at", "-id")
        .first()
    )
