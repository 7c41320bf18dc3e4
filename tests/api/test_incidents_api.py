"""The incidents REST API: incidents by reference, their sections' rows, ETags and If-Match,
transitions, roles and scopes, bad input, idempotent posts and query budgets."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import requests
import schemathesis
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from api.tokens import token_create
from incidents.insights.services import search_documents_rebuild
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.postmortem.api import serializers as s
from incidents.postmortem.api.views import TIMELINE_EMBEDDED
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    DeploymentFactory,
    EnvironmentFactory,
    IncidentFactory,
    LessonFactory,
    ServiceFactory,
    SuccessCriterionFactory,
    TimelineEventFactory,
    UserFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
PROBLEM = "application/problem+json"


# --- Helpers shared with the other API test modules ---------------------------------------------


def bearer(user, *, scope: str = "write") -> APIClient:
    """An API client that sends a fresh personal token of `user`."""
    _token, raw = token_create(user=user, name="tests", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def problem_type(response) -> str:
    assert response["Content-Type"] == PROBLEM, response.content
    return response.json()["type"].removeprefix("urn:hindsight:problem:")


def errors(response) -> dict:
    assert response.status_code == 400, response.content
    assert problem_type(response) == "validation-error"
    return response.json()["errors"]


def send_json(client: APIClient, method: str, url: str, body, **headers):
    """A request whose body is exactly `body`: a str is sent as is, anything else as JSON."""
    raw = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, data=raw, content_type="application/json", **headers)


def if_match(version: int | str) -> dict[str, str]:
    return {"HTTP_IF_MATCH": f'"{version}"' if isinstance(version, int) else version}


def etag_version(response) -> int:
    """The version an incident's ETag names: "7.<digest of the answer>", nothing else."""
    match = re.fullmatch(r'"([0-9]+)\.[0-9a-f]{16}"', response["ETag"])
    assert match is not None, response["ETag"]
    return int(match.group(1))


@pytest.fixture
def editor():
    return user_with_role("editor")


@pytest.fixture
def api(editor) -> APIClient:
    """An editor with a write token."""
    return bearer(editor)


@pytest.fixture
def incident():
    return IncidentFactory(number=12, title="Checkout is down", summary="It broke.")


def incident_url(incident: Incident, suffix: str = "") -> str:
    return f"{API}/incidents/{incident.reference}{suffix}"


def valid_incident_body(**overrides):
    service = ServiceFactory(slug="checkout")
    return {
        "service": service.slug,
        "title": "Payments fail",
        "severity": "sev2",
        "started_at": "2026-03-01T10:00:00Z",
        **overrides,
    }


# --- Reading incidents -------------------------------------------------------------------------


class TestIncidentList:
    def test_lists_incidents_newest_first_by_default(self, api):
        old = IncidentFactory(started_at=T0 - timedelta(days=2))
        new = IncidentFactory(started_at=T0)
        response = api.get(f"{API}/incidents")
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 2
        assert [row["reference"] for row in body["results"]] == [new.reference, old.reference]

    def test_a_row_holds_the_facts_but_not_the_prose(self, api, incident):
        row = api.get(f"{API}/incidents").json()["results"][0]
        assert row["reference"] == "INC-12"
        assert row["service"] == {"slug": incident.service.slug, "name": incident.service.name}
        assert row["started_at"] == "2026-01-02T06:02:00Z"
        assert row["resolved_at"] is None
        assert "summary" not in row

    def test_filters_by_status_severity_and_service(self, api):
        checkout = ServiceFactory(slug="checkout")
        wanted = IncidentFactory(service=checkout, severity="sev1", status="identified")
        IncidentFactory(service=checkout, severity="sev1")
        IncidentFactory(severity="sev1", status="identified")
        response = api.get(
            f"{API}/incidents", {"status": "identified", "severity": "sev1", "service": "checkout"}
        )
        assert [row["reference"] for row in response.json()["results"]] == [wanted.reference]

    def test_filters_by_start_time_half_open(self, api):
        IncidentFactory(number=1, started_at=T0 - timedelta(hours=1))
        IncidentFactory(number=2, started_at=T0)
        IncidentFactory(number=3, started_at=T0 + timedelta(hours=1))
        response = api.get(
            f"{API}/incidents",
            {"started_after": "2026-01-02T06:02:00Z", "started_before": "2026-01-02T07:02:00Z"},
        )
        assert [row["number"] for row in response.json()["results"]] == [2]

    def test_q_matches_every_word_of_the_title_in_any_case(self, api):
        IncidentFactory(number=1, title="Checkout worker missing")
        IncidentFactory(number=2, title="Checkout slow")
        search_documents_rebuild()  # what the refresh after each change does
        response = api.get(f"{API}/incidents", {"q": "WORKER checkout"})
        assert [row["number"] for row in response.json()["results"]] == [1]

    def test_ordering_can_be_asked_for(self, api):
        IncidentFactory(number=1, severity="sev3")
        IncidentFactory(number=2, severity="sev1")
        response = api.get(f"{API}/incidents", {"ordering": "severity"})
        assert [row["number"] for row in response.json()["results"]] == [2, 1]

    @pytest.mark.parametrize(
        ("param", "value"),
        [
            ("status", "exploded"),
            ("severity", "sev9"),
            ("started_after", "yesterday"),
            ("started_before", "2026-13-01T00:00:00Z"),
            ("q", "nul\x00byte"),
            ("page_size", "0"),
            ("status", ""),
            ("started_after", ""),
        ],
    )
    def test_an_invalid_filter_is_a_400_problem(self, api, param, value):
        response = api.get(f"{API}/incidents", {param: value})
        assert param in errors(response)

    def test_times_beyond_what_utc_holds_filter_as_before_or_after_everything(self, api):
        IncidentFactory()
        for params, count in [
            ({"started_after": "0001-01-01T00:00:00+01:00"}, 1),
            ({"started_before": "0001-01-01T00:00:00+01:00"}, 0),
            ({"started_after": "9999-12-31T23:00:00-05:00"}, 0),
            ({"started_before": "9999-12-31T23:00:00-05:00"}, 1),
            ({"started_after": "1066-10-14T09:00:00Z"}, 1),
        ]:
            response = api.get(f"{API}/incidents", params)
            assert response.status_code == 200, response.content
            assert response.json()["count"] == count, params

    def test_an_empty_text_filter_filters_nothing(self, api, incident):
        assert api.get(f"{API}/incidents", {"q": "", "service": ""}).json()["count"] == 1

    def test_a_page_past_the_end_is_a_404_problem(self, api, incident):
        response = api.get(f"{API}/incidents", {"page": 99})
        assert response.status_code == 404
        assert problem_type(response) == "not-found"

    def test_query_count_is_the_same_for_1_and_50_incidents(self, api):
        IncidentFactory()
        api.get(f"{API}/incidents")  # the token's first use is marked once; not part of the budget
        with CaptureQueriesContext(connection) as one:
            assert api.get(f"{API}/incidents").status_code == 200
        IncidentFactory.create_batch(49)
        with CaptureQueriesContext(connection) as fifty:
            response = api.get(f"{API}/incidents")
        assert response.json()["count"] == 50
        # token, user permissions, group permissions, count, page, the page's labels and
        # external references
        assert len(one) == len(fifty) == 7, [q["sql"] for q in fifty.captured_queries]


