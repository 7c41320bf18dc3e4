"""The status page's cache: the keys, status_page_invalidate(), and cached(), which keeps a
rendered page fresh for PAGE_CACHE_SECONDS and lets one process at a time rebuild it (the rebuild
lock) while the others serve the previous bytes.

A cache that fails (Redis down, or wedged and answering nothing) costs the public pages their
speed, not their answer: they are built from the database for each request. Within one request
the cache is tried once: after a failure the rest of the request goes without it, so a wedged
Redis costs a request one socket timeout (settings.CACHES), not one per cache call. Failures are
logged once a minute, not once a request.
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.ratelimited_log import RateLimitedLog
from incidents.statuspage.page.shapes import HISTORY_DAYS

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The rendered page is kept this long: during an outage everyone refreshes, and nobody needs it
# fresher than this.
PAGE_CACHE_SECONDS = 10
# A stale entry is kept this much longer than it is fresh, so that while one process rebuilds it
# the others still have bytes to serve instead of all building at once.
STALE_KEEP_SECONDS = 3600
# How long a rebuild may hold the lock: a process that dies while building holds back the others
# (who serve the previous bytes meanwhile) this long at most.
REBUILD_LOCK_SECONDS = 30
# Bump the version when the cached value (incidents.statuspage.views.public.RenderedPage, or the
# (fresh-until, value) pair that cached() keeps) changes shape.
PAGE_CACHE_KEY = "incidents:status-page:v5"
FEED_CACHE_KEY = "incidents:status-feed:v2"
INCIDENT_CACHE_KEY = "incidents:status-incident:v2:{number}"
# The JSON summary (incidents.statuspage.machine); here so every write drops it with the page.
SUMMARY_CACHE_KEY = "incidents:status-summary:v2"


def _uptime_key(today: date) -> str:
    return f"incidents:status-uptime:{today.isoformat()}:{HISTORY_DAYS}"


def status_page_invalidate(*, incident_number: int | None = None) -> None:
    """Drop the cached page, feeds and today's uptime after a write they show, and the page of
    the incident it was about, if any; every process reads the same cache, so the next request
    anywhere builds them afresh.

    Called after commit, so it never raises: with the cache down the write stands and is
    answered as saved, the failure is logged, and what the cache still holds (if it comes back)
    runs out within PAGE_CACHE_SECONDS.
    """
    with _one_attempt():
        keys = [
            PAGE_CACHE_KEY,
            FEED_CACHE_KEY,
            SUMMARY_CACHE_KEY,
            _uptime_key(timezone.localdate()),
        ]
        if incident_number is not None:
            keys.append(INCIDENT_CACHE_KEY.format(number=incident_number))
        _cache_call(cache.delete_many, keys)


def new_cache_log() -> RateLimitedLog:
    return RateLimitedLog(logger, seconds=60)


cache_trouble = new_cache_log()


def cache_failed(error: Exception) -> None:
    """Say that the shared cache failed and the request goes on without it (once a minute)."""
    cache_trouble.warning(
        "Status page: the cache failed, going on without it: %s: %s", type(error).__name__, error
    )


@dataclass
class _Attempt:
    failed: bool = False


_attempt: ContextVar[_Attempt | None] = ContextVar("status_page_cache_attempt", default=None)


@contextmanager
def _one_attempt() -> Iterator[None]:
    """The cache calls inside share one try: after the first failure the others are skipped."""
    token = _attempt.set(_Attempt())
    try:
        yield
    finally:
        _attempt.reset(token)


def _cache_call(method: Callable[..., T], *args: object) -> T | None:
    attempt = _attempt.get()
    if attempt is not None and attempt.failed:
        return None
    try:
        return method(*args)
    except Exception as error:  # whatever the backend raises; Redis raises its own errors
        if attempt is not None:
            attempt.failed = True
        cache_failed(error)
        return None


def cached(key: str, build: Callable[[], T], seconds: int = PAGE_CACHE_SECONDS) -> T:
    """What is kept in the cache under `key`, or what `build()` makes, fresh for `seconds`.

    Kept as (fresh until, value) for `seconds` + STALE_KEEP_SECONDS. A reader who finds it stale
    tries to take the rebuild lock (cache.add, which only one caller wins): the winner builds and
    stores it, the others return the stale value meanwhile, so one process rebuilds at a time.
    With nothing kept (cold, or dropped by status_page_invalidate() after a write), the reader
    builds: a write must show at once, never behind someone else's rebuild.
    """
    with _one_attempt():
        kept = _cache_call(cache.get, key)
        if kept is not None:
            fresh_until, value = kept
            if clock.time() < fresh_until:
                return value
            lock = f"{key}:rebuilding"
            if not _cache_call(cache.add, lock, 1, REBUILD_LOCK_SECONDS):
                return value  # another process is rebuilding it (or the cache just failed)
            try:
                return _build_and_keep(key, build, seconds)
            finally:
                _cache_call(cache.delete, lock)
        return _build_and_keep(key, build, seconds)


def _build_and_keep(key: str, build: Callable[[], T], seconds: int) -> T:
    # One copy for every visitor: built in the organisation's zone, never in the zone of the
    # signed-in person whose request happened to build it.
    with timezone.override(settings.TIME_ZONE):
        value = build()
    _cache_call(cache.set, key, (clock.time() + seconds, value), seconds + STALE_KEEP_SECONDS)
    return value
