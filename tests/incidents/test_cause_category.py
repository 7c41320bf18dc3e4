"""A cause's category on the incident page: chosen in the cause's form, shown beside the cause,
and refused beside its field when it is not one of the choices."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import Cause
from incidents.postmortem import services
from tests.factories import T0, ServiceFactory, user_with_role
from tests.incidents.test_editing import HTMX, opened_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident():
    return services.incident_create(service=ServiceFactory(), title="Checkout down", started_at=T0)


@pytest.fixture
def editor_client(client):
    client.force_login(user_with_role("editor"))
    return client


def test_a_cause_is_added_with_a_category_and_the_page_shows_it(editor_client, incident):
    url = reverse("incidents:row_new", args=[incident.reference, "causes"])
    assert 'name="category"' in editor_client.get(url, **HTMX).content.decode()
    data = {"kind": "primary", "category": "configuration", "title": "A limit set too low"}
    assert editor_client.post(url, data, **HTMX).status_code == 200
    assert Cause.objects.get().category == Cause.Category.CONFIGURATION
    page = editor_client.get(reverse("incidents:detail", args=[incident.reference]))
    assert '<span class="meta">Configuration</span>' in page.content.decode()


def test_a_category_is_changed_and_cleared_in_the_edit_form(editor_client, incident):
    cause = services.part_save(
        row=Cause(incident=incident, kind="primary", title="Disk full", category="data"),
        user=None,
    )
    url = reverse("incidents:row_edit", args=[incident.reference, "causes", cause.pk])
    data = {"kind": "primary", "title": "Disk full", **opened_with(editor_client, url)}
    assert editor_client.post(url, {**data, "category": "infrastructure"}).status_code == 302
    cause.refresh_from_db()
    assert cause.category == Cause.Category.INFRASTRUCTURE
    data.update(opened_with(editor_client, url))
    assert editor_client.post(url, {**data, "category": ""}).status_code == 302
    cause.refresh_from_db()
    assert cause.category == ""


def test_an_unknown_category_is_refused_beside_the_field(editor_client, incident):
    url = reverse("incidents:row_new", args=[incident.reference, "causes"])
    response = editor_client.post(
        url, {"kind": "primary", "title": "Gremlins", "category": "gremlins"}, **HTMX
    )
    assert "Select a valid choice" in response.content.decode()
    assert 'id="id_category_error"' in response.content.decode()
    assert not Cause.objects.exists()
