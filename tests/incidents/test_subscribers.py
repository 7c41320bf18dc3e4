"""Subscribers: sign up on the status page, confirm by a link (double opt-in), unsubscribe in one
click (RFC 8058), and every bad input answered beside the field without saying who subscribed.

The confirmation mail goes through the outbox. Tests run its task eagerly, as on a laptop without
REDIS_URL; one test sends it through Redis and a real worker.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

import pytest
import time_machine
from celery import current_app
from django.core import mail, signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.test import Client
from django.utils import timezone

from core import plugins
from incidents.models import Subscriber
from incidents.statuspage import services
from incidents.statuspage.services import CONFIRM_RESEND_SECONDS, CONFIRM_TASK
from incidents.statuspage.subscriber_links import (
    CONFIRM_MAX_AGE,
    CONFIRM_SALT,
    SubscriptionLinkInvalid,
    confirm_token,
    confirm_url,
    unsubscribe_token,
    unsubscribe_url,
)
from incidents.statuspage.tasks import subscriber_confirmation_send
from incidents.statuspage.views import SIGNUP_LIMIT
from outbox.models import OutboxMessage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "eager")]

SUBSCRIBE = "/status/subscribe/"
SENT = "/status/subscribe/sent/"


@pytest.fixture
def sign_up(client, django_capture_on_commit_callbacks):
    """POST the form as a browser would; what waits for the commit (the outbox's publish, and
    so the mail) then runs."""

    def post(email: str, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(SUBSCRIBE, {"email": email}, **extra)

    return post


def address(length: int) -> str:
    """A well-formed address of exactly `length` characters (domain labels stay under 64)."""
    labels, left = [], length - len("a" * 64 + "@" + ".test")
    while left > 0:
        label = min(60, left)
        if left - label == 1:  # the next label would be a lone dot
            label -= 1
        labels.append("b" * label)
        left -= label + 1
    email = "a" * 64 + "@" + ".".join(labels) + ".test"
    assert len(email) == length, len(email)
    return email


def link_in(message, kind: str) -> str:
    match = re.search(rf"https?://\S+/status/{kind}/[^/\s]+/", message.body)
    assert match, message.body
    return match.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# --- signing up ------------------------------------------------------------------------------


def test_signing_up_stores_a_pending_address_and_mails_only_the_confirmation(sign_up):
    response = sign_up("Reader@Example.TEST")
    assert response.status_code == 302
    assert response.url == SENT
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "Reader@example.test"  # the domain is case-insensitive
    assert subscriber.confirmed_at is None
    assert not subscriber.active

    [message] = mail.outbox
    assert message.to == ["Reader@example.test"]
    assert message.subject == "Confirm your subscription to status updates"
    url = link_in(message, "confirm")
    assert url == confirm_url(subscriber)
    assert isinstance(message, EmailMultiAlternatives)
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert isinstance(html, str)
    assert url in html
    assert "7 days" in message.body


def test_the_sent_page_says_check_your_inbox(client, sign_up):
    response = client.get(sign_up("reader@example.test").url)
    assert b"Check your inbox" in response.content


def test_a_duplicate_pending_address_gets_the_same_answer_and_no_second_mail_at_once(sign_up):
    first = sign_up("reader@example.test")
    second = sign_up("READER@example.test")
    assert (first.status_code, first.url) == (second.status_code, second.url)
    assert Subscriber.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_pending_address_gets_the_confirmation_again_after_the_resend_gap(sign_up):
    sign_up("reader@example.test")
    with time_machine.travel(timezone.now() + timedelta(seconds=CONFIRM_RESEND_SECONDS + 1)):
        sign_up("reader@example.test")
    assert len(mail.outbox) == 2
    assert Subscriber.objects.count() == 1


def test_a_confirmed_address_gets_the_same_answer_and_no_mail(sign_up):
    Subscriber.objects.create(email="reader@example.test", confirmed_at=timezone.now())
    response = sign_up("reader@example.test")
    assert response.status_code == 302
    assert response.url == SENT
    assert mail.outbox == []
    assert Subscriber.objects.get().active


def test_an_address_that_unsubscribed_must_confirm_again(sign_up):
    Subscriber.objects.create(
        email="reader@example.test",
        confirmed_at=timezone.now() - timedelta(days=3),
        unsubscribed_at=timezone.now() - timedelta(days=1),
    )
    sign_up("reader@example.test")
    subscriber = Subscriber.objects.get()
    assert subscriber.unsubscribed_at is None
    assert subscriber.confirmed_at is None
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("", "Enter your email address."),
        ("not-an-address", "Enter an email address like name@example.com."),
        ("two@@example.test", "Enter an email address like name@example.com."),
        ("<script>@example.test", "Enter an email address like name@example.com."),
        (address(255), "at most 254 characters"),
        ("x" * 5000 + "@example.test", "at most 254 characters"),
    ],
    ids=["empty", "invalid", "two-ats", "markup", "oversized-255", "oversized-huge"],
)
def test_bad_addresses_get_an_error_beside_the_field_and_nothing_is_stored(sign_up, email, error):
    response = sign_up(email)
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(
        r'<input type="email" name="email"[^>]*>.*?<span class="error" id="id_email_error"[^>]*>'
        r"[^<]*" + re.escape(error),
        html.replace("&#x27;", "'"),
        re.S,
    ), html
    assert "<script>@" not in html
    assert Subscriber.objects.count() == 0
    assert mail.outbox == []


def test_an_address_of_exactly_254_characters_is_accepted(sign_up):
    email = address(254)
    assert sign_up(email).status_code == 302
    assert Subscriber.objects.get().email == email


def test_the_service_refuses_what_the_form_would(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.subscriber_signup(email="nope")
    with pytest.raises(ValidationError):
        services.subscriber_signup(email="a" * 300 + "@example.test")


def test_sign_ups_from_one_address_are_throttled(sign_up):
    for i in range(SIGNUP_LIMIT):
        assert sign_up(f"reader{i}@example.test").status_code == 302
    response = sign_up("one-too-many@example.test")
    assert response.status_code == 429
    assert b"Too many sign-ups" in response.content
    assert not Subscriber.objects.filter(email="one-too-many@example.test").exists()
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert other.post(SUBSCRIBE, {"email": "elsewhere@example.test"}).status_code == 302


def test_behind_the_tls_proxy_the_throttle_counts_the_address_the_proxy_saw(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for i in range(SIGNUP_LIMIT):
        # The client types its own first entry; the proxy appends the address it saw.
        forwarded = f"198.51.100.{i}, 203.0.113.9"
        response = client.post(
            SUBSCRIBE, {"email": f"r{i}@example.test"}, HTTP_X_FORWARDED_FOR=forwarded, **proxy
        )
        assert response.status_code == 302
    blocked = client.post(
        SUBSCRIBE,
        {"email": "more@example.test"},
        HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.9",
        **proxy,
    )
    assert blocked.status_code == 429
    elsewhere = client.post(
        SUBSCRIBE, {"email": "more@example.test"}, HTTP_X_FORWARDED_FOR="203.0.113.10", **proxy
    )
    assert elsewhere.status_code == 302


def test_invalid_submissions_do_not_use_up_the_throttle(sign_up):
    for _ in range(SIGNUP_LIMIT + 3):
        assert sign_up("nope").status_code == 422
    assert sign_up("reader@example.test").status_code == 302


def test_the_subscribe_page_works_without_the_status_page(client):
    response = client.get(SUBSCRIBE)
    assert response.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_a_mail_server_that_is_down_does_not_fail_the_sign_up(sign_up, settings, caplog):
    # Its own level for the logger it reads: what earlier tests of this process left on the
    # logging tree (a Celery worker's or gunicorn's set-up) must not hide the warning.
    caplog.set_level(logging.WARNING, logger="outbox.services")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    response = sign_up("reader@example.test")
    assert response.status_code == 302
    assert Subscriber.objects.filter(email="reader@example.test").exists()
    # The mail waits in the outbox for the relay, with what went wrong.
    row = OutboxMessage.objects.get()
    assert row.published_at is None
    assert row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    assert "Outbox: quick publish failed" in caplog.text

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sign_up("reader@example.test")  # no resend gap to wait out: nothing was sent
    assert len(mail.outbox) == 1


# --- the confirmation mail, through the outbox -----------------------------------------------


def test_the_confirmation_is_an_outbox_row_sent_only_after_commit(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(SUBSCRIBE, {"email": "reader@example.test"})
    subscriber = Subscriber.objects.get()
    row = OutboxMessage.objects.get()
    assert (row.task, row.kwargs) == (CONFIRM_TASK, {"subscriber_id": subscriber.pk})
    assert mail.outbox == []  # nothing before the commit

    for callback in callbacks:
        callback()
    assert [message.to for message in mail.outbox] == [["reader@example.test"]]
    row.refresh_from_db()
    assert row.published_at is not None


def test_a_sign_up_rolled_back_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.subscriber_signup(email="reader@example.test")
        transaction.set_rollback(True)
    assert not Subscriber.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


def test_a_confirmed_address_puts_nothing_in_the_outbox(django_capture_on_commit_callbacks):
    Subscriber.objects.create(email="reader@example.test", confirmed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.subscriber_signup(email="reader@example.test")
    assert not OutboxMessage.objects.exists()


def test_the_task_run_twice_sends_one_mail():
    """acks_late: a worker that dies after sending gets the task again."""
    subscriber = Subscriber.objects.create(email="reader@example.test")
    assert subscriber_confirmation_send(subscriber.pk) is True
    assert subscriber_confirmation_send(subscriber.pk) is False
    assert len(mail.outbox) == 1


def test_the_task_sends_nothing_to_an_address_confirmed_unsubscribed_or_gone_by_then():
    now = timezone.now()
    confirmed = Subscriber.objects.create(email="a@example.test", confirmed_at=now)
    left = Subscriber.objects.create(email="b@example.test", unsubscribed_at=now)
    gone = Subscriber.objects.create(email="c@example.test")
    gone_id = gone.pk
    gone.delete()
    assert subscriber_confirmation_send(confirmed.pk) is False
    assert subscriber_confirmation_send(left.pk) is False
    assert subscriber_confirmation_send(gone_id) is None
    assert mail.outbox == []


def test_the_outbox_carries_the_task_under_its_registered_name():
    # Outbox rows already written name the task by this string.
    assert CONFIRM_TASK == "incidents.tasks.subscriber_confirmation_send"
    assert subscriber_confirmation_send.name == CONFIRM_TASK
    assert current_app.tasks[CONFIRM_TASK].__module__ == "incidents.statuspage.tasks"
    assert plugins.outbox_carries(CONFIRM_TASK)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_through_redis_a_real_worker_sends_the_confirmation(client, celery_worker):
    response = client.post(SUBSCRIBE, {"email": "reader@example.test"})
    assert response.status_code == 302
    deadline = time.monotonic() + 20
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [message.to for message in mail.outbox] == [["reader@example.test"]]
    assert OutboxMessage.objects.get().published_at is not None


# --- confirming ------------------------------------------------------------------------------


def test_opening_the_link_asks_and_only_the_button_confirms(client, sign_up):
    sign_up("reader@example.test")
    path = path_of(link_in(mail.outbox[0], "confirm"))
    page = client.get(path)
    assert page.status_code == 200
    assert b"reader@example.test" in page.content
    assert Subscriber.objects.get().confirmed_at is None  # link scanners open links

    done = client.post(path)
    assert done.status_code == 200
    assert b"subscribed" in done.content
    subscriber = Subscriber.objects.get()
    assert subscriber.active
    confirmed_at = subscriber.confirmed_at
    assert client.post(path).status_code == 200
    assert Subscriber.objects.get().confirmed_at == confirmed_at


def test_an_expired_confirmation_link_is_refused(client):
    subscriber = Subscriber.objects.create(email="reader@example.test")
    path = path_of(confirm_url(subscriber))
    with time_machine.travel(timezone.now() + CONFIRM_MAX_AGE + timedelta(minutes=1)):
        response = client.post(path)
    assert response.status_code == 400
    assert b"expired" in response.content
    assert Subscriber.objects.get().confirmed_at is None


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "abc:def:ghi",
        signing.dumps({"s": 1, "a": "x"}, salt="some-other-purpose"),
        signing.dumps(["not", "a", "dict"], salt=CONFIRM_SALT),
    ],
    ids=["garbage", "shaped", "wrong-salt", "wrong-payload"],
)
def test_a_forged_confirmation_link_is_refused(client, token):
    Subscriber.objects.create(email="reader@example.test")
    response = client.post(f"/status/confirm/{token}/")
    assert response.status_code == 400
    assert Subscriber.objects.get().confirmed_at is None


def test_a_cut_short_link_is_refused(client):
    subscriber = Subscriber.objects.create(email="reader@example.test")
    assert client.post(f"/status/confirm/{confirm_token(subscriber)[:-3]}/").status_code == 400
    assert not Subscriber.objects.get().active


def test_an_unsubscribe_link_cannot_confirm_and_a_confirm_link_cannot_unsubscribe(client):
    pending = Subscriber.objects.create(email="pending@example.test")
    active = Subscriber.objects.create(email="active@example.test", confirmed_at=timezone.now())
    assert client.post(f"/status/confirm/{unsubscribe_token(pending)}/").status_code == 400
    assert client.post(f"/status/unsubscribe/{confirm_token(active)}/").status_code == 400
    assert not Subscriber.objects.get(pk=pending.pk).active
    assert Subscriber.objects.get(pk=active.pk).active


def test_a_link_for_an_address_changed_since_is_refused(client):
    subscriber = Subscriber.objects.create(email="old@example.test")
    path = path_of(confirm_url(subscriber))
    Subscriber.objects.filter(pk=subscriber.pk).update(email="new@example.test")
    assert client.post(path).status_code == 400
    assert not Subscriber.objects.get().active


def test_an_old_confirmation_link_does_not_undo_an_unsubscribe(client):
    subscriber = Subscriber.objects.create(email="reader@example.test")
    confirm = path_of(confirm_url(subscriber))
    services.subscriber_unsubscribe(token=unsubscribe_token(subscriber))
    response = client.post(confirm)
    assert response.status_code == 400
    assert not Subscriber.objects.get().active
    with pytest.raises(SubscriptionLinkInvalid):
        services.subscriber_confirm(token=confirm_token(subscriber))


# --- unsubscribing ---------------------------------------------------------------------------


def test_links_are_absolute_on_the_configured_base_url(settings):
    settings.HINDSIGHT_BASE_URL = "https://status.example.test"
    subscriber = Subscriber.objects.create(email="reader@example.test")
    assert confirm_url(subscriber).startswith("https://status.example.test/status/confirm/")
    assert unsubscribe_url(subscriber).startswith("https://status.example.test/status/unsubscribe/")
    assert "reader" not in unsubscribe_url(subscriber)  # no address in URLs or their logs


def test_every_link_in_the_confirmation_mail_is_on_the_configured_public_url(sign_up, settings):
    settings.HINDSIGHT_BASE_URL = "https://status.example.test"
    sign_up("reader@example.test")
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    html = str(message.alternatives[0][0])
    text = str(message.body)
    links = re.findall(r"https?://[^\s\"<>]+", text) + re.findall(r'href="([^"]+)"', html)
    assert len(links) == 4  # the confirm link and the status page, in each part
    assert [link for link in links if not link.startswith("https://status.example.test/")] == []


def test_opening_the_unsubscribe_link_shows_a_button_and_changes_nothing(client):
    subscriber = Subscriber.objects.create(email="reader@example.test", confirmed_at=timezone.now())
    response = client.get(path_of(unsubscribe_url(subscriber)))
    assert response.status_code == 200
    assert b"<button" in response.content
    assert Subscriber.objects.get().active


def test_one_click_unsubscribe_is_a_post_with_no_cookie_and_no_csrf_token():
    """What a mail client sends for List-Unsubscribe-Post: List-Unsubscribe=One-Click."""
    subscriber = Subscriber.objects.create(email="reader@example.test", confirmed_at=timezone.now())
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        path_of(unsubscribe_url(subscriber)),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None
    assert not subscriber.active
    unsubscribed_at = subscriber.unsubscribed_at
    assert mail_client.post(path_of(unsubscribe_url(subscriber))).status_code == 200
    assert Subscriber.objects.get().unsubscribed_at == unsubscribed_at


def test_an_unsubscribe_link_keeps_working_long_after(client):
    subscriber = Subscriber.objects.create(email="reader@example.test", confirmed_at=timezone.now())
    path = path_of(unsubscribe_url(subscriber))
    with time_machine.travel(timezone.now() + timedelta(days=3 * 365)):
        assert client.post(path).status_code == 200
    assert not Subscriber.objects.get().active


def test_a_forged_unsubscribe_link_is_refused_and_a_deleted_subscription_is_fine(client):
    subscriber = Subscriber.objects.create(email="reader@example.test", confirmed_at=timezone.now())
    assert client.post("/status/unsubscribe/forged:token:here/").status_code == 400
    assert client.get("/status/unsubscribe/forged:token:here/").status_code == 400
    assert Subscriber.objects.get().active
    path = path_of(unsubscribe_url(subscriber))
    subscriber.delete()
    assert client.post(path).status_code == 200
    assert client.get(path).status_code == 200
