"""Counting requests against the API's rate limits, in one place every worker shares.

A limit is a policy ("60 requests a minute") applied to a client: a token, a signed-in person
or an address. Each policy counts in fixed windows (a minute from :00, say): one counter per
client per window, raised atomically, so two workers never both let the 60th request through
and a client sees the same numbers whichever worker answers.

Where the counters live (Counter): in Redis when REDIS_URL is set (SET NX with an expiry, then
INCR, through Django's cache), otherwise in the database (one row per client and window, raised
with UPDATE ... count + 1), so the limits stay shared even with several workers and no Redis.

What clients are told follows draft-ietf-httpapi-ratelimit-headers-10 (September 2025),
sections 3 and 4: `RateLimit-Policy: "anon";q=60;w=60` names each policy with its quota and
window, `RateLimit: "anon";r=42;t=17` says what remains and in how many seconds it resets.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from api.models import RateLimitCount
from core.ratelimited_log import RateLimitedLog
from core.redis_pause import redis_pause, redis_paused

logger = logging.getLogger(__name__)
trouble = RateLimitedLog(logger, seconds=60)

# Where a request's counts are kept for the headers (api.throttling sets it; the middleware
# below reads it).
REQUEST_ATTRIBUTE = "rate_limits"
# The policies every client counts against one of (DEFAULT_THROTTLE_RATES names their rates).
ANON, TOKEN, USER = "anon", "token", "user"


@dataclass(frozen=True)
class Policy:
    name: str
    limit: int
    window: int  # seconds


@dataclass(frozen=True)
class Usage:
    policy: Policy
    count: int  # this request included
    reset: int  # seconds until the window ends

    @property
    def remaining(self) -> int:
        return max(0, self.policy.limit - self.count)

    @property
    def exceeded(self) -> bool:
        return self.count > self.policy.limit


class Counter(Protocol):
    def hit(self, key: str, window: int) -> int:
        """Add one to `key`'s count and return the count; the count lives at least `window`
        seconds from its first hit."""
        ...


class CacheCounter:
    """Counts in a Django cache: atomic in Redis (and in one process's local memory)."""

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache

    def hit(self, key: str, window: int) -> int:
        # Twice the window: a key is only raised during its own window, so it cannot expire
        # between add() and incr() and come back without an expiry.
        if self.cache.add(key, 1, timeout=2 * window):
            return 1
        return int(self.cache.incr(key))


class DatabaseCounter:
    """Counts in the database when there is no Redis: shared by every worker all the same.

    One statement per request, an upsert that returns the new count (INSERT ... ON CONFLICT DO
    UPDATE ... RETURNING, in PostgreSQL and in SQLite since 3.35): atomic without a
    transaction of its own, because the row is locked by the statement that raises it. The
    ORM has no upsert that raises a column and returns it; three ORM queries in a transaction
    cost a millisecond on every API request.
    """

    def hit(self, key: str, window: int) -> int:
        now = timezone.now()
        quote = connection.ops.quote_name
        table = quote(RateLimitCount._meta.db_table)
        count = quote("count")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({quote('key')}, {count}, {quote('expires_at')}) "
                f"VALUES (%s, 1, %s) ON CONFLICT ({quote('key')}) "
                f"DO UPDATE SET {count} = {table}.{count} + 1 RETURNING {count}",
                [key, now + timedelta(seconds=2 * window)],
            )
            (current,) = cursor.fetchone()
        if current == 1:
            # Once per client and window: cheap, and the table stays small.
            RateLimitCount.objects.filter(expires_at__lt=now).delete()
        return int(current)


_counter: Counter | None = None


def counter() -> Counter:
    global _counter
    if _counter is None:
        _counter = CacheCounter(caches["default"]) if settings.REDIS_URL else DatabaseCounter()
    return _counter


def count(policy: Policy, client: str, *, clock: Callable[[], float] = time.time) -> Usage | None:
    """Count one request of `client` against `policy`; None when the counters cannot be
    reached. A limit guards against abuse: it must not take the API down with Redis, so the
    request goes through and the failure is logged once a minute. Redis having failed a moment
    ago (core.redis_pause), it is not asked: the request goes through at once."""
    # Only the cache's counters are Redis's; the database's never pause.
    redis = isinstance(counter(), CacheCounter)
    if redis and redis_paused():
        return None
    now = clock()
    window = int(now // policy.window)
    key = f"ratelimit:{policy.name}:{policy.window}:{window}:{client}"
    try:
        current = counter().hit(key, policy.window)
    except Exception as error:  # whatever the backend raises; Redis raises its own errors
        if redis:
            redis_pause()
        trouble.warning(
            "API rate limits: the counters failed, letting requests through: %s: %s",
            type(error).__name__,
            error,
        )
        return None
    reset = max(1, math.ceil((window + 1) * policy.window - now))
    return Usage(policy=policy, count=current, reset=reset)


def client_address(request: HttpRequest) -> str:
    """The address a request came from: REMOTE_ADDR, or behind HINDSIGHT_TRUSTED_PROXIES proxies
    the address the outermost of them saw, read from X-Forwarded-For. Addresses a client put in
    the header itself are further left and never read."""
    proxies = settings.HINDSIGHT_TRUSTED_PROXIES
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    return forwarded[-proxies] if len(forwarded) >= proxies else remote


def record(request: HttpRequest, usage: Usage | None) -> None:
    """Keep a count for the headers. None (the counters failed) still marks the request as
    counted, so the middleware does not count it again against its address."""
    usages: list[Usage] | None = getattr(request, REQUEST_ATTRIBUTE, None)
    if usages is None:
        usages = []
        setattr(request, REQUEST_ATTRIBUTE, usages)
    if usage is not None:
        usages.append(usage)


def header_values(usages: list[Usage]) -> dict[str, str]:
    return {
        "RateLimit-Policy": ", ".join(
            f'"{u.policy.name}";q={u.policy.limit};w={u.policy.window}' for u in usages
        ),
        "RateLimit": ", ".join(f'"{u.policy.name}";r={u.remaining};t={u.reset}' for u in usages),
    }


def policy(name: str) -> Policy:
    return Policy(name, *parse_rate(SimpleRateThrottle.THROTTLE_RATES[name] or ""))


def token_client(key_hash: str) -> str:
    """A token's count, by its hash: the same whether the token was looked up (a throttle) or
    not (an answer given before, read from the header alone)."""
    return f"token:{key_hash[:32]}"


def parse_rate(rate: str) -> tuple[int, int]:
    """ "60/min" -> (60, 60), as DRF reads its rates."""
    number, period = rate.split("/")
    return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
