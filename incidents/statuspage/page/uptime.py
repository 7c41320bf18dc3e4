"""Uptime: results per (check, day) over HISTORY_DAYS, from the hourly roll-ups and the raw
results not yet rolled up (one UNION ALL, incidents.statuspage.selectors.uptime_rows). Past days
do not change, so they are cached for an hour and a warm build reads only today.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time

from django.core.cache import cache
from django.utils import timezone

from incidents.statuspage.page.caching import _cache_call, _uptime_key
from incidents.statuspage.page.shapes import UptimeDay
from incidents.statuspage.selectors import uptime_rows

PAST_UPTIME_CACHE_SECONDS = 3600


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _uptime(check_ids: list[int], days: list[date]) -> dict[tuple[int, date], UptimeDay]:
    if not check_ids:
        return {}
    today = days[-1]
    key = _uptime_key(today)
    past = _cache_call(cache.get, key)
    if past is None or not set(check_ids) <= past["checks"]:
        rows = uptime_rows(check_ids=check_ids, since=_day_start(days[0]))
        past = {"checks": set(check_ids), "rows": [r for r in rows if r["day"] < today]}
        _cache_call(cache.set, key, past, PAST_UPTIME_CACHE_SECONDS)
        rows = [r for r in rows if r["day"] >= today]
    else:
        rows = uptime_rows(check_ids=check_ids, since=_day_start(today))
    totals: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    for row in [*past["rows"], *rows]:
        total = totals[(row["health_check_id"], row["day"])]
        total[0] += row["samples"] or 0
        total[1] += row["ok"] or 0
    return {key: UptimeDay(key[1], samples, ok) for key, (samples, ok) in totals.items()}
