"""Redis down for everything a request touches in it: the broker, the cache and the API's rate
limit counters, all at one port where Redis is refused or wedged (tests/brokers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings
from rest_framework.test import APIClient

from api import ratelimit
from core import redis_pause
from hindsight.celery import app
from tests import brokers
from tests.reliability.writes import World


@contextmanager
def redis_down(how: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with ExitStack() as stack:
        if how == "refused":
            port = brokers.refused_port()
        else:
            port = stack.enter_context(brokers.silent_port())
        timeout = settings.REDIS_CACHE_SOCKET_TIMEOUT
        cache = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            # The production cache's own timeouts (hindsight/settings/base.py).
            "OPTIONS": {"socket_timeout": timeout, "socket_connect_timeout": timeout},
        }
        stack.enter_context(brokers.broker_at(port))
        stack.enter_context(override_settings(CACHES={"default": cache}))
        # The counters as production has them with a REDIS_URL: in that cache.
        monkeypatch.setattr(ratelimit, "_counter", ratelimit.CacheCounter(caches["default"]))
        yield


def warm_up(world: World) -> None:
    """What a server's first requests pay once (importing the views, the API's stack, the Redis
    clients) paid before anything is timed: a page, an API request and a connection to the
    broker, with Redis refused. Leaves no pause behind (core.redis_pause)."""
    with pytest.MonkeyPatch.context() as monkeypatch, redis_down("refused", monkeypatch):
        monkeypatch.setattr(redis_pause, "_paused_until", redis_pause._paused_until)
        client = Client()
        client.force_login(world.admin)
        client.get(f"/incidents/{world.ref}/")
        APIClient().get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Bearer {world.write_token}")
        with app.connection_for_write() as connection, suppress(Exception):  # refused, as meant
            connection.connect()
