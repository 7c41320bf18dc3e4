"""Communications on the incident page: generated from facts, edited, approved, sent once and
then immutable, corrected by a new one; and nothing internal in a public draft."""

from __future__ import annotations

import io
from datetime import timedelta
from re import DOTALL

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deployments.models import CheckResult, HealthSnapshot, HealthStatus
from incidents.communications import services
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.models import (
    Audience,
    Cause,
    Communication,
    CommunicationTemplate,
    Component,
    Incident,
    TimelineEvent,
)
from outbox.models import OutboxMessage
from tests.factories import T0, HealthCheckFactory, IncidentFactory, user_with_role
from tests.helpers import search

pytestmark = pytest.mark.django_db

Status = Communication.Status


@pytest.fixture
def templates() -> None:
    default_templates_ensure()


@pytest.fixture
def incident(templates) -> Incident:
    incident = IncidentFactory(
        title="Codename BLUEFIN: db-primary fell over",
        started_at=T0,
        resolved_at=T0 + timedelta(minutes=16),
        status=Incident.Status.RESOLVED,
        status_line="Resolved: the shop is open again",
        impact="- Checkout failed for everyone.",
        next_step="Keep watching the shop.",
        summary="Bob's migration locked the orders table.",
    )
    Cause.objects.create(
        incident=incident, kind=Cause.Kind.PRIMARY, title="An unbatched migration on db-primary"
    )
    check = HealthCheckFactory(service=incident.service, name="Checkout page")
    snapshot = HealthSnapshot.objects.create(
        service=incident.service, taken_at=T0 + timedelta(minutes=1), status=HealthStatus.DOWN
    )
    CheckResult.objects.create(
        snapshot=snapshot,
        health_check=check,
        service=incident.service,
        taken_at=snapshot.taken_at,
        ok=False,
        error="HTTP 503",
    )
    return incident


@pytest.fixture
def editor_client(client):
    client.force_login(user_with_role("editor"))
    return client


def page(client, incident: Incident) -> str:
    return client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()


def url(name: str, incident: Incident, *args) -> str:
    return reverse(f"incidents:{name}", args=[incident.reference, *args])


def generate(incident: Incident, slug: str = USER_EMAIL_SLUG) -> Communication:
    template = CommunicationTemplate.objects.get(slug=slug)
    return services.communication_generate(incident=incident, template=template, user=None)


class TestGeneration:
    def test_the_user_email_is_filled_with_public_facts(self, incident):
        draft = generate(incident)
        assert draft.status == Status.DRAFT
        assert draft.audience == Audience.USER_EMAIL
        assert draft.subject == f"{incident.service.name}: the service interruption is resolved"
        assert "On January 2, 2026" in draft.body
        assert "for about 16 minutes, from 06:02 to 06:18 UTC" in draft.body
        assert "What was affected: Checkout page." in draft.body
        assert "<p>Hello" in draft.body_html

    @pytest.mark.parametrize("slug", ["user-email-resolved", "status-investigating",
                                      "status-identified", "status-monitoring",
                                      "status-resolved", "public-postmortem"])  # fmt: skip
    def test_nothing_internal_reaches_a_public_draft(self, incident, slug):
        draft = generate(incident, slug)
        text = draft.subject + draft.body + draft.body_html
        for secret in ("BLUEFIN", "Bob", "unbatched", "db-primary", incident.reference):
            assert secret not in text, (slug, secret)

    def test_an_internal_summary_has_the_internal_facts(self, incident):
        draft = generate(incident, "internal-summary")
        assert "Codename BLUEFIN" in draft.subject
        assert "An unbatched migration on db-primary" in draft.body
        assert "Bob's migration" in draft.body

    def test_a_template_broken_in_the_database_is_a_clear_error_not_a_leak(self, incident):
        CommunicationTemplate.objects.filter(slug=USER_EMAIL_SLUG).update(
            body_template="Why: {{ root_cause }}"
        )
        with pytest.raises(ValidationError) as caught:
            generate(incident)
        assert "is internal" in str(caught.value)
        assert not Communication.objects.exists()