class TestIncidentDetail:
    @pytest.mark.parametrize("ref", ["INC-12", "inc-12", "Inc-12", "12"])
    def test_addressed_by_reference_in_any_case_or_by_number(self, api, incident, ref):
        response = api.get(f"{API}/incidents/{ref}")
        assert response.status_code == 200
        assert response.json()["reference"] == "INC-12"

    @pytest.mark.parametrize("ref", ["INC-13", "INC-", "INC-x", "13", "0x0C", "INC-99999999999"])
    def test_an_unknown_or_malformed_reference_is_a_404_problem(self, api, incident, ref):
        response = api.get(f"{API}/incidents/{ref}")
        assert response.status_code == 404
        assert problem_type(response) == "not-found"

    def test_answers_its_version_as_a_strong_etag(self, api, incident):
        response = api.get(incident_url(incident))
        assert etag_version(response) == 1
        assert response.json()["version"] == 1

    def test_embeds_every_section_of_the_post_mortem(self, api, incident):
        parent = CauseFactory(incident=incident, kind="primary", title="Worker missing")
        CauseFactory(incident=incident, parent=parent, title="Build step skipped")
        LessonFactory(incident=incident, text="Check the bundle.")
        owner = UserFactory(username="ana")
        ActionItemFactory(incident=incident, title="Add a check", owner=owner)
        SuccessCriterionFactory(incident=incident, text="The check runs")
        StatusItem.objects.create(incident=incident, kind="current", label="Site", ok=True)
        priority = PathPriority.objects.create(incident=incident, title="Guard the deploys")
        SolutionOption.objects.create(priority=priority, label="A", title="A CI step")
        FinalNote.objects.create(incident=incident, kind="learned", text="Much.")
        TimelineEventFactory(incident=incident, text="It broke.")

        body = api.get(incident_url(incident)).json()
        assert body["summary"] == "It broke."
        assert [c["title"] for c in body["causes"]] == ["Worker missing", "Build step skipped"]
        assert body["causes"][1]["parent"] == parent.pk
        assert body["lessons"][0]["text"] == "Check the bundle."
        assert body["action_items"][0]["owner"] == "ana"
        assert body["success_criteria"][0]["text"] == "The check runs"
        assert body["status_items"][0]["ok"] is True
        assert body["priorities"][0]["options"][0]["label"] == "A"
        assert body["final_notes"][0]["kind"] == "learned"
        assert body["timeline"][0]["text"] == "It broke."
        assert body["timeline_truncated"] is False
        assert body["communications"] == []

    def test_embeds_the_latest_timeline_events_and_links_the_whole_timeline(self, api, incident):
        TimelineEvent.objects.bulk_create(
            TimelineEvent(incident=incident, occurred_at=T0 + timedelta(minutes=i), text=str(i))
            for i in range(TIMELINE_EMBEDDED + 1)
        )
        body = api.get(incident_url(incident)).json()
        texts = [event["text"] for event in body["timeline"]]
        assert texts == [str(i) for i in range(1, TIMELINE_EMBEDDED + 1)]
        assert body["timeline_truncated"] is True
        assert body["timeline_url"] == f"http://testserver{incident_url(incident)}/timeline-events"
        assert api.get(body["timeline_url"]).status_code == 200

    def test_query_count_is_the_same_with_1_and_50_rows_in_every_section(self, api):
        def filled(rows: int) -> Incident:
            incident = IncidentFactory()
            owner = UserFactory()
            for i in range(rows):
                TimelineEventFactory(incident=incident, occurred_at=T0 + timedelta(minutes=i))
                parent = CauseFactory(incident=incident)
                CauseFactory(incident=incident, parent=parent)
                LessonFactory(incident=incident)
                ActionItemFactory(incident=incident, owner=owner)
                SuccessCriterionFactory(incident=incident)
                StatusItem.objects.create(incident=incident, kind="working", label=f"{i}")
                priority = PathPriority.objects.create(incident=incident, title=f"{i}")
                SolutionOption.objects.create(priority=priority, label="A", title="A")
                FinalNote.objects.create(incident=incident, kind="learned", text=f"{i}")
                incident.authors.add(UserFactory())
            return incident

        small, large = filled(1), filled(50)
        api.get(incident_url(small))  # marks the token used, once
        with CaptureQueriesContext(connection) as one:
            assert api.get(incident_url(small)).status_code == 200
        with CaptureQueriesContext(connection) as fifty:
            assert len(api.get(incident_url(large)).json()["lessons"]) == 50
        # token, 2 permissions, incident, 12 sections (authors, causes, lessons, items,
        # criteria, status, priorities, options, notes, communications, labels, external
        # references), timeline
        assert len(one) == len(fifty) == 17, [q["sql"] for q in fifty.captured_queries]


