"""Retention: raw results past HINDSIGHT_RESULT_RETENTION_DAYS become hourly roll-ups, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.models import (
    CheckResult,
    CheckResultHourly,
    HealthChange,
    HealthSnapshot,
)
from deployments.services import ProbeOutcome, snapshot_record
from deployments.services.retention import percentile, results_roll_up
from deployments.tasks import health_results_roll_up
from tests.factories import HealthCheckFactory, ServiceFactory
from tests.helpers import run_in_threads

pytestmark = pytest.mark.django_db

H = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

# (minute in the hour, ok, latency): eleven samples in hour H, ten with a latency, unsorted.
HOUR_ONE = [
    (0, True, 70),
    (5, True, 10),
    (10, False, None),  # refused: no latency
    (15, True, 100),
    (20, True, 40),
    (25, False, 30),
    (30, True, 20),
    (35, True, 90),
    (40, True, 50),
    (45, True, 60),
    (50, True, 80),
]
# Three samples in the next hour.
HOUR_TWO = [(1, True, 300), (2, False, 5), (3, True, 7)]


def record(check, moment: datetime, ok: bool, latency: int | None) -> HealthSnapshot:
    return snapshot_record(
        service=check.service,
        taken_at=moment,
        outcomes=[ProbeOutcome(check, ok, 200 if ok else None, latency, "" if ok else "Refused.")],
    )


@pytest.fixture
def check():
    check = HealthCheckFactory()
    for minute, ok, latency in HOUR_ONE:
        record(check, H + minute * MINUTE, ok, latency)
    for minute, ok, latency in HOUR_TWO:
        record(check, H + timedelta(hours=1) + minute * MINUTE, ok, latency)
    return check


def test_percentiles_are_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([7], 95) == 7
    assert percentile([10, 20, 30, 40], 50) == 20
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile(list(range(1, 21)), 95) == 19


def test_old_results_become_hourly_rows_with_uptime_and_latency_percentiles(check):
    report = results_roll_up(before=H + timedelta(hours=3))

    one, two = CheckResultHourly.objects.filter(health_check=check).order_by("hour")
    assert (one.hour, one.samples, one.ok_count) == (H, 11, 9)
    # The ten latencies sorted: 10 20 30 40 50 60 70 80 90 100.
    assert (one.latency_p50_ms, one.latency_p95_ms) == (50, 100)
    assert one.uptime_percent == pytest.approx(100 * 9 / 11)
    assert (two.hour, two.samples, two.ok_count) == (H + timedelta(hours=1), 3, 2)
    assert (two.latency_p50_ms, two.latency_p95_ms) == (7, 300)
    assert two.service_id == check.service_id
    assert report.results_deleted == 14
    assert report.hours_written == 2
    assert not CheckResult.objects.exists()


def test_a_second_run_counts_nothing_twice(check):
    results_roll_up(before=H + timedelta(hours=3))
    first = list(CheckResultHourly.objects.order_by("hour").values())

    report = results_roll_up(before=H + timedelta(hours=3))

    assert (report.results_deleted, report.hours_written, report.snapshots_deleted) == (0, 0, 0)
    assert list(CheckResultHourly.objects.order_by("hour").values()) == first


def test_only_whole_hours_before_the_cutoff_hour_are_rolled_up(check):
    # Half past the second hour: that hour is not over for retention yet, so it stays raw.
    results_roll_up(before=H + timedelta(hours=1, minutes=30))

    assert list(CheckResultHourly.objects.values_list("hour", "samples")) == [(H, 11)]
    assert CheckResult.objects.count() == len(HOUR_TWO)
    assert all(r.taken_at >= H + timedelta(hours=1) for r in CheckResult.objects.all())


@pytest.mark.parametrize("batch_size", [1, 3, 4, 11, 12, 5000])
def test_any_batch_size_gives_the_same_numbers(check, batch_size):
    results_roll_up(before=H + timedelta(hours=3), batch_size=batch_size)

    rows = CheckResultHourly.objects.order_by("hour").values_list(
        "samples", "ok_count", "latency_p50_ms", "latency_p95_ms"
    )
    assert list(rows) == [(11, 9, 50, 100), (3, 2, 7, 300)]
    assert not CheckResult.objects.exists()


def test_each_check_gets_its_own_row_per_hour():
    first = HealthCheckFactory()
    second = HealthCheckFactory(service=first.service)
    snapshot_record(
        service=first.service,
        taken_at=H,
        outcomes=[ProbeOutcome(first, True, 200, 12), ProbeOutcome(second, False, 500, 900, "500")],
    )
    results_roll_up(before=H + timedelta(hours=2))
    rows = dict(CheckResultHourly.objects.values_list("health_check_id", "ok_count").order_by("pk"))
    assert rows == {first.pk: 1, second.pk: 0}


def test_results_within_retention_stay_raw(settings):
    settings.HINDSIGHT_RESULT_RETENTION_DAYS = 14
    check = HealthCheckFactory()
    now = timezone.now()
    record(check, now - timedelta(days=13), True, 10)
    old = record(check, now - timedelta(days=15), True, 10)

    result = health_results_roll_up()

    assert result["results_deleted"] == 1
    assert CheckResult.objects.count() == 1
    assert not HealthSnapshot.objects.filter(pk=old.pk).exists()


def test_emptied_snapshots_go_but_those_that_carry_a_health_change_stay(check):
    changes = set(HealthChange.objects.values_list("snapshot_id", flat=True))
    assert len(changes) >= 3  # first status, up to down, down to up, ...
    recent = record(check, timezone.now(), True, 10)

    report = results_roll_up(before=H + timedelta(hours=3))

    assert set(HealthSnapshot.objects.values_list("pk", flat=True)) == changes | {recent.pk}
    assert report.snapshots_deleted == len(HOUR_ONE) + len(HOUR_TWO) - len(changes)
    assert HealthChange.objects.count() == len(changes)


def test_results_arriving_late_for_a_rolled_up_hour_are_merged(check):
    results_roll_up(before=H + timedelta(hours=3))
    record(check, H + 55 * MINUTE, False, 200)

    results_roll_up(before=H + timedelta(hours=3))

    row = CheckResultHourly.objects.get(health_check=check, hour=H)
    assert (row.samples, row.ok_count) == (12, 9)
    # Weighted by samples: (50 * 11 + 200 * 1) / 12 and (100 * 11 + 200) / 12.
    assert (row.latency_p50_ms, row.latency_p95_ms) == (62, 108)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_count_every_result_once():
    service = ServiceFactory()
    checks = [HealthCheckFactory(service=service) for _ in range(3)]
    for minute in range(0, 180, 2):
        snapshot_record(
            service=service,
            taken_at=H + minute * MINUTE,
            outcomes=[ProbeOutcome(c, minute % 3 != i, 200, 10 + i) for i, c in enumerate(checks)],
        )
    assert connection.vendor == "postgresql"

    reports = run_in_threads(
        2, lambda _i: results_roll_up(before=H + timedelta(hours=4), batch_size=50)
    )

    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert sum(r.results_deleted for r in reports) == 90 * 3
    rows = CheckResultHourly.objects.all()
    assert sum(r.samples for r in rows) == 90 * 3
    assert len(rows) == 3 * 3
    assert not CheckResult.objects.exists()


def test_old_raw_results_are_deleted_in_batches(check):
    # Hour H holds 11 results, more than a batch of 5: it goes whole, alone; then hour H+1's 3.
    with CaptureQueriesContext(connection) as ctx:
        report = results_roll_up(before=H + timedelta(hours=3), batch_size=5)
    # The results' own deletes, not the cascade from emptied snapshots (which finds none).
    batch_delete = 'DELETE FROM "deployments_checkresult" WHERE "deployments_checkresult"."id" IN'
    deletes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith(batch_delete)]
    assert [sql.count(",") + 1 for sql in deletes] == [11, 3]
    assert report.results_deleted == 14
    assert not CheckResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_each_batch_is_its_own_transaction_so_a_failure_keeps_the_batches_before_it(
    check, monkeypatch
):
    calls = []
    write = CheckResultHourly.objects.bulk_create

    def second_batch_fails(rows, *args, **kwargs):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return write(rows, *args, **kwargs)

    monkeypatch.setattr(CheckResultHourly.objects, "bulk_create", second_batch_fails)
    with pytest.raises(RuntimeError):
        results_roll_up(before=H + timedelta(hours=3), batch_size=5)

    assert not connection.in_atomic_block
    # The first batch (hour H) is committed: its roll-up written and its raw results gone.
    assert list(CheckResultHourly.objects.values_list("hour", flat=True)) == [H]
    assert not CheckResult.objects.filter(taken_at__lt=H + timedelta(hours=1)).exists()
    # The second (hour H+1) rolled back whole: its raw results are all still there.
    assert CheckResult.objects.filter(taken_at__gte=H + timedelta(hours=1)).count() == 3

    monkeypatch.undo()
    results_roll_up(before=H + timedelta(hours=3), batch_size=5)
    assert sorted(CheckResultHourly.objects.values_list("samples", flat=True)) == [3, 11]
    assert not CheckResult.objects.exists()
