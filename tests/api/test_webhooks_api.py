"""Webhook endpoints over the API: admins only, CRUD with the secret shown once, the events an
endpoint follows, deliveries with their attempts and payloads, ping and redeliver, problem+json
for every refusal, query budgets, and every answer as the schema documents it."""

from __future__ import annotations

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from feed.kinds import EventKind
from feed.services import feed_record
from incidents.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from incidents.models.webhooks import COMMUNICATION_SENT
from incidents.webhooks import services
from outbox.models import OutboxMessage
from tests.api.test_incidents_api import (
    API,
    assert_documented,
    bearer,
    errors,
    openapi,  # noqa: F401  (a fixture)
    problem_type,
    send_json,
)
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

HOOKS = f"{API}/webhooks"
URL = "https://hooks.example.com/in"


@pytest.fixture
def api():
    return bearer(user_with_role("admin"))


def endpoint(**fields) -> WebhookEndpoint:
    fields.setdefault("url", URL)
    return services.webhook_endpoint_save(
        endpoint=WebhookEndpoint(name=fields.pop("name", "Chat"), **fields)
    )


def delivered(hook: WebhookEndpoint, reference: str) -> WebhookDelivery:
    feed_record(
        kind=EventKind.INCIDENT_DECLARED,
        subject_id=reference,
        incident=reference,
        data={"reference": reference},
    )
    delivery = WebhookDelivery.objects.filter(endpoint=hook).latest("pk")
    WebhookAttempt.objects.create(
        delivery=delivery, number=1, started_at=timezone.now(), status_code=500, answer="oops"
    )
    return delivery


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_read_or_write_webhooks(role):
    hook = endpoint()
    client = bearer(user_with_role(role))
    for method, url in [
        ("get", HOOKS),
        ("get", f"{HOOKS}/{hook.pk}"),
        ("get", f"{HOOKS}/{hook.pk}/deliveries"),
        ("post", f"{HOOKS}/{hook.pk}/ping"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 403, url
        assert problem_type(response) == "permission-denied"
    assert not WebhookDelivery.objects.exists()


def test_a_read_token_of_an_admin_reads_but_never_writes():
    hook = endpoint()
    client = bearer(user_with_role("admin"), scope="read")
    assert client.get(HOOKS).status_code == 200
    assert client.post(f"{HOOKS}/{hook.pk}/secret").status_code == 403


def test_creating_answers_the_secret_once_and_follows_every_event_by_default(api, openapi):  # noqa: F811
    response = send_json(api, "post", HOOKS, {"name": "Pager", "url": URL})
    assert response.status_code == 201, response.content
    assert_documented(openapi, "/api/v1/webhooks", "POST", HOOKS, response)
    body = response.json()
    hook = WebhookEndpoint.objects.get()
    assert body["secret"] == hook.secret
    assert body["events"] == EventKind.values
    assert response["Location"].endswith(f"{HOOKS}/{hook.pk}")

    read = api.get(f"{HOOKS}/{hook.pk}")
    assert_documented(openapi, "/api/v1/webhooks/{id}", "GET", f"{HOOKS}/{hook.pk}", read)
    assert "secret" not in read.json()


def test_events_are_chosen_and_kept_in_the_feed_order_once_each(api):
    response = send_json(
        api,
        "post",
        HOOKS,
        {
            "name": "Pager",
            "url": URL,
            "events": ["gate.blocked", "incident.declared", "gate.blocked"],
        },
    )
    assert response.json()["events"] == ["incident.declared", "gate.blocked"]
    hook = WebhookEndpoint.objects.get()
    response = send_json(
        api, "patch", f"{HOOKS}/{hook.pk}", {"events": [COMMUNICATION_SENT], "active": False}
    )
    assert response.status_code == 200
    hook.refresh_from_db()
    assert (hook.events, hook.active) == ([COMMUNICATION_SENT], False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Inside", "url": "http://127.0.0.1/hook"}, "url"),
        ({"name": "Bad", "url": "ftp://hooks.example.com/"}, "url"),
        ({"name": "Typo", "url": URL, "events": ["incident.exploded"]}, "events"),
        ({"name": "Typo", "url": URL, "evnets": []}, "evnets"),
        ({"name": "Flag", "url": URL, "active": "yes"}, "active"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(api, body, field):
    response = send_json(api, "post", HOOKS, body)
    assert field in errors(response)
    assert not WebhookEndpoint.objects.exists()


def test_rotating_the_secret_answers_the_new_one(api, openapi):  # noqa: F811
    hook = endpoint()
    old = hook.secret
    url = f"{HOOKS}/{hook.pk}/secret"
    response = api.post(url)
    assert_documented(openapi, "/api/v1/webhooks/{id}/secret", "POST", url, response)
    hook.refresh_from_db()
    assert response.json()["secret"] == hook.secret != old


def test_deliveries_list_each_attempt_and_the_payload_sent(api, openapi):  # noqa: F811
    hook = endpoint()
    delivery = delivered(hook, "INC-3")
    url = f"{HOOKS}/{hook.pk}/deliveries"
    response = api.get(url)
    assert_documented(openapi, "/api/v1/webhooks/{id}/deliveries", "GET", url, response)
    [row] = response.json()["results"]
    assert row["id"] == delivery.pk
    assert row["event_id"] == str(delivery.event_id)
    assert row["attempts"][0]["status_code"] == 500
    assert row["attempts"][0]["answer"] == "oops"
    assert row["payload"]["kind"] == "incident.declared"
    assert row["payload"]["data"] == {"reference": "INC-3"}


def test_a_ping_answers_202_with_the_queued_delivery(api, openapi):  # noqa: F811
    hook = endpoint(active=False)
    url = f"{HOOKS}/{hook.pk}/ping"
    response = api.post(url)
    assert response.status_code == 202
    assert_documented(openapi, "/api/v1/webhooks/{id}/ping", "POST", url, response)
    assert response.json()["payload"]["kind"] == "ping"
    assert OutboxMessage.objects.filter(task=services.DELIVER_TASK).count() == 1


def test_redeliver_queues_the_same_event_and_is_refused_while_switched_off(api, openapi):  # noqa: F811
    hook = endpoint()
    first = delivered(hook, "INC-3")
    url = f"{HOOKS}/{hook.pk}/deliveries/{first.pk}/redeliver"
    template = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver"
    response = api.post(url)
    assert response.status_code == 202
    assert_documented(openapi, template, "POST", url, response)
    assert response.json()["event_id"] == str(first.event_id)
    assert response.json()["redelivery_of"] == first.pk

    WebhookEndpoint.objects.filter(pk=hook.pk).update(active=False)
    response = api.post(url)
    assert response.status_code == 409
    assert problem_type(response) == "webhook-endpoint-inactive"
    assert_documented(openapi, template, "POST", url, response)


def test_a_delivery_of_another_endpoint_is_not_found(api):
    mine, other = endpoint(name="Mine"), endpoint(name="Other")
    theirs = delivered(other, "INC-3")
    response = api.post(f"{HOOKS}/{mine.pk}/deliveries/{theirs.pk}/redeliver")
    assert response.status_code == 404
    assert problem_type(response) == "not-found"


def test_deleting_stops_deliveries(api):
    hook = endpoint()
    assert api.delete(f"{HOOKS}/{hook.pk}").status_code == 204
    feed_record(kind=EventKind.INCIDENT_DECLARED, subject_id="INC-1", data={})
    assert not WebhookDelivery.objects.exists()
    assert api.get(f"{HOOKS}/{hook.pk}").status_code == 404


@pytest.mark.parametrize("rows", [1, 50])
def test_lists_cost_the_same_queries_for_1_and_50_rows(api, rows, django_assert_num_queries):
    hooks = [endpoint(name=f"Hook {n:02}") for n in range(rows)]
    for n in range(rows):
        delivered(hooks[0], f"INC-{n}")
    # The token and (first request only) its last use, permissions (user and groups), count,
    # rows.
    with django_assert_num_queries(6):
        assert len(api.get(HOOKS).json()["results"]) == rows
    # The token, permissions (user and groups), the endpoint, count, deliveries with their
    # events, their attempts.
    with django_assert_num_queries(7):
        response = api.get(f"{HOOKS}/{hooks[0].pk}/deliveries")
    assert len(response.json()["results"]) == rows


def test_the_payload_of_every_kind_is_a_named_component_of_the_schema():
    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    envelope = schemas["WebhookEvent"]
    assert set(envelope["required"]) >= {"id", "kind", "occurred_at", "subject_id", "data"}
    assert envelope["properties"]["kind"] == {"$ref": "#/components/schemas/WebhookEventKindEnum"}
    assert set(schemas["WebhookEventKindEnum"]["enum"]) == {*EventKind.values, "ping"}
    assert set(schemas["WebhookFollowedKindEnum"]["enum"]) == {
        *EventKind.values,
        COMMUNICATION_SENT,
    }
    # The deliveries list shows each delivery's payload as that component.
    delivery = schemas["WebhookDelivery"]["properties"]["payload"]
    assert "#/components/schemas/WebhookEvent" in str(delivery)
