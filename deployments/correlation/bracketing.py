"""The health around a stretch of time: the last healthy snapshot before it, the failures in it
per check, and the first healthy snapshot after them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min, OuterRef, Subquery
from django.utils import timezone

from deployments.correlation._common import _scheduled, correlation_lead
from deployments.models import CheckResult, HealthSnapshot, HealthStatus, Service


@dataclass(frozen=True)
class CheckFailures:
    """One check's failures in a stretch of time."""

    health_check_id: int
    name: str
    first_failed_at: datetime
    last_failed_at: datetime
    count: int
    last_error: str


@dataclass(frozen=True)
class Bracketing:
    before: HealthSnapshot | None  # the last healthy snapshot at or before the start
    failing: list[CheckFailures]  # per check, in the checks' order
    after: HealthSnapshot | None  # the first healthy snapshot after the last failure

    @property
    def first_failed_at(self) -> datetime | None:
        return min((f.first_failed_at for f in self.failing), default=None)

    @property
    def last_failed_at(self) -> datetime | None:
        return max((f.last_failed_at for f in self.failing), default=None)


def snapshots_bracketing(
    *, service: Service, start: datetime, end: datetime | None = None
) -> Bracketing:
    """The health around [start, end]: the last healthy snapshot before it, the failures in it
    summarized per check, and the first healthy snapshot after them.

    Failures count from that last healthy snapshot on, since checks often fail before anyone
    declares an incident. Three queries, each a range on a (service, taken_at) index, however
    many snapshots there are.
    """
    end = end or timezone.now()
    before = (
        _scheduled(service)
        .filter(
            status=HealthStatus.UP, taken_at__lte=start, taken_at__gte=start - correlation_lead()
        )
        .order_by("-taken_at")
        .first()
    )
    window = CheckResult.objects.filter(
        service=service,
        ok=False,
        # A failure inside a maintenance window was expected; it is not the incident's.
        maintenance=False,
        taken_at__gt=before.taken_at if before else start,
        taken_at__lte=end,
    )
    last_error = window.filter(health_check=OuterRef("health_check_id")).order_by("-taken_at")
    rows = (
        window.values("health_check_id", "health_check__name", "health_check__order")
        .annotate(
            first=Min("taken_at"),
            last=Max("taken_at"),
            count=Count("id"),
            last_error=Subquery(last_error.values("error")[:1]),
        )
        .order_by("health_check__order", "health_check__name")
    )
    failing = [
        CheckFailures(
            health_check_id=row["health_check_id"],
            name=row["health_check__name"],
            first_failed_at=row["first"],
            last_failed_at=row["last"],
            count=row["count"],
            last_error=row["last_error"] or "",
        )
        for row in rows
    ]
    recovered_from = max([start, *(f.last_failed_at for f in failing)])
    after = (
        _scheduled(service)
        .filter(status=HealthStatus.UP, taken_at__gt=recovered_from)
        .order_by("taken_at")
        .first()
    )
    return Bracketing(before=before, failing=failing, after=after)
