"""Non-trivial reads on the system side."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import OuterRef, Q, QuerySet, Subquery

from deployments.correlation import (  # noqa: F401  (the correlation reads live there by topic)
    Bracketing,
    CheckFailures,
    Correlation,
    RollbackCommand,
    WhatChanged,
    changes_around,
    correlation,
    deployments_around,
    health_changes_between,
    health_turned_red,
    last_known_good,
    rollback_command,
    snapshots_bracketing,
    suspect_change,
    suspect_deployment,
    what_changed,
)
from deployments.models import (
    CheckResult,
    Deployment,
    HealthCheck,
    HealthSnapshot,
    MaintenanceWindow,
    Service,
)


def results_between(*, service: Service, start: datetime, end: datetime) -> QuerySet[CheckResult]:
    """Every check result of a service in [start, end], oldest first.

    Served by result_service_time_idx as a range scan; no join to the snapshots.
    """
    return CheckResult.objects.filter(
        service=service, taken_at__gte=start, taken_at__lte=end
    ).order_by("taken_at", "health_check_id")


def snapshots_between(
    *, service: Service, start: datetime, end: datetime
) -> QuerySet[HealthSnapshot]:
    return HealthSnapshot.objects.filter(
        service=service, taken_at__gte=start, taken_at__lte=end
    ).order_by("taken_at")


def deployments_between(
    *, service: Service, start: datetime, end: datetime
) -> QuerySet[Deployment]:
    """Deployments of any of the service's environments that started in [start, end]."""
    return (
        Deployment.objects.filter(
            environment__service=service, started_at__gte=start, started_at__lte=end
        )
        .select_related("environment")
        .order_by("started_at", "id")
    )


def service_health() -> QuerySet[Service]:
    """Every service with the status and time of its latest health snapshot, in one query.

    `health_status` and `health_taken_at` are None for a service never checked. Correlated
    subqueries rather than DISTINCT ON: they run on SQLite too, and each is one probe of the
    (service, taken_at) unique index.
    """
    latest = HealthSnapshot.objects.filter(service=OuterRef("pk")).order_by("-taken_at")
    return Service.objects.annotate(
        health_status=Subquery(latest.values("status")[:1]),
        health_taken_at=Subquery(latest.values("taken_at")[:1]),
    ).order_by("name")


def health_check_board() -> list[Service]:
    """Every service with its latest health (as service_health) and its checks in `board`,
    each check with `latest`: its newest CheckResult, or None. Three queries however many rows.
    """
    services = list(service_health())
    newest = CheckResult.objects.filter(health_check=OuterRef("pk")).order_by("-taken_at", "-pk")
    checks = list(
        HealthCheck.objects.select_related("environment")
        # One backward probe of result_check_time_idx per check.
        .annotate(latest_id=Subquery(newest.values("pk")[:1]))
        .order_by("service_id", "order", "name")
    )
    latest = CheckResult.objects.in_bulk([c.latest_id for c in checks if c.latest_id])
    by_service: dict[int, list[HealthCheck]] = {}
    for check in checks:
        check.latest = latest.get(check.latest_id)  # type: ignore[attr-defined]  # for the template
        by_service.setdefault(check.service_id, []).append(check)
    for service in services:
        service.board = by_service.get(service.pk, [])  # type: ignore[attr-defined]  # for the template
    return services


# --- Maintenance windows ------------------------------------------------------------------------


def open_at(at: datetime) -> Q:
    """A maintenance window open at `at`: started, not run out (ends_at), not ended."""
    return Q(starts_at__lte=at, ends_at__gt=at) & (Q(ended_at__isnull=True) | Q(ended_at__gt=at))


def maintenance_windows_open(*, at: datetime) -> QuerySet[MaintenanceWindow]:
    return MaintenanceWindow.objects.filter(open_at(at))


def checks_in_maintenance(*, checks: Iterable[HealthCheck], at: datetime) -> set[int]:
    """The ids of the checks that a maintenance window covers at `at`, in one query.

    A window of the whole service covers all its checks; a window of one environment covers
    the checks watching that environment, and not the service-wide ones (they watch more than
    what is being deployed). Served by maintenance_service_ends_idx.
    """
    checks = list(checks)
    if not checks:
        return set()
    scopes: set[tuple[int, int | None]] = set(
        maintenance_windows_open(at=at)
        .filter(service_id__in={check.service_id for check in checks})
        .values_list("service_id", "environment_id")
    )
    return {
        check.pk
        for check in checks
        if (check.service_id, None) in scopes
        or (check.environment_id is not None and (check.service_id, check.environment_id) in scopes)
    }


def in_maintenance(*, health_check: HealthCheck, at: datetime) -> bool:
    """Is this check inside a maintenance window at `at`? One query."""
    return health_check.pk in checks_in_maintenance(checks=[health_check], at=at)