# --- Writing incidents -------------------------------------------------------------------------


class TestIncidentCreate:
    def test_declares_an_incident_with_its_location_and_etag(self, api, editor):
        body = valid_incident_body(summary="Cards *declined*.")
        response = send_json(api, "post", f"{API}/incidents", body)
        assert response.status_code == 201, response.content
        incident = Incident.objects.get()
        assert response["Location"] == f"http://testserver{incident_url(incident)}"
        assert etag_version(response) == 1
        data = response.json()
        assert data["reference"] == incident.reference
        assert data["status"] == "investigating"
        assert data["summary_html"] == "<p>Cards <em>declined</em>.</p>"
        assert incident.created_by == editor
        assert data["authors"] == [editor.username]

    def test_optional_fields_take_their_defaults(self, api):
        body = valid_incident_body()
        del body["severity"]
        data = send_json(api, "post", f"{API}/incidents", body).json()
        assert data["severity"] == "sev3"
        assert data["detected_at"] is None
        assert data["next_step"] == ""

    def test_an_unknown_service_is_a_field_error(self, api):
        response = send_json(api, "post", f"{API}/incidents", valid_incident_body(service="nope"))
        assert list(errors(response)) == ["service"]
        assert not Incident.objects.exists()


class TestIncidentEdit:
    def test_patch_changes_only_what_it_sends_and_bumps_the_etag(self, api, incident, editor):
        response = send_json(
            api, "patch", incident_url(incident), {"title": "Checkout down"}, **if_match(1)
        )
        assert response.status_code == 200, response.content
        assert etag_version(response) == 2
        assert response.json()["title"] == "Checkout down"
        incident.refresh_from_db()
        assert (incident.title, incident.summary, incident.version) == (
            "Checkout down",
            "It broke.",
            2,
        )
        assert incident.history.first().history_user == editor

    def test_put_replaces_every_editable_field(self, api, incident):
        body = {
            "service": incident.service.slug,
            "title": "Replaced",
            "started_at": "2026-01-02T06:00:00Z",
        }
        response = send_json(api, "put", incident_url(incident), body, **if_match(1))
        assert response.status_code == 200, response.content
        incident.refresh_from_db()
        assert incident.title == "Replaced"
        assert incident.summary == ""  # not sent: back to its default
        assert incident.severity == "sev3"

    def test_put_needs_the_required_fields(self, api, incident):
        response = send_json(api, "put", incident_url(incident), {"title": "x"}, **if_match(1))
        assert set(errors(response)) == {"service", "started_at"}

    def test_patch_can_move_the_incident_to_another_service(self, api, incident):
        ServiceFactory(slug="search")
        response = send_json(
            api, "patch", incident_url(incident), {"service": "search"}, **if_match(1)
        )
        assert response.json()["service"]["slug"] == "search"

    @pytest.mark.parametrize("method", ["patch", "put"])
    def test_a_write_without_if_match_is_428(self, api, incident, method):
        response = send_json(api, method, incident_url(incident), {"title": "x"})
        assert response.status_code == 428
        assert problem_type(response) == "precondition-required"
        incident.refresh_from_db()
        assert incident.version == 1

    @pytest.mark.parametrize(
        "header",
        [
            *("*", 'W/"1"', "1", '"a"', '"1", "2"', "", '"-1"', '"1', '""', '"\u0661"'),
            # The ETag's form with a digest that is not one the API answers.
            *('"1."', '"1.abc"', '".0123456789abcdef"', '"1.0123456789ABCDEF"'),
            *('"1.0123456789abcdef0"', 'W/"1.0123456789abcdef"'),
        ],
    )
    def test_a_malformed_if_match_is_400(self, api, incident, header):
        response = send_json(
            api, "patch", incident_url(incident), {"title": "x"}, **if_match(header)
        )
        assert response.status_code == 400
        assert problem_type(response) == "malformed-if-match"
        incident.refresh_from_db()
        assert incident.title == "Checkout is down"

    @pytest.mark.parametrize(
        "version",
        [2, 0, 99999999999, '"01"', '"' + "9" * 5000 + '"', '"2.0123456789abcdef"'],
    )
    def test_a_stale_if_match_is_412_with_the_current_version(self, api, incident, version):
        response = send_json(
            api, "patch", incident_url(incident), {"title": "Mine"}, **if_match(version)
        )
        assert response.status_code == 412
        assert problem_type(response) == "precondition-failed"
        assert response.json()["current_version"] == 1
        assert response["ETag"] == '"1"'
        incident.refresh_from_db()
        assert incident.title == "Checkout is down"

    def test_the_second_of_two_edits_from_one_read_is_412(self, api, incident):
        first = send_json(api, "patch", incident_url(incident), {"title": "A"}, **if_match(1))
        second = send_json(api, "patch", incident_url(incident), {"title": "B"}, **if_match(1))
        assert (first.status_code, second.status_code) == (200, 412)
        assert second.json()["current_version"] == 2

    def test_only_an_admin_may_delete_as_in_the_admin(self, api, incident):
        response = api.delete(incident_url(incident))
        assert response.status_code == 403
        assert problem_type(response) == "permission-denied"
        assert bearer(user_with_role("admin")).delete(incident_url(incident)).status_code == 204
        assert not Incident.objects.filter(pk=incident.pk).exists()


