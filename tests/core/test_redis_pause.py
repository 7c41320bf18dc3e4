"""After Redis fails, a process stops asking it for a while, and asks again once that is over."""

from __future__ import annotations

import pytest
from django.core.cache.backends.locmem import LocMemCache

from api import ratelimit
from core import redis_pause
from incidents.live import presence
from tests import brokers
from tests.factories import UserFactory

POLICY = ratelimit.Policy(name="anon", limit=60, window=60)


class BrokenDatabase:
    """The database's counters, failing."""

    asked = 0

    def hit(self, key: str, window: int) -> int:
        self.asked += 1
        raise ConnectionError("refused")


class BrokenRedis(BrokenDatabase, ratelimit.CacheCounter):
    """The cache's counters with Redis down."""


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(redis_pause.time, "monotonic", lambda: now[0])
    return now


def test_a_failed_count_pauses_counting_then_counting_resumes(monkeypatch, clock):
    broken = BrokenRedis(LocMemCache("pause-test", {}))
    monkeypatch.setattr(ratelimit, "_counter", broken)

    assert ratelimit.count(POLICY, "203.0.113.9") is None
    assert ratelimit.count(POLICY, "203.0.113.9") is None
    assert broken.asked == 1  # the second request went through without waiting on Redis
    assert redis_pause.redis_paused()

    clock[0] += redis_pause.PAUSE_SECONDS
    monkeypatch.setattr(ratelimit, "_counter", ratelimit.CacheCounter(LocMemCache("back", {})))
    usage = ratelimit.count(POLICY, "203.0.113.9")
    assert usage is not None
    assert usage.count == 1


def test_the_database_counters_never_pause(monkeypatch, clock):
    monkeypatch.setattr(ratelimit, "_counter", BrokenDatabase())
    assert ratelimit.count(POLICY, "203.0.113.9") is None
    assert not redis_pause.redis_paused()


@pytest.mark.django_db
def test_presence_with_redis_down_waits_once_then_not_until_the_pause_is_over(settings, clock):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{brokers.refused_port()}/0",
        }
    }
    user = UserFactory()
    presence.presence_beat(incident_id=1, user=user, editing="")
    assert redis_pause.redis_paused()
    assert presence.presence_others(incident_id=1, user=user) == []
    clock[0] += redis_pause.PAUSE_SECONDS
    assert not redis_pause.redis_paused()
