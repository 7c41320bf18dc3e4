"""Delivering a sent communication: one Delivery per confirmed subscriber and webhook, each sent
once, through a real SMTP server and a real HTTP server on 127.0.0.1; transient failures retry,
permanent ones do not; and the outbox relays what the request could not publish."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import re
import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import Message

import pytest
from django.core import mail
from django.utils import timezone

from incidents.communications import delivery, services
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.communications.forms import WebhookEndpointForm
from incidents.communications.messages import SIGNATURE_HEADER, TIMESTAMP_HEADER
from incidents.communications.tasks import delivery_send as delivery_send_task
from incidents.models import (
    Communication,
    CommunicationTemplate,
    Delivery,
    Incident,
    Subscriber,
    WebhookEndpoint,
)
from incidents.models.webhooks import COMMUNICATION_SENT
from incidents.statuspage.subscriber_links import (
    subscriber_for,
    unsubscribe_claims,
    unsubscribe_url,
)
from outbox import services as outbox_services
from outbox.models import OutboxMessage
from tests.deployments.servers import TargetServer, refused_port, start_target_server
from tests.factories import T0, IncidentFactory

pytestmark = pytest.mark.django_db

XSS = (
    "Fixed <script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[click](javascript:alert(3)) **now**"
)


# --- A real SMTP server on 127.0.0.1 -------------------------------------------------------------


class SMTPServer(socketserver.ThreadingTCPServer):
    """Speaks enough SMTP for smtplib. RCPT to refused@... gets 550, deferred@... 450; every
    accepted message is kept as (recipients, raw bytes)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.messages: list[tuple[list[str], bytes]] = []

    @property
    def port(self) -> int:
        return self.server_address[1]

    def parsed(self) -> list[Message]:
        return [email.message_from_bytes(raw, policy=policy.default) for _to, raw in self.messages]


class _SMTPHandler(socketserver.StreamRequestHandler):
    server: SMTPServer

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip().strip("<>")
                if address.startswith("refused"):
                    self.reply("550 No such user")
                elif address.startswith("deferred"):
                    self.reply("450 Mailbox busy, try later")
                else:
                    recipients.append(address)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 Go ahead")
                body = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk
                self.server.messages.append((recipients, body))
                self.reply("250 Queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Not implemented")


@pytest.fixture
def smtp(settings) -> Iterator[SMTPServer]:
    server = SMTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def http_server() -> Iterator[TargetServer]:
    server = start_target_server()
    yield server
    server.close()


@pytest.fixture
def webhook_target(http_server, settings) -> TargetServer:
    http_server.reset()
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return http_server


# --- Rows ----------------------------------------------------------------------------------------


def subscriber(address: str, *, confirmed: bool = True, unsubscribed: bool = False) -> Subscriber:
    now = timezone.now()
    return Subscriber.objects.create(
        email=address,
        confirmed_at=now if confirmed else None,
        unsubscribed_at=now if unsubscribed else None,
    )


def sent(body: str = "We are **back**.", audience_slug: str = USER_EMAIL_SLUG) -> Communication:
    """A sent user email, its outbox row left unpublished (no commit happens in these tests)."""
    default_templates_ensure()
    incident: Incident = IncidentFactory(started_at=T0, resolved_at=T0 + timedelta(minutes=16))
    template = CommunicationTemplate.objects.get(slug=audience_slug)
    draft = services.communication_generate(incident=incident, template=template, user=None)
    services.communication_update(communication=draft, subject="Back up", body=body, user=None)
    services.communication_approve(communication=draft, user=None)
    return services.communication_send(communication=draft, user=None)


def deliver_all(communication: Communication) -> list[str]:
    return [
        delivery.delivery_send(delivery_id=pk)
        for pk in delivery.deliveries_create(communication=communication)
    ]


# --- Fan-out -------------------------------------------------------------------------------------


