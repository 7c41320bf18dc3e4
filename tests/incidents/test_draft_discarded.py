"""A discarded proposal of the draft from the facts stays discarded: pressing "Start the
post-mortem" again leaves out what the author turned down, one at a time or all at once, and
still proposes a fact that is new; a person can still write such a line by hand."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.drafting import services
from incidents.models import Cause, DiscardedProposal, Incident, TimelineEvent
from incidents.postmortem.services import incident_update, part_delete
from tests.api.test_incidents_api import API, bearer
from tests.deployments.test_correlation import at
from tests.factories import TimelineEventFactory, user_with_role
from tests.incidents.test_draft_from_facts import outage, sent

pytestmark = pytest.mark.django_db

Kind = TimelineEvent.Kind


@pytest.fixture
def editor():
    return user_with_role("editor")


@pytest.fixture
def proposed(editor) -> Incident:
    _system, incident, _bad = outage()
    services.postmortem_draft_propose(incident=incident, user=editor)
    incident.refresh_from_db()
    return incident


def propose_again(incident: Incident, editor) -> services.Proposed:
    incident.refresh_from_db()
    return services.postmortem_draft_propose(incident=incident, user=editor)


def test_a_discarded_line_is_not_proposed_again(proposed, editor):
    rollback = proposed.timeline_events.get(kind=Kind.ROLLBACK)
    detected = proposed.timeline_events.get(kind=Kind.DETECTED)
    assert services.proposal_discard(row=rollback, user=editor)
    assert services.proposal_discard(row=detected, user=editor)

    again = propose_again(proposed, editor)

    assert (again.total, again.discarded) == (0, 2)
    assert not proposed.timeline_events.filter(kind__in=[Kind.ROLLBACK, Kind.DETECTED]).exists()
    record = DiscardedProposal.objects.get(incident=proposed, kind=Kind.ROLLBACK)
    assert (record.part, record.deployment_id, record.discarded_by) == (
        DiscardedProposal.Part.TIMELINE,
        rollback.deployment_id,
        editor,
    )


def test_a_discarded_trigger_is_not_proposed_again(proposed, editor):
    assert services.proposal_discard(row=proposed.causes.get(), user=editor)
    again = propose_again(proposed, editor)
    assert (again.causes, again.discarded) == (0, 1)
    assert not Cause.objects.filter(incident=proposed).exists()


def test_discard_all_records_every_proposal_and_proposing_again_adds_nothing(proposed, editor):
    assert services.proposals_discard_all(incident=proposed, user=editor) == 8 + 1 + 3
    assert DiscardedProposal.objects.filter(incident=proposed).count() == 12

    again = propose_again(proposed, editor)

    assert (again.total, again.discarded) == (0, 12)
    assert not proposed.timeline_events.exists()
    assert not proposed.causes.exists()
    assert proposed.proposed_prose == {}


def test_a_new_fact_is_still_proposed_after_a_discard(proposed, editor):
    message = proposed.timeline_events.get(kind=Kind.COMMUNICATION)
    assert "Update 0" in message.text
    services.proposal_discard(row=message, user=editor)
    # Sent in the same minute as the discarded one: told apart by its subject.
    sent(proposed, 5.5, subject="Update 1")

    again = propose_again(proposed, editor)

    assert (again.events, again.discarded) == (1, 1)
    line = proposed.timeline_events.get(kind=Kind.COMMUNICATION)
    assert "Update 1" in line.text
    assert line.proposed


def test_a_discarded_text_stays_out_until_the_facts_change_it(proposed, editor):
    assert services.proposed_text_discard(incident=proposed, field="summary", user=editor)
    again = propose_again(proposed, editor)
    assert (again.prose, again.discarded) == ((), 1)

    incident_update(incident=proposed, expected_version=proposed.version, resolved_at=at(11))
    again = propose_again(proposed, editor)

    assert "summary" in again.prose
    proposed.refresh_from_db()
    assert "lasted 11 minutes" in proposed.proposed_prose["summary"]


def test_an_editor_can_still_write_a_discarded_line_by_hand(proposed, editor):
    services.proposal_discard(row=proposed.timeline_events.get(kind=Kind.DETECTED), user=editor)
    mine = TimelineEventFactory(
        incident=proposed, occurred_at=at(2), kind=Kind.DETECTED, text="The on-call saw it."
    )
    assert propose_again(proposed, editor).total == 0
    assert list(proposed.timeline_events.filter(kind=Kind.DETECTED)) == [mine]


def test_deleting_a_proposed_row_like_any_row_discards_it_too(proposed, editor):
    detected = proposed.timeline_events.get(kind=Kind.DETECTED)
    part_delete(row=detected, user=editor, expected_version=detected.version)
    again = propose_again(proposed, editor)
    assert (again.total, again.discarded) == (0, 1)
    assert DiscardedProposal.objects.get().discarded_by == editor


def test_deleting_a_kept_row_is_no_discard(proposed, editor):
    services.proposals_keep_all(incident=proposed, user=editor)
    detected = proposed.timeline_events.get(kind=Kind.DETECTED)
    part_delete(row=detected, user=editor)
    assert not DiscardedProposal.objects.exists()


def test_a_kept_proposal_is_never_recorded_as_discarded(proposed, editor):
    services.proposals_keep_all(incident=proposed, user=editor)
    assert not DiscardedProposal.objects.exists()


def test_the_page_says_discarded_proposals_were_left_out(client, proposed, editor):
    client.force_login(editor)
    client.post(
        reverse("incidents:draft_discard", args=[proposed.reference]),
        {"what": f"causes:{proposed.causes.get().pk}"},
    )
    response = client.post(
        reverse("incidents:draft_propose", args=[proposed.reference]), follow=True
    )
    html = response.content.decode()
    assert "Nothing new to propose" in html
    assert "1 proposal discarded before was left out" in html


def test_discarding_over_the_api_is_remembered_too(proposed, editor):
    api = bearer(editor)
    detected = proposed.timeline_events.get(kind=Kind.DETECTED)
    url = f"{API}/incidents/{proposed.reference}/draft"
    response = api.post(f"{url}/discard", {"timeline_events": [detected.pk]}, format="json")
    assert response.json() == {"count": 1}
    assert api.post(url).json() == {"timeline_events": 0, "causes": 0, "prose": []}
