"""Sending from the UI while Redis is down: the request still answers within a second, the work
waits in the outbox, and once the broker is back the relay publishes it and every recipient
gets exactly one email.

"Down" is both ways tests/brokers.py takes it down: refused, and accepting but never answering.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core import redis_pause
from hindsight.celery import app
from incidents.communications import services
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.communications.delivery import DELIVER_TASK
from incidents.communications.tasks import communication_deliver
from incidents.models import (
    Communication,
    CommunicationTemplate,
    Delivery,
    Subscriber,
)
from outbox import services as outbox_services
from outbox.models import OutboxMessage
from tests import brokers
from tests.factories import IncidentFactory, user_with_role

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # "Within a second": one at a time with the group that needs quiet (tests/conftest.py).
    pytest.mark.xdist_group("one-at-a-time"),
]

READERS = ["ann@example.com", "bob@example.com", "cy@example.com"]


@pytest.fixture
def refused_port() -> int:
    return brokers.refused_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    with brokers.silent_port() as port:
        yield port


@pytest.fixture
def approved() -> Communication:
    now = timezone.now()
    for address in READERS:
        Subscriber.objects.create(email=address, confirmed_at=now)
    default_templates_ensure()
    draft = services.communication_generate(
        incident=IncidentFactory(status="resolved", resolved_at=now),
        template=CommunicationTemplate.objects.get(slug=USER_EMAIL_SLUG),
        user=None,
    )
    return services.communication_approve(communication=draft, user=None)


def send_from_the_page(client, communication: Communication) -> float:
    client.force_login(user_with_role("editor"))
    # A server that has served a page before: the first request of a process imports the views.
    page = reverse("incidents:detail", args=[communication.incident.reference])
    assert client.get(page).status_code == 200
    started = time.monotonic()
    response = client.post(
        reverse(
            "incidents:communication_send",
            args=[communication.incident.reference, communication.pk],
        )
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 302, response.content[:500]
    return elapsed


@pytest.mark.parametrize("down", ["refused_port", "silent_port"])
def test_sending_with_redis_down_answers_within_a_second_and_keeps_the_work(
    client, approved, down, request
):
    with brokers.broker_at(request.getfixturevalue(down)):
        elapsed = send_from_the_page(client, approved)

    assert elapsed < 1.0, f"the send took {elapsed:.2f} s with Redis down"
    approved.refresh_from_db()
    assert approved.status == Communication.Status.SENT
    row = OutboxMessage.objects.get(task=DELIVER_TASK)
    assert row.published_at is None
    assert row.attempts == 1  # the quick publish tried once and gave up
    assert row.last_error
    assert not Delivery.objects.exists()


@pytest.mark.celery_worker
def test_when_the_broker_is_back_the_relay_delivers_exactly_once(
    client, approved, refused_port, celery_worker, monkeypatch
):
    with brokers.broker_at(refused_port):
        send_from_the_page(client, approved)
    assert OutboxMessage.objects.get(task=DELIVER_TASK).published_at is None

    # The real Redis again, consumed by the worker: the delivery, and the refresh of the
    # incident's search document that the send asked for too. The pause after the failed
    # publish (core.redis_pause) has run out by then; the worker's fan-out queues its sends
    # through the outbox and publishes them at once.
    monkeypatch.setattr(redis_pause, "_paused_until", 0.0)
    assert outbox_services.outbox_relay() == 2
    wait_until_sent(len(READERS))
    # Published twice (as after a relay that died before marking its row): still one each.
    communication_deliver.delay(approved.pk)
    time.sleep(1.0)
    wait_until_sent(len(READERS))

    assert sorted(address for message in mail.outbox for address in message.to) == READERS
    assert OutboxMessage.objects.get(task=DELIVER_TASK).published_at is not None
    assert outbox_services.outbox_relay() == 0


def wait_until_sent(count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Delivery.objects.filter(status="sent").count() == count and not (
            Delivery.objects.exclude(status="sent").exists()
        ):
            return
        time.sleep(0.05)
    pytest.fail(f"{Delivery.objects.filter(status='sent').count()} of {count} sent in time")


def test_the_relay_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["outbox-relay"]
    assert entry["task"] == "outbox.tasks.outbox_relay"
    assert entry["schedule"] <= 10
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert entry["task"] in app.tasks
