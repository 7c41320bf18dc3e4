"""The admins' webhook page: endpoints with their events, the secret shown once, test pings,
each endpoint's latest deliveries with their answers, and redelivery."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from feed.kinds import EventKind
from feed.services import feed_record
from incidents.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from incidents.models.webhooks import PING
from incidents.webhooks import services
from outbox.models import OutboxMessage
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/in"


@pytest.fixture
def admin(client):
    client.force_login(user_with_role("admin"))
    return client


def endpoint(**fields) -> WebhookEndpoint:
    fields.setdefault("url", URL)
    return services.webhook_endpoint_save(
        endpoint=WebhookEndpoint(name=fields.pop("name", "Chat"), **fields)
    )


def delivered(hook: WebhookEndpoint, reference: str, *, answer: str = "ok") -> WebhookDelivery:
    feed_record(kind=EventKind.INCIDENT_DECLARED, subject_id=reference, data={})
    delivery = WebhookDelivery.objects.filter(endpoint=hook).latest("pk")
    WebhookAttempt.objects.create(
        delivery=delivery, number=1, started_at=timezone.now(), status_code=200, answer=answer
    )
    return delivery


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_reach_the_webhook_pages(client, role):
    hook = endpoint()
    assert client.get(reverse("incidents:webhook_list")).status_code == 302  # to log in
    client.force_login(user_with_role(role))
    for name, args in [("webhook_list", []), ("webhook_detail", [hook.pk])]:
        assert client.get(reverse(f"incidents:{name}", args=args)).status_code == 403
    assert client.post(reverse("incidents:webhook_ping", args=[hook.pk])).status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_an_admin_adds_an_endpoint_with_its_events_and_sees_the_secret_once(admin):
    form = admin.get(reverse("incidents:webhook_create")).content.decode()
    # A new endpoint starts with every event of the feed ticked, grouped by subject.
    ticked = set(re.findall(r'name="events" value="([^"]+)"[^>]*checked', form))
    assert ticked == set(EventKind.values)
    assert re.search(r'name="active"[^>]*checked', form)
    assert "Action items" in form
    assert "The deployment gate" in form

    response = admin.post(
        reverse("incidents:webhook_create"),
        {
            "name": "Pager",
            "url": URL,
            "events": ["incident.declared", "gate.blocked"],
            "active": "on",
        },
    )

    hook = WebhookEndpoint.objects.get()
    assert (hook.name, hook.events, hook.active) == (
        "Pager",
        ["incident.declared", "gate.blocked"],
        True,
    )
    assert response.status_code == 200
    assert hook.secret in response.content.decode()
    detail = admin.get(reverse("incidents:webhook_detail", args=[hook.pk])).content.decode()
    assert hook.secret not in detail
    assert "Gate blocked" in detail


def test_a_url_the_guard_refuses_is_an_error_beside_the_field(admin):
    response = admin.post(
        reverse("incidents:webhook_create"),
        {"name": "Inside", "url": "http://10.0.0.5/hook", "events": ["incident.declared"]},
    )
    assert response.status_code == 422
    assert 'id="id_url_error"' in response.content.decode()
    assert "may not reach" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_event_kind_is_refused_not_dropped(admin):
    response = admin.post(
        reverse("incidents:webhook_create"),
        {"name": "Pager", "url": URL, "events": ["incident.declared", "incident.exploded"]},
    )
    assert response.status_code == 422
    assert 'id="id_events_error"' in response.content.decode()


def test_editing_changes_the_events_and_switching_off_stops_deliveries(admin):
    hook = endpoint()
    response = admin.post(
        reverse("incidents:webhook_edit", args=[hook.pk]),
        {"name": "Chat", "url": URL, "events": ["action_item.created"]},
    )
    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.events, hook.active) == (["action_item.created"], False)
    feed_record(kind=EventKind.ACTION_ITEM_CREATED, subject_id=1, data={})
    assert not WebhookDelivery.objects.exists()


def test_rotating_shows_the_new_secret_once(admin):
    hook = endpoint()
    old = hook.secret
    response = admin.post(reverse("incidents:webhook_rotate", args=[hook.pk]))
    hook.refresh_from_db()
    assert hook.secret != old
    assert hook.secret in response.content.decode()


def test_a_test_ping_is_queued_through_the_outbox(admin):
    hook = endpoint()
    response = admin.post(reverse("incidents:webhook_ping", args=[hook.pk]))
    assert response.status_code == 302
    ping = WebhookDelivery.objects.get()
    assert ping.kind == PING
    assert OutboxMessage.objects.get(task=services.DELIVER_TASK).kwargs == {"delivery_id": ping.pk}


def test_the_endpoint_page_shows_each_delivery_with_its_answer_and_redelivers_one(admin):
    hook = endpoint()
    first = delivered(hook, "INC-1", answer="<b>thanks</b>")
    page = admin.get(reverse("incidents:webhook_detail", args=[hook.pk])).content.decode()
    assert "HTTP 200" in page
    assert "&lt;b&gt;thanks&lt;/b&gt;" in page  # the receiver's answer is shown as text

    admin.post(reverse("incidents:webhook_redeliver", args=[hook.pk, first.pk]))
    again = WebhookDelivery.objects.latest("pk")
    assert (again.redelivery_of_id, again.event_id) == (first.pk, first.event_id)


def test_redelivering_to_a_switched_off_endpoint_says_why(admin):
    hook = endpoint()
    first = delivered(hook, "INC-1")
    WebhookEndpoint.objects.filter(pk=hook.pk).update(active=False)
    response = admin.post(
        reverse("incidents:webhook_redeliver", args=[hook.pk, first.pk]), follow=True
    )
    assert "switched off" in response.content.decode()
    assert WebhookDelivery.objects.count() == 1


def test_deleting_an_endpoint_takes_its_log_with_it(admin):
    hook = endpoint()
    delivered(hook, "INC-1")
    assert admin.get(reverse("incidents:webhook_delete", args=[hook.pk])).status_code == 200
    admin.post(reverse("incidents:webhook_delete", args=[hook.pk]))
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_costs_the_same_queries_for_1_and_50_endpoints(
    admin, rows, django_assert_num_queries
):
    for n in range(rows):
        delivered(endpoint(name=f"Hook {n}"), f"INC-{n}")
    # Session, user, permissions (user and groups), then the endpoints with their latest.
    with django_assert_num_queries(5):
        response = admin.get(reverse("incidents:webhook_list"))
    assert response.content.decode().count("data-endpoint=") == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_the_endpoint_page_costs_the_same_queries_for_1_and_50_deliveries(
    admin, rows, django_assert_num_queries
):
    hook = endpoint()
    for n in range(rows):
        delivered(hook, f"INC-{n}")
    # Session, user, permissions (user and groups), the endpoint, deliveries, their attempts.
    with django_assert_num_queries(7):
        response = admin.get(reverse("incidents:webhook_detail", args=[hook.pk]))
    assert response.content.decode().count("data-delivery=") == min(rows, 25)
