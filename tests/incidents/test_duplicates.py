"""An incident can be marked as a duplicate of another: it is then closed, linked to the
original, and left out of lists, counts and the status page. Undoing it gives it back as it was.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from deployments import services as deployment_services
from deployments.models import GateRule
from incidents.action_items.selectors import action_items_blocking_deployments
from incidents.insights.selectors import incident_list, incidents_open, postmortems_in_review
from incidents.models import Incident, TimelineEvent
from incidents.postmortem import services
from incidents.statuspage.selectors import public_incident_rows
from incidents.system.links import incident_links
from tests.api.test_incidents_api import API, bearer, errors, problem_type
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    DeploymentFactory,
    EnvironmentFactory,
    IncidentFactory,
    UserFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db


def mark(incident: Incident, original: Incident, user=None) -> Incident:
    return services.incident_mark_duplicate(incident=incident, original=original, user=user)


def lines(incident: Incident) -> list[str]:
    return list(
        incident.timeline_events.filter(kind=TimelineEvent.Kind.STATUS_CHANGE)
        .order_by("id")
        .values_list("text", flat=True)
    )


class TestMarking:
    def test_it_is_closed_and_linked_keeping_its_status_and_times(self):
        editor = UserFactory(username="dana")
        original = IncidentFactory(number=3, title="Checkout down")
        twin = IncidentFactory(number=4, status=Incident.Status.IDENTIFIED)

        mark(twin, original, editor)

        twin.refresh_from_db()
        assert twin.duplicate_of == original
        assert (twin.status, twin.resolved_at) == (Incident.Status.IDENTIFIED, None)
        assert not twin.is_open
        assert list(Incident.objects.open()) == [original]
        assert twin.version == 2
        assert twin.history.first().history_user == editor
        assert lines(twin) == ["Marked as a duplicate of **INC-3** by dana."]
        assert lines(original) == [
            f"**INC-4** ({twin.title}) was marked as a duplicate of this incident by dana."
        ]

    def test_marking_it_again_as_a_duplicate_of_the_same_changes_nothing(self):
        original, twin = IncidentFactory(), IncidentFactory()
        mark(twin, original)
        mark(twin, original)
        twin.refresh_from_db()
        assert twin.version == 2
        assert len(lines(twin)) == len(lines(original)) == 1

    def test_an_incident_is_never_its_own_duplicate(self):
        incident = IncidentFactory()
        with pytest.raises(ValidationError) as refused:
            mark(incident, incident)
        assert refused.value.message_dict == {
            "duplicate_of": ["An incident cannot be a duplicate of itself."]
        }
        with pytest.raises(IntegrityError), transaction.atomic():
            Incident.objects.filter(pk=incident.pk).update(duplicate_of=incident)

    def test_a_duplicate_of_a_duplicate_points_at_the_original(self):
        original, first, second = IncidentFactory(), IncidentFactory(), IncidentFactory()
        mark(first, original)

        mark(second, first)

        second.refresh_from_db()
        assert second.duplicate_of == original

    def test_its_own_duplicates_move_to_the_original_with_it(self):
        original, middle, follower = IncidentFactory(), IncidentFactory(), IncidentFactory()
        mark(follower, middle)

        mark(middle, original)

        follower.refresh_from_db()
        assert follower.duplicate_of == original
        assert follower.history.first().duplicate_of_id == original.pk

    def test_the_original_cannot_become_a_duplicate_of_its_own_duplicate(self):
        original, twin = IncidentFactory(number=5), IncidentFactory(number=6)
        mark(twin, original)

        with pytest.raises(ValidationError) as refused:
            mark(original, twin)

        assert refused.value.message_dict == {
            "duplicate_of": ["INC-6 is a duplicate of this incident already."]
        }
        original.refresh_from_db()
        assert original.duplicate_of is None

    def test_marking_it_a_duplicate_of_another_says_so_on_the_first_original(self):
        first, second = IncidentFactory(number=7), IncidentFactory(number=8)
        twin = IncidentFactory(number=9)
        mark(twin, first)

        mark(twin, second)

        assert lines(twin)[-1] == "Marked as a duplicate of **INC-8** instead by Hindsight."
        assert lines(first)[-1] == (
            "**INC-9** is now marked as a duplicate of **INC-8** instead (Hindsight)."
        )

    def test_undo_gives_it_back_as_it_was_and_says_so_on_both(self):
        original, twin = IncidentFactory(number=10), IncidentFactory(number=11)
        mark(twin, original)

        services.incident_unmark_duplicate(incident=twin, user=None)

        twin.refresh_from_db()
        assert (twin.duplicate_of, twin.is_open) == (None, True)
        assert lines(twin)[-1] == "No longer a duplicate of **INC-10** (Hindsight)."
        assert lines(original)[-1] == (
            "**INC-11** is no longer marked as a duplicate of this incident (Hindsight)."
        )

    def test_an_original_is_not_deleted_from_under_its_duplicates(self):
        original, twin = IncidentFactory(), IncidentFactory()
        mark(twin, original)
        with pytest.raises(ProtectedError):
            services.incident_delete(incident=original, user=None)


class TestLeftOut:
    @pytest.fixture
    def pair(self):
        # Both public: what leaves the twin off the status page is being a duplicate.
        original = IncidentFactory(title="Checkout down", public_since=T0)
        twin = IncidentFactory(
            title="Checkout returns 500", service=original.service, public_since=T0
        )
        mark(twin, original)
        return original, twin

    def test_from_the_incident_list_the_dashboard_and_the_review_queue(self, pair):
        original, _twin = pair
        Incident.objects.update(postmortem_state=Incident.PostmortemState.IN_REVIEW)
        assert list(incident_list()) == [original]
        assert list(incidents_open()) == [original]
        assert list(postmortems_in_review()) == [original]

    def test_from_the_status_page(self, pair):
        original, _twin = pair
        rows = public_incident_rows(now=timezone.now(), history_days=90, past_limit=10)
        assert [row["number"] for row in rows] == [original.number]

    def test_from_the_latest_resolved_incident_the_status_page_falls_back_to(self):
        older = IncidentFactory(
            status=Incident.Status.RESOLVED, resolved_at=T0 + timedelta(minutes=5), public_since=T0
        )
        newer = IncidentFactory(
            status=Incident.Status.RESOLVED, resolved_at=T0 + timedelta(minutes=9), public_since=T0
        )
        mark(newer, older)
        rows = public_incident_rows(now=T0 + timedelta(days=400), history_days=90, past_limit=10)
        assert [row["number"] for row in rows] == [older.number]

    def test_from_the_deployments_it_is_linked_to(self, pair):
        original, twin = pair
        deployment = DeploymentFactory(
            environment=EnvironmentFactory(service=original.service),
            started_at=T0 + timedelta(minutes=1),
        )
        CauseFactory(incident=twin, deployment=deployment, title="Bad build")
        links = incident_links([deployment.pk])[deployment.pk]
        assert [link.label for link in links] == [original.reference]

    def test_from_the_incident_list_page(self, client, pair):
        original, twin = pair
        client.force_login(user_with_role(Role.VIEWER))
        html = client.get(reverse("incidents:list")).content.decode()
        assert original.reference in html
        assert twin.reference not in html

    def test_but_its_open_action_items_still_count_and_hold_the_gate(self, pair):
        """Closing a record does not do its work: a blocking item is closed by someone, as done
        or won't do, never by marking its incident a duplicate."""
        original, twin = pair
        item = ActionItemFactory(incident=twin, blocks_deployments=True)
        environment = EnvironmentFactory(service=original.service)
        deployment_services.gate_rule_create(
            environment=environment, kind=GateRule.Kind.BLOCKING_ACTION_ITEMS
        )
        assert list(action_items_blocking_deployments()) == [item]
        run = deployment_services.gate_evaluate(
            service=environment.service, environment=environment, commit_sha="c0ffee1", manifest=[]
        )
        assert run.verdict == "block"


