"""The admin is a complete back office: every model has a working list, search and form."""

from __future__ import annotations

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
