"""How a service's health moved: its changes of status in a stretch, and when it turned red for
the trouble going on at a moment."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, Q, QuerySet, Subquery

from deployments.correlation._common import FAILING_STATUSES, _scheduled, correlation_lead
from deployments.models import HealthChange, HealthStatus, Service


def health_changes_between(
    *, service: Service, start: datetime, end: datetime
) -> QuerySet[HealthChange]:
    """Served by healthchange_service_time_idx."""
    return HealthChange.objects.filter(
        service=service, changed_at__gte=start, changed_at__lte=end
    ).order_by("changed_at", "id")


def health_turned_red(
    *, service: Service, before: datetime, until: datetime | None = None
) -> datetime | None:
    """When the service's health turned red for the trouble going on at `before`.

    The first change to down or degraded after its last change back to up at or before
    `before`. Without change rows (data older than the health runtime), the first failing
    scheduled snapshot after the last healthy one. A red turn up to `until` (default `before`)
    counts, for incidents declared before the checks noticed. Nothing older than the correlation
    window is looked at. Two queries at most.
    """
    since, until = before - correlation_lead(), until or before
    recovered = HealthChange.objects.filter(
        service=service, to_status=HealthStatus.UP, changed_at__gte=since, changed_at__lte=before
    ).order_by("-changed_at")
    turned = (
        HealthChange.objects.filter(
            service=service,
            to_status__in=FAILING_STATUSES,
            changed_at__gte=since,
            changed_at__lte=until,
        )
        .filter(Q(changed_at__gt=Subquery(recovered.values("changed_at")[:1])) | ~Exists(recovered))
        .order_by("changed_at")
        .values_list("changed_at", flat=True)
        .first()
    )
    if turned is not None:
        return turned
    healthy = (
        _scheduled(service)
        .filter(status=HealthStatus.UP, taken_at__gte=since, taken_at__lte=before)
        .order_by("-taken_at")
    )
    return (
        _scheduled(service)
        .filter(status__in=FAILING_STATUSES, taken_at__gte=since, taken_at__lte=until)
        .filter(Q(taken_at__gt=Subquery(healthy.values("taken_at")[:1])) | ~Exists(healthy))
        .order_by("taken_at")
        .values_list("taken_at", flat=True)
        .first()
    )
