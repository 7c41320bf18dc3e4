"""Reminder emails: each owner's morning digest, claimed once per person and day by a unique row,
sent through the outbox (the weekly summary and what each costs: test_reminders_summary.py).

The outbox's task runs eagerly here (no broker), right after the claim commits; one test sends
through Redis and a real worker instead.
"""

from __future__ import annotations

import smtplib
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from core import delivery as engine
from core.delivery import TransientDeliveryError
from core.models import Profile
from incidents.insights.reminders import services
from incidents.insights.reminders.tasks import reminders_due
from incidents.models import ActionItem, Reminder
from outbox.models import OutboxMessage
from tests.factories import ActionItemFactory, IncidentFactory, UserFactory
from tests.helpers import assert_violates, run_in_threads

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager")]

# Tuesday 2026-03-10, 08:00 in UTC: the digest hour (8) for people without a zone.
UTC_MORNING = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _digest_at_eight(settings):
    settings.HINDSIGHT_DIGEST_HOUR = 8
    settings.HINDSIGHT_SUMMARY_WEEKDAY = 0
    settings.HINDSIGHT_BASE_URL = "https://hindsight.example.test"


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """The beat's task at `now`, with what waits for its commits (the outbox, so the email)."""

    def go(now: datetime) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return services.reminders_due(now=now)

    return go


def owner(username: str = "ada", zone: str | None = None, **kwargs) -> User:
    person = UserFactory(username=username, **kwargs)
    if zone is not None:
        Profile.objects.create(user=person, time_zone=zone)
    return person


def item(person, title: str, due: date | None, **kwargs) -> ActionItem:
    return ActionItemFactory(owner=person, title=title, due_date=due, **kwargs)


def digests_to(username: str) -> list[EmailMultiAlternatives]:
    found = [m for m in mail.outbox if m.to == [f"{username}@example.test"]]
    assert all(isinstance(m, EmailMultiAlternatives) for m in found)
    return found  # type: ignore[return-value]  # checked just above


def html_of(message: object) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    html, mime = message.alternatives[0]
    assert mime == "text/html"
    assert isinstance(html, str)
    return html


# --- the digest ----------------------------------------------------------------------------


def test_the_digest_lists_overdue_and_soon_due_items_and_nothing_else(run):
    ada = owner()
    incident = IncidentFactory(title="Checkout worker missing")
    late = item(
        ada, "Add a smoke test for the worker file", TODAY - timedelta(days=2), incident=incident
    )
    soon = item(ada, "Alert on the worker's 404s", TODAY + timedelta(days=3), incident=incident)
    item(ada, "Write the runbook", TODAY + timedelta(days=4))  # later than three days
    item(ada, "Someday, maybe", None)  # no date
    item(
        ada,
        "Done already",
        TODAY - timedelta(days=1),
        status=ActionItem.Status.DONE,
        done_at=UTC_MORNING,
    )
    item(ada, "Decided against", TODAY, status=ActionItem.Status.WONT_DO)
    item(UserFactory(username="bob"), "Bob's, overdue", TODAY - timedelta(days=5))

    assert run(UTC_MORNING) == 2  # ada's and bob's
    [message] = digests_to("ada")
    text = message.body
    assert "Add a smoke test for the worker file" in text
    assert "Alert on the worker's 404s" in text
    for absent in (
        "Write the runbook",
        "Someday, maybe",
        "Done already",
        "Decided against",
        "Bob's",
    ):
        assert absent not in text
    assert text.index("OVERDUE") < text.index(late.title) < text.index("DUE SOON")
    assert text.index("DUE SOON") < text.index(soon.title)
    assert message.subject == "1 overdue, 1 due soon: your action items for Tue 10 Mar"
    # Links to each item on its incident page, absolute, in both parts.
    link = f"https://hindsight.example.test/incidents/{incident.reference}/#row-actions-{late.pk}"
    assert link in text
    html = html_of(message)
    assert f'href="{link}"' in html
    assert "Checkout worker missing" in html
    reminder = Reminder.objects.get(person=ada)
    assert (reminder.kind, reminder.period, reminder.status, reminder.listed) == (
        Reminder.Kind.DIGEST,
        TODAY,
        Reminder.Status.SENT,
        2,
    )


