"""Maintenance notices go through the deliveries: one Delivery row per recipient and notice, so
a notice goes out once however often its task or the beat runs, with or without a cache; and
those who heard of a window hear once more when it is rescheduled or called off."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.models import Component, Delivery, Maintenance, Subscriber
from incidents.statuspage import services
from incidents.statuspage.selectors import maintenance_rows
from incidents.statuspage.tasks import maintenance_notice_send, maintenance_notices_due
from tests.factories import HealthCheckFactory, ServiceFactory, user_with_role

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SCHEDULED = "Maintenance scheduled: Database upgrade"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world():
    """Whole-page and web subscribers; the web service is watched by the Web component."""
    web_service = ServiceFactory(name="web")
    web = Component.objects.create(name="Web")
    web.health_checks.set([HealthCheckFactory(service=web_service)])
    subscriber("whole@example.com")
    subscriber("web@example.com", web)
    subscriber("billing-only@example.com", Component.objects.create(name="Billing"))
    return {"web_service": web_service}


def subscriber(email: str, *components: Component) -> Subscriber:
    row = Subscriber.objects.create(email=email, confirmed_at=timezone.now())
    row.components.set(components)
    return row


def create(capture, **fields) -> Maintenance:
    values = {
        "title": "Database upgrade",
        "description": "Writes pause for a minute.",
        "starts_at": NOW + timedelta(hours=1),
        "ends_at": NOW + timedelta(hours=2),
        **fields,
    }
    with capture(execute=True):
        return services.maintenance_create(**values)


def inboxes() -> list[tuple[str, str]]:
    seen = sorted((message.to[0], str(message.subject)) for message in mail.outbox)
    mail.outbox.clear()
    return seen


pytestmark = pytest.mark.usefixtures("clock")


@pytest.mark.django_db
@pytest.mark.usefixtures("eager")
class TestOnceEach:
    def test_each_recipient_of_a_notice_has_one_delivery_row_marked_sent(
        self, world, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks, service=world["web_service"])
        rows = Delivery.objects.filter(maintenance=window).order_by("recipient")
        assert [(d.recipient, d.notice, d.status) for d in rows] == [
            ("web@example.com", "scheduled", "sent"),
            ("whole@example.com", "scheduled", "sent"),
        ]
        assert all(d.communication_id is None and d.sent_at for d in rows)
        assert len(inboxes()) == 2

    def test_the_task_run_twice_and_the_beat_run_by_two_processes_send_once(
        self, world, clock, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks)
        assert len(inboxes()) == 3
        assert maintenance_notice_send(window.pk, "scheduled") == 0
        clock.move_to(NOW + timedelta(hours=1, minutes=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert maintenance_notices_due() == 1
            assert maintenance_notices_due() == 0
        assert maintenance_notice_send(window.pk, "started") == 0
        assert [subject for _, subject in inboxes()] == [
            "Maintenance started: Database upgrade"
        ] * 3
        assert Delivery.objects.filter(maintenance=window).count() == 6

    def test_the_database_refuses_a_second_row_for_the_same_notice_and_address(
        self, world, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks)
        with pytest.raises(IntegrityError), transaction.atomic():
            Delivery.objects.create(
                maintenance=window,
                notice="scheduled",
                channel=Delivery.Channel.EMAIL,
                recipient="whole@example.com",
            )

    def test_no_cache_is_needed_to_send_once(
        self, world, settings, django_capture_on_commit_callbacks
    ):
        # A cache on a closed port: any use of it would raise or be swallowed; the rows decide.
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": "redis://127.0.0.1:1/0",
            }
        }
        window = create(django_capture_on_commit_callbacks)
        assert len(inboxes()) == 3
        assert maintenance_notice_send(window.pk, "scheduled") == 0
        assert inboxes() == []

    def test_a_notice_still_pending_when_the_window_is_called_off_is_not_sent(
        self, world, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks)
        inboxes()
        Delivery.objects.filter(maintenance=window).update(status=Delivery.Status.PENDING)
        Delivery.objects.filter(maintenance=window).exclude(recipient="whole@example.com").update(
            status=Delivery.Status.SENT
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.maintenance_delete(maintenance=window)
        # The pending one, queued through the outbox and refused when it is sent.
        with django_capture_on_commit_callbacks(execute=True):
            assert maintenance_notice_send(window.pk, "scheduled") == 1
        assert inboxes() == [
            ("billing-only@example.com", "Maintenance cancelled: Database upgrade"),
            ("web@example.com", "Maintenance cancelled: Database upgrade"),
        ]
        refused = Delivery.objects.get(maintenance=window, recipient="whole@example.com")
        assert refused.status == Delivery.Status.FAILED
        assert "called off" in refused.last_error


@pytest.mark.django_db
@pytest.mark.usefixtures("eager")
class TestRescheduled:
    def test_new_times_reach_those_who_heard_of_the_window_once(
        self, world, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks, service=world["web_service"])
        inboxes()
        subscriber("later@example.com")  # never heard of it: nothing to correct
        with django_capture_on_commit_callbacks(execute=True):
            services.maintenance_update(
                maintenance=window,
                starts_at=NOW + timedelta(days=1),
                ends_at=NOW + timedelta(days=1, hours=1),
            )
        assert inboxes() == [
            ("web@example.com", "Maintenance rescheduled: Database upgrade"),
            ("whole@example.com", "Maintenance rescheduled: Database upgrade"),
        ]
        assert maintenance_notice_send(window.pk, "rescheduled", 1) == 0
        assert inboxes() == []

    def test_the_mail_says_the_new_times(self, world, django_capture_on_commit_callbacks):
        window = create(django_capture_on_commit_callbacks, service=world["web_service"])
        inboxes()
        with django_capture_on_commit_callbacks(execute=True):
            services.maintenance_update(
                maintenance=window,
                starts_at=datetime(2026, 3, 9, 22, 0, tzinfo=UTC),
                ends_at=datetime(2026, 3, 9, 23, 0, tzinfo=UTC),
            )
        message = mail.outbox[0]
        assert isinstance(message, EmailMultiAlternatives)
        assert "rescheduled to 9 Mar 2026, 22:00 UTC until 9 Mar 2026, 23:00 UTC" in message.body
        assert "9 Mar 2026, 22:00 UTC" in str(message.alternatives[0][0])

    def test_each_change_of_times_is_told_once_and_other_edits_are_not(
        self, world, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks, service=world["web_service"])
        inboxes()
        with django_capture_on_commit_callbacks(execute=True):
            services.maintenance_update(maintenance=window, title="Database upgrade")
            services.maintenance_update(maintenance=window, description="Now in **bold**.")
        assert inboxes() == []
        for hours in (3, 5):
            with django_capture_on_commit_callbacks(execute=True):
                services.maintenance_update(
                    maintenance=window, ends_at=NOW + timedelta(hours=hours)
                )
        assert [subject for _, subject in inboxes()] == [
            "Maintenance rescheduled: Database upgrade"
        ] * 4
        window.refresh_from_db()
        assert window.schedule_revision == 2

    def test_a_window_that_is_over_is_not_rescheduled_to_anyone(
        self, world, clock, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks)
        clock.move_to(NOW + timedelta(hours=3))
        with django_capture_on_commit_callbacks(execute=True):
            maintenance_notices_due()
        inboxes()
        window.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            services.maintenance_update(
                maintenance=window, ends_at=NOW + timedelta(hours=2, minutes=30)
            )
        assert inboxes() == []

    def test_the_edit_page_reschedules_through_the_form(
        self, client, world, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks, service=world["web_service"])
        inboxes()
        client.force_login(user_with_role("editor"))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/maintenance/{window.pk}/edit/",
                {
                    "title": window.title,
                    "description": window.description,
                    "service": window.service_id,
                    "starts_at": "2026-03-03T12:00",
                    "ends_at": "2026-03-03T13:00",
                },
            )
        assert response.status_code == 302, response.content
        assert [subject for _, subject in inboxes()] == [
            "Maintenance rescheduled: Database upgrade"
        ] * 2


@pytest.mark.django_db
@pytest.mark.usefixtures("eager")
class TestCancelled:
    def test_deleting_an_announced_window_calls_it_off_and_tells_those_who_heard_once(
        self, world, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks, service=world["web_service"])
        inboxes()
        subscriber("later@example.com")
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                services.maintenance_delete(maintenance=Maintenance.objects.get(pk=window.pk))
        assert maintenance_notice_send(window.pk, "cancelled") == 0
        assert inboxes() == [
            ("web@example.com", "Maintenance cancelled: Database upgrade"),
            ("whole@example.com", "Maintenance cancelled: Database upgrade"),
        ]
        window.refresh_from_db()
        assert window.cancelled_at == NOW
        assert maintenance_rows(now=NOW) == []

    def test_a_cancelled_window_never_starts_or_finishes(
        self, world, clock, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            services.maintenance_delete(maintenance=window)
        inboxes()
        for hours in (1.5, 3):
            clock.move_to(NOW + timedelta(hours=hours))
            with django_capture_on_commit_callbacks(execute=True):
                assert maintenance_notices_due() == 0
        assert inboxes() == []

    def test_a_window_that_is_over_is_deleted_without_a_word(
        self, world, clock, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks)
        clock.move_to(NOW + timedelta(hours=3))
        with django_capture_on_commit_callbacks(execute=True):
            maintenance_notices_due()
        inboxes()
        with django_capture_on_commit_callbacks(execute=True):
            services.maintenance_delete(maintenance=window)
        assert inboxes() == []
        assert not Maintenance.objects.filter(pk=window.pk).exists()

    def test_the_delete_page_says_it_was_cancelled_and_lists_it_so(
        self, client, world, django_capture_on_commit_callbacks
    ):
        window = create(django_capture_on_commit_callbacks)
        inboxes()
        client.force_login(user_with_role("editor"))
        assert (
            b"get one email saying it is cancelled"
            in client.get(f"/maintenance/{window.pk}/delete/").content
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/maintenance/{window.pk}/delete/", follow=True)
        assert b"Cancelled: Database upgrade" in response.content
        assert len(inboxes()) == 3
        assert client.get(f"/maintenance/{window.pk}/edit/").status_code == 404


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_through_redis_a_real_worker_sends_each_notice_once_when_its_task_runs_twice(
    celery_worker,
):
    subscriber("whole@example.com")
    subscriber("second@example.com")
    window = services.maintenance_create(
        title="Database upgrade",
        starts_at=timezone.now() + timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=2),
    )
    # The outbox's own publish, and the same task twice more, as a redelivery and a second
    # beat would.
    maintenance_notice_send.delay(window.pk, "scheduled")
    maintenance_notice_send.delay(window.pk, "scheduled")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if Delivery.objects.filter(maintenance=window, status="sent").count() == 2:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # let any second send show itself
    assert inboxes() == [("second@example.com", SCHEDULED), ("whole@example.com", SCHEDULED)]
    services.maintenance_delete(maintenance=window)
    maintenance_notice_send.delay(window.pk, "cancelled")
    deadline = time.monotonic() + 20
    while len(mail.outbox) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert [subject for _, subject in inboxes()] == ["Maintenance cancelled: Database upgrade"] * 2
