"""The admin is a complete back office: every model has a working list, search and form."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from incidents.models import Incident
from incidents.postmortem import services
from tests.factories import T0, ServiceFactory

pytestmark = pytest.mark.django_db

# The incident page's inline formsets, one per section of the post-mortem.
INLINES = (
    "timeline_events",
    "status_items",
    "causes",
    "lessons",
    "action_items",
    "success_criteria",
    "priorities",
    "final_notes",
)
NO_INLINE_ROWS = {
    f"{prefix}-{suffix}": 0 for prefix in INLINES for suffix in ("TOTAL_FORMS", "INITIAL_FORMS")
}
START = {"started_at_0": T0.strftime("%Y-%m-%d"), "started_at_1": T0.strftime("%H:%M:%S")}


@pytest.fixture(scope="module")
def demo(demo_loaded) -> None:
    """The demo, loaded once for this module (tests/conftest.py)."""


@pytest.fixture
def staff_client(demo, client):
    assert client.login(username="demo-admin", password="hindsight-demo")
    return client


def registered_models():
    return sorted(admin.site._registry, key=lambda m: m._meta.label)


def admin_url(model, action: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_every_app_model_is_registered():
    ours = {
        model
        for app in ("incidents", "deployments")
        for model in apps.get_app_config(app).get_models()
        # History rows are shown on each row's own History page in the admin.
        if not model.__name__.startswith("Historical")
    }
    assert ours <= set(admin.site._registry), ours - set(admin.site._registry)


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_changelist_and_search_work_for(staff_client, model):
    assert staff_client.get(admin_url(model, "changelist")).status_code == 200
    assert staff_client.get(admin_url(model, "changelist"), {"q": "worker"}).status_code == 200


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_change_form_opens_for_a_demo_row_of(staff_client, model):
    row = model.objects.first()
    if row is None:
        pytest.skip(f"the demo has no {model._meta.verbose_name}")
    assert staff_client.get(admin_url(model, "change", row.pk)).status_code == 200


def test_demo_incident_shows_every_section_in_the_admin(staff_client):
    incident = Incident.objects.get(service__slug="moodmash")
    html = staff_client.get(admin_url(Incident, "change", incident.pk)).content.decode()
    for prefix in INLINES:
        total = html.split(f'name="{prefix}-TOTAL_FORMS" value="', 1)[1].split('"', 1)[0]
        assert int(total) > 0, prefix


def test_adding_an_incident_allocates_a_reference_and_renders_markdown(staff_client):
    service = ServiceFactory()
    highest = Incident.objects.order_by("-number").values_list("number", flat=True).first()
    assert highest is not None
    response = staff_client.post(
        admin_url(Incident, "add"),
        {
            "service": service.pk,
            "title": "Admin-made",
            "severity": "sev2",
            "status": "investigating",
            "postmortem_state": "draft",
            "summary": "Made *here*.",
            **START,
            **NO_INLINE_ROWS,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    made = Incident.objects.get(title="Admin-made")
    assert made.number == highest + 1
    assert made.summary_html == "<p>Made <em>here</em>.</p>"


def _change(incident, **fields):
    return {
        "service": incident.service_id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "postmortem_state": incident.postmortem_state,
        "seen_version": incident.version,
        **START,
        **NO_INLINE_ROWS,
        **fields,
    }


def test_an_admin_edit_bumps_the_version(staff_client):
    incident = services.incident_create(service=ServiceFactory(), title="v1", started_at=T0)
    response = staff_client.post(
        admin_url(Incident, "change", incident.pk), _change(incident, title="v2")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    incident.refresh_from_db()
    assert incident.title == "v2"
    assert incident.version == 2
    assert incident.history.first().history_user.is_staff


def test_an_admin_edit_on_top_of_an_editors_save_is_refused_and_keeps_theirs(staff_client):
    incident = services.incident_create(service=ServiceFactory(), title="v1", started_at=T0)
    opened = _change(incident, title="The admin's title")
    services.incident_update(incident=incident, expected_version=1, summary="The editor's words.")

    response = staff_client.post(admin_url(Incident, "change", incident.pk), opened)

    assert response.status_code == 200  # the form again, saying why
    assert "Someone changed this incident since you opened it" in response.content.decode()
    incident.refresh_from_db()
    assert (incident.title, incident.summary, incident.version) == ("v1", "The editor's words.", 2)


def test_the_health_check_form_refuses_a_url_the_ssrf_guard_would_refuse(staff_client):
    from deployments.models import HealthCheck, Service

    service = Service.objects.get(slug="moodmash")
    before = HealthCheck.objects.count()
    response = staff_client.post(
        admin_url(HealthCheck, "add"),
        {
            "service": service.pk,
            "name": "Metadata",
            "url": "http://169.254.169.254/latest/meta-data/",
            "method": "GET",
            "expected_status": 200,
            "timeout_seconds": 5,
            "interval_seconds": 60,
            "order": 0,
        },
    )

    assert response.status_code == 200  # the form again, with the error beside the URL
    assert response.context["adminform"].form.errors["url"]
    assert HealthCheck.objects.count() == before


def test_a_row_edited_here_is_saved_by_the_row_service(staff_client):
    """Rendered, checked and recorded as the page does it, with the admin as the author."""
    from incidents.models import Lesson

    lesson = Lesson.objects.first()
    assert lesson is not None
    form = staff_client.get(admin_url(Lesson, "change", lesson.pk)).context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }

    response = staff_client.post(
        admin_url(Lesson, "change", lesson.pk), {**data, "text": "Edited *here*."}
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    lesson.refresh_from_db()
    assert lesson.text_html == "<p>Edited <em>here</em>.</p>"
    assert lesson.history.first().history_user.username == "demo-admin"


def test_a_draft_corrected_here_goes_through_the_communication_service(staff_client):
    from incidents.communications.services import communication_approve, communication_generate
    from incidents.models import Communication, CommunicationTemplate

    draft = communication_generate(
        incident=Incident.objects.get(number=1),
        template=CommunicationTemplate.objects.order_by("pk")[0],
        user=None,
    )
    communication_approve(communication=draft, user=None)

    response = staff_client.post(
        admin_url(Communication, "change", draft.pk),
        {
            "subject": "Corrected subject",
            "body": "Now **bold**.",
            "deliveries-TOTAL_FORMS": 0,
            "deliveries-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    draft.refresh_from_db()
    assert (draft.subject, draft.body_html) == (
        "Corrected subject",
        "<p>Now <strong>bold</strong>.</p>",
    )
    # The approval was for the old text.
    assert draft.status == Communication.Status.DRAFT


# --- Deleting an incident ------------------------------------------------------------------------


def _incident_with_parts(number: int, title: str) -> Incident:
    """An incident with rows in a few sections and a sent message delivered twice."""
    from django.utils import timezone

    from incidents.models import Communication, Delivery
    from tests.factories import (
        ActionItemFactory,
        CauseFactory,
        IncidentFactory,
        TimelineEventFactory,
    )

    incident = IncidentFactory(number=number, title=title)
    TimelineEventFactory.create_batch(2, incident=incident)
    CauseFactory(incident=incident)
    ActionItemFactory.create_batch(3, incident=incident)
    sent = Communication.objects.create(
        incident=incident,
        audience="user_email",
        subject="We are on it",
        status=Communication.Status.SENT,
        sent_at=timezone.now(),
    )
    for recipient in ("a@example.invalid", "b@example.invalid"):
        Delivery.objects.create(
            communication=sent,
            channel="email",
            recipient=recipient,
            status="sent",
            sent_at=timezone.now(),
        )
    return incident


class TestDeletingAnIncident:
    def test_the_confirmation_names_what_goes_with_it_in_plain_words(self, staff_client):
        incident = _incident_with_parts(901, "Declared by mistake")

        response = staff_client.get(admin_url(Incident, "delete", incident.pk))

        assert response.status_code == 200
        html = response.content.decode()
        # A sent message would refuse deletion on its own; with its incident it goes too.
        assert "Cannot delete" not in html
        assert "This deletes “INC-901: Declared by mistake” for good" in html
        counts = html.split('<ul class="deletion-counts">', 1)[1].split("</ul>", 1)[0]
        assert re.findall(r"<li>(.*?)</li>", counts) == [
            "2 timeline events",
            "1 cause",
            "3 action items",
            "1 message (drafted, approved or sent)",
            "2 deliveries of those messages",
        ]
        assert "The deletion is logged: who deleted it and when" in html

    def test_deleting_it_logs_who_when_and_the_reference_and_title(self, staff_client):
        from django.contrib.admin.models import DELETION, LogEntry

        from incidents.models import ActionItem, Communication, Delivery

        incident = _incident_with_parts(902, "Test incident")
        pk = incident.pk

        response = staff_client.post(admin_url(Incident, "delete", pk), {"post": "yes"})

        assert response.status_code == 302, response.content.decode()[:2000]
        assert not Incident.objects.filter(pk=pk).exists()
        assert not ActionItem.objects.filter(incident_id=pk).exists()
        assert not Communication.objects.filter(incident_id=pk).exists()
        assert not Delivery.objects.filter(communication__incident_id=pk).exists()
        last = Incident.history.filter(id=pk).order_by("-history_id").first()
        assert (last.history_type, last.number, last.title) == ("-", 902, "Test incident")
        assert last.history_user.username == "demo-admin"
        entry = LogEntry.objects.get(object_id=str(pk), action_flag=DELETION)
        assert (entry.user.username, entry.object_repr) == (
            "demo-admin",
            "INC-902: Test incident",
        )
        # And an admin reads it in the admin's log.
        log = staff_client.get(reverse("admin:admin_logentry_changelist"), {"q": "INC-902"})
        assert "INC-902: Test incident" in log.content.decode()

    def test_deleting_several_at_once_names_them_and_logs_each(self, staff_client):
        first = _incident_with_parts(903, "First mistake")
        second = _incident_with_parts(904, "Second mistake")
        selected = {"action": "delete_selected", "_selected_action": [first.pk, second.pk]}

        confirm = staff_client.post(admin_url(Incident, "changelist"), selected)

        html = confirm.content.decode()
        assert "This deletes 2 incidents for good" in html
        assert "INC-904: Second mistake; INC-903: First mistake" in html  # newest first
        assert "<li>4 timeline events</li>" in html

        done = staff_client.post(admin_url(Incident, "changelist"), {**selected, "post": "yes"})

        assert done.status_code == 302
        assert not Incident.objects.filter(number__in=[903, 904]).exists()
        deleted = Incident.history.filter(history_type="-", number__in=[903, 904])
        assert sorted(deleted.values_list("history_user__username", flat=True)) == [
            "demo-admin",
            "demo-admin",
        ]

    def test_an_original_with_duplicates_is_kept_until_they_are_undone(self, staff_client):
        from tests.factories import IncidentFactory

        original = IncidentFactory(number=905, title="The real one")
        twin = IncidentFactory(number=906, title="The same again")
        services.incident_mark_duplicate(incident=twin, original=original, user=None)

        html = staff_client.get(admin_url(Incident, "delete", original.pk)).content.decode()

        assert "cannot be deleted while other incidents are marked as its duplicates" in html
        assert "INC-906: The same again" in html
        staff_client.post(admin_url(Incident, "delete", original.pk), {"post": "yes"})
        assert Incident.objects.filter(pk=original.pk).exists()

    def test_editors_cannot_delete_an_incident(self, client):
        from api.tokens import token_create
        from tests.factories import IncidentFactory, user_with_role

        incident = IncidentFactory(number=907)
        editor = user_with_role("editor")
        assert editor.has_perm("incidents.change_incident")
        assert editor.has_perm("incidents.delete_actionitem")  # rows of a post-mortem, yes
        assert not editor.has_perm("incidents.delete_incident")
        # Not even if someone let them into the admin.
        editor.is_staff = True
        editor.save()
        client.force_login(editor)
        assert (
            client.post(admin_url(Incident, "delete", incident.pk), {"post": "yes"}).status_code
            == 403
        )
        # Nor through the API, whose delete is an admin's as in the admin.
        _token, raw = token_create(user=editor, name="t", scope="write")
        response = client.delete(
            f"/api/v1/incidents/{incident.reference}", HTTP_AUTHORIZATION=f"Bearer {raw}"
        )
        assert response.status_code == 403
        assert Incident.objects.filter(pk=incident.pk).exists()