class TestTransitions:
    def test_resolve_stamps_the_time_and_writes_the_timeline(self, api, incident):
        response = send_json(
            api, "post", incident_url(incident, "/resolve"), {"resolved_at": "2026-01-02T06:18:00Z"}
        )
        assert response.status_code == 200, response.content
        data = response.json()
        assert data["status"] == "resolved"
        assert data["resolved_at"] == "2026-01-02T06:18:00Z"
        assert etag_version(response) == 2
        assert data["timeline"][-1]["kind"] == "resolved"

    def test_resolve_without_a_body_resolves_now(self, api, incident):
        response = api.post(incident_url(incident, "/resolve"))
        assert response.status_code == 200
        incident.refresh_from_db()
        assert incident.status == "resolved"
        assert incident.resolved_at is not None

    def test_resolve_refuses_a_time_before_the_start(self, api, incident):
        response = send_json(
            api, "post", incident_url(incident, "/resolve"), {"resolved_at": "2026-01-02T06:00:00Z"}
        )
        assert list(errors(response)) == ["resolved_at"]
        incident.refresh_from_db()
        assert incident.status == "investigating"
        assert not incident.timeline_events.exists()

    def test_postmortem_state_moves_the_post_mortem(self, api, incident):
        response = send_json(
            api, "post", incident_url(incident, "/postmortem-state"), {"state": "in_review"}
        )
        assert response.status_code == 200
        assert response.json()["postmortem_state"] == "in_review"

    @pytest.mark.parametrize(
        "body", [{"state": "done"}, {"state": 1}, {}, {"state": "draft", "x": 1}]
    )
    def test_postmortem_state_refuses_anything_but_a_state(self, api, incident, body):
        response = send_json(api, "post", incident_url(incident, "/postmortem-state"), body)
        assert errors(response)
        incident.refresh_from_db()
        assert incident.version == 1

    def test_transitions_need_the_change_permission_not_the_add_one(self, incident):
        adder = UserFactory(username="adder")
        group = Group.objects.create(name="adders")
        group.permissions.set(
            Permission.objects.filter(codename__in=["view_incident", "add_incident"])
        )
        adder.groups.add(group)
        response = bearer(adder).post(incident_url(incident, "/resolve"))
        assert response.status_code == 403
        assert problem_type(response) == "permission-denied"


# --- Who may ------------------------------------------------------------------------------------


class TestAccess:
    @pytest.mark.parametrize(
        "path", ["/incidents", "/incidents/INC-12", "/incidents/INC-12/causes"]
    )
    def test_anonymous_gets_401(self, incident, path):
        response = APIClient().get(API + path)
        assert response.status_code == 401
        assert problem_type(response) == "not-authenticated"

    @pytest.fixture
    def writes(self, incident):
        """Every kind of write, as (method, path, body, headers)."""
        item = ActionItemFactory(incident=incident)
        cause = CauseFactory(incident=incident)
        return [
            ("post", "/incidents", valid_incident_body(), {}),
            ("patch", "/incidents/INC-12", {"title": "x"}, if_match(1)),
            ("put", "/incidents/INC-12", valid_incident_body(), if_match(1)),
            ("post", "/incidents/INC-12/resolve", {}, {}),
            ("post", "/incidents/INC-12/postmortem-state", {"state": "published"}, {}),
            (
                "post",
                "/incidents/INC-12/timeline-events",
                {"occurred_at": "2026-01-02T06:05:00Z", "text": "x"},
                {},
            ),
            ("post", "/incidents/INC-12/causes", {"title": "x"}, {}),
            ("patch", f"/incidents/INC-12/causes/{cause.pk}", {"title": "x"}, {}),
            ("delete", f"/incidents/INC-12/causes/{cause.pk}", None, {}),
            ("post", "/incidents/INC-12/action-items", {"title": "x"}, {}),
            ("post", f"/action-items/{item.pk}/complete", None, {}),
            ("post", f"/action-items/{item.pk}/reopen", None, {}),
        ]

    def _send(self, client, method, path, body, headers):
        if body is None:
            return getattr(client, method)(API + path, **headers)
        return send_json(client, method, API + path, body, **headers)

    def test_a_read_token_gets_403_on_every_write(self, editor, incident, writes):
        client = bearer(editor, scope="read")
        for method, path, body, headers in writes:
            response = self._send(client, method, path, body, headers)
            assert response.status_code == 403, (method, path, response.content)
            assert "read scope" in response.json()["detail"]
        incident.refresh_from_db()
        assert (incident.version, Incident.objects.count(), Cause.objects.count()) == (1, 1, 1)

    def test_a_read_token_reads(self, editor, incident):
        assert bearer(editor, scope="read").get(incident_url(incident)).status_code == 200

    def test_a_viewer_reads_but_gets_403_on_every_write(self, incident, writes):
        client = bearer(user_with_role("viewer"))
        assert client.get(incident_url(incident)).status_code == 200
        assert client.get(incident_url(incident, "/causes")).status_code == 200
        for method, path, body, headers in writes:
            response = self._send(client, method, path, body, headers)
            assert response.status_code == 403, (method, path, response.content)
            assert problem_type(response) == "permission-denied"
        assert Incident.objects.count() == 1


# --- Bad input ---------------------------------------------------------------------------------