class TestPage:
    def test_a_duplicate_says_of_what_with_a_link_and_editors_can_undo(self, client):
        original = IncidentFactory(number=21, title="Checkout down")
        twin = IncidentFactory(number=22)
        ActionItemFactory(incident=twin)
        mark(twin, original)
        client.force_login(user_with_role(Role.EDITOR))

        html = client.get(reverse("incidents:detail", args=["INC-22"])).content.decode()

        assert 'Duplicate of <a href="/incidents/INC-21/">INC-21</a>' in html
        assert "Its 1 open action item still counts" in html
        assert reverse("incidents:unmark_duplicate", args=["INC-22"]) in html

        response = client.post(reverse("incidents:unmark_duplicate", args=["INC-22"]))
        assert response.status_code == 302
        twin.refresh_from_db()
        assert twin.duplicate_of is None

    def test_an_editor_marks_it_from_the_page(self, client):
        IncidentFactory(number=31)
        twin = IncidentFactory(number=32)
        client.force_login(user_with_role(Role.EDITOR))
        page = client.get(reverse("incidents:detail", args=["INC-32"])).content.decode()
        assert reverse("incidents:mark_duplicate", args=["INC-32"]) in page

        response = client.post(
            reverse("incidents:mark_duplicate", args=["INC-32"]), {"of": "inc-31"}, follow=True
        )

        assert "INC-32 is now a duplicate of INC-31." in response.content.decode()
        twin.refresh_from_db()
        assert twin.duplicate_of is not None
        assert twin.duplicate_of.number == 31

    @pytest.mark.parametrize(
        ("of", "said"),
        [
            ("INC-999", "No incident has this reference"),
            ("INC-41", "An incident cannot be a duplicate of itself."),
        ],
    )
    def test_a_bad_reference_is_said_and_nothing_changes(self, client, of, said):
        twin = IncidentFactory(number=41)
        client.force_login(user_with_role(Role.EDITOR))
        response = client.post(
            reverse("incidents:mark_duplicate", args=["INC-41"]), {"of": of}, follow=True
        )
        assert said in response.content.decode()
        twin.refresh_from_db()
        assert twin.duplicate_of is None

    def test_a_viewer_sees_no_control_and_may_not_post(self, client):
        IncidentFactory(number=51)
        twin = IncidentFactory(number=52)
        client.force_login(user_with_role(Role.VIEWER))
        html = client.get(reverse("incidents:detail", args=["INC-52"])).content.decode()
        assert "Mark as duplicate" not in html
        url = reverse("incidents:mark_duplicate", args=["INC-52"])
        assert client.post(url, {"of": "INC-51"}).status_code == 403
        twin.refresh_from_db()
        assert twin.duplicate_of is None


