"""Uptime: results per (check, day) over HISTORY_DAYS, from the hourly roll-ups and the raw
results not yet rolled up (one UNION ALL, incidents.statuspage.selectors.uptime_rows). Only one
process rebuilds the page at a time (incidents.statuspage.page.documents), so the read is not
cached on its own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time

from django.utils import timezone

from incidents.statuspage.page.shapes import UptimeDay
from incidents.statuspage.selectors import uptime_rows


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _uptime(check_ids: list[int], days: list[date]) -> dict[tuple[int, date], UptimeDay]:
    if not check_ids:
        return {}
    totals: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    for row in uptime_rows(check_ids=check_ids, since=_day_start(days[0])):
        total = totals[(row["health_check_id"], row["day"])]
        total[0] += row["samples"] or 0
        total[1] += row["ok"] or 0
    return {key: UptimeDay(key[1], samples, ok) for key, (samples, ok) in totals.items()}
