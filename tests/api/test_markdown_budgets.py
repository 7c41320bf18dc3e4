"""Markdown that would exhaust the renderer is a 400 on its field through the API and an error
beside the field on the page, never a 500, and nothing is saved."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from incidents.models import Incident
from incidents.postmortem import services
from tests.factories import T0, ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db

DEEP = "1. " * 3000


@pytest.fixture
def incident():
    return services.incident_create(service=ServiceFactory(), title="Slow", started_at=T0)


def test_the_api_answers_400_on_the_field(incident):
    client = APIClient()
    client.force_authenticate(user_with_role("editor"))
    response = client.patch(
        f"/api/v1/incidents/{incident.reference}",
        json.dumps({"summary": DEEP}),
        content_type="application/json",
        HTTP_IF_MATCH=f'"{incident.version}"',
    )
    assert response.status_code == 400
    assert "too deeply" in response.json()["errors"]["summary"][0]
    assert Incident.objects.get().summary == ""


def test_the_page_shows_the_error_beside_the_field(client, incident):
    client.force_login(user_with_role("editor"))
    url = reverse("incidents:prose_edit", args=[incident.reference, "summary"])
    form = client.get(url).context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    data["value"] = DEEP
    response = client.post(url, data)
    assert response.status_code == 422
    assert "too deeply" in " ".join(response.context["form"].errors["value"])
    assert Incident.objects.get().summary == ""


def test_the_preview_says_why_instead_of_failing(client):
    client.force_login(user_with_role("editor"))
    response = client.post(reverse("incidents:preview") + "?field=summary", {"summary": DEEP})
    assert response.status_code == 422
    assert "too deeply" in response.content.decode()
