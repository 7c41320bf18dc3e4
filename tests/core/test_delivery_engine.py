"""The delivery engine (core.delivery): claimed and committed before the send, recorded right
after, and what a dead or hung worker held handed on. Webhook pings are the rows here; the
sending function is the test's own, so each step can be watched from another connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from core import delivery as engine
from core.delivery import Attempt, DeliveryKind, TransientDeliveryError
from incidents.models import WebhookDelivery, WebhookEndpoint
from incidents.models.webhooks import PING
from incidents.webhooks import sending
from outbox.models import OutboxMessage

pytestmark = pytest.mark.postgres


def ping() -> WebhookDelivery:
    endpoint = WebhookEndpoint.objects.create(
        name="Hook", url="https://hooks.example.com/in", secret="s3cret-for-tests"
    )
    return WebhookDelivery.objects.create(endpoint=endpoint, kind=PING)


def kind(send) -> DeliveryKind:
    # The webhooks kind's name, so its lock keys are the real ones.
    return DeliveryKind(
        name=sending.KIND.name,
        model=WebhookDelivery,
        task=sending.KIND.task,
        load=lambda pk: WebhookDelivery.objects.filter(pk=pk).first(),
        send=send,
    )


@contextmanager
def held_elsewhere(delivery: WebhookDelivery) -> Iterator[None]:
    """Another worker, alive: its own connection holds the delivery's advisory lock."""
    taken, release, done = threading.Event(), threading.Event(), threading.Event()

    def worker() -> None:
        try:
            with connections["default"].cursor() as cursor:
                key = engine._lock_key(sending.KIND, delivery.pk)
                cursor.execute("SELECT pg_advisory_lock(%s)", [key])
                taken.set()
                release.wait(10)
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        finally:
            connections["default"].close()
            done.set()

    threading.Thread(target=worker, daemon=True).start()
    assert taken.wait(10)
    try:
        yield
    finally:
        release.set()
        done.wait(10)


def claimed_by_someone(delivery: WebhookDelivery, *, lease: timedelta) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_by="elsewhere:1:dead", lease_until=timezone.now() + lease, attempts=1
    )


class TestOneDelivery:
    @pytest.mark.django_db(transaction=True)
    def test_the_claim_is_committed_before_the_send_and_the_outcome_right_after(self):
        delivery = ping()
        seen: list[tuple[str, bool]] = []

        def send(attempt: Attempt) -> None:
            # What any other connection sees while the message is on its way.
            def look() -> None:
                row = WebhookDelivery.objects.get(pk=delivery.pk)
                seen.append((row.claimed_by, row.lease_until is not None))
                connections["default"].close()

            thread = threading.Thread(target=look)
            thread.start()
            thread.join()
            assert not connection.in_atomic_block  # no transaction is held open while sending

        outcome = engine.delivery_attempt(kind=kind(send), delivery_id=delivery.pk, retry_in=10)

        assert outcome == ("sent", "")
        [(claimed_by, leased)] = seen
        assert claimed_by.startswith(engine._WORKER)
        assert leased
        delivery.refresh_from_db()
        assert (delivery.status, delivery.claimed_by, delivery.lease_until) == ("sent", "", None)
        assert delivery.attempts == 1
        assert delivery.sent_at is not None

    @pytest.mark.django_db
    def test_a_delivery_a_live_worker_holds_is_left_to_it(self):
        delivery = ping()
        claimed_by_someone(delivery, lease=timedelta(minutes=2))
        sends: list[int] = []

        with held_elsewhere(delivery):
            outcome = engine.delivery_attempt(
                kind=kind(lambda attempt: sends.append(1)), delivery_id=delivery.pk, retry_in=10
            )

        assert outcome == ("busy", "")
        assert sends == []

    @pytest.mark.django_db
    def test_a_delivery_whose_worker_died_is_taken_over_at_once_not_after_its_lease(self):
        delivery = ping()
        # Claimed two minutes ago for two more, by a worker whose lock went with its connection.
        claimed_by_someone(delivery, lease=timedelta(minutes=2))

        outcome = engine.delivery_attempt(
            kind=kind(lambda attempt: None), delivery_id=delivery.pk, retry_in=10
        )

        assert outcome == ("sent", "")
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 2)

    @pytest.mark.django_db
    def test_a_worker_hung_past_its_lease_loses_the_delivery_and_its_late_record(self):
        delivery = ping()
        claimed_by_someone(delivery, lease=timedelta(seconds=-1))

        with held_elsewhere(delivery):
            outcome = engine.delivery_attempt(
                kind=kind(lambda attempt: None), delivery_id=delivery.pk, retry_in=10
            )
            assert outcome == ("sent", "")
            # The hung worker comes back and records its outcome under its old claim.
            late = Attempt(delivery=delivery, started_at=timezone.now(), status="failed")
            assert not engine._record(kind(None), "elsewhere:1:dead", late, retry_in=10)

        delivery.refresh_from_db()
        assert delivery.status == "sent"

    @pytest.mark.django_db
    def test_a_transient_failure_records_when_the_retry_is_due_and_releases_the_claim(self):
        delivery = ping()

        def send(attempt: Attempt) -> None:
            raise TransientDeliveryError("The endpoint answered HTTP 503.")

        before = timezone.now()
        outcome = engine.delivery_attempt(kind=kind(send), delivery_id=delivery.pk, retry_in=40)

        assert outcome == ("retry", "The endpoint answered HTTP 503.")
        delivery.refresh_from_db()
        assert (delivery.status, delivery.claimed_by, delivery.lease_until) == ("pending", "", None)
        assert delivery.next_attempt_at is not None
        assert 39 <= (delivery.next_attempt_at - before).total_seconds() <= 41

    @pytest.mark.django_db
    def test_a_fault_in_the_sender_is_recorded_as_failed_and_raised(self):
        delivery = ping()

        def send(attempt: Attempt) -> None:
            raise KeyError("body")

        with pytest.raises(KeyError):
            engine.delivery_attempt(kind=kind(send), delivery_id=delivery.pk, retry_in=10)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.claimed_by) == ("failed", "")
        assert "KeyError" in delivery.last_error