class TestBadInput:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("title", 12),
            ("title", True),
            ("title", ["x"]),
            ("title", None),
            ("title", ""),
            ("title", "x" * 201),
            ("service", 7),
            ("severity", 1),
            ("severity", "SEV1"),
            ("started_at", 1767333720),
            ("started_at", "yesterday"),
            ("started_at", "2026-02-30T00:00:00Z"),
            ("summary", True),
            ("summary", {"text": "x"}),
            ("detected_at", 5),
        ],
    )
    def test_wrong_types_and_values_are_field_errors(self, api, field, value):
        response = send_json(api, "post", f"{API}/incidents", valid_incident_body(**{field: value}))
        assert list(errors(response)) == [field]
        assert not Incident.objects.exists()

    def test_unknown_fields_are_refused_and_listed(self, api):
        body = valid_incident_body(severty="sev1", version=9, status="resolved")
        response = send_json(api, "post", f"{API}/incidents", body)
        assert set(errors(response)) == {"severty", "version", "status"}
        assert not Incident.objects.exists()

    def test_unknown_fields_are_refused_on_patch_too(self, api, incident):
        response = send_json(
            api, "patch", incident_url(incident), {"number": 1, "reference": "INC-1"}, **if_match(1)
        )
        assert set(errors(response)) == {"number", "reference"}
        incident.refresh_from_db()
        assert incident.version == 1

    @pytest.mark.parametrize("field", ["title", "summary", "status_line", "service"])
    def test_nul_bytes_are_refused(self, api, field):
        response = send_json(
            api, "post", f"{API}/incidents", valid_incident_body(**{field: "a\x00b"})
        )
        assert list(errors(response)) == [field]
        assert not Incident.objects.exists()

    def test_a_lone_surrogate_is_refused_not_a_crash(self, api):
        raw = json.dumps(valid_incident_body()).replace('"Payments fail"', '"\\ud800"')
        response = send_json(api, "post", f"{API}/incidents", raw)
        assert list(errors(response)) == ["title"]
        unknown_key = json.dumps(valid_incident_body())[:-1] + ', "\\udfff": 1}'
        response = send_json(api, "post", f"{API}/incidents", unknown_key)
        assert response.status_code == 400
        assert list(errors(response)) == ["\\udfff"]

    @pytest.mark.parametrize(
        "value",
        [
            "1969-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:00:00-05:00",
            "10000-01-01T00:00:00Z",
        ],
    )
    def test_times_before_1970_or_after_9999_are_field_errors(self, api, value):
        response = send_json(api, "post", f"{API}/incidents", valid_incident_body(started_at=value))
        assert list(errors(response)) == ["started_at"]

    def test_the_last_moment_of_9999_is_accepted(self, api):
        body = valid_incident_body(started_at="9999-12-31T23:59:59Z")
        assert send_json(api, "post", f"{API}/incidents", body).status_code == 201

    def test_detection_before_the_start_is_a_field_error(self, api):
        body = valid_incident_body(detected_at="2026-03-01T09:59:00Z")
        assert list(errors(send_json(api, "post", f"{API}/incidents", body))) == ["detected_at"]

    def test_resolution_before_the_start_is_a_field_error(self, api, incident):
        response = send_json(
            api,
            "patch",
            incident_url(incident),
            {"resolved_at": "2026-01-01T00:00:00Z"},
            **if_match(1),
        )
        assert list(errors(response)) == ["resolved_at"]
        incident.refresh_from_db()
        assert incident.resolved_at is None
        assert incident.version == 1

    def test_moving_the_start_after_the_resolution_names_the_start(self, api, incident):
        incident.resolved_at = T0 + timedelta(minutes=10)
        incident.save()
        response = send_json(
            api,
            "patch",
            incident_url(incident),
            {"started_at": "2026-01-02T07:00:00Z"},
            **if_match(1),
        )
        assert list(errors(response)) == ["started_at"]

    def test_an_end_for_an_open_incident_is_refused_naming_the_resolve_action(self, api, incident):
        """Status and times move together: an open incident never carries an end."""
        response = send_json(
            api,
            "patch",
            incident_url(incident),
            {"resolved_at": "2026-01-02T06:18:00Z"},
            **if_match(1),
        )
        assert response.status_code == 400
        assert "/resolve" in " ".join(errors(response)["resolved_at"])
        incident.refresh_from_db()
        assert (incident.status, incident.resolved_at, incident.version) == (
            "investigating",
            None,
            1,
        )

    def test_a_resolved_incident_keeps_its_resolution_time(self, api, incident):
        incident.status, incident.resolved_at = "resolved", T0 + timedelta(minutes=10)
        incident.save()
        response = send_json(
            api, "patch", incident_url(incident), {"resolved_at": None}, **if_match(1)
        )
        assert list(errors(response)) == ["resolved_at"]

    @pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "42", "null"])
    def test_a_body_that_is_not_an_object_is_a_400(self, api, raw):
        response = send_json(api, "post", f"{API}/incidents", raw)
        assert response.status_code == 400
        assert problem_type(response) == "validation-error"

    @pytest.mark.parametrize("raw", ["{", '{"title": NaN}', "\x00"])
    def test_a_body_that_is_not_json_is_a_400(self, api, raw):
        response = send_json(api, "post", f"{API}/incidents", raw)
        assert response.status_code == 400
        assert problem_type(response) == "malformed-request"

    def test_a_form_body_is_415(self, api):
        response = api.post(f"{API}/incidents", {"title": "x"})  # multipart
        assert response.status_code == 415
        assert problem_type(response) == "unsupported-media-type"

    def test_markdown_longer_than_the_limit_is_a_field_error(self, api):
        body = valid_incident_body(summary="x" * (s.MARKDOWN_MAX_LENGTH + 1))
        assert list(errors(send_json(api, "post", f"{API}/incidents", body))) == ["summary"]


# --- Rows of the sections ------------------------------------------------------------------------

# Per section: the URL segment, the model, a valid body, a partial change (field, value).
SECTIONS = [
    pytest.param(
        "timeline-events",
        TimelineEvent,
        {"occurred_at": "2026-01-02T06:05:00Z", "kind": "detected", "text": "Alert fired."},
        ("text", "Pager fired."),
        id="timeline",
    ),
    pytest.param(
        "causes",
        Cause,
        {"kind": "primary", "title": "Worker missing", "detail": "The *build* skipped it."},
        ("title", "Worker file missing"),
        id="causes",
    ),
    pytest.param(
        "lessons",
        Lesson,
        {"kind": "went_right", "text": "Rollback was quick."},
        ("text", "Rollback took a minute."),
        id="lessons",
    ),
    pytest.param(
        "action-items",
        ActionItem,
        {"title": "Check the bundle", "priority": "p1", "due_date": "2026-02-01"},
        ("blocks_deployments", True),
        id="action-items",
    ),
    pytest.param(
        "success-criteria",
        SuccessCriterion,
        {"group": "today", "text": "Deploys check the bundle"},
        ("text", "Every deploy checks the bundle"),
        id="criteria",
    ),
]