def test_what_a_person_typed_is_escaped_in_the_html_part(run):
    ada = owner()
    item(ada, "<script>alert(1)</script> & more", TODAY)
    run(UTC_MORNING)
    [message] = mail.outbox
    html = html_of(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "<script>alert(1)</script> & more" in message.body  # the text part is plain text


def test_nobody_with_nothing_due_gets_an_email_or_a_claim(run):
    ada = owner()
    item(ada, "Later", TODAY + timedelta(days=10))
    item(ada, "Done", TODAY - timedelta(days=1), status=ActionItem.Status.DONE, done_at=UTC_MORNING)
    assert run(UTC_MORNING) == 0
    assert mail.outbox == []
    assert not Reminder.objects.exists()


def test_each_person_gets_it_at_the_digest_hour_of_their_own_zone(run):
    utc = owner("utc")  # no profile: UTC
    berlin = owner("berlin", zone="Europe/Berlin")  # UTC+1 in March
    tokyo = owner("tokyo", zone="Asia/Tokyo")  # UTC+9
    for person in (utc, berlin, tokyo):
        item(person, f"{person.username}'s item", TODAY)

    run(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))  # 08:00 in Berlin
    assert [m.to for m in mail.outbox] == [["berlin@example.test"]]
    run(datetime(2026, 3, 10, 8, 0, tzinfo=UTC))  # 08:00 in UTC; 17:00 in Tokyo
    assert [m.to for m in mail.outbox][1:] == [["utc@example.test"]]
    run(datetime(2026, 3, 10, 23, 0, tzinfo=UTC))  # 08:00 on the 11th in Tokyo
    assert [m.to for m in mail.outbox][2:] == [["tokyo@example.test"]]
    tokyo_reminder = Reminder.objects.get(person=tokyo)
    assert tokyo_reminder.period == date(2026, 3, 11)  # Tokyo's own date


def test_a_person_who_turned_reminders_off_gets_none(run, client):
    ada = owner(zone="UTC")
    item(ada, "Overdue", TODAY - timedelta(days=1))
    client.force_login(ada)
    response = client.post(reverse("preferences"), {"time_zone": "UTC"})  # box left unticked
    assert response.status_code == 302
    assert Profile.objects.get(user=ada).reminder_emails is False

    assert run(UTC_MORNING) == 0
    assert mail.outbox == []

    page = client.get(reverse("preferences")).content.decode()
    assert 'name="reminder_emails"' in page
    assert "checked" not in page.split('name="reminder_emails"')[1].split(">")[0]
    client.post(reverse("preferences"), {"time_zone": "UTC", "reminder_emails": "on"})
    assert run(UTC_MORNING + timedelta(days=1)) == 1


def test_turning_reminders_off_after_the_claim_sends_nothing(django_capture_on_commit_callbacks):
    ada = owner(zone="UTC")
    item(ada, "Overdue", TODAY - timedelta(days=1))
    services.reminders_due(now=UTC_MORNING)  # claimed; the commit has not run the send yet
    Profile.objects.filter(user=ada).update(reminder_emails=False)
    reminder = Reminder.objects.get()
    assert services.reminder_send(reminder_id=reminder.pk) == "skipped"
    assert mail.outbox == []


def test_an_item_done_between_the_claim_and_the_send_is_not_listed():
    ada = owner()
    done_later = item(ada, "Done before breakfast", TODAY)
    services.reminders_due(now=UTC_MORNING)
    ActionItem.objects.filter(pk=done_later.pk).update(
        status=ActionItem.Status.DONE, done_at=UTC_MORNING
    )
    reminder = Reminder.objects.get()
    assert services.reminder_send(reminder_id=reminder.pk) == "skipped"
    assert mail.outbox == []
    assert Reminder.objects.get().status == Reminder.Status.SKIPPED


def test_the_task_run_twice_sends_one_digest(run):
    ada = owner()
    item(ada, "Overdue", TODAY - timedelta(days=1))
    assert run(UTC_MORNING) == 1
    assert run(UTC_MORNING) == 0
    assert run(UTC_MORNING + timedelta(minutes=30)) == 0
    assert len(mail.outbox) == 1
    assert Reminder.objects.count() == 1
    assert OutboxMessage.objects.filter(task=services.SEND_TASK).count() == 1


def test_the_send_task_run_twice_sends_once(run):
    ada = owner()
    item(ada, "Overdue", TODAY - timedelta(days=1))
    run(UTC_MORNING)
    reminder = Reminder.objects.get()
    assert services.reminder_send(reminder_id=reminder.pk) == "sent"  # already: nothing more
    assert len(mail.outbox) == 1


def test_the_next_day_brings_the_next_digest(run):
    ada = owner()
    item(ada, "Overdue", TODAY - timedelta(days=1))
    run(UTC_MORNING)
    run(UTC_MORNING + timedelta(days=1))
    assert len(mail.outbox) == 2
    assert sorted(Reminder.objects.values_list("period", flat=True)) == [
        TODAY,
        TODAY + timedelta(days=1),
    ]


def test_the_database_refuses_a_second_claim_for_one_day():
    ada = owner()
    Reminder.objects.create(person=ada, kind=Reminder.Kind.DIGEST, period=TODAY)
    assert_violates(
        "reminder_once_per_period",
        lambda: Reminder.objects.create(person=ada, kind=Reminder.Kind.DIGEST, period=TODAY),
        columns="incidents_reminder.person_id, incidents_reminder.kind, incidents_reminder.period",
    )


def test_a_mail_server_that_is_away_leaves_the_reminder_to_try_again(run, monkeypatch):
    ada = owner()
    item(ada, "Overdue", TODAY - timedelta(days=1))
    services.reminders_due(now=UTC_MORNING)
    reminder = Reminder.objects.get()

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(TransientDeliveryError):
        services.reminder_send(reminder_id=reminder.pk)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (Reminder.Status.PENDING, 1)
    assert "no mail server" in reminder.last_error
    monkeypatch.undo()
    assert services.reminder_send(reminder_id=reminder.pk) == "sent"
    assert len(mail.outbox) == 1


