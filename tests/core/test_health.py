"""/healthz and /readyz: no login, cheap, not throttled; /readyz names each dependency with its
timing and answers 503, quickly, when the database or Redis is down."""

from __future__ import annotations

import time
from typing import cast

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from core import health
from tests import brokers

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login_or_a_query(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(queries) == 0
    assert "no-store" in response["Cache-Control"]
    assert "Set-Cookie" not in response
    assert response["X-Request-Id"]


def test_healthz_and_readyz_are_never_throttled(client):
    rates = cast(dict[str, str], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    anonymous_limit = int(rates["anon"].split("/")[0])
    for _ in range(anonymous_limit + 5):
        assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/readyz").status_code != 429


def test_only_get_is_answered(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


@pytest.mark.redis
def test_readyz_names_the_database_and_the_broker_with_their_timings(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "broker"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert isinstance(check["ms"], float)
        assert 0 <= check["ms"] < 1000
    assert "note" not in body["checks"]["broker"]  # a real Redis was asked
    assert "no-store" in response["Cache-Control"]


@pytest.mark.redis
@pytest.mark.xdist_group("one-at-a-time")  # timed: with the group that needs quiet
@pytest.mark.parametrize("down", ["refused", "silent"])
def test_readyz_is_a_quick_503_when_redis_is_down(client, down):
    def ask():
        started = time.perf_counter()
        response = client.get("/readyz")
        return response, time.perf_counter() - started

    if down == "refused":
        with brokers.broker_at(brokers.refused_port()):
            response, took = ask()
    else:
        with brokers.silent_port() as port, brokers.broker_at(port):
            response, took = ask()
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"] in {"ConnectionError", "TimeoutError"}
    assert took < health.CHECK_TIMEOUT + 1.0
    # Back up: ready again, no restart needed.
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_database_fails(client, monkeypatch):
    class Refusing:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", Refusing())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "error": "OperationalError",
        "ms": response.json()["checks"]["database"]["ms"],
    }


def test_without_redis_the_broker_is_in_process_and_ready(client, monkeypatch):
    monkeypatch.setattr(health.current_app.conf, "broker_url", "memory://")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["note"] == "in-process (no REDIS_URL)"
