"""/healthz and /readyz, for load balancers and orchestrators: no login, no session, cheap.

/healthz says the process answers: it touches no database and no Redis, so a slow dependency
never gets a healthy process restarted. /readyz says whether this process can serve: the
database and the broker (Redis, also the cache) each answer, with how long each took; 503 when
one does not, so the balancer sends traffic elsewhere until it does. Each check has a short
timeout, so a dead Redis is a quick 503, never a hung probe.

Plain Django views, not DRF: no authentication, no throttle, no query beyond the checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import redis
from celery import current_app
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# Seconds a check may take. The database has its own connect timeout (DATABASE_URL's
# connect_timeout); Redis gets this one on its socket.
CHECK_TIMEOUT = 1.0
# Paths a rate limit must never count: a probe every few seconds from every balancer.
UNTHROTTLED_PATHS = ("/healthz", "/readyz")


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    # One client (and its connection pool) per URL, so a probe reuses a connection.
    return redis.Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )


def _database() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return None


def _broker() -> str | None:
    url = str(current_app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        # No REDIS_URL: tasks run inside the web process and the cache is its memory.
        return "in-process (no REDIS_URL)"
    _redis(url).ping()
    return None


def _timed(check: Callable[[], str | None]) -> dict[str, Any]:
    started = time.perf_counter()
    result: dict[str, Any] = {"ok": True}
    try:
        note = check()
    except Exception as error:  # any failure is "not ready", named by its class
        result = {"ok": False, "error": type(error).__name__}
    else:
        if note:
            result["note"] = note
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unready", "checks": checks}, status=200 if ready else 503
    )