@pytest.mark.django_db
class TestSweep:
    def queued(self) -> list[int]:
        return sorted(
            message.kwargs["delivery_id"]
            for message in OutboxMessage.objects.filter(task=sending.KIND.task)
        )

    def test_a_dead_workers_claim_is_released_and_queued_again_before_its_lease_ends(self):
        delivery = ping()
        claimed_by_someone(delivery, lease=timedelta(minutes=2))

        assert engine.deliveries_sweep() == 1

        assert self.queued() == [delivery.pk]
        delivery.refresh_from_db()
        assert (delivery.status, delivery.claimed_by, delivery.lease_until) == ("pending", "", None)
        assert engine.deliveries_sweep() == 0  # handed on once, not at every sweep

    def test_a_live_workers_claim_is_left_alone(self):
        delivery = ping()
        claimed_by_someone(delivery, lease=timedelta(minutes=2))
        with held_elsewhere(delivery):
            assert engine.deliveries_sweep() == 0
        assert self.queued() == []

    def test_a_retry_long_past_due_is_queued_again_and_one_not_yet_due_is_not(self, settings):
        settings.HINDSIGHT_DELIVERY_OVERDUE_SECONDS = 120
        now = timezone.now()
        lost, waiting = ping(), ping()
        WebhookDelivery.objects.filter(pk=lost.pk).update(
            attempts=1, next_attempt_at=now - timedelta(seconds=121)
        )
        WebhookDelivery.objects.filter(pk=waiting.pk).update(
            attempts=1, next_attempt_at=now - timedelta(seconds=100)
        )

        assert engine.deliveries_sweep(now=now) == 1

        assert self.queued() == [lost.pk]

    def test_a_delivery_whose_workers_keep_dying_fails_instead_of_going_round_again(self):
        delivery = ping()
        claimed_by_someone(delivery, lease=timedelta(minutes=2))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=sending.KIND.max_attempts)

        assert engine.deliveries_sweep() == 0

        delivery.refresh_from_db()
        assert delivery.status == "failed"
        assert "Gave up after 11 attempts" in delivery.last_error
        assert self.queued() == []

    def test_the_sweep_runs_from_beat_at_the_configured_interval(self, settings):
        entry = settings.CELERY_BEAT_SCHEDULE["deliveries-sweep"]
        assert entry["task"] == "core.tasks.deliveries_sweep"
        assert entry["schedule"] == settings.HINDSIGHT_DELIVERY_SWEEP_SECONDS == 30
