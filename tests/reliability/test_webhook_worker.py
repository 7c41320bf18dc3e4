"""End to end: an incident declared through the page reaches a real HTTP receiver on 127.0.0.1
as a signed webhook, carried by the outbox through Redis to a real Celery worker; a receiver
that fails first gets it again after a backoff, and every attempt is in the log."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.communications import delivery as communications_delivery
from incidents.models import Incident, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from incidents.webhooks import services
from tests.factories import ServiceFactory, user_with_role

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


@dataclass
class Receiver:
    """A webhook receiver: keeps every request; answers each status of `answers` in turn,
    then 204."""

    server: ThreadingHTTPServer
    answers: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/hindsight"

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.requests) >= count, f"got {len(self.requests)} of {count} requests"


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.answers.pop(0) if state.answers else 204
            self.send_response(status)
            answer = b"try later" if status >= 500 else b""
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def verified(secret: str, headers: dict[str, str], body: bytes) -> dict:
    """What a receiver does: check the signature and the timestamp's age, then read."""
    timestamp = headers["x-hindsight-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(headers["x-hindsight-signature"], f"sha256={expected.hexdigest()}")
    assert abs(time.time() - int(timestamp)) < 300
    return json.loads(body)


def declare_on_the_page(client) -> Incident:
    client.force_login(user_with_role("editor"))
    service = ServiceFactory(name="Shop", slug="shop")
    response = client.post(
        reverse("incidents:declare"),
        {
            "service": str(service.pk),
            "title": "Checkout returns 500",
            "severity": "sev2",
            "started_at": timezone.now().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302, response.content
    return Incident.objects.get()


def test_an_incident_declared_on_the_page_reaches_the_receiver_signed(
    client, receiver, celery_worker
):
    hook = services.webhook_endpoint_save(
        endpoint=WebhookEndpoint(name="Pager", url=receiver.url, events=["incident.declared"])
    )

    incident = declare_on_the_page(client)

    receiver.wait_for(1)
    [(headers, body)] = receiver.requests
    payload = verified(hook.secret, headers, body)
    assert headers["x-hindsight-event"] == "incident.declared"
    assert payload["kind"] == "incident.declared"
    assert payload["subject_id"] == incident.reference
    assert payload["data"]["title"] == "Checkout returns 500"
    assert payload["actor"] == "editor-user"
    assert headers["x-hindsight-event-id"] == payload["id"]
    delivery = WebhookDelivery.objects.get()
    deadline = time.monotonic() + 10
    while delivery.status == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 204)


def test_a_receiver_that_fails_first_gets_the_same_event_after_a_backoff(
    client, receiver, celery_worker, monkeypatch
):
    # The real schedule waits 5 to 10 s before the first retry; a fraction of that here.
    monkeypatch.setattr(communications_delivery, "RETRY_FIRST_DELAY", 0.4)
    receiver.answers = [503, 503]
    hook = services.webhook_endpoint_save(
        endpoint=WebhookEndpoint(name="Pager", url=receiver.url, events=["incident.declared"])
    )

    declare_on_the_page(client)

    receiver.wait_for(3)
    payloads = [verified(hook.secret, headers, body) for headers, body in receiver.requests]
    assert len({p["id"] for p in payloads}) == 1  # one event, three tries
    delivery = WebhookDelivery.objects.get()
    deadline = time.monotonic() + 10
    while delivery.status == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
        delivery.refresh_from_db()
    assert delivery.status == "sent"
    attempts = WebhookAttempt.objects.filter(delivery=delivery).order_by("number")
    assert [(a.number, a.status_code, a.answer) for a in attempts] == [
        (1, 503, "try later"),
        (2, 503, "try later"),
        (3, 204, ""),
    ]
