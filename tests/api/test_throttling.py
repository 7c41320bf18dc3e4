"""The API's rate limits hold while the shared cache works, and fail open, logged once a minute,
when it does not: the API never answers 500 because Redis is down."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import SimpleRateThrottle

from api import throttling
from core.ratelimited_log import RateLimitedLog
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/tokens"


class FailingCache(LocMemCache):
    """A cache whose server is down: every call raises, as Django's Redis backend does."""

    def __init__(self) -> None:
        super().__init__("failing-throttle", {})

    def _fail(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    get = set = add = delete = incr = _fail


@pytest.fixture
def cache_down(monkeypatch) -> None:
    monkeypatch.setattr(SimpleRateThrottle, "cache", FailingCache())
    monkeypatch.setattr(throttling, "trouble", RateLimitedLog(throttling.logger, seconds=60))


def test_with_the_cache_down_a_throttled_endpoint_answers_and_says_so_once(cache_down, caplog):
    caplog.set_level(logging.WARNING, logger=throttling.logger.name)
    client = APIClient()
    client.force_authenticate(user_with_role("editor"))
    codes = [client.get(TOKENS).status_code for _ in range(5)]
    assert codes == [200] * 5
    lines = [r.getMessage() for r in caplog.records if r.name == throttling.logger.name]
    assert len(lines) == 1
    assert "the cache failed" in lines[0]


def test_with_the_cache_down_the_anonymous_limit_lets_requests_through(cache_down):
    request = Request(APIRequestFactory().get(TOKENS))
    request.user = AnonymousUser()
    assert throttling.AnonRateThrottle().allow_request(request, view=None)


def test_with_the_cache_up_the_limits_still_hold(monkeypatch):
    monkeypatch.setattr(throttling.ScopedRateThrottle, "THROTTLE_RATES", {"tokens": "2/min"})
    client = APIClient()
    client.force_authenticate(user_with_role("editor"))
    assert [client.get(TOKENS).status_code for _ in range(3)] == [200, 200, 429]
