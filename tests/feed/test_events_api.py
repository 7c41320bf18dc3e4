"""GET /api/v1/events, and the events the services record: their `data` is the subject as its
API detail shows it (compared field by field, so the two cannot drift), who acted is the token's
name, and a stale cursor is a 410 problem."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.roles import Role
from deployments.services import change_record, deployment_record, gate_evaluate
from feed.kinds import EventKind
from feed.models import FeedEvent
from feed.services import feed_purge, feed_record
from incidents.postmortem import services
from tests.api.test_incidents_api import API, bearer, errors, problem_type
from tests.factories import (
    ActionItemFactory,
    EnvironmentFactory,
    ServiceFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

EVENTS = f"{API}/events"


def _same(ours: Any, theirs: Any) -> bool:
    # Times are formatted in the reader's zone by the API and in UTC by the feed: same moment.
    if isinstance(ours, str) and isinstance(theirs, str) and ours.endswith("Z"):
        try:
            return datetime.fromisoformat(ours) == datetime.fromisoformat(theirs)
        except ValueError:
            pass
    return ours == theirs


def assert_shared_fields_equal(data: dict[str, Any], detail: dict[str, Any]) -> None:
    shared = set(data) & set(detail)
    assert len(shared) >= len(data) - 2, sorted(set(data) - set(detail))
    differ = {k: (data[k], detail[k]) for k in shared if not _same(data[k], detail[k])}
    assert not differ


def _last(kind: str) -> FeedEvent:
    return FeedEvent.objects.filter(kind=kind).latest("id")


@pytest.fixture
def editor():
    return user_with_role(Role.EDITOR)


def test_each_subjects_data_equals_its_api_detail_in_every_field_they_share(editor):
    api = bearer(editor)
    incident = services.incident_create(
        service=ServiceFactory(), title="Orders stall", started_at=timezone.now(), created_by=editor
    )
    item = services.part_save(
        row=ActionItemFactory.build(incident=incident, owner=editor, title="Alert"), user=editor
    )
    services.action_item_complete(item=item, user=editor)

    detail = api.get(f"{API}/incidents/{incident.reference}").json()
    assert_shared_fields_equal(_last("incident.updated").data, detail)
    item_detail = next(row for row in detail["action_items"] if row["id"] == item.pk)
    assert_shared_fields_equal(_last("action_item.completed").data, item_detail)
    listed = api.get(f"{API}/action-items").json()["results"][0]
    assert_shared_fields_equal(_last("action_item.completed").data, listed)

    environment = EnvironmentFactory()
    deployment, _ = deployment_record(
        environment=environment, external_id="build-9", commit_sha="a" * 40, status="succeeded"
    )
    assert_shared_fields_equal(
        _last("deployment.finished").data, api.get(f"{API}/deployments/{deployment.pk}").json()
    )
    change, _ = change_record(service=environment.service, kind="config", summary="Pool 20")
    assert_shared_fields_equal(
        _last("change.recorded").data, api.get(f"{API}/changes/{change.pk}").json()
    )
    run = gate_evaluate(
        service=environment.service, environment=environment, commit_sha="b" * 40, manifest=[]
    )
    assert_shared_fields_equal(
        _last("gate.passed").data, api.get(f"{API}/gate-runs/{run.pk}").json()
    )


def test_the_feed_lists_changes_in_order_naming_the_token_that_made_them(editor):
    service = ServiceFactory(slug="shop")
    api = bearer(editor)  # its token is named "tests"
    made = api.post(
        f"{API}/incidents",
        {"service": "shop", "title": "Search is slow", "started_at": "2026-03-11T09:00:00Z"},
        format="json",
    )
    reference = made.json()["reference"]
    services.incident_set_status(
        incident=services.incident_create(
            service=service, title="Other", started_at=timezone.now(), created_by=editor
        ),
        status="resolved",
        user=editor,
    )
    body = api.get(EVENTS).json()
    kinds = [(e["kind"], e["subject_id"], e["actor"]) for e in body["results"]]
    assert kinds[0] == ("incident.declared", reference, "tests")
    assert ("incident.resolved", "INC-2", editor.username) in kinds
    positions = [e["position"] for e in body["results"]]
    assert positions == sorted(positions)
    assert body["next"] == str(positions[-1])

    only = api.get(EVENTS, {"kind": "incident.resolved", "incident": "INC-2"}).json()
    assert [e["kind"] for e in only["results"]] == ["incident.resolved"]
    assert api.get(EVENTS, {"after": body["next"]}).json()["results"] == []


def test_a_viewer_reads_the_feed_and_a_stranger_does_not():
    assert bearer(user_with_role(Role.VIEWER), scope="read").get(EVENTS).status_code == 200
    assert APIClient().get(EVENTS).status_code == 401


def test_an_unknown_parameter_or_a_bad_value_is_a_400_naming_what_is_allowed(editor):
    api = bearer(editor)
    found = errors(api.get(EVENTS, {"since": "5"}))
    assert "after, incident, kind, limit" in found["since"][0]
    assert "kind" in errors(api.get(EVENTS, {"kind": "incident.exploded"}))
    assert "after" in errors(api.get(EVENTS, {"after": "-1"}))


def test_a_cursor_older_than_the_oldest_kept_event_answers_410_with_where_to_go_on(
    editor, settings
):
    api = bearer(editor)
    for title in ("One", "Two"):
        services.incident_create(
            service=ServiceFactory(), title=title, started_at=timezone.now(), created_by=editor
        )
    FeedEvent.objects.filter(data__title="One").update(
        occurred_at=timezone.now() - timedelta(days=settings.HINDSIGHT_FEED_RETENTION_DAYS + 1)
    )
    api.get(EVENTS)  # sequenced
    assert feed_purge() == 1
    response = api.get(EVENTS, {"after": "0"})
    assert response.status_code == 410
    assert problem_type(response) == "cursor-expired"
    assert "Resynchronise from the lists" in response.json()["detail"]
    latest = response.json()["next"]
    assert api.get(EVENTS, {"after": latest}).json()["results"] == []
    assert [e["data"]["title"] for e in api.get(EVENTS).json()["results"]] == ["Two"]


@pytest.mark.parametrize("rows", [1, 50])
def test_a_page_of_the_feed_costs_the_same_queries_for_1_and_50_events(
    editor, rows, django_assert_num_queries
):
    api = bearer(editor)
    for n in range(rows):
        feed_record(kind=EventKind.CHANGE_RECORDED, subject_id=n, data={"id": n})
    api.get(EVENTS)  # sequenced once; what follows is a reader's steady state
    # The token with its user (1) and the role's permissions (2); is anything waiting for a
    # position (1), the clock (1) and the page (1).
    with django_assert_num_queries(6):
        response = api.get(EVENTS)
    assert len(response.json()["results"]) == rows


def test_the_openapi_document_describes_the_feed_its_cursor_and_its_410():
    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/events"][
        "get"
    ]
    assert {p["name"] for p in operation["parameters"]} >= {"after", "kind", "incident", "limit"}
    assert {"200", "400", "410"} <= set(operation["responses"])
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page.endswith("/FeedPage")