class TestSectionRows:
    @pytest.mark.parametrize(("segment", "model", "body", "change"), SECTIONS)
    def test_full_crud(self, api, editor, incident, segment, model, body, change):
        url = incident_url(incident, f"/{segment}")
        created = send_json(api, "post", url, body)
        assert created.status_code == 201, created.content
        row = model.objects.get()
        assert row.incident == incident
        assert created["Location"] == f"http://testserver{url}/{row.pk}"
        assert created.json()["id"] == row.pk

        listed = api.get(url).json()
        assert [r["id"] for r in listed["results"]] == [row.pk]
        assert api.get(f"{url}/{row.pk}").json() == created.json()

        assert created["ETag"] == '"1"'
        field, value = change
        patched = send_json(
            api, "patch", f"{url}/{row.pk}", {field: value}, HTTP_IF_MATCH=created["ETag"]
        )
        assert patched.status_code == 200, patched.content
        assert patched.json()[field] == value
        row.refresh_from_db()
        assert getattr(row, field) == value

        replaced = send_json(api, "put", f"{url}/{row.pk}", body, HTTP_IF_MATCH=patched["ETag"])
        assert replaced.status_code == 200, replaced.content
        row.refresh_from_db()
        assert getattr(row, field) != value  # back to the body's (or the default) value

        assert api.delete(f"{url}/{row.pk}", HTTP_IF_MATCH=replaced["ETag"]).status_code == 204
        assert not model.objects.exists()
        assert api.get(f"{url}/{row.pk}").status_code == 404
        incident.refresh_from_db()
        assert incident.version == 1  # rows never touch the incident's version

    def test_markdown_is_rendered_on_save(self, api, incident):
        response = send_json(
            api, "post", incident_url(incident, "/causes"), {"title": "x", "detail": "**bold**"}
        )
        assert response.json()["detail_html"] == "<p><strong>bold</strong></p>"

    def test_a_new_row_goes_to_the_end_of_its_section(self, api, incident):
        url = incident_url(incident, "/lessons")
        for text in ("one", "two"):
            send_json(api, "post", url, {"kind": "lucky", "text": text})
        assert [r["order"] for r in api.get(url).json()["results"]] == [0, 1]

    def test_the_timeline_records_who_wrote_an_event(self, api, editor, incident):
        body = {"occurred_at": "2026-01-02T06:05:00Z", "text": "x"}
        data = send_json(api, "post", incident_url(incident, "/timeline-events"), body).json()
        assert (data["created_by"], data["source"], data["kind"]) == (
            editor.username,
            "manual",
            "note",
        )

    @pytest.mark.parametrize(
        "segment", ["timeline-events", "causes", "lessons", "action-items", "success-criteria"]
    )
    def test_a_row_of_another_incident_is_404(self, api, incident, segment):
        other = IncidentFactory()
        row = {
            "timeline-events": TimelineEventFactory,
            "causes": CauseFactory,
            "lessons": LessonFactory,
            "action-items": ActionItemFactory,
            "success-criteria": SuccessCriterionFactory,
        }[segment](incident=other)
        url = incident_url(incident, f"/{segment}/{row.pk}")
        assert api.get(url).status_code == 404
        response = send_json(api, "patch", url, {})
        assert response.status_code == 404
        assert problem_type(response) == "not-found"
        assert api.delete(url).status_code == 404
        assert type(row)._default_manager.filter(pk=row.pk).exists()

    @pytest.mark.parametrize("pk", ["99999999999", "999999999999999999", "0"])
    def test_an_id_no_row_can_have_is_404(self, api, incident, pk):
        assert api.get(incident_url(incident, f"/causes/{pk}")).status_code == 404

    def test_rows_of_an_unknown_incident_are_404(self, api):
        response = api.get(f"{API}/incidents/INC-404/causes")
        assert response.status_code == 404
        assert problem_type(response) == "not-found"

    def test_a_cause_nests_only_under_a_top_level_cause_of_the_same_incident(self, api, incident):
        url = incident_url(incident, "/causes")
        top = CauseFactory(incident=incident)
        nested = CauseFactory(incident=incident, parent=top)
        elsewhere = CauseFactory()
        for parent in (nested.pk, elsewhere.pk, 99999999999, "1", True):
            response = send_json(api, "post", url, {"title": "x", "parent": parent})
            assert list(errors(response)) == ["parent"], parent
        assert send_json(api, "post", url, {"title": "x", "parent": top.pk}).status_code == 201
        # ... and never under itself, nor while rows are nested under it
        response = send_json(api, "patch", f"{url}/{top.pk}", {"parent": top.pk}, **if_match(1))
        assert list(errors(response)) == ["parent"]
        other_top = CauseFactory(incident=incident)
        response = send_json(
            api, "patch", f"{url}/{top.pk}", {"parent": other_top.pk}, **if_match(1)
        )
        assert list(errors(response)) == ["parent"]

    def test_a_deployment_must_be_of_the_incidents_service(self, api, incident):
        ours = DeploymentFactory(environment=EnvironmentFactory(service=incident.service))
        theirs = DeploymentFactory()
        url = incident_url(incident, "/causes")
        response = send_json(api, "post", url, {"title": "x", "deployment": theirs.pk})
        assert list(errors(response)) == ["deployment"]
        response = send_json(api, "post", url, {"title": "x", "deployment": ours.pk})
        assert response.json()["deployment"] == ours.pk

    def test_ticking_a_criterion_stamps_when(self, api, incident):
        criterion = SuccessCriterionFactory(incident=incident)
        url = incident_url(incident, f"/success-criteria/{criterion.pk}")
        data = send_json(api, "patch", url, {"done": True}, **if_match(1)).json()
        assert data["done"] is True
        assert data["done_at"] is not None
        data = send_json(api, "patch", url, {"done": False}, **if_match(data["version"])).json()
        assert (data["done"], data["done_at"]) == (False, None)

    @pytest.mark.parametrize(
        ("segment", "body", "field"),
        [
            (
                "timeline-events",
                {"occurred_at": "1969-07-20T20:17:00Z", "text": "x"},
                "occurred_at",
            ),
            ("timeline-events", {"occurred_at": "2026-01-02T06:05:00Z", "text": ""}, "text"),
            ("timeline-events", {"occurred_at": "2026-01-02T06:05:00Z", "text": 5}, "text"),
            ("timeline-events", {"occurred_at": "2026-01-02T06:05:00Z", "text": "\x00"}, "text"),
            (
                "timeline-events",
                {"occurred_at": "2026-01-02T06:05:00Z", "text": "x", "source": "system"},
                "source",
            ),
            ("causes", {"title": "x", "kind": "root"}, "kind"),
            ("lessons", {"text": "x"}, "kind"),
            ("action-items", {"title": "x", "due_date": "1969-12-31"}, "due_date"),
            ("action-items", {"title": "x", "due_date": "2026-01-02T00:00:00Z"}, "due_date"),
            ("action-items", {"title": "x", "blocks_deployments": "true"}, "blocks_deployments"),
            ("action-items", {"title": "x", "owner": "nobody"}, "owner"),
            ("action-items", {"title": "x", "status": "done"}, "status"),
            ("success-criteria", {"text": "x", "done": 1}, "done"),
        ],
    )
    def test_bad_row_input_is_a_field_error(self, api, incident, segment, body, field):
        response = send_json(api, "post", incident_url(incident, f"/{segment}"), body)
        assert list(errors(response)) == [field]
        assert not incident.timeline_events.exists()

    def test_an_action_item_is_given_to_a_person_by_username(self, api, incident):
        UserFactory(username="ana")
        response = send_json(
            api, "post", incident_url(incident, "/action-items"), {"title": "x", "owner": "ana"}
        )
        assert response.json()["owner"] == "ana"
        owner = ActionItem.objects.get().owner
        assert owner is not None
        assert owner.username == "ana"

    def test_the_timeline_is_cursor_paginated_in_time_order(self, api, incident):
        TimelineEvent.objects.bulk_create(
            TimelineEvent(incident=incident, occurred_at=T0 - timedelta(minutes=i), text=str(i))
            for i in range(5)
        )
        url = incident_url(incident, "/timeline-events")
        first = api.get(url, {"page_size": 3}).json()
        assert [e["text"] for e in first["results"]] == ["4", "3", "2"]
        second = api.get(first["next"]).json()
        assert [e["text"] for e in second["results"]] == ["1", "0"]
        assert second["next"] is None

    def test_a_garbled_cursor_is_a_404_problem(self, api, incident):
        response = api.get(incident_url(incident, "/timeline-events"), {"cursor": "garbage"})
        assert response.status_code == 404
        assert problem_type(response) == "not-found"

    def test_timeline_list_query_count_is_the_same_for_1_and_50_events(self, api, incident):
        url = incident_url(incident, "/timeline-events")
        author = UserFactory()
        TimelineEventFactory(incident=incident, created_by=author)
        api.get(url)
        with CaptureQueriesContext(connection) as one:
            api.get(url)
        TimelineEventFactory.create_batch(49, incident=incident, created_by=author)
        with CaptureQueriesContext(connection) as fifty:
            assert len(api.get(url).json()["results"]) == 50
        # token, 2 permissions, incident, page
        assert len(one) == len(fifty) == 5, [q["sql"] for q in fifty.captured_queries]


