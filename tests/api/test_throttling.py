"""The API's rate limits: one count per token, per person or per address, told in RateLimit
headers on every answer, 429 problems with Retry-After past the limit, and failing open, logged
once a minute, while the counters cannot be reached: the API never answers 500 because Redis
is down. (Two real workers sharing one count: tests/reliability/test_shared_rate_limits.py.)"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from api import ratelimit, throttling
from api.models import RateLimitCount
from api.tokens import token_create
from core.ratelimited_log import RateLimitedLog
from tests.factories import ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/tokens"
INCIDENTS = "/api/v1/incidents"


class FailingCache(LocMemCache):
    """A cache whose server is down: every call raises, as Django's Redis backend does."""

    def __init__(self) -> None:
        super().__init__("failing-throttle", {})

    def _fail(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    get = set = add = delete = incr = _fail


@pytest.fixture
def cache_down(monkeypatch) -> None:
    monkeypatch.setattr(ratelimit, "_counter", ratelimit.CacheCounter(FailingCache()))
    monkeypatch.setattr(ratelimit, "trouble", RateLimitedLog(ratelimit.logger, seconds=60))


@pytest.fixture
def rates(monkeypatch):
    def set_rates(**values: str) -> None:
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **values}
        )
        monkeypatch.setattr(
            ScopedRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **values}
        )

    return set_rates


def bearer(raw: str, **extra: Any) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def parsed(header: str) -> dict[str, dict[str, int]]:
    """'"a";q=1;w=2, "b";r=3' -> {"a": {"q": 1, "w": 2}, "b": {"r": 3}}"""
    found = {}
    for member in header.split(", "):
        name, *params = member.split(";")
        found[name.strip('"')] = {k: int(v) for k, v in (p.split("=") for p in params)}
    return found


class TestFailingOpen:
    def test_with_the_cache_down_a_throttled_endpoint_answers_and_says_so_once(
        self, cache_down, caplog
    ):
        caplog.set_level(logging.WARNING, logger=ratelimit.logger.name)
        client = APIClient()
        client.force_authenticate(user_with_role("editor"))
        responses = [client.get(TOKENS) for _ in range(5)]
        assert [r.status_code for r in responses] == [200] * 5
        lines = [r.getMessage() for r in caplog.records if r.name == ratelimit.logger.name]
        assert len(lines) == 1
        assert "the counters failed" in lines[0]
        # Nothing to tell: no made-up numbers.
        assert "RateLimit" not in responses[0]

    def test_with_the_cache_down_the_anonymous_limit_lets_requests_through(self, cache_down):
        request = Request(APIRequestFactory().get(TOKENS))
        request.user = AnonymousUser()
        assert throttling.ClientRateThrottle().allow_request(request, view=None)

    def test_with_the_cache_down_unauthenticated_answers_are_not_429(self, cache_down):
        assert [APIClient().get(INCIDENTS).status_code for _ in range(3)] == [401] * 3


