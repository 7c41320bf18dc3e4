"""Real concurrency through the API on PostgreSQL: threads, each with its own connection.

N writers PATCH one incident with the same If-Match: the compare-and-set lets exactly one win
each version. Many POSTs of one timeline event with one Idempotency-Key create one row.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from rest_framework.test import APIClient

from api.tokens import token_create
from incidents.models import TimelineEvent
from tests.factories import IncidentFactory, user_with_role
from tests.helpers import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 8


@pytest.fixture
def raw_token() -> str:
    _token, raw = token_create(user=user_with_role("editor"), name="threads", scope="write")
    return raw


def client(raw_token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    return api


def test_of_n_writers_with_one_if_match_exactly_one_wins_each_version(raw_token):
    incident = IncidentFactory()
    url = f"/api/v1/incidents/{incident.reference}"

    for version in (1, 2, 3):

        def patch(i: int, version: int = version) -> int:
            response = client(raw_token).patch(
                url,
                data=json.dumps({"summary": f"version {version}, writer {i}"}),
                content_type="application/json",
                HTTP_IF_MATCH=f'"{version}"',
            )
            if response.status_code == 412:
                assert response.json()["current_version"] == version + 1
            return response.status_code

        results = run_in_threads(WRITERS, patch)
        assert sorted(results, key=str) == [200] + [412] * (WRITERS - 1), results
        incident.refresh_from_db()
        assert incident.version == version + 1
        assert incident.summary.startswith(f"version {version}, writer ")
    # One change in the history per win, none for the refused writers.
    assert incident.history.filter(history_type="~").count() == 3


def test_one_idempotency_key_makes_one_timeline_event_under_50_concurrent_and_100_more(
    raw_token,
):
    incident = IncidentFactory()
    url = f"/api/v1/incidents/{incident.reference}/timeline-events"
    body = json.dumps({"occurred_at": "2026-01-02T06:05:00Z", "text": "Rolled back."})

    def post(i: int):
        return client(raw_token).post(
            url, data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="rollback-1"
        )

    concurrent = run_in_threads(50, post)
    sequential = [post(i) for i in range(100)]

    assert not [r for r in concurrent if isinstance(r, Exception)], concurrent
    statuses = Counter(r.status_code for r in concurrent)
    assert set(statuses) <= {201, 409}, statuses  # 409 while the first was still running
    assert {r.status_code for r in sequential} == {201}
    firsts = [
        r
        for r in concurrent + sequential
        if r.status_code == 201 and not r.has_header("Idempotent-Replayed")
    ]
    assert len(firsts) == 1
    created = [r.content for r in concurrent + sequential if r.status_code == 201]
    assert set(created) == {firsts[0].content}  # every replay is the first answer, byte for byte
    assert TimelineEvent.objects.filter(incident=incident).count() == 1


def test_n_concurrent_resolves_write_one_status_change_and_one_timeline_event(raw_token):
    incident = IncidentFactory()
    url = f"/api/v1/incidents/{incident.reference}/resolve"

    def resolve(i: int) -> int:
        response = client(raw_token).post(url, data="{}", content_type="application/json")
        return response.status_code

    results = run_in_threads(WRITERS, resolve)

    assert results == [200] * WRITERS, results
    incident.refresh_from_db()
    assert incident.status == "resolved"
    # The version moved once: the losers found it resolved and changed nothing.
    assert incident.version == 2
    assert incident.timeline_events.filter(kind=TimelineEvent.Kind.RESOLVED).count() == 1