# --- Idempotent posts --------------------------------------------------------------------------


class TestIdempotentTimelinePosts:
    BODY = {"occurred_at": "2026-01-02T06:05:00Z", "text": "Rolled back."}

    def test_a_retry_replays_the_first_answer_byte_for_byte_and_adds_nothing(self, api, incident):
        url = incident_url(incident, "/timeline-events")
        first = send_json(api, "post", url, self.BODY, HTTP_IDEMPOTENCY_KEY="retry-1")
        again = send_json(api, "post", url, self.BODY, HTTP_IDEMPOTENCY_KEY="retry-1")
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again["Location"] == first["Location"]
        assert again["Idempotent-Replayed"] == "true"
        assert incident.timeline_events.count() == 1

    def test_the_same_key_with_another_body_is_422(self, api, incident):
        url = incident_url(incident, "/timeline-events")
        send_json(api, "post", url, self.BODY, HTTP_IDEMPOTENCY_KEY="retry-2")
        other = send_json(
            api, "post", url, {**self.BODY, "text": "Other"}, HTTP_IDEMPOTENCY_KEY="retry-2"
        )
        assert other.status_code == 422
        assert problem_type(other) == "idempotency-key-reused"
        assert incident.timeline_events.count() == 1

    def test_without_a_key_every_post_adds_a_row(self, api, incident):
        url = incident_url(incident, "/timeline-events")
        send_json(api, "post", url, self.BODY)
        send_json(api, "post", url, self.BODY)
        assert incident.timeline_events.count() == 2

    def test_action_item_posts_are_idempotent_too(self, api, incident):
        url = incident_url(incident, "/action-items")
        for _ in range(3):
            response = send_json(api, "post", url, {"title": "x"}, HTTP_IDEMPOTENCY_KEY="item-1")
            assert response.status_code == 201
        assert incident.action_items.count() == 1


# --- The read shapes match their schema ---------------------------------------------------------


