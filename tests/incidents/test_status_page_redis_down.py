"""The public status pages stay up when Redis does not: on a port where nothing listens (refused at
once) and on one that accepts and never answers (a wedged Redis), every public URL still answers
from the database, quickly, and saving a maintenance window or signing up still works once.

The cache is pointed at the dead port through its real settings (the OPTIONS with their socket
timeout), so what is measured is what production does. Each request is timed against that
timeout: a wedged cache may cost a request one timeout, not one per cache call.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from incidents.models import Component, ComponentStatus, Incident, Maintenance, Subscriber
from incidents.statuspage.subscriber_links import confirm_url, unsubscribe_url
from incidents.statuspage.views import subscribers as subscriber_views
from outbox.models import OutboxMessage
from tests import brokers
from tests.factories import HealthCheckFactory, IncidentFactory, user_with_role

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    # Timed ("within a second of the cache's timeout"): one at a time (tests/conftest.py).
    pytest.mark.xdist_group("one-at-a-time"),
]

DOWN = ["refused", "silent"]
# What a request may spend beyond one cache timeout: building the page from the database and
# rendering it, on a busy two-CPU machine.
SLACK = 1.0


def cache_timeout() -> float:
    return float(settings.CACHES["default"]["OPTIONS"]["socket_timeout"])


@contextmanager
def redis_down(down: str) -> Iterator[None]:
    """The cache and the broker both at a Redis that is down in the way named."""
    with brokers.silent_port() as silent:
        port = silent if down == "silent" else brokers.refused_port()
        location = f"redis://127.0.0.1:{port}/0"
        caches = {"default": {**settings.CACHES["default"], "LOCATION": location}}
        with override_settings(CACHES=caches), brokers.broker_at(port):
            yield


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch) -> None:
    """Each test starts with no cache failure logged yet by this process, and no sign-up counted
    in its own memory (where sign-ups are counted while the cache is down)."""
    monkeypatch.setattr(subscriber_views, "cache_trouble", subscriber_views.new_cache_log())
    subscriber_views._local_counts.clear()


@pytest.fixture
def public_incident() -> Incident:
    incident = IncidentFactory(
        started_at=timezone.now() - timedelta(hours=1),
        status_line="Checkout is slow for some people",
        public_since=timezone.now(),
    )
    HealthCheckFactory(service=incident.service, name="Checkout")
    return incident


def public_urls() -> list[str]:
    subscriber = Subscriber.objects.create(email="reader@example.test")
    links = [confirm_url(subscriber), unsubscribe_url(subscriber)]
    component = Component.objects.create(name="Checkout", status=ComponentStatus.PARTIAL_OUTAGE)
    return [
        reverse("incidents:status_page"),
        reverse("incidents:status_feed_atom"),
        reverse("incidents:status_feed_rss"),
        reverse("incidents:status_subscribe"),
        reverse("incidents:status_subscribe_sent"),
        reverse("incidents:status_summary"),
        reverse("incidents:status_component_badge", args=[component.pk]),
        *(link.removeprefix(settings.HINDSIGHT_BASE_URL) for link in links),
    ]


def timed_get(client: Client, url: str) -> tuple[float, int, bytes]:
    started = time.monotonic()
    response = client.get(url)
    return time.monotonic() - started, response.status_code, response.content


def test_the_cache_gives_up_within_a_quarter_second():
    # Short: it is what a wedged Redis costs every public request. The broker has its own.
    assert 0 < cache_timeout() <= 0.25
    assert settings.CACHES["default"]["OPTIONS"]["socket_connect_timeout"] <= 0.25


@pytest.mark.parametrize("down", DOWN)
def test_every_public_url_answers_from_the_database_quickly(public_incident, down):
    urls = public_urls()
    bound = cache_timeout() + SLACK
    with redis_down(down):
        client = Client()
        answers = {url: timed_get(client, url) for url in urls}
        again = timed_get(client, urls[0])  # nothing cached meanwhile: built again
    slow = {url: round(took, 2) for url, (took, _, _) in answers.items() if took > bound}
    assert slow == {}, f"over {bound:.2f} s"
    assert {url: status for url, (_, status, _) in answers.items()} == dict.fromkeys(urls, 200)
    page_body = answers[urls[0]][2].decode()
    assert "Checkout is slow for some people" in page_body
    assert "Checkout" in page_body
    assert f"#incident-{public_incident.number}" in answers[urls[1]][2].decode()
    assert again[1] == 200
    assert again[0] <= bound


def test_cache_failures_are_logged_once_a_minute_not_once_a_request(public_incident, caplog):
    caplog.set_level(logging.WARNING, logger=subscriber_views.logger.name)
    with (
        time_machine.travel(datetime(2031, 5, 1, 9, 0, tzinfo=UTC), tick=False) as clock,
        redis_down("refused"),
    ):
        client = Client()
        for url in ("/status/", "/status/feed.atom", "/status/", "/status/subscribe/"):
            assert client.get(url).status_code == 200
        assert client.post("/status/subscribe/", {"email": "a@example.test"}).status_code == 302
        first = [r for r in caplog.records if "cache" in r.getMessage().lower()]
        # The public pages no longer ask the cache at all (they are kept in the database); the
        # sign-up throttle still does.
        clock.shift(timedelta(seconds=59))
        assert client.post("/status/subscribe/", {"email": "b@example.test"}).status_code == 302
        within = [r for r in caplog.records if "cache" in r.getMessage().lower()]
        clock.shift(timedelta(seconds=2))
        assert client.post("/status/subscribe/", {"email": "c@example.test"}).status_code == 302
        after = [r for r in caplog.records if "cache" in r.getMessage().lower()]
    assert len(first) == 1, [r.getMessage() for r in first]
    assert len(within) == 1
    assert len(after) == 2
    # The next line says how many failures the minute held back.
    assert "more since" in after[1].getMessage()


@pytest.mark.parametrize("down", DOWN)
def test_saving_a_maintenance_window_with_redis_down_answers_once_and_makes_one_row(down):
    editor = Client()
    editor.force_login(user_with_role("editor"))
    start = timezone.localtime() + timedelta(days=2)
    form = {
        "title": "Database upgrade",
        "service": "",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "description": "Saving pauses for a minute.",
    }
    with redis_down(down):
        started = time.monotonic()
        saved = editor.post(reverse("incidents:maintenance_create"), form)
        took = time.monotonic() - started
        shown = Client().get("/status/")
    assert saved.status_code == 302, saved.content[:500]
    # Dropping the cached page after commit failed: one timeout, logged, never an error page.
    assert took <= cache_timeout() + SLACK
    assert saved["Location"] == reverse("incidents:maintenance_list")
    assert Maintenance.objects.count() == 1
    assert shown.status_code == 200
    assert b"Database upgrade" in shown.content


@pytest.mark.parametrize("down", DOWN)
def test_saving_a_maintenance_window_in_the_admin_with_redis_down_makes_one_row(admin_client, down):
    form = {
        "title": "From the admin",
        "description": "**bold**",
        "starts_at_0": "2030-01-01",
        "starts_at_1": "05:00:00",
        "ends_at_0": "2030-01-01",
        "ends_at_1": "06:00:00",
    }
    with redis_down(down):
        started = time.monotonic()
        saved = admin_client.post(reverse("admin:incidents_maintenance_add"), form)
        took = time.monotonic() - started
        window = Maintenance.objects.get()
        changed = admin_client.post(
            reverse("admin:incidents_maintenance_change", args=[window.pk]),
            {**form, "title": "Renamed"},
        )
        deleted = admin_client.post(
            reverse("admin:incidents_maintenance_delete", args=[window.pk]), {"post": "yes"}
        )
    assert [saved.status_code, changed.status_code, deleted.status_code] == [302, 302, 302]
    assert took <= cache_timeout() + SLACK
    assert not Maintenance.objects.exists()


@pytest.mark.parametrize("down", DOWN)
def test_signing_up_with_redis_down_works_and_the_confirmation_waits_in_the_outbox(down):
    client = Client()
    with redis_down(down):
        started = time.monotonic()
        response = client.post("/status/subscribe/", {"email": "reader@example.test"})
        took = time.monotonic() - started
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == reverse("incidents:status_subscribe_sent")
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "reader@example.test"
    waiting = OutboxMessage.objects.get()
    assert waiting.published_at is None  # the relay publishes it once Redis is back
    # One cache timeout for the throttle and the outbox's one quick publish, no more.
    assert took <= cache_timeout() + 0.25 + SLACK


def test_the_sign_up_throttle_still_holds_while_the_cache_is_down():
    client = Client(REMOTE_ADDR="192.0.2.9")
    with redis_down("refused"):
        answers = [
            client.post("/status/subscribe/", {"email": f"r{i}@example.test"}).status_code
            for i in range(subscriber_views.SIGNUP_LIMIT + 1)
        ]
    assert answers == [302] * subscriber_views.SIGNUP_LIMIT + [429]


@pytest.mark.parametrize("down", DOWN)
def test_with_redis_down_the_page_still_answers_gzip_and_304(public_incident, down):
    with redis_down(down):
        client = Client()
        first = client.get("/status/", HTTP_ACCEPT_ENCODING="gzip")
        again = client.get(
            "/status/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=first["ETag"]
        )
    assert first.status_code == 200
    assert first["Content-Encoding"] == "gzip"
    assert b"Checkout is slow for some people" in gzip.decompress(first.content)
    assert again.status_code == 304
