"""The health around a stretch of time: the last healthy snapshot before it, the failures in it
per check, and the first healthy snapshot after them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Max, Min, OuterRef, Subquery, Sum, Value
from django.utils import timezone

from deployments.correlation._common import _scheduled, correlation_lead
from deployments.models import (
    CheckResult,
    CheckResultHourly,
    HealthSnapshot,
    HealthStatus,
    Service,
)

HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


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
    declares an incident. Hours past retention are read from their roll-ups. Three queries,
    each of ranges on a (service, time) index, however many snapshots there are.
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
    since = before.taken_at if before else start
    window = CheckResult.objects.filter(
        service=service,
        ok=False,
        # A failure inside a maintenance window was expected; it is not the incident's.
        maintenance=False,
        taken_at__gt=since,
        taken_at__lte=end,
    )
    last_error = window.filter(health_check=OuterRef("health_check_id")).order_by("-taken_at")
    raw = (
        window.values("health_check_id", "health_check__name", "health_check__order")
        .annotate(
            first=Min("taken_at"),
            last=Max("taken_at"),
            count=Count("id"),
            last_error=Subquery(last_error.values("error")[:1]),
            hourly=Value(False),
        )
        .order_by()
    )
    # Hours past retention hold roll-ups instead of raw results (the roll-up deletes what it
    # counts, so the two never overlap): an old incident keeps its failing checks, to the hour.
    # One UNION ALL with the raw part keeps this one query.
    rolled_up = (
        CheckResultHourly.objects.filter(
            service=service,
            hour__gte=hour_floor(since),
            hour__lte=end,
            ok_count__lt=F("samples"),
        )
        .values("health_check_id", "health_check__name", "health_check__order")
        .annotate(
            first=Min("hour"),
            last=Max("hour"),
            count=Sum(F("samples") - F("ok_count")),
            last_error=Value(""),
            hourly=Value(True),
        )
        .order_by()
    )
    rows = list(raw.union(rolled_up, all=True))
    order = {row["health_check_id"]: row["health_check__order"] for row in rows}
    failing: dict[int, CheckFailures] = {}
    for row in sorted(rows, key=lambda row: row["hourly"], reverse=True):
        check_id = row["health_check_id"]
        if row["hourly"]:
            failing[check_id] = _hours(row, since=since, end=end)
        else:
            failing[check_id] = _with_raw(failing.get(check_id), row)
    ordered = sorted(failing.values(), key=lambda f: (order[f.health_check_id], f.name))
    # A check known only by its rolled-up hours failed somewhere in them: the recovery is looked
    # for from its first failing hour, and the snapshot that records it (one carrying a health
    # change, which retention keeps) bounds its last failure.
    hours_only = {row["health_check_id"] for row in rows if row["hourly"]} - {
        row["health_check_id"] for row in rows if not row["hourly"]
    }
    recovered_from = max(
        [
            start,
            *(
                f.first_failed_at if f.health_check_id in hours_only else f.last_failed_at
                for f in ordered
            ),
        ]
    )
    after = (
        _scheduled(service)
        .filter(status=HealthStatus.UP, taken_at__gt=recovered_from)
        .order_by("taken_at")
        .first()
    )
    if after is not None:
        ordered = [
            replace(f, last_failed_at=min(f.last_failed_at, after.taken_at - SECOND))
            if f.health_check_id in hours_only
            else f
            for f in ordered
        ]
    return Bracketing(before=before, failing=ordered, after=after)


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hours(row: Mapping[str, Any], *, since: datetime, end: datetime) -> CheckFailures:
    """A check's failures in its rolled-up hours. They are known to the hour only: they span
    their hours (within the stretch looked at), and their errors went with the raw rows."""
    return CheckFailures(
        health_check_id=row["health_check_id"],
        name=row["health_check__name"],
        first_failed_at=max(row["first"], since),
        last_failed_at=min(row["last"] + HOUR - SECOND, end),
        count=row["count"],
        last_error="",
    )


def _with_raw(hours: CheckFailures | None, row: Mapping[str, Any]) -> CheckFailures:
    """A check's failures from its raw results, after those of its rolled-up hours if any (the
    raw ones are the newer: retention rolls up the oldest hours)."""
    raw = CheckFailures(
        health_check_id=row["health_check_id"],
        name=row["health_check__name"],
        first_failed_at=row["first"],
        last_failed_at=row["last"],
        count=row["count"],
        last_error=row["last_error"] or "",
    )
    if hours is None:
        return raw
    return CheckFailures(
        health_check_id=raw.health_check_id,
        name=raw.name,
        first_failed_at=min(hours.first_failed_at, raw.first_failed_at),
        last_failed_at=max(hours.last_failed_at, raw.last_failed_at),
        count=hours.count + raw.count,
        last_error=raw.last_error,
    )