@pytest.mark.parametrize(
    ("serializer", "row"),
    [
        (s.IncidentListSerializer, lambda: IncidentFactory()),
        (s.TimelineEventSerializer, lambda: TimelineEventFactory()),
        (s.CauseSerializer, lambda: CauseFactory()),
        (s.LessonSerializer, lambda: LessonFactory()),
        (s.ActionItemSerializer, lambda: ActionItemFactory()),
        (s.ActionItemListSerializer, lambda: ActionItemFactory()),
        (s.SuccessCriterionSerializer, lambda: SuccessCriterionFactory()),
        (
            s.StatusItemSerializer,
            lambda: StatusItem.objects.create(
                incident=IncidentFactory(), kind="current", label="x"
            ),
        ),
        (
            s.FinalNoteSerializer,
            lambda: FinalNote.objects.create(incident=IncidentFactory(), kind="learned", text="x"),
        ),
        (
            s.SolutionOptionSerializer,
            lambda: SolutionOption.objects.create(
                priority=PathPriority.objects.create(incident=IncidentFactory(), title="x"),
                label="A",
                title="x",
            ),
        ),
        (
            s.PathPrioritySerializer,
            lambda: PathPriority.objects.create(incident=IncidentFactory(), title="x"),
        ),
    ],
)
def test_each_hand_built_row_has_exactly_its_declared_fields(serializer, row):
    data = serializer(row()).data
    assert set(data) == set(serializer().fields)


def test_the_detail_has_exactly_its_declared_fields(api, incident):
    data = api.get(incident_url(incident)).json()
    assert set(data) == set(s.IncidentDetailSerializer().fields)


# --- Every answer on real rows matches the OpenAPI schema --------------------------------------


@pytest.fixture(scope="module")
def openapi():
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


def assert_documented(openapi, template: str, method: str, url: str, response) -> None:
    """The answer is one the schema documents for this operation: status, headers, body."""
    answer = schemathesis.Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.items()},
        content=response.content,
        request=requests.Request(method, f"http://testserver{url}").prepare(),
        elapsed=0.0,
        verify=True,
    )
    openapi[template][method].validate_response(answer)


def test_answers_on_real_rows_match_the_schema(api, openapi, editor):
    incident = IncidentFactory(
        number=12, detected_at=T0 + timedelta(minutes=1), mitigated_at=T0 + timedelta(minutes=9)
    )
    incident.authors.add(editor)
    TimelineEventFactory(incident=incident, created_by=editor)
    CauseFactory(incident=incident, parent=CauseFactory(incident=incident))
    LessonFactory(incident=incident)
    item = ActionItemFactory(incident=incident, owner=editor, due_date=T0.date())
    SuccessCriterionFactory(incident=incident, done=True, done_at=T0)
    StatusItem.objects.create(incident=incident, kind="current", label="Site", ok=None)
    priority = PathPriority.objects.create(incident=incident, title="Guard")
    SolutionOption.objects.create(priority=priority, label="A", title="CI step")
    FinalNote.objects.create(incident=incident, kind="learned", text="Much.")

    ref, inc = "/api/v1/incidents/{ref}", incident_url(incident)
    nested = "/api/v1/incidents/{incident_ref}"
    calls = [
        ("GET", "/api/v1/incidents", f"{API}/incidents", None, {}),
        ("GET", "/api/v1/incidents", f"{API}/incidents?status=nope", None, {}),
        ("GET", ref, inc, None, {}),
        ("GET", ref, f"{API}/incidents/INC-99", None, {}),
        ("POST", "/api/v1/incidents", f"{API}/incidents", valid_incident_body(), {}),
        ("POST", "/api/v1/incidents", f"{API}/incidents", {"title": 1}, {}),
        ("PATCH", ref, inc, {"summary": "New."}, if_match(1)),
        ("PATCH", ref, inc, {"summary": "Old."}, if_match(1)),
        ("PATCH", ref, inc, {"summary": "Old."}, {}),
        ("PATCH", ref, inc, {"summary": "Old."}, if_match("*")),
        ("PUT", ref, inc, valid_incident_body(), if_match(2)),
        ("POST", f"{ref}/postmortem-state", f"{inc}/postmortem-state", {"state": "in_review"}, {}),
        ("POST", f"{ref}/resolve", f"{inc}/resolve", {}, {}),
        ("GET", "/api/v1/action-items", f"{API}/action-items", None, {}),
        ("GET", "/api/v1/action-items/{id}", f"{API}/action-items/{item.pk}", None, {}),
        (
            "POST",
            "/api/v1/action-items/{id}/complete",
            f"{API}/action-items/{item.pk}/complete",
            None,
            {},
        ),
        (
            "POST",
            "/api/v1/action-items/{id}/reopen",
            f"{API}/action-items/{item.pk}/reopen",
            None,
            {},
        ),
    ]
    for param in SECTIONS:
        # pytest types a param's values as objects; these are SECTIONS' own.
        segment, _model, body, (field, value) = param.values  # type: ignore[misc]
        many, one = f"{nested}/{segment}", f"{nested}/{segment}/{{id}}"
        created = send_json(api, "post", f"{inc}/{segment}", body)
        row = f"{inc}/{segment}/{created.json()['id']}"
        calls += [
            ("GET", many, f"{inc}/{segment}", None, {}),
            ("POST", many, f"{inc}/{segment}", {"nope": 1}, {}),
            ("GET", one, row, None, {}),
            ("PATCH", one, row, {field: value}, {}),
            ("PUT", one, row, body, {}),
            ("DELETE", one, row, None, {}),
            ("GET", one, row, None, {}),
        ]
    for method, template, url, body, headers in calls:
        if body is None:
            response = getattr(api, method.lower())(url, **headers)
        else:
            response = send_json(api, method.lower(), url, body, **headers)
        assert response.status_code < 500
        assert_documented(openapi, template, method, url, response)
