"""Maintenance notices: subscribers hear when a window is scheduled, starts and ends, once each,
and only those who chose a component it affects or the whole page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from incidents.models import Component, ComponentGroup, Maintenance, Subscriber
from incidents.statuspage import maintenance_notices, services
from incidents.statuspage.tasks import maintenance_notice_send, maintenance_notices_due
from outbox.models import OutboxMessage
from tests.factories import HealthCheckFactory, ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "eager")]

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world():
    """MoodMash's Web watches a check of the web service; Billing watches the billing one's."""
    web_service, billing_service = ServiceFactory(name="web"), ServiceFactory(name="billing")
    group = ComponentGroup.objects.create(name="MoodMash")
    web = Component.objects.create(name="Web", group=group)
    web.health_checks.set([HealthCheckFactory(service=web_service)])
    billing = Component.objects.create(name="Billing")
    billing.health_checks.set([HealthCheckFactory(service=billing_service)])
    people = {
        "whole": subscriber("whole@example.com"),
        "web": subscriber("web@example.com", web),
        "billing": subscriber("billing@example.com", billing),
    }
    subscriber("pending@example.com", confirmed=False)
    return {"web_service": web_service, "billing_service": billing_service, **people}


def subscriber(email: str, *components: Component, confirmed: bool = True) -> Subscriber:
    row = Subscriber.objects.create(email=email, confirmed_at=timezone.now() if confirmed else None)
    row.components.set(components)
    return row


def create(django_capture_on_commit_callbacks, **fields) -> Maintenance:
    values = {
        "title": "Database upgrade",
        "description": "Writes pause for a **minute**.",
        "starts_at": NOW + timedelta(hours=1),
        "ends_at": NOW + timedelta(hours=2),
        **fields,
    }
    with django_capture_on_commit_callbacks(execute=True):
        return services.maintenance_create(**values)


def run_due(django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return maintenance_notices_due()


def inboxes() -> list[tuple[str, str]]:
    seen = sorted((message.to[0], str(message.subject)) for message in mail.outbox)
    mail.outbox.clear()
    return seen


def test_a_window_of_a_service_reaches_whole_page_subscribers_and_its_components_only(
    world, django_capture_on_commit_callbacks
):
    create(django_capture_on_commit_callbacks, service=world["web_service"])
    assert inboxes() == [
        ("web@example.com", "Maintenance scheduled: Database upgrade"),
        ("whole@example.com", "Maintenance scheduled: Database upgrade"),
    ]


def test_a_window_of_everything_reaches_every_confirmed_subscriber(
    world, django_capture_on_commit_callbacks
):
    create(django_capture_on_commit_callbacks)
    assert [to for to, _ in inboxes()] == [
        "billing@example.com",
        "web@example.com",
        "whole@example.com",
    ]


def test_a_service_no_component_watches_reaches_whole_page_subscribers_only(
    world, django_capture_on_commit_callbacks
):
    create(django_capture_on_commit_callbacks, service=ServiceFactory(name="batch"))
    assert [to for to, _ in inboxes()] == ["whole@example.com"]


def test_scheduled_started_and_finished_go_out_once_each_however_often_the_beat_runs(
    world, clock, django_capture_on_commit_callbacks
):
    window = create(django_capture_on_commit_callbacks, service=world["billing_service"])
    scheduled = inboxes()
    assert [subject for _, subject in scheduled] == ["Maintenance scheduled: Database upgrade"] * 2
    assert run_due(django_capture_on_commit_callbacks) == 0
    assert inboxes() == []

    clock.move_to(NOW + timedelta(hours=1, minutes=1))
    assert run_due(django_capture_on_commit_callbacks) == 1
    assert run_due(django_capture_on_commit_callbacks) == 0
    assert inboxes() == [
        ("billing@example.com", "Maintenance started: Database upgrade"),
        ("whole@example.com", "Maintenance started: Database upgrade"),
    ]

    clock.move_to(NOW + timedelta(hours=2, minutes=1))
    assert run_due(django_capture_on_commit_callbacks) == 1
    assert run_due(django_capture_on_commit_callbacks) == 0
    finished = inboxes()
    assert finished == [
        ("billing@example.com", "Maintenance finished: Database upgrade"),
        ("whole@example.com", "Maintenance finished: Database upgrade"),
    ]
    window.refresh_from_db()
    assert None not in (
        window.scheduled_notice_at,
        window.started_notice_at,
        window.finished_notice_at,
    )
    assert OutboxMessage.objects.filter(task=maintenance_notices.NOTICE_TASK).count() == 3


def test_a_redelivered_send_task_mails_nobody_twice(world, django_capture_on_commit_callbacks):
    window = create(django_capture_on_commit_callbacks)
    assert len(inboxes()) == 3
    assert maintenance_notice_send(window.pk, "scheduled") == 0
    assert inboxes() == []


def test_a_window_that_ended_between_two_runs_gets_the_finished_notice_only(
    world, clock, django_capture_on_commit_callbacks
):
    create(django_capture_on_commit_callbacks)
    inboxes()
    clock.move_to(NOW + timedelta(hours=3))
    assert run_due(django_capture_on_commit_callbacks) == 1
    assert {subject for _, subject in inboxes()} == {"Maintenance finished: Database upgrade"}
    assert run_due(django_capture_on_commit_callbacks) == 0


def test_the_notice_has_text_html_the_description_and_the_subscribers_links(
    world, django_capture_on_commit_callbacks
):
    create(django_capture_on_commit_callbacks, service=world["web_service"])
    message = next(m for m in mail.outbox if m.to == ["web@example.com"])
    assert "Writes pause for a **minute**." in message.body
    assert "/status/subscription/" in message.body
    assert "/status/unsubscribe/" in message.extra_headers["List-Unsubscribe"]
    assert isinstance(message, EmailMultiAlternatives)
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "<strong>minute</strong>" in str(html)
