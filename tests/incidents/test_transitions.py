"""Status and post-mortem transitions are compare-and-set on the state they leave."""

from __future__ import annotations

import pytest

from incidents.models import Incident, TimelineEvent
from incidents.postmortem import services
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_a_stale_copy_resolving_an_already_resolved_incident_writes_nothing():
    incident = IncidentFactory()
    stale = Incident.objects.get(pk=incident.pk)
    services.incident_set_status(incident=incident, status="resolved", user=None)

    services.incident_set_status(incident=stale, status="resolved", user=None)

    assert stale.status == "resolved"
    assert Incident.objects.get(pk=incident.pk).version == 2
    assert incident.timeline_events.filter(kind=TimelineEvent.Kind.RESOLVED).count() == 1


def test_a_stale_copy_is_judged_again_against_the_status_it_has_now():
    incident = IncidentFactory(status="investigating")
    stale = Incident.objects.get(pk=incident.pk)
    services.incident_set_status(incident=incident, status="monitoring", user=None)

    services.incident_set_status(incident=stale, status="resolved", user=None)

    events = list(incident.timeline_events.order_by("id").values_list("text", flat=True))
    assert len(events) == 2
    # The second event names the status the incident really left, not the stale one.
    assert "from **Monitoring** to **Resolved**" in events[1]


def test_a_stale_post_mortem_state_change_to_the_same_state_writes_nothing():
    incident = IncidentFactory()
    stale = Incident.objects.get(pk=incident.pk)
    services.incident_set_postmortem_state(incident=incident, state="in_review", user=None)

    services.incident_set_postmortem_state(incident=stale, state="in_review", user=None)

    assert Incident.objects.get(pk=incident.pk).version == 2
    assert incident.timeline_events.count() == 1


def test_an_update_with_no_changes_spends_no_version():
    incident = IncidentFactory()

    services.incident_update(incident=incident, expected_version=1)

    assert Incident.objects.get(pk=incident.pk).version == 1


def test_an_update_with_no_changes_still_checks_the_version():
    incident = IncidentFactory()

    with pytest.raises(services.StaleVersion) as stale:
        services.incident_update(incident=incident, expected_version=7)

    assert stale.value.current_version == 1
