"""Labels and external references on the incident page: shown in its summary, edited in place,
with errors beside the field, and two editors at once both keep what they did."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import ExternalReference, IncidentLabel
from incidents.postmortem import services
from tests.factories import T0, IncidentFactory, ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident():
    return services.incident_create(service=ServiceFactory(), title="Search slow", started_at=T0)


@pytest.fixture
def editor_client(client):
    client.force_login(user_with_role("editor"))
    return client


def _form(client, incident) -> dict[str, str]:
    response = client.get(reverse("incidents:tags_edit", args=[incident.reference]))
    assert response.status_code == 200
    form = response.context["form"]
    return {name: form.initial.get(name, "") for name in form.fields}


def _save(client, incident, **fields):
    return client.post(reverse("incidents:tags_edit", args=[incident.reference]), fields)


def test_labels_and_references_are_saved_and_shown_in_the_summary(editor_client, incident):
    data = _form(editor_client, incident)
    data.update(
        labels="Customer-Facing, search  db",
        references="pager:P1X2 https://pager.example/P1X2\ntickets:OPS-7",
    )
    response = _save(editor_client, incident, **data)
    assert response.status_code == 302
    assert sorted(incident.labels.values_list("name", flat=True)) == [
        "customer-facing",
        "db",
        "search",
    ]
    page = editor_client.get(reverse("incidents:detail", args=[incident.reference]))
    html = page.content.decode()
    assert '<span class="tag">customer-facing</span>' in html
    assert 'href="https://pager.example/P1X2"' in html
    assert "tickets:OPS-7" in html


def test_two_editors_at_once_both_keep_what_they_added_and_removed(editor_client, incident):
    services.incident_labels_set(incident=incident, labels=["db", "old"], user=None)
    mine = _form(editor_client, incident)  # shows db, old
    # Meanwhile a colleague adds "network" and a reference.
    services.incident_labels_set(incident=incident, labels=["db", "old", "network"], user=None)
    services.incident_references_set(
        incident=incident, references=[services.Reference("pager", "P9")], user=None
    )
    # I remove "old" and add "search", from the form as I opened it.
    mine.update(labels="db search", references="tickets:OPS-1")
    assert _save(editor_client, incident, **mine).status_code == 302
    assert sorted(incident.labels.values_list("name", flat=True)) == ["db", "network", "search"]
    assert sorted(str(r) for r in incident.external_references.all()) == [
        "pager:P9",
        "tickets:OPS-1",
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("labels", "fine, no/slash", "no/slash"),
        ("references", "pager:P1\nno-colon-here", "Line 2"),
        ("references", "pager:P1 not-a-link", "Enter a valid URL"),
    ],
)
def test_a_bad_value_is_an_error_beside_its_field_and_nothing_is_saved(
    editor_client, incident, field, value, message
):
    data = _form(editor_client, incident)
    data[field] = value
    response = _save(editor_client, incident, **data)
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert value.splitlines()[0] in response.content.decode()  # what was typed is kept
    assert not IncidentLabel.objects.exists()
    assert not ExternalReference.objects.exists()


def test_a_reference_another_incident_holds_names_it_beside_the_field(editor_client, incident):
    other = IncidentFactory()
    services.incident_references_set(
        incident=other, references=[services.Reference("pager", "P1")], user=None
    )
    data = _form(editor_client, incident)
    data.update(labels="db", references="pager:P1")
    response = _save(editor_client, incident, **data)
    assert response.status_code == 422
    assert f"already names {other.reference}" in str(response.context["form"].errors["references"])
    assert not incident.labels.exists()  # all or nothing


def test_viewers_cannot_edit_labels(client, incident):
    client.force_login(user_with_role("viewer"))
    response = client.post(
        reverse("incidents:tags_edit", args=[incident.reference]), {"labels": "x"}
    )
    assert response.status_code == 403
