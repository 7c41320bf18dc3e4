"""Subscribers choose components: the choice on the sign-up form, in the confirmation mail and on
the unsubscribe page, changed from a signed link in every mail; and a status page update reaches
whole-page subscribers and those who chose a component it names, in one query."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.communications import delivery
from incidents.models import (
    Audience,
    Communication,
    CommunicationComponent,
    Component,
    ComponentGroup,
    ComponentStatus,
    Delivery,
    Maintenance,
    Phase,
    Subscriber,
)
from incidents.statuspage import services
from incidents.statuspage.selectors import subscribers_reached, update_components
from incidents.statuspage.subscriber_links import (
    choice_token,
    choice_url,
    unsubscribe_token,
)
from tests.factories import IncidentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "eager")]


@pytest.fixture
def page() -> dict[str, Component]:
    moodmash = ComponentGroup.objects.create(name="MoodMash", order=1)
    return {
        "web": Component.objects.create(name="Web", group=moodmash, order=1),
        "api": Component.objects.create(name="API", group=moodmash, order=2),
        "billing": Component.objects.create(name="Billing"),
    }


def subscriber(email: str, *components: Component, confirmed: bool = True) -> Subscriber:
    now = timezone.now()
    row = Subscriber.objects.create(email=email, confirmed_at=now if confirmed else None)
    row.components.set(components)
    return row


def update(*names: Component) -> Communication:
    row = Communication(
        incident=IncidentFactory(),
        audience=Audience.STATUS_PAGE,
        phase=Phase.IDENTIFIED,
        status=Communication.Status.SENT,
        subject="Trouble",
        body="We are on it.",
        approved_at=timezone.now(),
        sent_at=timezone.now(),
    )
    row.render_markdown()
    row.save()
    CommunicationComponent.objects.bulk_create(
        CommunicationComponent(
            communication=row, component=component, status=ComponentStatus.MAJOR_OUTAGE
        )
        for component in names
    )
    return row


def emailed(communication: Communication) -> list[str]:
    delivery.deliveries_create(communication=communication)
    return sorted(
        Delivery.objects.filter(
            communication=communication, channel=Delivery.Channel.EMAIL
        ).values_list("recipient", flat=True)
    )


# --- who an update reaches ---------------------------------------------------------------------


def test_an_update_naming_a_component_reaches_its_subscribers_and_whole_page_ones_only(page):
    subscriber("whole@example.com")
    subscriber("web@example.com", page["web"])
    subscriber("web-and-billing@example.com", page["web"], page["billing"])
    subscriber("api@example.com", page["api"])
    subscriber("pending-web@example.com", page["web"], confirmed=False)
    assert emailed(update(page["web"])) == [
        "web-and-billing@example.com",
        "web@example.com",
        "whole@example.com",
    ]


def test_an_update_naming_no_component_reaches_everyone(page):
    subscriber("whole@example.com")
    subscriber("web@example.com", page["web"])
    subscriber("api@example.com", page["api"])
    assert emailed(update()) == ["api@example.com", "web@example.com", "whole@example.com"]


def test_a_user_email_names_no_component_and_reaches_everyone(page):
    subscriber("web@example.com", page["web"])
    row = update(page["api"])
    row.audience = Audience.USER_EMAIL
    row.save(update_fields=["audience"])
    assert emailed(row) == ["web@example.com"]


def test_a_subscriber_whose_components_were_all_deleted_hears_about_the_whole_page(page):
    subscriber("billing@example.com", page["billing"])
    page["billing"].delete()
    assert emailed(update(page["web"])) == ["billing@example.com"]


@pytest.mark.parametrize("count", [1, 50])
def test_the_recipients_are_read_in_one_query_however_many_subscribe(page, count):
    for n in range(count):
        choice = [(), (page["web"],), (page["api"],)][n % 3]
        subscriber(f"reader{n}@example.com", *choice)
    named = update(page["web"])
    with CaptureQueriesContext(connection) as queries:
        reached = list(
            subscribers_reached(
                components=update_components(communication_id=named.pk), everyone_if_none=True
            ).values_list("email", flat=True)
        )
    assert len(queries) == 1
    assert len(reached) == len([n for n in range(count) if n % 3 != 2])


@pytest.mark.parametrize("count", [1, 50])
def test_the_fan_out_query_count_does_not_grow_with_subscribers(
    page, count, django_assert_num_queries
):
    for n in range(count):
        subscriber(f"reader{n}@example.com", *([page["web"]] if n % 2 else []))
    named = update(page["web"])
    # The recipients, the webhooks, one batch insert, the pending ids.
    with django_assert_num_queries(4):
        delivery.deliveries_create(communication=named)


# --- choosing ------------------------------------------------------------------------------------


def test_the_form_lists_components_by_group(client, page):
    html = client.get("/status/subscribe/").content.decode()
    assert html.index("MoodMash") < html.index("Web") < html.index("API")
    assert html.index("API") < html.index("Other") < html.index("Billing")
    assert html.count('type="checkbox"') == 3


def test_subscribing_with_chosen_components_stores_them_and_the_mail_says_so(
    client, page, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/status/subscribe/",
            {"email": "web@example.com", "components": [page["web"].pk, page["billing"].pk]},
        )
    assert response.status_code == 302
    row = Subscriber.objects.get()
    assert set(row.components.all()) == {page["web"], page["billing"]}
    [message] = mail.outbox
    assert "these components only" in message.body
    assert "- MoodMash: Web\n- Billing\n" in message.body


def test_subscribing_with_none_ticked_is_the_whole_page(
    client, page, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/status/subscribe/", {"email": "all@example.com"})
    assert not Subscriber.objects.get().components.exists()
    assert "everything on the status page" in mail.outbox[0].body


def test_a_sign_up_does_not_change_the_choice_of_a_confirmed_address(page):
    row = subscriber("web@example.com", page["web"])
    services.subscriber_signup(email="web@example.com", components=[page["api"].pk])
    assert list(row.components.all()) == [page["web"]]


def test_the_unsubscribe_page_says_what_was_chosen(client, page):
    row = subscriber("web@example.com", page["web"])
    html = client.get(f"/status/unsubscribe/{unsubscribe_token(row)}/").content.decode()
    assert "MoodMash: Web" in html
    assert "API" not in html


def test_the_link_in_every_mail_changes_the_choice(client, page):
    row = subscriber("web@example.com", page["web"])
    communication = update()
    [pk] = delivery.deliveries_create(communication=communication)
    delivery.delivery_send(delivery_id=pk)
    [message] = mail.outbox
    url = choice_url(row)
    assert url in message.body
    path = "/" + url.split("/", 3)[3]
    assert "MoodMash: Web" in client.get(path).content.decode()

    response = client.post(path, {"components": [page["api"].pk]})
    assert response.status_code == 200
    assert list(row.components.all()) == [page["api"]]
    client.post(path, {})
    assert not row.components.exists()


def test_a_forged_or_unsubscribe_token_does_not_change_the_choice(client, page):
    row = subscriber("web@example.com", page["web"])
    for token in (unsubscribe_token(row), choice_token(row)[:-2] + "xx"):
        response = client.post(f"/status/subscription/{token}/", {"components": []})
        assert response.status_code == 400
    assert list(row.components.all()) == [page["web"]]


def test_the_migration_leaves_existing_subscribers_on_the_whole_page_and_marks_past_notices(page):
    module = importlib.import_module("incidents.migrations.0016_subscriber_components")
    existing = subscriber("old@example.com")
    now = timezone.now()
    past = Maintenance.objects.create(
        title="Past", starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=2)
    )
    ahead = Maintenance.objects.create(
        title="Ahead", starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=3)
    )
    executor = MigrationExecutor(connection)
    module.mark_past_notices(executor.loader.project_state().apps, None)
    past.refresh_from_db()
    ahead.refresh_from_db()
    assert None not in (past.scheduled_notice_at, past.started_notice_at, past.finished_notice_at)
    assert ahead.scheduled_notice_at is not None
    assert (ahead.started_notice_at, ahead.finished_notice_at) == (None, None)
    assert not existing.components.exists()
    assert emailed(update(page["web"])) == ["old@example.com"]
