"""Webhooks for every event: a recorded event queues one delivery per active endpoint that
follows its kind, through the outbox; each delivery is signed, sent once to a real HTTP server
on 127.0.0.1, and every attempt is recorded with its answer."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from feed.kinds import EventKind
from feed.models import FeedEvent
from feed.services import feed_record, feed_record_many
from incidents.communications.delivery import TransientDeliveryError
from incidents.communications.messages import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from incidents.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from incidents.models.webhooks import COMMUNICATION_SENT, every_event_kind
from incidents.webhooks import services
from incidents.webhooks.payloads import EVENT_HEADER, EVENT_ID_HEADER
from incidents.webhooks.sending import webhook_delivery_send
from incidents.webhooks.tasks import webhook_log_prune
from outbox.models import OutboxMessage
from tests.deployments.servers import TargetServer, refused_port, start_target_server

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def http_server() -> Iterator[TargetServer]:
    server = start_target_server()
    yield server
    server.close()


@pytest.fixture
def target(http_server, settings) -> TargetServer:
    http_server.reset()
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return http_server


def endpoint(url: str = "https://hooks.example.com/in", **fields) -> WebhookEndpoint:
    fields.setdefault("secret", "s3cret-for-tests")
    return WebhookEndpoint.objects.create(name=fields.pop("name", "Hook"), url=url, **fields)


def declared(reference: str = "INC-7") -> FeedEvent:
    return feed_record(
        kind=EventKind.INCIDENT_DECLARED,
        subject_id=reference,
        incident=reference,
        actor="ann",
        data={"reference": reference, "title": "Checkout fails"},
    )


def headers_of(request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


class TestQueueing:
    def test_an_event_queues_one_delivery_per_active_endpoint_that_follows_its_kind(self):
        everything = endpoint(name="Everything")
        incidents_only = endpoint(name="Incidents", events=["incident.declared"])
        endpoint(name="Items only", events=["action_item.created"])
        endpoint(name="Off", active=False)
        endpoint(name="Old receiver", events=[COMMUNICATION_SENT])

        event = declared()

        rows = WebhookDelivery.objects.order_by("endpoint__name")
        assert [(d.endpoint_id, d.event_id, d.kind, d.status) for d in rows] == [
            (everything.pk, event.pk, "incident.declared", "pending"),
            (incidents_only.pk, event.pk, "incident.declared", "pending"),
        ]
        outbox = OutboxMessage.objects.filter(task=services.DELIVER_TASK)
        assert sorted(m.kwargs["delivery_id"] for m in outbox) == sorted(r.pk for r in rows)

    def test_a_new_endpoint_follows_every_event_of_the_feed_but_not_the_old_payload(self):
        hook = endpoint()
        assert hook.events == [kind.value for kind in EventKind]
        assert COMMUNICATION_SENT not in hook.events

    def test_an_event_with_no_endpoint_following_it_costs_one_query(
        self, django_assert_num_queries
    ):
        endpoint(events=["gate.blocked"])
        # The event's own insert, then the one read of the endpoints.
        with django_assert_num_queries(2):
            declared()
        assert not WebhookDelivery.objects.exists()

    def test_a_rolled_back_change_leaves_no_delivery_and_no_outbox_row(self):
        endpoint()
        with pytest.raises(_ChangeFailed):
            declared_then_failed()
        assert not WebhookDelivery.objects.exists()
        assert not OutboxMessage.objects.filter(task=services.DELIVER_TASK).exists()


class _ChangeFailed(Exception):
    pass


def declared_then_failed() -> None:
    with transaction.atomic():
        declared()
        raise _ChangeFailed


class TestSending:
    def test_the_body_is_signed_and_names_the_event_its_id_and_when_it_happened(self, target):
        hook = endpoint(target.url("/echo"))
        event = declared()
        [delivery] = WebhookDelivery.objects.all()

        assert webhook_delivery_send(delivery_id=delivery.pk) == "sent"

        [request] = target.requests
        headers = headers_of(request)
        timestamp = headers[TIMESTAMP_HEADER.lower()]
        expected = hmac.new(
            hook.secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"
        assert abs(int(timestamp) - timezone.now().timestamp()) < 60
        assert headers[EVENT_HEADER.lower()] == "incident.declared"
        assert headers[EVENT_ID_HEADER.lower()] == str(event.pk)
        assert headers[DELIVERY_HEADER.lower()] == str(delivery.pk)
        assert json.loads(request.body) == {
            "id": str(event.pk),
            "kind": "incident.declared",
            "occurred_at": event.occurred_at.isoformat(),
            "subject_id": "INC-7",
            "incident": "INC-7",
            "actor": "ann",
            "data": {"reference": "INC-7", "title": "Checkout fails"},
            "delivery": delivery.pk,
        }

    def test_each_attempt_is_recorded_with_its_status_code_answer_and_duration(self, target):
        endpoint(target.url("/status/503"))
        declared()
        [delivery] = WebhookDelivery.objects.all()

        with pytest.raises(TransientDeliveryError, match="503"):
            webhook_delivery_send(delivery_id=delivery.pk)
        assert webhook_delivery_send(delivery_id=delivery.pk, final=True) == "failed"

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 2, 503)
        attempts = list(WebhookAttempt.objects.filter(delivery=delivery))
        assert [(a.number, a.status_code, a.answer) for a in attempts] == [
            (1, 503, "status 503"),
            (2, 503, "status 503"),
        ]
        assert all("503" in a.error and a.duration_ms >= 0 for a in attempts)
        assert len(target.requests) == 2

    def test_a_4xx_answer_fails_for_good_without_a_retry(self, target):
        endpoint(target.url("/status/410"))
        declared()
        [delivery] = WebhookDelivery.objects.all()
        assert webhook_delivery_send(delivery_id=delivery.pk) == "failed"
        assert WebhookAttempt.objects.get().status_code == 410

    def test_no_answer_is_recorded_as_an_error_without_a_status_code(self, target):
        endpoint(f"http://127.0.0.1:{refused_port()}/in")
        declared()
        [delivery] = WebhookDelivery.objects.all()
        with pytest.raises(TransientDeliveryError):
            webhook_delivery_send(delivery_id=delivery.pk)
        attempt = WebhookAttempt.objects.get()
        assert attempt.status_code is None
        assert attempt.error

    def test_running_the_task_again_after_success_sends_nothing_twice(self, target):
        endpoint(target.url("/echo"))
        declared()
        [delivery] = WebhookDelivery.objects.all()
        assert webhook_delivery_send(delivery_id=delivery.pk) == "sent"
        assert webhook_delivery_send(delivery_id=delivery.pk) == "sent"
        assert len(target.requests) == 1
        assert WebhookAttempt.objects.count() == 1

    def test_a_disabled_endpoint_gets_nothing_more_and_a_deleted_one_loses_its_queue(self, target):
        hook = endpoint(target.url("/echo"))
        declared("INC-1")
        declared("INC-2")
        first, second = WebhookDelivery.objects.order_by("pk")

        WebhookEndpoint.objects.filter(pk=hook.pk).update(active=False)
        assert webhook_delivery_send(delivery_id=first.pk) == "failed"
        first.refresh_from_db()
        assert "switched off" in first.last_error

        services.webhook_endpoint_delete(endpoint=hook)
        assert webhook_delivery_send(delivery_id=second.pk) == "busy"
        assert not WebhookDelivery.objects.exists()
        assert target.requests == []

    def test_an_endpoint_that_stopped_following_the_kind_does_not_get_it(self, target):
        hook = endpoint(target.url("/echo"))
        declared()
        WebhookEndpoint.objects.filter(pk=hook.pk).update(events=["gate.blocked"])
        [delivery] = WebhookDelivery.objects.all()
        assert webhook_delivery_send(delivery_id=delivery.pk) == "failed"
        assert target.requests == []

    def test_a_private_address_is_refused_at_send_without_a_request(self, target, settings):
        endpoint(target.url("/echo"))
        declared()
        settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = []
        [delivery] = WebhookDelivery.objects.all()
        assert webhook_delivery_send(delivery_id=delivery.pk) == "failed"
        assert target.requests == []
        assert "may not reach" in WebhookDelivery.objects.get().last_error


class TestRedeliverAndPing:
    def test_a_redelivery_is_a_new_delivery_with_the_same_event_id(self, target):
        hook = endpoint(target.url("/status/410"))
        event = declared()
        [first] = WebhookDelivery.objects.all()
        assert webhook_delivery_send(delivery_id=first.pk) == "failed"

        WebhookEndpoint.objects.filter(pk=hook.pk).update(url=target.url("/echo"))
        again = services.webhook_delivery_redeliver(delivery=first)
        assert webhook_delivery_send(delivery_id=again.pk) == "sent"

        assert again.redelivery_of_id == first.pk
        assert again.event_id == event.pk
        bodies = [json.loads(r.body) for r in target.requests]
        assert [b["id"] for b in bodies] == [str(event.pk), str(event.pk)]
        assert [b["delivery"] for b in bodies] == [first.pk, again.pk]
        first.refresh_from_db()
        assert first.status == "failed"  # its log stays as it was

    def test_redelivering_to_a_switched_off_endpoint_is_refused(self):
        hook = endpoint()
        declared()
        [first] = WebhookDelivery.objects.all()
        WebhookEndpoint.objects.filter(pk=hook.pk).update(active=False)
        with pytest.raises(services.WebhookEndpointInactive):
            services.webhook_delivery_redeliver(delivery=first)
        assert WebhookDelivery.objects.count() == 1

    def test_a_ping_is_signed_and_reaches_an_endpoint_not_yet_switched_on(self, target):
        hook = endpoint(target.url("/echo"), active=False)
        ping = services.webhook_endpoint_ping(endpoint=hook)
        assert webhook_delivery_send(delivery_id=ping.pk) == "sent"
        [request] = target.requests
        body = json.loads(request.body)
        assert (body["kind"], body["id"], body["data"]) == (
            "ping",
            f"ping-{ping.pk}",
            {"endpoint": "Hook"},
        )
        assert headers_of(request)[EVENT_HEADER.lower()] == "ping"


def test_every_kind_of_the_feed_can_be_followed():
    assert set(every_event_kind()) == set(EventKind.values)


def test_the_log_forgets_deliveries_done_long_ago_but_keeps_those_still_trying(settings):
    hook = endpoint()
    for reference in ("INC-1", "INC-2", "INC-3", "INC-4"):
        declared(reference)
    old, recent, failed_old, pending_old = WebhookDelivery.objects.order_by("pk")
    long_ago = timezone.now() - timedelta(days=settings.HINDSIGHT_WEBHOOK_LOG_DAYS + 1)
    WebhookDelivery.objects.filter(pk__in=[old.pk, failed_old.pk, pending_old.pk]).update(
        created_at=long_ago
    )
    WebhookDelivery.objects.filter(pk=old.pk).update(status="sent", sent_at=long_ago)
    WebhookDelivery.objects.filter(pk=recent.pk).update(status="sent", sent_at=timezone.now())
    WebhookDelivery.objects.filter(pk=failed_old.pk).update(status="failed")
    WebhookAttempt.objects.create(delivery=old, number=1, started_at=long_ago, status_code=200)

    assert webhook_log_prune() == 2

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {recent.pk, pending_old.pk}
    assert not WebhookAttempt.objects.exists()
    assert hook.deliveries.count() == 2


def test_a_bulk_write_queues_its_deliveries_in_the_same_queries_however_many_events(
    django_assert_num_queries,
):
    endpoint()
    endpoint(url="https://other.example.com/in")

    def events(count: int) -> list[dict]:
        return [
            {"kind": EventKind.ACTION_ITEM_CREATED, "subject_id": i, "data": {}}
            for i in range(count)
        ]

    # the events (1), the endpoints (1), the deliveries (1), their outbox rows (1)
    for count in (1, 20):
        with django_assert_num_queries(4):
            feed_record_many(events(count))
    assert WebhookDelivery.objects.count() == 2 * 21
    assert OutboxMessage.objects.filter(task=services.DELIVER_TASK).count() == 2 * 21
