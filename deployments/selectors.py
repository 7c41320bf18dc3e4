"""Non-trivial reads on the system side."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Case, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.timesince import timesince

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
    CheckResultHourly,
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


@dataclass(frozen=True)
class CheckAnswers:
    """What one check answered at one moment (a raw result), or over one rolled-up hour once
    retention replaced its raw results (deployments.services.retention)."""

    health_check_id: int
    name: str
    order: int
    at: datetime
    until: datetime  # `at` for a raw result; the hour's last second for a roll-up
    total: int  # answers, those inside maintenance windows included
    failed: int  # failures outside maintenance windows
    excused: int  # failures inside maintenance windows
    answer: str  # a raw failure's status code and error; a roll-up keeps none
    hourly: bool


def _said(status_code: int | None, error: str) -> str:
    return ": ".join(str(part) for part in (status_code, error) if part) or "no answer"


def check_answers_between(
    *, service: Service, start: datetime, end: datetime
) -> list[CheckAnswers]:
    """A service's checks' answers in [start, end], by time then check: raw results where they
    are kept, hourly roll-ups where retention deleted them (the two never overlap). One query
    (UNION ALL of two range scans, result_service_time_idx and hourly_service_hour_idx)."""
    columns = (
        *("health_check_id", "health_check__name", "health_check__order", "at", "total"),
        *("failed", "excused", "status_code", "error", "hourly"),
    )
    raw = (
        CheckResult.objects.filter(service=service, taken_at__gte=start, taken_at__lte=end)
        .annotate(
            at=F("taken_at"),
            total=Value(1),
            failed=Case(When(ok=False, maintenance=False, then=Value(1)), default=Value(0)),
            excused=Case(When(maintenance=True, then=Value(1)), default=Value(0)),
            hourly=Value(False),
        )
        .values_list(*columns)
        .order_by()
    )
    first_hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rolled_up = (
        CheckResultHourly.objects.filter(service=service, hour__gte=first_hour, hour__lte=end)
        .annotate(
            at=F("hour"),
            total=F("samples") + F("maintenance_count"),
            failed=F("samples") - F("ok_count"),
            excused=F("maintenance_count"),
            status_code=Value(None, output_field=IntegerField()),
            error=Value(""),
            hourly=Value(True),
        )
        .values_list(*columns)
        .order_by()
    )
    answers = [
        CheckAnswers(
            health_check_id=check_id,
            name=name,
            order=order,
            at=at,
            until=at + timedelta(hours=1, seconds=-1) if hourly else at,
            total=total,
            failed=failed,
            excused=excused,
            answer="" if hourly else _said(status_code, error),
            hourly=hourly,
        )
        for (
            check_id,
            name,
            order,
            at,
            total,
            failed,
            excused,
            status_code,
            error,
            hourly,
        ) in raw.union(rolled_up, all=True)
    ]
    return sorted(answers, key=lambda a: (a.at, a.order, a.name))


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


# --- Fresh health ---------------------------------------------------------------------------------
# Health measured longer ago than three probe intervals (and never less than ten minutes, so a
# 10-second check is not unknown after one slow beat) is unknown, not what it last was: the prober
# has stopped (no worker, checks switched off), and an old "up" must neither pass the gate nor
# reassure anyone. The gate's health rule, the dashboard, the system pages, the incident page and
# the public status page all judge by health_is_stale().
STALE_INTERVALS = 3
STALE_MINIMUM = timedelta(minutes=10)
UNKNOWN = "unknown"


def health_is_stale(
    *, checked_at: datetime | None, interval_seconds: int | None, now: datetime
) -> bool:
    """Whether a check (or a service, by its probe interval) answered too long ago to vouch for
    it now. Never checked, or nothing enabled to check it again: stale."""
    if checked_at is None or interval_seconds is None:
        return True
    allowed = max(STALE_MINIMUM, timedelta(seconds=STALE_INTERVALS * interval_seconds))
    return now - checked_at > allowed


def time_ago(moment: datetime, now: datetime) -> str:
    """How long ago, in its largest unit: "11 months ago", "3 minutes ago", "under a minute
    ago"."""
    if now - moment < timedelta(minutes=1):
        return "under a minute ago"
    return f"{timesince(moment, now, depth=1)} ago".replace("\xa0", " ")


@dataclass(frozen=True)
class Freshness:
    """A health status as it may be shown now: what was last measured, while it is fresh."""

    measured: str | None  # up, degraded or down as last measured; None when never
    checked_at: datetime | None
    stale: bool
    now: datetime

    @property
    def status(self) -> str:
        """The measured status while fresh, else "unknown"."""
        return self.measured if self.measured is not None and not self.stale else UNKNOWN

    @property
    def label(self) -> str:
        return self.status.capitalize()

    @property
    def age(self) -> str:
        """How long ago the last check was ("11 months ago"); empty when never checked."""
        return time_ago(self.checked_at, self.now) if self.checked_at is not None else ""

    @property
    def said(self) -> str:
        """In words: "last check 11 months ago", or "never checked"."""
        return f"last check {self.age}" if self.checked_at is not None else "never checked"


def health_freshness(
    *,
    status: str | None,
    checked_at: datetime | None,
    interval_seconds: int | None,
    now: datetime | None = None,
) -> Freshness:
    now = now or timezone.now()
    stale = health_is_stale(checked_at=checked_at, interval_seconds=interval_seconds, now=now)
    return Freshness(measured=status, checked_at=checked_at, stale=stale, now=now)


def probe_interval(service: Any) -> Subquery:
    """The service's probe interval in seconds, as a subquery: its enabled checks' shortest,
    which is how often the scheduler snapshots it; null without an enabled check. `service` is
    a Service, its id, or OuterRef("pk")."""
    shortest = (
        HealthCheck.objects.filter(service=service, enabled=True)
        .order_by("interval_seconds")
        .values("interval_seconds")[:1]
    )
    return Subquery(shortest)


def services_health_now(*, now: datetime | None = None) -> list[Service]:
    """Every service as service_health() gives it, with `health`: a Freshness of its latest
    snapshot. One query."""
    return _health_now(service_health(), now)


def service_health_now(*, service: Service, now: datetime | None = None) -> Freshness:
    """One service's health now, as services_health_now() judges it. One query."""
    (found,) = _health_now(service_health().filter(pk=service.pk), now)
    health: Freshness = found.health  # type: ignore[attr-defined]  # set by _health_now
    return health


def _health_now(services: QuerySet[Service], now: datetime | None) -> list[Service]:
    now = now or timezone.now()
    rows: list[Service] = list(services.annotate(health_interval=probe_interval(OuterRef("pk"))))
    for service in rows:
        service.health = health_freshness(  # type: ignore[attr-defined]  # for the templates
            status=service.health_status,  # type: ignore[attr-defined]  # annotated
            checked_at=service.health_taken_at,  # type: ignore[attr-defined]  # annotated
            interval_seconds=service.health_interval,  # type: ignore[attr-defined]  # annotated
            now=now,
        )
    return rows


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
    """Every service with its latest health (as services_health_now) and its checks in `board`,
    each check with `latest`: its newest CheckResult, or None. Three queries however many rows.
    """
    services = services_health_now()
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
