"""One contract: under DEBUG (make run) API errors are problem+json exactly as in production, and
pages outside the API keep Django's debug pages."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from incidents.postmortem.api.views import IncidentViewSet
from tests.api.test_incidents_api import PROBLEM, bearer
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def editor():
    return bearer(user_with_role("editor"))


def both_modes(test):
    return pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])(test)


def problem(response, status: int, problem_type: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:hindsight:problem:{problem_type}"
    assert body["status"] == status
    assert body["instance"] == "urn:hindsight:request:" + response["X-Request-Id"]
    return body


@both_modes
def test_an_unknown_api_url_is_a_problem_404(editor, debug):
    with override_settings(DEBUG=debug):
        problem(editor.get(f"{API}/nowhere/at-all"), 404, "not-found")
        problem(
            editor.post(f"{API}/nowhere", "{}", content_type="application/json"), 404, "not-found"
        )


@both_modes
def test_an_unknown_incident_is_a_problem_404(editor, debug):
    with override_settings(DEBUG=debug):
        problem(editor.get(f"{API}/incidents/INC-404"), 404, "not-found")
        problem(editor.get(f"{API}/incidents/INC-404/export"), 404, "not-found")


@both_modes
@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "idempotency-key"])
def test_an_oversized_body_is_a_problem_413(editor, debug, keyed, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    headers = {"HTTP_IDEMPOTENCY_KEY": "big-1"} if keyed else {}
    body = json.dumps({"title": "x" * 2000})
    with override_settings(DEBUG=debug):
        response = editor.post(f"{API}/incidents", body, content_type="application/json", **headers)
    problem(response, 413, "body-too-large")


@both_modes
def test_a_wrong_method_is_a_problem_405(editor, debug):
    with override_settings(DEBUG=debug):
        problem(editor.delete(f"{API}/incidents"), 405, "method-not-allowed")


def test_pages_outside_the_api_keep_the_debug_404_page(client):
    client.force_login(user_with_role("viewer"))
    with override_settings(DEBUG=True):
        response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Page not found" in response.content


def test_a_server_error_under_the_api_is_a_problem_500_with_debug_off(monkeypatch):
    def broken(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(IncidentViewSet, "list", broken)
    api = bearer(user_with_role("viewer"), scope="read")
    api.raise_request_exception = False
    problem(api.get(f"{API}/incidents"), 500, "server-error")
