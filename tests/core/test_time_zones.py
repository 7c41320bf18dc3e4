"""Each person reads times in the zone they chose; what is told to users stays in the
organisation's zone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from core.models import Profile
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.models import Communication, Incident
from tests.factories import T0, IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def berliner(client):
    user = user_with_role("editor")
    client.force_login(user)
    response = client.post(reverse("preferences"), {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    return user


def test_the_choice_is_kept_and_every_page_time_names_its_zone(client, berliner):
    assert Profile.objects.get(user=berliner).time_zone == "Europe/Berlin"
    incident = IncidentFactory(
        started_at=T0, resolved_at=T0 + timedelta(minutes=16), status="resolved"
    )
    html = client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()
    assert "2026-01-02 07:02</time>" in html
    assert "07:18</time> CET" in html
    assert "Times in Europe/Berlin." in html


def test_a_time_typed_into_a_form_is_read_in_that_zone(client, berliner):
    incident = IncidentFactory(started_at=T0)
    response = client.post(
        reverse("incidents:resolve", args=[incident.reference]),
        {"resolved_at": "2026-01-02 07:18"},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.resolved_at == T0 + timedelta(minutes=16)


def test_messages_to_users_keep_the_organisations_zone(client, berliner):
    default_templates_ensure()
    incident = IncidentFactory(
        started_at=T0, resolved_at=T0 + timedelta(minutes=16), status=Incident.Status.RESOLVED
    )
    client.post(
        reverse("incidents:communication_generate", args=[incident.reference]),
        {"template": USER_EMAIL_SLUG},
    )
    assert "from 06:02 to 06:18 UTC" in Communication.objects.get().body


def test_logging_in_brings_the_zone_to_a_new_browser(client, berliner):
    berliner.set_password("long enough secret")
    berliner.save()
    client.logout()
    client.cookies.clear()
    client.post(reverse("login"), {"username": berliner.username, "password": "long enough secret"})
    html = client.get(reverse("incidents:list")).content.decode()
    assert "CET" in html.split('class="who"', 1)[1][:200]


def test_the_sign_in_page_takes_get_and_post_only(client):
    # Django's form views answer PUT as POST but read no form from it: the page said
    # "This field is required" to a request that could never carry one.
    response = client.put(reverse("login"), "username=a&password=b")
    assert response.status_code == 405
    assert sorted(response["Allow"].split(", ")) == ["GET", "HEAD", "OPTIONS", "POST"]


def test_an_unknown_zone_is_refused_beside_the_field(client):
    client.force_login(user_with_role("viewer"))
    response = client.post(reverse("preferences"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert 'id="id_time_zone_error"' in response.content.decode()


def test_the_public_status_page_is_the_same_for_every_zone(client, berliner):
    from django.test import Client

    anonymous = Client().get(reverse("incidents:status_page"))
    mine = client.get(reverse("incidents:status_page"))
    assert mine.content == anonymous.content
