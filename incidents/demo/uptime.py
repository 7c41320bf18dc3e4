"""The demo's recent health history: hourly roll-ups for the last 90 days, so the status page's
uptime bars show a service with a past rather than a blank strip.

Only the history is made up. The demo runs no checks (`make run` starts no worker), so the page
still says honestly that there is no recent check; the bars are what retention would have left
behind from months of scheduled snapshots. The rows end at the hour the demo is loaded; a reload
replaces every roll-up after the outage's own day, so the row count never grows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from deployments.models import CheckResultHourly, HealthCheck
from incidents.demo.system import RESOLVED_AT

DAYS = 90
# A handful of rough hours: (days ago, hour of day UTC, check, failed samples). Short, partial,
# one check at a time: the kind of blips any service has between big outages.
BLIPS = (
    (74, 14, "Login page", 9),
    (51, 2, "Database", 31),
    (51, 3, "Database", 6),
    (33, 20, "API health", 3),
    (12, 9, "Authentication", 14),
    (4, 17, "Homepage", 2),
)


def _latency(order: int, hour: datetime) -> tuple[int, int]:
    """A steady made-up latency that still varies by check and hour (p50, p95 in ms)."""
    base = 60 + 25 * order
    jitter = (hour.day * 7 + hour.hour * 13 + order * 5) % 40
    return base + jitter, base * 2 + jitter * 3


def uptime_history_load(checks: list[HealthCheck]) -> int:
    """Write the last DAYS days of hourly roll-ups for the demo's checks; returns the count."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(days=DAYS)
    failures = {
        (now.replace(hour=hour) - timedelta(days=days_ago), name): failed
        for days_ago, hour, name, failed in BLIPS
    }
    CheckResultHourly.objects.filter(
        health_check__in=checks, hour__gt=RESOLVED_AT + timedelta(days=1)
    ).delete()
    table = CheckResultHourly._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    rows = []
    for order, check in enumerate(checks):
        samples = 3600 // check.interval_seconds
        hour = first
        while hour < now:
            p50, p95 = _latency(order, hour)
            failed = min(samples, failures.get((hour, check.name), 0))
            rows.append(
                (check.pk, check.service_id, adapt(hour), samples, samples - failed, p50, p95)
            )
            hour += timedelta(hours=1)
    # 10,800 rows: one executemany instead of bulk_create, which spends over a second of CPU
    # compiling them, on every demo load of the test suite too.
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (health_check_id, service_id, hour, samples, ok_count,"
            " latency_p50_ms, latency_p95_ms) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    return len(rows)