class TestWorkflow:
    def test_draft_approve_send_then_immutable(self, incident, django_capture_on_commit_callbacks):
        editor = user_with_role("editor")
        draft = generate(incident)
        services.communication_update(
            communication=draft, subject="All fixed", body="We are **back**.", user=editor
        )
        assert draft.body_html == "<p>We are <strong>back</strong>.</p>"
        services.communication_approve(communication=draft, user=editor)
        assert (draft.status, draft.approved_by) == (Status.APPROVED, editor)
        with django_capture_on_commit_callbacks():
            services.communication_send(communication=draft, user=editor)
        assert draft.status == Status.SENT
        assert draft.sent_at is not None

        with pytest.raises(services.CommunicationStateError, match="write a correction"):
            services.communication_update(communication=draft, subject="x", body="y", user=editor)
        with pytest.raises(services.CommunicationStateError):
            services.communication_discard(communication=draft, user=editor)
        draft.refresh_from_db()
        assert (draft.subject, draft.status) == ("All fixed", Status.SENT)

    def test_sending_writes_the_timeline_and_the_outbox_in_the_same_transaction(self, incident):
        draft = generate(incident)
        services.communication_approve(communication=draft, user=None)
        services.communication_send(communication=draft, user=None)
        event = TimelineEvent.objects.get(incident=incident, kind=TimelineEvent.Kind.COMMUNICATION)
        assert "Email to users sent to subscribers" in event.text
        assert "the service interruption is resolved" in event.text_html
        assert OutboxMessage.objects.get().kwargs == {"communication_id": draft.pk}

    def test_an_internal_summary_is_recorded_but_delivered_to_no_one(self, incident):
        draft = generate(incident, "internal-summary")
        services.communication_approve(communication=draft, user=None)
        services.communication_send(communication=draft, user=None)
        assert not OutboxMessage.objects.exists()
        assert TimelineEvent.objects.filter(kind=TimelineEvent.Kind.COMMUNICATION).exists()

    def test_only_an_approved_one_is_sent_and_only_once(self, incident):
        draft = generate(incident)
        with pytest.raises(services.CommunicationStateError, match="Only an approved"):
            services.communication_send(communication=draft, user=None)
        services.communication_approve(communication=draft, user=None)
        stale_copy = Communication.objects.get(pk=draft.pk)
        services.communication_send(communication=draft, user=None)
        with pytest.raises(services.CommunicationStateError):
            services.communication_send(communication=stale_copy, user=None)
        assert OutboxMessage.objects.count() == 1
        assert TimelineEvent.objects.filter(kind=TimelineEvent.Kind.COMMUNICATION).count() == 1

    def test_editing_an_approved_draft_takes_the_approval_back(self, incident):
        draft = generate(incident)
        services.communication_approve(communication=draft, user=None)
        services.communication_update(communication=draft, subject="New", body="New.", user=None)
        assert (draft.status, draft.approved_at, draft.approved_by) == (Status.DRAFT, None, None)

    def test_a_save_on_top_of_someone_elses_is_refused(self, incident):
        draft = generate(incident)
        opened_at = draft.updated_at
        services.communication_update(communication=draft, subject="A", body="A.", user=None)
        with pytest.raises(services.StaleCommunication):
            services.communication_update(
                communication=draft,
                subject="B",
                body="B.",
                user=None,
                expected_updated_at=opened_at,
            )
        draft.refresh_from_db()
        assert draft.subject == "A"

    def test_a_correction_is_a_new_draft_linking_the_sent_one(self, incident):
        sent = generate(incident)
        with pytest.raises(services.CommunicationStateError):
            services.communication_correct(communication=sent, user=None)
        services.communication_approve(communication=sent, user=None)
        services.communication_send(communication=sent, user=None)
        correction = services.communication_correct(communication=sent, user=None)
        assert correction.corrects == sent
        assert correction.status == Status.DRAFT
        assert correction.subject == "Correction: " + sent.subject
        assert correction.body == sent.body
        assert list(sent.corrections.all()) == [correction]


