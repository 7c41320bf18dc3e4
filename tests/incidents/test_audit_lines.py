"""Timeline lines Hindsight writes itself (status changes, deployments, health changes, messages
sent) are its record of what happened: nobody edits or deletes them, in the page, the API or the
admin. Editors can hide one from the published post-mortem; the line stays on record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from incidents.documents.exports import export_incident
from incidents.models import Incident, TimelineEvent
from incidents.postmortem import services
from tests.api.test_incidents_api import bearer, if_match, incident_url, problem_type, send_json
from tests.factories import T0, ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def incident() -> Incident:
    return services.incident_create(service=ServiceFactory(), title="Checkout down", started_at=T0)


@pytest.fixture
def status_line(incident) -> TimelineEvent:
    """The line Hindsight writes when the status changes."""
    services.incident_set_status(
        incident=incident, status="identified", user=None, at=T0 + timedelta(minutes=5)
    )
    line = incident.timeline_events.get()
    assert line.source == TimelineEvent.Source.SYSTEM
    return line


@pytest.fixture
def editor(client):
    client.force_login(user_with_role("editor", username="eve"))
    return client


def page(client, incident) -> str:
    return client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()


def edit_url(line):
    return reverse("incidents:row_edit", args=[line.incident.reference, "timeline", line.pk])


def delete_url(line):
    return reverse("incidents:row_delete", args=[line.incident.reference, "timeline", line.pk])


def hide_url(line):
    return reverse("incidents:timeline_hide", args=[line.incident.reference, line.pk])


# --- The page ------------------------------------------------------------------------------------


def test_a_line_hindsight_wrote_offers_hide_and_no_edit_or_delete(editor, incident, status_line):
    mine = services.timeline_event_add(incident=incident, occurred_at=T0, text="Paged.")
    html = page(editor, incident)
    assert edit_url(mine) in html
    assert delete_url(mine) in html
    assert edit_url(status_line) not in html
    assert delete_url(status_line) not in html
    assert hide_url(status_line) in html
    assert hide_url(mine) not in html


def test_a_forged_edit_or_delete_of_a_line_hindsight_wrote_is_refused(editor, status_line):
    text = status_line.text
    assert editor.get(edit_url(status_line), **HTMX).status_code == 403
    data = {"occurred_at": "2026-01-02T06:07", "kind": "note", "text": "It was fine."}
    assert editor.post(edit_url(status_line), data, **HTMX).status_code == 403
    assert editor.post(delete_url(status_line), **HTMX).status_code == 403
    line = TimelineEvent.objects.get(pk=status_line.pk)
    assert (line.text, line.kind, line.version) == (text, "status_change", 1)


def test_hiding_a_line_dims_it_for_editors_and_leaves_it_out_for_viewers(
    editor, incident, status_line
):
    response = editor.post(hide_url(status_line), {"hidden": "1"}, **HTMX)
    assert response.status_code == 200
    assert "Hidden from the published post-mortem" in response.content.decode()
    line = TimelineEvent.objects.get(pk=status_line.pk)
    assert (line.hidden, line.version) == (True, 2)
    assert line.history.first().history_user.username == "eve"

    html = page(editor, incident)
    assert f'hidden-line" id="row-timeline-{line.pk}"' in html
    assert "Show in the post-mortem" in html

    viewer = Client()
    viewer.force_login(user_with_role("viewer"))
    assert f"row-timeline-{line.pk}" not in page(viewer, incident)

    editor.post(hide_url(status_line), {"hidden": "0"})
    assert not TimelineEvent.objects.get(pk=status_line.pk).hidden


def test_a_viewer_cannot_hide_a_line(client, status_line):
    client.force_login(user_with_role("viewer"))
    assert client.post(hide_url(status_line), {"hidden": "1"}).status_code == 403
    assert not TimelineEvent.objects.get(pk=status_line.pk).hidden


def test_a_hidden_line_is_left_out_of_the_published_post_mortem(incident, status_line):
    services.timeline_event_add(incident=incident, occurred_at=T0, text="Paged the on-call.")
    services.timeline_event_set_hidden(event=status_line, hidden=True, user=None)

    markdown = export_incident(incident.reference, "md").text()
    document = export_incident(incident.reference, "json").data
    assert isinstance(document, dict)

    assert "Paged the on-call." in markdown
    assert "Status changed" not in markdown
    assert [e["text"] for e in document["timeline"]] == ["Paged the on-call."]


# --- The services --------------------------------------------------------------------------------


def test_the_services_refuse_even_a_line_that_claims_to_be_a_persons(status_line):
    forged = TimelineEvent.objects.get(pk=status_line.pk)
    forged.source = TimelineEvent.Source.MANUAL
    forged.text = "Nothing happened."
    with pytest.raises(services.AuditLineLocked):
        services.part_save(row=forged, user=None, fields=["source", "text"])
    with pytest.raises(services.AuditLineLocked):
        services.part_delete(row=forged, user=None)
    line = TimelineEvent.objects.get(pk=status_line.pk)
    assert (line.source, line.text) == ("system", status_line.text)


# --- The API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_the_api_answers_409_for_changing_or_deleting_a_line_hindsight_wrote(
    incident, status_line, method
):
    api = bearer(user_with_role("editor"))
    url = incident_url(incident, f"/timeline-events/{status_line.pk}")
    body = {"occurred_at": "2026-01-02T06:07:00Z", "kind": "note", "text": "It was fine."}

    response = send_json(api, method, url, body, **if_match(1))

    assert response.status_code == 409
    assert problem_type(response) == "audit-line"
    assert "hide" in response.json()["detail"]
    line = TimelineEvent.objects.get(pk=status_line.pk)
    assert (line.text, line.version) == (status_line.text, 1)


def test_the_api_hides_and_shows_a_line_in_one_click(incident, status_line):
    api = bearer(user_with_role("editor"))
    url = incident_url(incident, f"/timeline-events/{status_line.pk}")

    hidden = api.post(f"{url}/hide")
    assert hidden.status_code == 200
    assert (hidden.json()["hidden"], hidden["ETag"]) == (True, '"2"')
    assert api.get(url).json()["hidden"] is True
    shown = api.post(f"{url}/show")
    assert (shown.json()["hidden"], shown["ETag"]) == (False, '"3"')


def test_a_read_token_cannot_hide_a_line(incident, status_line):
    api = bearer(user_with_role("editor"), scope="read")
    url = incident_url(incident, f"/timeline-events/{status_line.pk}/hide")
    assert api.post(url).status_code == 403
    assert not TimelineEvent.objects.get(pk=status_line.pk).hidden


# --- The admin -----------------------------------------------------------------------------------


def test_the_admin_shows_a_line_hindsight_wrote_read_only(client, status_line):
    client.force_login(user_with_role("admin", is_staff=True, is_superuser=True))
    url = reverse("admin:incidents_timelineevent_change", args=[status_line.pk])
    assert client.get(url).status_code == 200  # to read
    client.post(url, {"text": "It was fine.", "kind": "note"})
    delete = reverse("admin:incidents_timelineevent_delete", args=[status_line.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert TimelineEvent.objects.get(pk=status_line.pk).text == status_line.text