class TestFanOut:
    def test_only_confirmed_subscribed_addresses_and_active_webhooks_following_it_get_one(self):
        subscriber("ann@example.com")
        subscriber("bob@example.com")
        subscriber("unconfirmed@example.com", confirmed=False)
        subscriber("gone@example.com", unsubscribed=True)
        hook = WebhookEndpoint.objects.create(
            name="Chat", url="https://hooks.example.com/x", events=[COMMUNICATION_SENT]
        )
        WebhookEndpoint.objects.create(
            name="Off", url="https://off.example.com/", active=False, events=[COMMUNICATION_SENT]
        )
        # Following other events only: it gets those, not this payload.
        WebhookEndpoint.objects.create(name="New", url="https://new.example.com/")
        communication = sent()

        pending = delivery.deliveries_create(communication=communication)

        rows = Delivery.objects.filter(pk__in=pending)
        assert sorted(rows.values_list("channel", "recipient")) == [
            ("email", "ann@example.com"),
            ("email", "bob@example.com"),
            ("webhook", f"webhook:{hook.pk}"),
        ]

    def test_running_the_fan_out_again_creates_nothing_twice(self):
        subscriber("ann@example.com")
        communication = sent()
        first = delivery.deliveries_create(communication=communication)
        again = delivery.deliveries_create(communication=communication)
        assert first == again
        assert Delivery.objects.count() == 1

    def test_drafts_and_internal_summaries_are_never_delivered(self):
        subscriber("ann@example.com")
        default_templates_ensure()
        incident = IncidentFactory(status="resolved", resolved_at=timezone.now())
        draft = services.communication_generate(
            incident=incident,
            template=CommunicationTemplate.objects.get(slug=USER_EMAIL_SLUG),
            user=None,
        )
        assert delivery.deliveries_create(communication=draft) == []
        internal = sent(audience_slug="internal-summary")
        assert delivery.deliveries_create(communication=internal) == []
        assert not Delivery.objects.exists()


# --- Email ----------------------------------------------------------------------------------------