class TestApi:
    @pytest.fixture
    def api(self):
        return bearer(user_with_role("editor"))

    def url(self, reference: str) -> str:
        return f"{API}/incidents/{reference}/duplicate-of"

    def test_marking_and_undoing_over_the_api(self, api):
        IncidentFactory(number=61)
        IncidentFactory(number=62)

        response = api.post(self.url("INC-62"), {"duplicate_of": "inc-61"}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["duplicate_of"] == "INC-61"
        assert api.get(f"{API}/incidents/INC-62").json()["duplicate_of"] == "INC-61"
        undone = api.post(self.url("INC-62"), {"duplicate_of": None}, format="json")
        assert undone.json()["duplicate_of"] is None

    def test_the_list_leaves_duplicates_out_unless_asked(self, api):
        IncidentFactory(number=71)
        twin = IncidentFactory(number=72)
        mark(twin, Incident.objects.get(number=71))

        def references(params=None):
            response = api.get(f"{API}/incidents", params or {})
            assert response.status_code == 200, response.content
            return sorted(row["reference"] for row in response.json()["results"])

        assert references() == ["INC-71"]
        assert references({"duplicates": "include"}) == ["INC-71", "INC-72"]
        assert references({"duplicates": "only"}) == ["INC-72"]
        assert references({"duplicates": "exclude"}) == ["INC-71"]
        assert "duplicates" in errors(api.get(f"{API}/incidents", {"duplicates": "all"}))

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"duplicate_of": "INC-999"}, "duplicate_of"),
            ({"duplicate_of": "INC-81"}, "duplicate_of"),
            ({"duplicate_of": 81}, "duplicate_of"),
            ({}, "duplicate_of"),
        ],
    )
    def test_a_bad_original_is_a_400_naming_the_field(self, api, body, field):
        IncidentFactory(number=81)
        assert field in errors(api.post(self.url("INC-81"), body, format="json"))

    def test_a_viewer_gets_403(self):
        IncidentFactory(number=91)
        IncidentFactory(number=92)
        response = bearer(user_with_role("viewer")).post(
            self.url("INC-92"), {"duplicate_of": "INC-91"}, format="json"
        )
        assert response.status_code == 403
        assert problem_type(response) == "permission-denied"

    def test_the_schema_describes_it(self):
        from drf_spectacular.generators import SchemaGenerator

        schema = SchemaGenerator().get_schema(request=None, public=True)
        assert "post" in schema["paths"]["/api/v1/incidents/{ref}/duplicate-of"]
        incident = schema["components"]["schemas"]["IncidentList"]["properties"]
        assert incident["duplicate_of"]["nullable"] is True
        parameters = schema["paths"]["/api/v1/incidents"]["get"]["parameters"]
        assert "duplicates" in [p["name"] for p in parameters]
