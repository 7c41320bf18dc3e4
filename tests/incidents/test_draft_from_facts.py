"""The draft from the facts: "Start the post-mortem" proposes timeline lines, the trigger and
texts from what Hindsight knows; the author keeps or discards each proposal, or all at once; and
until kept a proposal stays out of exports and messages."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deployments.models import Deployment
from incidents.communications.facts import internal_facts
from incidents.documents.exports import export_incident
from incidents.drafting import services
from incidents.drafting.facts import draft_from_facts
from incidents.insights.search import incident_search
from incidents.insights.services import search_documents_rebuild
from incidents.models import Audience, Cause, Communication, Incident, TimelineEvent
from incidents.postmortem.services import incident_set_status, incident_update
from incidents.system.services import deployment_mark_as_cause, timeline_rollback_add
from tests.deployments.test_correlation import System, at
from tests.factories import T0, IncidentFactory, TimelineEventFactory, user_with_role
from tests.helpers import run_in_threads

pytestmark = pytest.mark.django_db

Kind = TimelineEvent.Kind
BAD = "badc0de" + "1" * 33


def sent(
    incident: Incident, minutes: float, subject: str = "We are looking into it"
) -> Communication:
    return Communication.objects.create(
        incident=incident,
        audience=Audience.STATUS_PAGE,
        status=Communication.Status.SENT,
        subject=subject,
        sent_at=at(minutes),
    )


def outage(*, messages: int = 1, rollbacks: int = 1) -> tuple[System, Incident, Deployment]:
    """A good deployment long before; a bad one half a minute before the start; checks failing
    from the start for ten minutes; a rollback at 7; a status update at 5. The incident was
    detected at 2, mitigated at 8 and resolved at 10, and nobody wrote its post-mortem yet.
    Returns (system, incident, bad deployment)."""
    system = System(checks=2)
    system.deploy(-300)
    system.snaps(-299, -260, every=5)
    system.snaps(-10, -1)
    bad = system.deploy(-0.5, health=Deployment.Health.UNHEALTHY, commit_sha=BAD)
    system.snaps(0, 9, failing=[0, 1])
    system.snaps(10, 20)
    for i in range(rollbacks):
        system.deploy(7 - i * 0.25, commit_sha=f"600dc0d{i}" + "2" * 32, rollback_of=bad)
    incident = IncidentFactory(
        service=system.service,
        started_at=T0,
        detected_at=at(2),
        mitigated_at=at(8),
        resolved_at=at(10),
        status=Incident.Status.RESOLVED,
    )
    for i in range(messages):
        sent(incident, 5 + i * 0.1, subject=f"Update {i}")
    return system, incident, bad


@pytest.fixture
def editor():
    return user_with_role("editor")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def timeline(incident: Incident) -> list[tuple]:
    return list(
        incident.timeline_events.order_by("occurred_at", "id").values_list(
            "occurred_at", "kind", "proposed"
        )
    )


class TestProposing:
    def test_a_first_draft_proposes_the_timeline_the_trigger_and_the_texts(self, editor):
        _system, incident, bad = outage()
        proposed = services.postmortem_draft_propose(incident=incident, user=editor)

        assert (proposed.events, proposed.causes) == (8, 1)
        assert set(proposed.prose) == {"summary", "impact", "resolution"}
        assert timeline(incident) == [
            (at(-0.5), Kind.DEPLOYMENT, True),  # the suspect
            (at(0), Kind.HEALTH, True),  # first failure
            (at(2), Kind.DETECTED, True),
            (at(5), Kind.COMMUNICATION, True),
            (at(7), Kind.ROLLBACK, True),
            (at(8), Kind.MITIGATED, True),
            (at(10), Kind.HEALTH, True),  # recovery
            (at(10), Kind.RESOLVED, True),
        ]
        events = list(incident.timeline_events.order_by("occurred_at", "id"))
        assert events[0].deployment == bad
        assert "`badc0de`" in events[0].text
        assert "<code>badc0de</code>" in events[0].text_html
        assert "**Check 0**" in events[1].text
        assert "**Check 1**" in events[1].text
        assert "Update 0" in events[3].text
        assert events[4].text == "Rolled back production from `badc0de` to `600dc0d`."
        assert all(e.source == TimelineEvent.Source.MANUAL for e in events)
        assert all(e.created_by == editor for e in events)

        cause = incident.causes.get()
        assert (cause.kind, cause.deployment, cause.proposed) == (Cause.Kind.TRIGGER, bad, True)
        assert cause.title.startswith("Deployment `badc0de` to production")

        incident.refresh_from_db()
        assert incident.summary == incident.impact == incident.resolution == ""
        texts = incident.proposed_prose
        assert "lasted 10 minutes" in texts["summary"]
        assert "`badc0de`" in texts["summary"]
        assert "Impact window: 2026-01-02 06:02 to 06:12 UTC (10 minutes)" in texts["impact"]
        assert texts["resolution"].startswith(
            "Rolled back production from `badc0de` to `600dc0d` at 06:09 UTC."
        )

    def test_every_proposed_row_is_in_the_history_with_who_proposed_it(self, editor):
        _system, incident, _bad = outage()
        services.postmortem_draft_propose(incident=incident, user=editor)
        records = TimelineEvent.history.filter(incident_id=incident.pk)
        assert records.count() == 8
        assert {(r.history_type, r.history_user_id, r.proposed) for r in records} == {
            ("+", editor.pk, True)
        }
        assert Cause.history.get(incident_id=incident.pk).history_user == editor

    def test_proposing_twice_proposes_nothing_twice(self, editor):
        _system, incident, _bad = outage()
        services.postmortem_draft_propose(incident=incident, user=editor)
        before = (timeline(incident), list(incident.causes.values_list("pk", flat=True)))
        again = services.postmortem_draft_propose(incident=incident, user=editor)
        assert again.total == 0
        assert (timeline(incident), list(incident.causes.values_list("pk", flat=True))) == before

    def test_kept_rows_count_as_told_too(self, editor):
        _system, incident, _bad = outage()
        services.postmortem_draft_propose(incident=incident, user=editor)
        assert services.proposals_keep_all(incident=incident, user=editor) == 12
        assert services.postmortem_draft_propose(incident=incident, user=editor).total == 0

    def test_facts_hindsight_or_a_person_wrote_already_are_not_proposed(self, editor):
        system, incident, bad = outage()
        # Written as they happened: the rollback line, the messages sent, the resolve line and
        # the trigger a person marked; and a person's own line on the first failure.
        Incident.objects.filter(pk=incident.pk).update(
            status=Incident.Status.MONITORING, resolved_at=None
        )
        incident.refresh_from_db()
        timeline_rollback_add(
            deployment=Deployment.objects.get(rollback_of=bad, environment=system.production)
        )
        incident_set_status(
            incident=incident, status=Incident.Status.RESOLVED, user=editor, at=at(10)
        )
        TimelineEventFactory(
            incident=incident, occurred_at=at(0) + timedelta(seconds=20), kind=Kind.HEALTH
        )
        TimelineEventFactory(incident=incident, occurred_at=at(5), kind=Kind.COMMUNICATION)
        deployment_mark_as_cause(incident=incident, deployment=bad, user=editor)

        services.postmortem_draft_propose(incident=incident, user=editor)
        proposed = incident.timeline_events.filter(proposed=True)
        # The first failure is the person's line; the recovery, the resolve line at its moment.
        assert sorted(proposed.values_list("kind", flat=True)) == sorted(
            [Kind.DEPLOYMENT, Kind.DETECTED, Kind.MITIGATED]
        )
        assert not incident.causes.filter(proposed=True).exists()

    def test_the_demo_written_by_hand_gets_only_the_messages_it_never_put_on_its_timeline(
        self, editor
    ):
        call_command("load_demo", stdout=io.StringIO())
        incident = Incident.objects.select_related("service").get(number=1)
        draft = draft_from_facts(incident)
        # Its deployment, rollback, trigger and resolve lines tell the rest; its cause names
        # the deployment; and every text is written.
        assert [f.kind for f in draft.events] == [Kind.COMMUNICATION] * 3
        assert (draft.causes, draft.prose) == ([], {})

    def test_a_text_a_person_wrote_is_never_replaced(self, editor):
        _system, incident, _bad = outage()
        incident = incident_update(
            incident=incident, expected_version=incident.version, user=editor, summary="Ours."
        )
        services.postmortem_draft_propose(incident=incident, user=editor)
        incident.refresh_from_db()
        assert incident.summary == "Ours."
        assert set(incident.proposed_prose) == {"impact", "resolution"}

    def test_an_incident_declared_while_it_went_on_gets_its_declaration(self, editor):
        system = System(checks=1)
        incident = IncidentFactory(service=system.service, started_at=T0, created_by=editor)
        Incident.objects.filter(pk=incident.pk).update(created_at=at(3))
        incident.refresh_from_db()
        draft = draft_from_facts(incident)
        assert [(f.occurred_at, f.kind) for f in draft.events] == [(at(3), Kind.STATUS_CHANGE)]
        assert f"**{incident.reference}**" in draft.events[0].text
        assert "by editor-user" in draft.events[0].text
        # Nothing ended, nothing rolled back: no texts to propose.
        assert draft.prose == {}

    def test_an_incident_entered_after_the_fact_with_no_records_gets_its_end_only(self, editor):
        incident = IncidentFactory(
            started_at=T0, resolved_at=at(30), status=Incident.Status.RESOLVED
        )
        proposed = services.postmortem_draft_propose(incident=incident, user=editor)
        assert (proposed.events, proposed.causes, proposed.prose) == (1, 0, ("summary", "impact"))
        assert timeline(incident) == [(at(30), Kind.RESOLVED, True)]
        incident.refresh_from_db()
        assert incident.proposed_prose["summary"] == (
            "The incident lasted 30 minutes, from 2026-01-02 06:02 to 06:32 UTC."
        )
        assert incident.proposed_prose["impact"].endswith("from the start to the resolution.")

    def test_messages_sent_within_a_minute_are_told_apart(self, editor):
        _system, incident, _bad = outage(messages=0)
        for i in range(12):
            sent(incident, 5 + i * 0.05, subject=f"Update {i}")
        TimelineEventFactory(
            incident=incident,
            occurred_at=at(5 + 40 / 60),
            kind=Kind.COMMUNICATION,
            text="Posted “Update 1”",
        )
        draft = draft_from_facts(incident)
        told = [f.text for f in draft.events if f.kind == Kind.COMMUNICATION]
        assert len(told) == 11
        assert not any("“Update 1”" in text for text in told)

    def test_the_queries_do_not_grow_with_the_number_of_facts(self, editor):
        counts = []
        for messages, rollbacks in ((1, 1), (30, 6)):
            _system, incident, _bad = outage(messages=messages, rollbacks=rollbacks)
            with CaptureQueriesContext(connection) as queries:
                proposed = services.postmortem_draft_propose(incident=incident, user=editor)
            assert proposed.events == 6 + messages + rollbacks
            counts.append(len(queries))
        assert counts[0] == counts[1]
        assert counts[0] <= 25, counts


class TestKeepingAndDiscarding:
    @pytest.fixture
    def proposed(self, editor) -> Incident:
        _system, incident, _bad = outage()
        services.postmortem_draft_propose(incident=incident, user=editor)
        incident.refresh_from_db()
        return incident

    def test_keeping_a_row_makes_it_an_ordinary_row_with_a_history_line(self, proposed, editor):
        row = proposed.timeline_events.get(kind=Kind.DETECTED)
        assert services.proposal_keep(row=row, user=editor)
        row.refresh_from_db()
        assert (row.proposed, row.version) == (False, 2)
        latest = row.history.latest()
        assert (latest.history_type, latest.history_user, latest.proposed) == ("~", editor, False)
        # A second click (or a second person) finds nothing to keep.
        assert not services.proposal_keep(row=row, user=editor)

    def test_discarding_a_row_deletes_it_and_the_history_says_who(self, proposed, editor):
        cause = proposed.causes.get()
        assert services.proposal_discard(row=cause, user=editor)
        assert not Cause.objects.filter(pk=cause.pk).exists()
        gone = Cause.history.filter(id=cause.pk).latest()
        assert (gone.history_type, gone.history_user) == ("-", editor)

    def test_a_kept_row_is_never_discarded(self, proposed, editor):
        row = proposed.timeline_events.get(kind=Kind.DETECTED)
        services.proposal_keep(row=row, user=editor)
        assert not services.proposal_discard(row=row, user=editor)
        assert TimelineEvent.objects.filter(pk=row.pk).exists()

    def test_keeping_a_text_writes_it_where_the_field_is_empty(self, proposed, editor):
        text = proposed.proposed_prose["impact"]
        assert services.proposed_text_keep(incident=proposed, field="impact", user=editor)
        proposed.refresh_from_db()
        assert proposed.impact == text
        assert proposed.impact_html.startswith("<p>Impact window")
        assert "impact" not in proposed.proposed_prose

    def test_keeping_a_text_leaves_what_a_person_wrote_meanwhile(self, proposed, editor):
        incident_update(
            incident=proposed, expected_version=proposed.version, user=editor, resolution="Ours."
        )
        assert not services.proposed_text_keep(incident=proposed, field="resolution", user=editor)
        proposed.refresh_from_db()
        assert proposed.resolution == "Ours."
        assert "resolution" not in proposed.proposed_prose

    def test_discarding_a_text_drops_only_that_proposal(self, proposed, editor):
        assert services.proposed_text_discard(incident=proposed, field="summary", user=editor)
        proposed.refresh_from_db()
        assert proposed.summary == ""
        assert set(proposed.proposed_prose) == {"impact", "resolution"}

    def test_keep_all_keeps_every_row_and_text(self, proposed, editor):
        assert services.proposals_keep_all(incident=proposed, user=editor) == 12
        proposed.refresh_from_db()
        assert not proposed.timeline_events.filter(proposed=True).exists()
        assert not proposed.causes.filter(proposed=True).exists()
        assert proposed.proposed_prose == {}
        assert proposed.summary
        assert proposed.impact
        assert proposed.resolution

    def test_discard_all_deletes_proposals_and_leaves_kept_rows(self, proposed, editor):
        kept = proposed.timeline_events.get(kind=Kind.RESOLVED)
        services.proposal_keep(row=kept, user=editor)
        mine = TimelineEventFactory(incident=proposed, occurred_at=at(4), text="Paged the team.")
        assert services.proposals_discard_all(incident=proposed, user=editor) == 7 + 1 + 3
        proposed.refresh_from_db()
        assert set(proposed.timeline_events.values_list("pk", flat=True)) == {kept.pk, mine.pk}
        assert not proposed.causes.exists()
        assert proposed.proposed_prose == {}
        assert proposed.summary == ""

    def test_the_system_panel_still_offers_to_mark_a_proposed_trigger(
        self, proposed, editor_client
    ):
        url = reverse("incidents:system_panel", args=[proposed.reference])
        html = editor_client.get(url).content.decode()
        assert "Already among this incident's causes" not in html
        services.proposals_keep_all(incident=proposed, user=None)
        html = editor_client.get(url).content.decode()
        assert "Already among this incident's causes" in html

    def test_marking_a_proposed_trigger_as_cause_keeps_it(self, proposed, editor):
        cause = proposed.causes.get()
        found, created = deployment_mark_as_cause(
            incident=proposed, deployment=cause.deployment, user=editor
        )
        assert (found.pk, created, found.proposed) == (cause.pk, False, False)


class TestUntilKept:
    def test_proposals_are_left_out_of_both_exports_until_kept(self, editor):
        _system, incident, _bad = outage()
        services.postmortem_draft_propose(incident=incident, user=editor)
        markdown = export_incident(incident.number, "md").text()
        data = export_incident(incident.number, "json").data
        assert "badc0de" not in markdown
        assert "Impact window" not in markdown
        assert isinstance(data, dict)
        assert data["timeline"] == []
        assert data["causes"] == []

        services.proposals_keep_all(incident=incident, user=editor)
        markdown = export_incident(incident.number, "md").text()
        data = export_incident(incident.number, "json").data
        assert "Rolled back production" in markdown
        assert "Impact window" in markdown
        assert isinstance(data, dict)
        assert len(data["timeline"]) == 8
        assert len(data["causes"]) == 1

    def test_searching_incidents_finds_a_trigger_only_once_kept(self, editor):
        _system, incident, _bad = outage()
        services.postmortem_draft_propose(incident=incident, user=editor)
        # What the refresh after each commit does (tests/incidents/test_search.py runs it).
        search_documents_rebuild()
        assert not incident_search(Incident.objects.all(), "badc0de").exists()
        services.proposal_keep(row=incident.causes.get(), user=editor)
        search_documents_rebuild()
        assert list(incident_search(Incident.objects.all(), "badc0de")) == [incident]

    def test_messages_do_not_state_a_proposed_cause(self, editor):
        _system, incident, _bad = outage()
        services.postmortem_draft_propose(incident=incident, user=editor)
        assert internal_facts(incident)["causes"] == []
        services.proposals_keep_all(incident=incident, user=editor)
        assert len(internal_facts(incident)["causes"]) == 1


class TestThePage:
    def page(self, client, incident: Incident) -> str:
        response = client.get(reverse("incidents:detail", args=[incident.reference]))
        assert response.status_code == 200
        return response.content.decode()

    def test_editors_start_the_post_mortem_and_see_the_proposals_marked(self, editor_client):
        _system, incident, _bad = outage()
        assert "Start the post-mortem" in self.page(editor_client, incident)
        response = editor_client.post(
            reverse("incidents:draft_propose", args=[incident.reference]), follow=True
        )
        html = response.content.decode()
        assert "Proposed 8 timeline lines, 1 cause, 3 texts." in html
        assert "12 proposals to review" in html
        assert html.count('class="tag proposed-tag"') == 8 + 1 + 3
        assert "Keep all" in html
        assert "Discard all" in html

    def test_one_click_keeps_or_discards_a_row_and_all_at_once(self, editor_client):
        _system, incident, _bad = outage()
        services.postmortem_draft_propose(incident=incident, user=None)
        row = incident.timeline_events.get(kind=Kind.DETECTED)
        keep = reverse("incidents:draft_keep", args=[incident.reference])
        discard = reverse("incidents:draft_discard", args=[incident.reference])
        response = editor_client.post(keep, {"what": f"timeline:{row.pk}"})
        assert response.status_code == 302
        assert response["Location"].endswith(f"#row-timeline-{row.pk}")
        row.refresh_from_db()
        assert not row.proposed
        cause = incident.causes.get()
        editor_client.post(discard, {"what": f"causes:{cause.pk}"})
        assert not Cause.objects.filter(pk=cause.pk).exists()
        editor_client.post(keep, {"what": "text:impact"})
        incident.refresh_from_db()
        assert incident.impact.startswith("Impact window")
        editor_client.post(discard, {"what": "all"})
        incident.refresh_from_db()
        assert not incident.timeline_events.filter(proposed=True).exists()
        assert incident.proposed_prose == {}
        assert editor_client.post(keep, {"what": "lessons:1"}).status_code == 404

    def test_viewers_see_proposals_but_no_buttons_and_cannot_post(self, client):
        _system, incident, _bad = outage()
        services.postmortem_draft_propose(incident=incident, user=None)
        client.force_login(user_with_role("viewer"))
        html = self.page(client, incident)
        assert "12 proposals to review" in html
        assert "Start the post-mortem" not in html
        assert "Keep all" not in html
        url = reverse("incidents:draft_propose", args=[incident.reference])
        assert client.post(url).status_code == 403

    def test_the_page_costs_the_same_queries_with_many_proposals(self, editor_client):
        counts = []
        for messages in (1, 30):
            _system, incident, _bad = outage(messages=messages)
            services.postmortem_draft_propose(incident=incident, user=None)
            with CaptureQueriesContext(connection) as queries:
                self.page(editor_client, incident)
            counts.append(len(queries))
        assert counts[0] == counts[1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_starting_the_post_mortem_at_once_get_one_draft():
    _system, incident, _bad = outage()
    results = run_in_threads(
        4, lambda i: services.postmortem_draft_propose(incident=incident, user=None).total
    )
    assert sorted(results) == [0, 0, 0, 12], results
    assert incident.timeline_events.count() == 8
    assert incident.causes.count() == 1
