"""Exactly once per recipient, even when a worker is killed mid-batch.

Two real Celery worker processes against the real Redis and PostgreSQL: the first is killed with
SIGKILL while it is sending the third of five emails; a second one picks up what was left
(including the message the dead worker held) and finishes. Each confirmed subscriber ends up
with exactly one email, written by Django's file email backend, which both processes share
through a temporary folder.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from hindsight.celery import app
from incidents.communications import services
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.models import CommunicationTemplate, Delivery, Subscriber
from tests.factories import IncidentFactory
from tests.reliability.worker_processes import WorkerProcesses

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    # Kills worker processes: one at a time with the group that needs quiet (tests/conftest.py).
    pytest.mark.xdist_group("one-at-a-time"),
]

CONFIRMED = [f"reader{i}@example.com" for i in range(1, 6)]

# A worker in its own process. WORKER_STALL_AT=n makes its email backend stop for good before the
# n-th message, having written a marker file: the test kills the process there. The second
# worker restores messages a dead worker held after 2 s instead of Redis's usual hour.
WORKER = """
import os, pathlib, time
import django

django.setup()
from django.conf import settings
from django.core.mail.backends.filebased import EmailBackend


class StallingBackend(EmailBackend):
    def send_messages(self, messages):
        counter = pathlib.Path(os.environ["WORKER_COUNTER"])
        count = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(count))
        if count == int(os.environ.get("WORKER_STALL_AT", "0")):
            pathlib.Path(os.environ["WORKER_STALLED"]).write_text("stalled")
            time.sleep(3600)
        return super().send_messages(messages)


settings.EMAIL_BACKEND = "__main__.StallingBackend"
settings.EMAIL_FILE_PATH = os.environ["WORKER_MAIL_DIR"]
from hindsight.celery import app

if os.environ.get("WORKER_QUICK_RESTORE"):
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "visibility_timeout": 2,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
app.worker_main(["worker", "--pool=solo", "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "--loglevel=WARNING", "--hostname", os.environ["WORKER_NAME"]])
"""


class Workers(WorkerProcesses):
    """Workers sharing one mail folder; each counts its emails and marks its stall in files of
    its own."""

    def __init__(self, tmp_path: Path) -> None:
        self.mail = tmp_path / "mail"
        self.mail.mkdir()
        super().__init__(tmp_path, WORKER, WORKER_MAIL_DIR=str(self.mail))

    def environment(self, name: str) -> dict[str, str]:
        return {
            "WORKER_COUNTER": str(self.tmp / f"{name}.count"),
            "WORKER_STALLED": str(self.tmp / f"{name}.stalled"),
        }

    def emails_by_recipient(self) -> Counter:
        counts: Counter = Counter()
        for path in self.mail.iterdir():
            counts.update(re.findall(r"^To: (.+)$", path.read_text(), flags=re.MULTILINE))
        return counts


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    app.control.purge()  # nothing left over from earlier tests runs in these workers
    running = Workers(tmp_path)
    yield running
    running.stop_all()


def wait_for(condition, *, timeout: float, what: str, workers: Workers, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"Timed out waiting for {what}. Worker log:\n{workers.log(name)}")


def test_a_worker_killed_mid_batch_leaves_each_recipient_exactly_one_email(workers: Workers):
    now = timezone.now()
    for address in CONFIRMED:
        Subscriber.objects.create(email=address, confirmed_at=now)
    Subscriber.objects.create(email="unconfirmed@example.com")
    Subscriber.objects.create(email="left@example.com", confirmed_at=now, unsubscribed_at=now)
    default_templates_ensure()
    draft = services.communication_generate(
        incident=IncidentFactory(status="resolved", resolved_at=now),
        template=CommunicationTemplate.objects.get(slug=USER_EMAIL_SLUG),
        user=None,
    )
    services.communication_approve(communication=draft, user=None)

    first = workers.start("first", WORKER_STALL_AT="3")
    # Committed here, so the quick publish puts the fan-out on the queue right away.
    services.communication_send(communication=draft, user=None)
    stalled = workers.tmp / "first.stalled"
    wait_for(stalled.exists, timeout=60, what="the third email", workers=workers, name="first")

    workers.kill(first)  # mid-send: the third email was never handed over
    first.wait(timeout=30)
    assert sorted(Delivery.objects.values_list("status", flat=True)) == [
        "pending",
        "pending",
        "pending",
        "sent",
        "sent",
    ]
    assert sum(workers.emails_by_recipient().values()) == 2

    workers.start("second", WORKER_QUICK_RESTORE="1")
    wait_for(
        lambda: not Delivery.objects.exclude(status="sent").exists(),
        timeout=60,
        what="the second worker to finish the batch",
        workers=workers,
        name="second",
    )

    assert workers.emails_by_recipient() == Counter(dict.fromkeys(CONFIRMED, 1))
    assert Delivery.objects.filter(status="sent").count() == len(CONFIRMED)