class TestEmail:
    def test_each_subscriber_gets_one_message_with_text_and_html_from_the_same_markdown(self, smtp):
        ann = subscriber("ann@example.com")
        subscriber("bob@example.com")
        communication = sent()

        assert deliver_all(communication) == ["sent", "sent"]

        assert sorted(to for to, _raw in smtp.messages) == [
            ["ann@example.com"],
            ["bob@example.com"],
        ]
        message = next(m for m in smtp.parsed() if m["To"] == "ann@example.com")
        assert message["Subject"] == "Back up"
        # Folded across lines (it is long); the link is the subscriber's own one-click link.
        link = message["List-Unsubscribe"].strip().removeprefix("<").removesuffix(">")
        prefix = unsubscribe_url(ann).rsplit("/", 2)[0] + "/"
        assert link.startswith(prefix)
        assert subscriber_for(unsubscribe_claims(link.removeprefix(prefix).strip("/"))) == ann
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        row = Delivery.objects.get(recipient="ann@example.com")
        assert message["Message-ID"] == f"<delivery-{row.pk}@127.0.0.1>"
        text, html = (part.get_payload(decode=True).decode() for part in message.walk()
                      if part.get_content_type() in ("text/plain", "text/html"))  # fmt: skip
        assert "We are **back**." in text  # the Markdown itself
        assert "<p>We are <strong>back</strong>.</p>" in html  # the same, rendered
        assert link in text
        assert f'href="{link}"' in html
        assert Delivery.objects.filter(status="sent", sent_at__isnull=False).count() == 2

    def test_every_link_in_the_email_is_on_the_configured_public_url(self, smtp, settings):
        settings.HINDSIGHT_BASE_URL = "https://status.example.test"
        subscriber("ann@example.com")
        assert deliver_all(sent()) == ["sent"]
        [message] = smtp.parsed()
        text, html = (part.get_payload(decode=True).decode() for part in message.walk()
                      if part.get_content_type() in ("text/plain", "text/html"))  # fmt: skip
        links = [
            *re.findall(r"https?://[^\s\"<>]+", text),
            *re.findall(r'href="([^"]+)"', html),
            message["List-Unsubscribe"].strip().removeprefix("<").removesuffix(">"),
        ]
        assert "https://status.example.test/status/" in links
        # The status page, the choice of components and unsubscribe in each part, and the header.
        assert len(links) == 7
        assert [link for link in links if not link.startswith("https://status.example.test/")] == []
        assert message["Message-ID"].endswith("@status.example.test>")

    def test_a_delivery_sent_once_is_never_sent_again(self, smtp):
        subscriber("ann@example.com")
        communication = sent()
        [pk] = delivery.deliveries_create(communication=communication)
        assert delivery.delivery_send(delivery_id=pk) == "sent"
        assert delivery.delivery_send(delivery_id=pk) == "sent"
        assert len(smtp.messages) == 1
        assert Delivery.objects.get().attempts == 1

    def test_a_markdown_xss_payload_is_inert_in_the_email_html(self, smtp):
        subscriber("ann@example.com")
        deliver_all(sent(body=XSS))
        [message] = smtp.parsed()
        html = next(p for p in message.walk() if p.get_content_type() == "text/html")
        html = html.get_payload(decode=True).decode()
        assert "<strong>now</strong>" in html  # the Markdown was rendered
        for live in ("<script", "onerror", "javascript:", "<img"):
            assert live not in html, live

    def test_a_refused_address_fails_for_good_without_a_retry(self, smtp):
        subscriber("refused@example.com")
        [outcome] = deliver_all(sent())
        assert outcome == "failed"
        row = Delivery.objects.get()
        assert (row.status, row.attempts) == ("failed", 1)
        assert "550" in row.last_error

    def test_a_deferred_address_is_retried_then_fails_when_retries_run_out(self, smtp):
        subscriber("deferred@example.com")
        [pk] = delivery.deliveries_create(communication=sent())
        with pytest.raises(delivery.TransientDeliveryError, match="450"):
            delivery.delivery_send(delivery_id=pk)
        row = Delivery.objects.get()
        assert (row.status, row.attempts) == ("pending", 1)
        assert delivery.delivery_send(delivery_id=pk, final=True) == "failed"
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("failed", 2)
        assert smtp.messages == []

    def test_a_mail_server_that_is_down_is_a_transient_error(self, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", refused_port()
        subscriber("ann@example.com")
        [pk] = delivery.deliveries_create(communication=sent())
        with pytest.raises(delivery.TransientDeliveryError, match="ConnectionRefusedError"):
            delivery.delivery_send(delivery_id=pk)
        assert Delivery.objects.get().status == "pending"

    def test_an_address_that_unsubscribed_after_the_fan_out_gets_nothing(self, smtp):
        ann = subscriber("ann@example.com")
        [pk] = delivery.deliveries_create(communication=sent())
        Subscriber.objects.filter(pk=ann.pk).update(unsubscribed_at=timezone.now())
        assert delivery.delivery_send(delivery_id=pk) == "failed"
        assert smtp.messages == []

    def test_run_eagerly_the_task_makes_the_first_transient_failure_final(self, settings, eager):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", refused_port()
        subscriber("ann@example.com")
        [pk] = delivery.deliveries_create(communication=sent())
        assert delivery_send_task.apply(args=(pk,)).get() == "failed"
        assert Delivery.objects.get().attempts == 1


# --- Webhooks -------------------------------------------------------------------------------------


class TestWebhooks:
    def endpoint(self, url: str) -> WebhookEndpoint:
        return WebhookEndpoint.objects.create(
            name="Hook", url=url, secret="s3cret-for-tests", events=[COMMUNICATION_SENT]
        )

    def test_the_body_is_signed_with_the_timestamp_and_the_endpoint_secret(self, webhook_target):
        hook = self.endpoint(webhook_target.url("/echo"))
        communication = sent()
        assert deliver_all(communication) == ["sent"]

        [request] = webhook_target.requests
        headers = {name.lower(): value for name, value in request.headers.items()}
        timestamp = headers[TIMESTAMP_HEADER.lower()]
        expected = hmac.new(
            hook.secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"
        assert abs(int(timestamp) - timezone.now().timestamp()) < 60
        payload = json.loads(request.body)
        assert payload["event"] == "communication.sent"
        assert payload["communication"]["id"] == communication.pk
        assert payload["communication"]["body_html"] == communication.body_html
        assert communication.incident.title not in request.body.decode()

    def test_a_5xx_answer_is_retried_and_a_4xx_is_not(self, webhook_target):
        self.endpoint(webhook_target.url("/status/503"))
        [pk] = delivery.deliveries_create(communication=sent())
        with pytest.raises(delivery.TransientDeliveryError, match="503"):
            delivery.delivery_send(delivery_id=pk)

        Delivery.objects.all().delete()
        WebhookEndpoint.objects.update(url=webhook_target.url("/status/404"))
        [pk] = delivery.deliveries_create(communication=Communication.objects.get())
        assert delivery.delivery_send(delivery_id=pk) == "failed"
        assert "404" in Delivery.objects.get().last_error

    @pytest.mark.parametrize(
        "url", ["http://127.0.0.1/hook", "http://10.1.2.3/hook", "http://169.254.169.254/"]
    )
    def test_a_url_to_a_private_address_is_refused_at_save(self, url):
        form = WebhookEndpointForm({"name": "Hook", "url": url, "active": True})
        assert not form.is_valid()
        assert "may not reach" in " ".join(map(str, form.errors["url"]))

    def test_a_name_that_resolves_to_a_private_address_is_refused_at_send(self, webhook_target):
        port = webhook_target.port
        self.endpoint(f"http://localhost:{port}/echo")
        [pk] = delivery.deliveries_create(communication=sent())
        # The same server, allowed by address only while the test allows loopback: take that
        # away and the guard refuses the resolved address.
        with pytest.MonkeyPatch.context() as patch:
            from django.conf import settings

            patch.setattr(settings, "HINDSIGHT_PROBE_ALLOWED_NETWORKS", [])
            assert delivery.delivery_send(delivery_id=pk) == "failed"
        assert webhook_target.requests == []
        assert "loopback" in Delivery.objects.get().last_error


# --- Retries and the outbox -----------------------------------------------------------------------


def test_retry_delays_grow_exponentially_with_jitter_up_to_a_cap():
    for retries in range(12):
        ceiling = min(delivery.RETRY_MAX_DELAY, delivery.RETRY_FIRST_DELAY * 2**retries)
        delays = {delivery.delivery_retry_delay(retries) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


@pytest.fixture
def eager():
    """No broker, as on a laptop without REDIS_URL: publishing runs the task right here. (The
    same through Redis and a real worker: tests/reliability/test_outbox.py.)"""
    from hindsight.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


class TestOutbox:
    def test_the_relay_publishes_and_marks_each_row_once(
        self, eager, django_capture_on_commit_callbacks
    ):
        subscriber("ann@example.com")
        communication = sent()
        row = OutboxMessage.objects.get()
        assert row.published_at is None

        # Eager here: the fan-out ran, and its sends, queued through the outbox in turn, went
        # out right after it committed.
        with django_capture_on_commit_callbacks(execute=True):
            assert outbox_services.outbox_relay() == 1
        row.refresh_from_db()
        assert row.published_at is not None
        assert len(mail.outbox) == 1
        assert outbox_services.outbox_relay() == 0

        # Published twice (a relay that crashed before marking it): still one email.
        assert outbox_services.outbox_publish(message=row) is False
        assert len(mail.outbox) == 1
        assert Delivery.objects.get(communication=communication).status == "sent"

    def test_the_relay_leaves_a_row_it_does_not_carry_and_publishes_the_rest(
        self, eager, django_capture_on_commit_callbacks
    ):
        stray = OutboxMessage.objects.create(task="os.system", kwargs={})
        subscriber("ann@example.com")
        sent()
        with django_capture_on_commit_callbacks(execute=True):
            assert outbox_services.outbox_relay() == 1
        assert len(mail.outbox) == 1
        stray.refresh_from_db()
        assert stray.published_at is None

    def test_sending_publishes_right_after_commit(self, eager, django_capture_on_commit_callbacks):
        subscriber("ann@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            sent()
        assert OutboxMessage.objects.get(task=delivery.DELIVER_TASK).published_at is not None
        assert [m.to for m in mail.outbox] == [["ann@example.com"]]
