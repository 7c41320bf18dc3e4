"""Retention: raw check results older than HINDSIGHT_RESULT_RETENTION_DAYS become hourly roll-ups.

The roll-up works in whole hours only, one service at a time, oldest first, in batches of about
BATCH_SIZE results (a batch never splits an hour; an hour larger than a batch is one batch). Each
batch is one transaction that locks its raw rows, checks it got every one of them, deletes them and
writes one CheckResultHourly row per (check, hour): samples, ok_count, and latency p50 and p95
(nearest rank over the results that have a latency). Failures inside maintenance windows are
counted apart in maintenance_count, outside samples and the latencies, as uptime leaves them out. Rerunning finds no raw rows for hours already
rolled up, so nothing is counted twice; of two runs racing on one batch, the second waits for
the first's locks, finds fewer rows than it read, and rolls its batch back.

Results that arrive for an hour already rolled up (a late import) are merged into its row: counts
add up exactly, latency percentiles become the sample-weighted mean of both parts (the raw values
of the first part are gone).

Snapshots left without results in the hours rolled up are deleted too, except those that carry a
HealthChange: the changes keep every transition of the service's status, so the status between
them is still known. Without this the snapshot table would keep a row per service per minute
forever.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from deployments.models import CheckResult, CheckResultHourly, HealthSnapshot, Service

BATCH_SIZE = 5000
HOUR = timedelta(hours=1)
_COLUMNS = ("pk", "health_check_id", "taken_at", "ok", "latency_ms", "maintenance")


@dataclass
class RollUpReport:
    results_deleted: int = 0
    hours_written: int = 0
    snapshots_deleted: int = 0


class _Raced(Exception):
    """Another run deleted some of this batch's rows first; roll this batch back."""


def hour_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def percentile(ordered: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile of an ascending sequence; None when it is empty."""
    if not ordered:
        return None
    return ordered[max(math.ceil(p * len(ordered) / 100), 1) - 1]


def results_roll_up(
    *, before: datetime | None = None, batch_size: int = BATCH_SIZE
) -> RollUpReport:
    """Roll up and delete every raw result from before the hour that `before` falls in.

    `before` defaults to HINDSIGHT_RESULT_RETENTION_DAYS ago.
    """
    if before is None:
        before = timezone.now() - timedelta(days=settings.HINDSIGHT_RESULT_RETENTION_DAYS)
    cutoff = hour_start(before)
    report = RollUpReport()
    for service_id in Service.objects.order_by("pk").values_list("pk", flat=True):
        while True:
            try:
                if not _roll_up_batch(
                    service_id=service_id, cutoff=cutoff, batch_size=batch_size, report=report
                ):
                    break
            except _Raced:
                continue
    return report


def _batch_rows(*, service_id: int, cutoff: datetime, batch_size: int) -> list[tuple]:
    """The oldest whole hours of the service's results before `cutoff`, about a batch of them."""
    old = CheckResult.objects.filter(service_id=service_id, taken_at__lt=cutoff)
    # Served by result_service_time_idx: a range scan of one service in time order.
    rows = list(old.order_by("taken_at").values_list(*_COLUMNS)[: batch_size + 1])
    if len(rows) <= batch_size:
        return rows
    # The batch may stop inside an hour: keep the hours before the last one it reached.
    last_hour = hour_start(rows[-1][2])
    whole = [row for row in rows if row[2] < last_hour]
    if whole:
        return whole
    # One hour alone holds more than a batch: take that hour whole.
    return list(
        old.filter(taken_at__gte=last_hour, taken_at__lt=last_hour + HOUR)
        .order_by("taken_at")
        .values_list(*_COLUMNS)
    )


@transaction.atomic
def _roll_up_batch(
    *, service_id: int, cutoff: datetime, batch_size: int, report: RollUpReport
) -> bool:
    rows = _batch_rows(service_id=service_id, cutoff=cutoff, batch_size=batch_size)
    if not rows:
        return False
    # Lock the rows first, in id order so two runs never deadlock: a racing run waits here,
    # then finds fewer rows than it read and rolls back instead of counting them again.
    batch = CheckResult.objects.filter(pk__in=[row[0] for row in rows])
    if len(batch.order_by("pk").select_for_update().values_list("pk", flat=True)) != len(rows):
        raise _Raced()
    deleted, _ = batch.delete()

    groups: dict[tuple[int, datetime], list[tuple[bool, int | None]]] = defaultdict(list)
    excused: dict[tuple[int, datetime], int] = defaultdict(int)
    for _pk, check_id, taken_at, ok, latency, maintenance in rows:
        key = (check_id, hour_start(taken_at))
        if maintenance:
            excused[key] += 1
        else:
            groups[key].append((ok, latency))
    keys = groups.keys() | excused.keys()
    existing = {
        (row.health_check_id, row.hour): row
        for row in CheckResultHourly.objects.filter(
            health_check_id__in={key[0] for key in keys},
            hour__in={key[1] for key in keys},
        )
    }
    new, merged = [], []
    for check_id, hour in sorted(keys):
        samples = groups.get((check_id, hour), [])
        latencies = sorted(latency for _ok, latency in samples if latency is not None)
        part = CheckResultHourly(
            health_check_id=check_id,
            service_id=service_id,
            hour=hour,
            samples=len(samples),
            ok_count=sum(1 for ok, _latency in samples if ok),
            maintenance_count=excused.get((check_id, hour), 0),
            latency_p50_ms=percentile(latencies, 50),
            latency_p95_ms=percentile(latencies, 95),
        )
        row = existing.get((check_id, hour))
        if row is None:
            new.append(part)
        else:
            merged.append(_merge(row, part))
    CheckResultHourly.objects.bulk_create(new)
    CheckResultHourly.objects.bulk_update(
        merged,
        [
            "samples",
            "ok_count",
            "maintenance_count",
            "latency_p50_ms",
            "latency_p95_ms",
            "updated_at",
        ],
    )

    first_hour, end = hour_start(rows[0][2]), hour_start(rows[-1][2]) + HOUR
    emptied = HealthSnapshot.objects.filter(
        service_id=service_id, taken_at__gte=first_hour, taken_at__lt=end, change__isnull=True
    ).exclude(Exists(CheckResult.objects.filter(snapshot_id=OuterRef("pk"))))
    snapshots_deleted, _ = emptied.delete()

    report.results_deleted += deleted
    report.hours_written += len(new) + len(merged)
    report.snapshots_deleted += snapshots_deleted
    return True


def _merge(row: CheckResultHourly, part: CheckResultHourly) -> CheckResultHourly:
    def weighted(a: int | None, b: int | None) -> int | None:
        if a is None or b is None:
            return a if b is None else b
        return round((a * row.samples + b * part.samples) / (row.samples + part.samples))

    row.latency_p50_ms = weighted(row.latency_p50_ms, part.latency_p50_ms)
    row.latency_p95_ms = weighted(row.latency_p95_ms, part.latency_p95_ms)
    row.samples += part.samples
    row.ok_count += part.ok_count
    row.maintenance_count += part.maintenance_count
    row.updated_at = timezone.now()  # bulk_update does not touch auto_now fields itself
    return row