def test_an_address_the_mail_server_refuses_fails_the_reminder_without_retrying(monkeypatch):
    ada = owner()
    item(ada, "Overdue", TODAY - timedelta(days=1))
    services.reminders_due(now=UTC_MORNING)
    reminder = Reminder.objects.get()

    def refuse(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({ada.email: (550, b"No such mailbox")})

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    assert services.reminder_send(reminder_id=reminder.pk) == "failed"
    monkeypatch.undo()
    assert services.reminder_send(reminder_id=reminder.pk) == "failed"  # and stays so
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (Reminder.Status.FAILED, 1)
    assert "refused the address: [550]" in reminder.last_error
    assert mail.outbox == []


def test_every_attempt_carries_the_same_message_id(monkeypatch):
    ada = owner()
    item(ada, "Overdue", TODAY - timedelta(days=1))
    services.reminders_due(now=UTC_MORNING)
    reminder = Reminder.objects.get()
    tried: list[str] = []

    def refuse(self, fail_silently=False):
        tried.append(self.extra_headers["Message-ID"])
        raise ConnectionResetError("the mail server hung up")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(TransientDeliveryError):
        services.reminder_send(reminder_id=reminder.pk)
    monkeypatch.undo()
    assert services.reminder_send(reminder_id=reminder.pk) == "sent"
    [message] = mail.outbox
    assert tried == [message.extra_headers["Message-ID"]]
    assert message.extra_headers["Message-ID"] == f"<reminder-{reminder.pk}@hindsight.example.test>"


def test_a_reminder_skipped_says_why_and_is_never_handed_back(settings):
    settings.HINDSIGHT_DELIVERY_OVERDUE_SECONDS = 0
    ada = owner()
    done_later = item(ada, "Done before breakfast", TODAY)
    services.reminders_due(now=UTC_MORNING)
    ActionItem.objects.filter(pk=done_later.pk).update(
        status=ActionItem.Status.DONE, done_at=UTC_MORNING
    )
    reminder = Reminder.objects.get()

    assert services.reminder_send(reminder_id=reminder.pk) == "skipped"

    reminder.refresh_from_db()
    assert (reminder.status, reminder.listed, reminder.sent_at) == ("skipped", 0, None)
    assert (reminder.claimed_by, reminder.lease_until) == ("", None)
    assert "Nothing was left to list" in reminder.last_error
    assert engine.deliveries_sweep(now=timezone.now() + timedelta(hours=1)) == 0
    assert mail.outbox == []


@pytest.mark.postgres
def test_a_claimed_reminder_whose_worker_died_is_swept_back_and_sent_once(
    django_capture_on_commit_callbacks,
):
    ada = owner()
    item(ada, "Overdue", TODAY - timedelta(days=1))
    services.reminders_due(now=UTC_MORNING)  # claimed; its task is not run here
    reminder = Reminder.objects.get()
    # A worker claimed it for two minutes and was killed mid-send: its advisory lock went with
    # its connection, the claim stays on the row.
    Reminder.objects.filter(pk=reminder.pk).update(
        claimed_by="elsewhere:1:dead", lease_until=timezone.now() + timedelta(minutes=2), attempts=1
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert engine.deliveries_sweep() == 1  # queued again through the outbox, and run

    assert [m.to for m in mail.outbox] == [[ada.email]]
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.claimed_by) == ("sent", 2, "")
    assert (
        OutboxMessage.objects.filter(
            task=services.SEND_TASK, kwargs={"delivery_id": reminder.pk}
        ).count()
        == 2
    )  # the claim's request, and the sweep's
    # The dead worker's own task, handed back by Redis an hour later, finds it sent.
    assert services.reminder_send(reminder_id=reminder.pk) == "sent"
    assert engine.deliveries_sweep() == 0
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_digest_per_person():
    people = [owner(f"person{i}") for i in range(5)]
    for person in people:
        item(person, "Overdue", TODAY - timedelta(days=1))

    results = run_in_threads(4, lambda i: services.reminders_due(now=UTC_MORNING))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 5  # each claim won by exactly one run
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == 5


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_through_redis_a_real_worker_sends_the_digest_once_when_the_beat_task_runs_twice(
    celery_worker,
):
    ada = owner()
    item(ada, "Overdue", TODAY - timedelta(days=1))
    with time_machine.travel(UTC_MORNING, tick=True):
        reminders_due.delay()
        reminders_due.delay()
        deadline = time.monotonic() + 20
        while (
            Reminder.objects.filter(status=Reminder.Status.SENT).count() < 1
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(0.5)  # room for a second email, were there one
    assert [m.to for m in mail.outbox] == [["ada@example.test"]]
    assert Reminder.objects.get().status == Reminder.Status.SENT