class TestLimits:
    def test_with_the_cache_up_the_limits_still_hold(self, rates):
        rates(tokens="2/min")
        client = APIClient()
        client.force_authenticate(user_with_role("editor"))
        assert [client.get(TOKENS).status_code for _ in range(3)] == [200, 200, 429]

    def test_each_token_has_its_own_count(self, rates):
        rates(token="2/min")
        editor = user_with_role("editor")
        first, second = (bearer(token_create(user=editor, name=n)[1]) for n in ("a", "b"))
        assert [first.get(INCIDENTS).status_code for _ in range(3)] == [200, 200, 429]
        assert second.get(INCIDENTS).status_code == 200

    def test_a_429_is_a_problem_with_retry_after_and_the_headers(self, rates):
        rates(token="1/min")
        api = bearer(token_create(user=user_with_role("viewer"), name="x")[1])
        api.get(INCIDENTS)
        response = api.get(INCIDENTS)
        assert response.status_code == 429
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == "urn:hindsight:problem:throttled"
        wait = int(response["Retry-After"])
        assert 1 <= wait <= 60
        assert body["retry_after"] == wait
        assert parsed(response["RateLimit"])["token"] == {"r": 0, "t": wait}

    def test_every_answer_says_the_policy_and_what_is_left(self, rates):
        rates(token="5/min")
        api = bearer(token_create(user=user_with_role("viewer"), name="x")[1])
        remaining = []
        for _ in range(3):
            response = api.get(INCIDENTS)
            assert parsed(response["RateLimit-Policy"]) == {"token": {"q": 5, "w": 60}}
            remaining.append(parsed(response["RateLimit"])["token"]["r"])
        assert remaining == [4, 3, 2]

    def test_a_view_with_its_own_scope_reports_both_limits(self, rates):
        rates(tokens="3/min", user="10/min")
        client = APIClient()
        client.force_authenticate(user_with_role("editor"))
        response = client.get(TOKENS)
        assert parsed(response["RateLimit-Policy"]) == {
            "user": {"q": 10, "w": 60},
            "tokens": {"q": 3, "w": 60},
        }
        assert {k: v["r"] for k, v in parsed(response["RateLimit"]).items()} == {
            "user": 9,
            "tokens": 2,
        }

    def test_answers_given_before_the_limits_ran_count_against_the_address(self, rates):
        rates(anon="3/min")
        guesser = bearer("hst_guessing", REMOTE_ADDR="192.0.2.5")
        codes = [guesser.get(INCIDENTS).status_code for _ in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        refused = guesser.get(INCIDENTS)
        assert refused["Content-Type"] == "application/problem+json"
        assert int(refused["Retry-After"]) >= 1
        assert parsed(refused["RateLimit"])["anon"]["r"] == 0
        # Another address is not held back by it.
        assert APIClient(REMOTE_ADDR="192.0.2.6").get(INCIDENTS).status_code == 401

    def test_a_scope_refusal_counts_against_the_token_not_the_address(self, rates):
        rates(token="2/min", anon="1/min")
        raw = token_create(user=user_with_role("viewer"), name="x", scope="gate")[1]
        api = bearer(raw)
        assert [api.get(INCIDENTS).status_code for _ in range(3)] == [403, 403, 429]
        assert "token" in parsed(api.get(INCIDENTS)["RateLimit"])
        assert APIClient().get(INCIDENTS).status_code == 401  # the address is untouched

    def test_an_idempotent_replay_counts_against_its_token(self, rates):
        rates(token="3/min", anon="1/min")
        raw = token_create(user=user_with_role("admin"), name="x", scope="write")[1]
        api = bearer(raw)
        ServiceFactory(slug="moodmash")
        body = {"service": "moodmash", "kind": "config", "summary": "Raised the pool size"}
        codes = [
            api.post(
                "/api/v1/changes", body, format="json", HTTP_IDEMPOTENCY_KEY="same"
            ).status_code
            for _ in range(4)
        ]
        assert codes == [201, 201, 201, 429]

    def test_an_unknown_api_url_carries_the_headers_too(self):
        response = APIClient().get("/api/v1/no-such-thing")
        assert response.status_code == 404
        assert "anon" in parsed(response["RateLimit-Policy"])

    def test_pages_outside_the_api_carry_no_rate_limit_headers(self, client):
        assert "RateLimit" not in client.get("/login/")


class TestClientAddress:
    def request(self, **meta: Any) -> HttpRequest:
        return RequestFactory().get("/api/v1/incidents", **meta)

    def test_without_trusted_proxies_forwarded_for_is_ignored(self, settings):
        settings.HINDSIGHT_TRUSTED_PROXIES = 0
        request = self.request(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1")
        assert ratelimit.client_address(request) == "10.0.0.2"

    def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_wrote(self, settings):
        settings.HINDSIGHT_TRUSTED_PROXIES = 1
        request = self.request(
            REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9"
        )
        assert ratelimit.client_address(request) == "203.0.113.9"

    def test_behind_two_proxies_the_outermost_ones_view_counts(self, settings):
        settings.HINDSIGHT_TRUSTED_PROXIES = 2
        request = self.request(
            REMOTE_ADDR="10.0.0.3", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9, 10.0.0.2"
        )
        assert ratelimit.client_address(request) == "203.0.113.9"

    def test_a_short_header_falls_back_to_the_peer(self, settings):
        settings.HINDSIGHT_TRUSTED_PROXIES = 2
        request = self.request(REMOTE_ADDR="10.0.0.3", HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert ratelimit.client_address(request) == "10.0.0.3"


class TestCounters:
    @pytest.mark.parametrize(
        "made", [lambda: ratelimit.CacheCounter(LocMemCache("t", {})), ratelimit.DatabaseCounter]
    )
    def test_a_counter_counts_each_key_apart(self, made):
        counter = made()
        assert [counter.hit("a", 60) for _ in range(3)] == [1, 2, 3]
        assert counter.hit("b", 60) == 1

    def test_the_database_counter_clears_ended_windows(self, time_machine):
        time_machine.move_to("2026-01-01T12:00:00Z")
        counter = ratelimit.DatabaseCounter()
        counter.hit("old", 60)
        time_machine.shift(600)
        counter.hit("new", 60)
        assert list(RateLimitCount.objects.values_list("key", flat=True)) == ["new"]

    def test_the_window_resets_at_its_end(self, rates, time_machine):
        rates(token="1/min")
        time_machine.move_to("2026-01-01T12:00:10Z", tick=False)
        api = bearer(token_create(user=user_with_role("viewer"), name="x")[1])
        assert api.get(INCIDENTS).status_code == 200
        refused = api.get(INCIDENTS)
        assert refused.status_code == 429
        assert refused["Retry-After"] == "50"
        time_machine.move_to("2026-01-01T12:01:00Z", tick=False)
        assert api.get(INCIDENTS).status_code == 200

    def test_the_policy_header_is_a_structured_list(self, rates):
        rates(token="7/h")
        api = bearer(token_create(user=user_with_role("viewer"), name="x")[1])
        header = api.get(INCIDENTS)["RateLimit-Policy"]
        assert re.fullmatch(r'"token";q=7;w=3600', header)