class TestIncidentPage:
    def test_one_click_drafts_the_user_email(self, editor_client, incident):
        response = editor_client.post(
            url("communication_generate", incident), {"template": USER_EMAIL_SLUG}
        )
        draft = Communication.objects.get()
        assert response.status_code == 302
        assert response.url.endswith(f"#communication-{draft.pk}")
        html = page(editor_client, incident)
        assert "Draft the email to users" in html
        assert draft.subject in html
        assert url("communication_approve", incident, draft.pk) in html

    def test_htmx_gets_the_section_back_in_place(self, editor_client, incident):
        response = editor_client.post(
            url("communication_generate", incident),
            {"template": "status-investigating"},
            HTTP_HX_REQUEST="true",
        )
        html = response.content.decode()
        assert response["HX-Retarget"] == "#section-communications"
        assert html.lstrip().startswith('<section id="section-communications"')
        assert "Investigating problems with" in html

    def test_edit_with_preview_then_approve_and_send_from_the_page(self, editor_client, incident):
        draft = generate(incident)
        form = editor_client.get(url("communication_edit", incident, draft.pk)).content.decode()
        assert 'name="body"' in form
        assert 'hx-post="/preview?field=body"' in form
        expected = search(r'name="expected" value="([^"]+)"', form).group(1)
        response = editor_client.post(
            url("communication_edit", incident, draft.pk),
            {"subject": "Back up", "body": "All *good* now.", "expected": expected},
        )
        assert response.status_code == 302
        editor_client.post(url("communication_approve", incident, draft.pk))
        editor_client.post(url("communication_send", incident, draft.pk))
        draft.refresh_from_db()
        assert (draft.subject, draft.body_html, draft.status) == (
            "Back up",
            "<p>All <em>good</em> now.</p>",
            Status.SENT,
        )
        html = page(editor_client, incident)
        assert url("communication_edit", incident, draft.pk) not in html
        assert url("communication_correct", incident, draft.pk) in html
        assert "Email to users sent to subscribers by editor-user" in html  # on the timeline

    def test_a_sent_communication_cannot_be_edited_through_the_page(self, editor_client, incident):
        draft = generate(incident)
        services.communication_approve(communication=draft, user=None)
        services.communication_send(communication=draft, user=None)
        response = editor_client.post(
            url("communication_edit", incident, draft.pk),
            {"subject": "Changed", "body": "Changed", "expected": draft.updated_at.isoformat()},
            follow=True,
        )
        assert "cannot change" in response.content.decode()
        draft.refresh_from_db()
        assert draft.subject != "Changed"

    def test_a_stale_save_keeps_the_editors_text_and_says_so(self, editor_client, incident):
        draft = generate(incident)
        opened = draft.updated_at.isoformat()
        services.communication_update(communication=draft, subject="Theirs", body="T", user=None)
        response = editor_client.post(
            url("communication_edit", incident, draft.pk),
            {"subject": "Mine", "body": "My words", "expected": opened},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 409
        html = response.content.decode()
        assert "Someone else saved this draft" in html
        assert "My words" in html

    def test_a_bad_edit_is_a_field_error(self, editor_client, incident):
        draft = generate(incident)
        response = editor_client.post(
            url("communication_edit", incident, draft.pk),
            {"subject": "", "body": "x", "expected": draft.updated_at.isoformat()},
        )
        assert response.status_code == 422
        assert "This field is required" in response.content.decode()

    def test_another_template_is_picked_from_a_list_with_or_without_htmx(
        self, editor_client, incident
    ):
        target = url("communication_generate", incident)
        fragment = editor_client.get(target, HTTP_HX_REQUEST="true").content.decode()
        assert "<html" not in fragment
        assert 'value="executive-summary"' in fragment
        assert f'<option value="{USER_EMAIL_SLUG}" selected>' in fragment
        whole = editor_client.get(target).content.decode()
        assert "<html" in whole
        assert 'value="status-monitoring"' in whole
        editor_client.post(target, {"template": "status-monitoring"})
        assert Communication.objects.get().phase == "monitoring"

    def test_cancel_brings_the_section_back(self, editor_client, incident):
        target = url("communications", incident)
        html = editor_client.get(target, HTTP_HX_REQUEST="true").content.decode()
        assert html.lstrip().startswith('<section id="section-communications"')
        whole = editor_client.get(target).content.decode()  # without JavaScript: a page
        assert "<html" in whole
        assert 'id="section-communications"' in whole

    def test_an_unknown_template_is_a_field_error(self, editor_client, incident):
        response = editor_client.post(url("communication_generate", incident), {"template": "nope"})
        assert response.status_code == 422
        assert "Choose one of the listed templates" in response.content.decode()

    def test_viewers_see_no_controls_and_cannot_post(self, client, incident):
        draft = generate(incident)
        client.force_login(user_with_role("viewer"))
        html = page(client, incident)
        assert draft.subject in html
        assert "Draft the email to users" not in html
        assert url("communication_approve", incident, draft.pk) not in html
        for name in ("communication_approve", "communication_send", "communication_discard"):
            assert client.post(url(name, incident, draft.pk)).status_code == 403
        assert (
            client.post(url("communication_generate", incident), {"template": "x"}).status_code
            == 403
        )
        draft.refresh_from_db()
        assert draft.status == Status.DRAFT

    def test_an_xss_payload_is_inert_on_the_page(self, editor_client, incident):
        draft = generate(incident)
        services.communication_update(
            communication=draft,
            subject="<script>alert(1)</script>",
            body="<img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>alert(2)</script>",
            user=None,
        )
        html = page(editor_client, incident)
        assert "<script>alert" not in html
        assert "onerror" not in html.split('id="section-communications"')[1].split("</section>")[0]
        assert "javascript:" not in html

    def test_the_page_costs_the_same_queries_with_1_or_20_communications(
        self, editor_client, incident
    ):
        counts = []
        for total in (1, 20):
            while Communication.objects.count() < total:
                draft = generate(incident)
                services.communication_approve(communication=draft, user=None)
            with CaptureQueriesContext(connection) as captured:
                assert editor_client.get(url("detail", incident)).status_code == 200
            counts.append(len(captured.captured_queries))
        assert counts[0] == counts[1], counts


def test_from_the_demo_incident_one_click_gives_the_user_email(client):
    call_command("load_demo", stdout=io.StringIO())
    client.login(username="demo-editor", password="hindsight-demo")
    incident = Incident.objects.get(service__slug="moodmash")
    client.post(url("communication_generate", incident), {"template": USER_EMAIL_SLUG})
    draft = Communication.objects.get(incident=incident, audience=Audience.USER_EMAIL)
    # The seed's email in substance: what, when, how long, resolved, sorry, safeguards,
    # whom to contact, thanks, signed by the team.
    assert draft.subject == "MoodMash: the service interruption is resolved"
    for part in (
        "Hello MoodMash users",
        "On January 2, 2026, MoodMash was unavailable for about 16 minutes",
        "fixed and everything is working normally again",
        "We are sorry",
        "safeguards",
        "support team",
        "Thank you for your patience",
        "The MoodMash team",
    ):
        assert part in draft.body, part
    for internal in ("_worker.js", "demo-editor", "rollback", incident.reference, "Vite"):
        assert internal not in draft.body


class TestMessagesStateTheirFacts:
    """A draft shows, beside its text, the facts it was built from, so whoever approves it
    checks them; and a message never states an end the incident does not have."""

    def test_a_draft_keeps_the_facts_it_was_built_from(self, incident):
        draft = generate(incident)

        assert draft.facts == {
            "started_at": "2026-01-02T06:02:00+00:00",
            "ended_at": "2026-01-02T06:18:00+00:00",
            "duration": "about 16 minutes",
            "components": ["Checkout page"],
        }
        assert draft.stated_facts() == [
            ("Started", "2026-01-02 06:02 UTC"),
            ("Ended", "06:18 UTC"),
            ("Duration", "about 16 minutes"),
            ("Affected", "Checkout page"),
        ]

    def test_the_page_shows_the_facts_beside_the_draft(self, editor_client, incident):
        generate(incident)
        html = page(editor_client, incident)
        facts = html.split('<dl class="facts communication-facts"', 1)[1].split("</dl>", 1)[0]
        assert "<dt>Ended</dt><dd>06:18 UTC</dd>" in facts
        assert "<dt>Affected</dt><dd>Checkout page</dd>" in facts

    def test_a_span_across_midnight_prints_both_dates(self, incident):
        incident.started_at = T0.replace(hour=23, minute=50)
        incident.resolved_at = incident.started_at + timedelta(minutes=20)
        incident.save()

        draft = generate(incident)

        assert "from 23:50 UTC on January 2 to 00:10 UTC on January 3" in draft.body
        assert ("Ended", "2026-01-03 00:10 UTC") in draft.stated_facts()

    def test_a_draft_whose_facts_changed_since_says_so(self, editor_client, incident):
        generate(incident)
        Incident.objects.filter(pk=incident.pk).update(resolved_at=T0 + timedelta(minutes=20))
        assert "The incident's ended changed since this was drafted" in page(
            editor_client, incident
        )

    def test_a_resolution_message_for_an_open_incident_is_refused_plainly(self, incident):
        Incident.objects.filter(pk=incident.pk).update(
            status=Incident.Status.MONITORING, resolved_at=None
        )
        incident.refresh_from_db()

        with pytest.raises(ValidationError) as refused:
            generate(incident)

        assert "has no end yet. Resolve it first" in str(refused.value)
        assert not Communication.objects.filter(incident=incident).exists()

    @pytest.mark.parametrize("htmx", [True, False])
    def test_the_page_says_why_in_the_section(self, editor_client, incident, htmx):
        Incident.objects.filter(pk=incident.pk).update(
            status=Incident.Status.MONITORING, resolved_at=None
        )
        response = editor_client.post(
            url("communication_generate", incident),
            {"template": USER_EMAIL_SLUG},
            follow=True,
            **({"HTTP_HX_REQUEST": "true"} if htmx else {}),
        )
        assert "has no end yet. Resolve it first" in response.content.decode()
        assert not Communication.objects.filter(incident=incident).exists()

    def test_a_correction_starts_from_the_facts_as_they_are_now(self, incident):
        sent = generate(incident)
        services.communication_approve(communication=sent, user=None)
        services.communication_send(communication=sent, user=None)
        Incident.objects.filter(pk=incident.pk).update(resolved_at=T0 + timedelta(minutes=26))
        incident.refresh_from_db()

        correction = services.communication_correct(communication=sent, user=None)

        assert correction.subject.startswith("Correction: ")
        assert "for about 26 minutes, from 06:02 to 06:28 UTC" in correction.body
        assert correction.facts["ended_at"] == "2026-01-02T06:28:00+00:00"


class TestNamingComponents:
    """A status page update names the components it affects and the status each takes when it
    is published."""

    def test_the_editor_names_components_and_publishing_sets_their_status(
        self, editor_client, incident
    ):
        web = Component.objects.create(name="Web")
        api = Component.objects.create(name="API")
        draft = generate(incident, "status-resolved")
        edit = url("communication_edit", incident, draft.pk)
        form = editor_client.get(edit).content.decode()
        assert f'name="component_{web.pk}"' in form
        expected = search(r'name="expected" value="([^"]+)"', form).group(1)
        response = editor_client.post(
            edit,
            {
                "subject": "Web is down",
                "body": "",
                "expected": expected,
                f"component_{web.pk}": "major_outage",
                f"component_{api.pk}": "",
            },
        )
        assert response.status_code == 302
        assert dict(draft.component_statuses.values_list("component_id", "status")) == {
            web.pk: "major_outage"
        }
        # The form shows what it names when opened again.
        form = editor_client.get(edit).content.decode()
        assert search(
            rf'name="component_{web.pk}"[^>]*>.*?<option value="major_outage" selected>',
            form,
            DOTALL,
        )
        editor_client.post(url("communication_approve", incident, draft.pk))
        editor_client.post(url("communication_send", incident, draft.pk))
        web.refresh_from_db()
        api.refresh_from_db()
        assert (web.status, api.status) == ("major_outage", "operational")

    def test_an_unknown_status_is_an_error_beside_its_field_and_the_text_is_kept(
        self, editor_client, incident
    ):
        web = Component.objects.create(name="Web")
        draft = generate(incident, "status-resolved")
        edit = url("communication_edit", incident, draft.pk)
        expected = search(
            r'name="expected" value="([^"]+)"', editor_client.get(edit).content.decode()
        ).group(1)
        response = editor_client.post(
            edit,
            {
                "subject": "Typed subject",
                "body": "",
                "expected": expected,
                f"component_{web.pk}": "on_fire",
            },
        )
        assert response.status_code == 422
        html = response.content.decode()
        assert f'id="id_component_{web.pk}_error"' in html
        assert 'value="Typed subject"' in html
        assert not draft.component_statuses.exists()

    def test_an_email_names_no_components(self, editor_client, incident):
        web = Component.objects.create(name="Web")
        draft = generate(incident)
        form = editor_client.get(url("communication_edit", incident, draft.pk)).content.decode()
        assert f'name="component_{web.pk}"' not in form
        with pytest.raises(ValidationError):
            services.communication_update(
                communication=draft,
                subject=draft.subject,
                body=draft.body,
                user=None,
                component_statuses={web.pk: "major_outage"},
            )
        assert not draft.component_statuses.exists()
