"""Idempotency-Key on every API POST: a retry replays the first answer and creates nothing, the
body is compared as a JSON value, and an answer that refused the request is not kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from api.idempotency import idempotent_view
from api.models import ApiToken, IdempotencyRecord
from deployments.models import Service
from incidents.models import ActionItem, Attachment, Cause, Incident, TimelineEvent
from tests.api.test_incidents_api import bearer, problem_type, valid_incident_body
from tests.factories import IncidentFactory, ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db

API = "/api/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def editor() -> APIClient:
    return bearer(user_with_role("editor"))


def send(client: APIClient, url: str, raw: str | bytes, key: str, **extra):
    return client.post(
        url, data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **extra
    )


class TestCreatesAreIdempotent:
    def test_the_same_key_twice_on_post_incidents_makes_one_incident(self, editor):
        body = json.dumps(valid_incident_body())
        first = send(editor, f"{API}/incidents", body, "inc-1")
        again = send(editor, f"{API}/incidents", body, "inc-1")
        assert first.status_code == again.status_code == 201, first.content
        assert again.content == first.content
        assert again["Location"] == first["Location"]
        assert again["Idempotent-Replayed"] == "true"
        assert Incident.objects.count() == 1

    def test_the_same_key_twice_on_an_import_makes_one_incident(self, editor):
        ServiceFactory(slug="dns")
        body = json.dumps(
            {
                "markdown": "## Timeline\n\n- 2026-06-21 02:10 Lookups start failing\n",
                "service": "dns",
                "title": "Resolver outage",
            }
        )
        first = send(editor, f"{API}/incidents/import", body, "import-1")
        again = send(editor, f"{API}/incidents/import", body, "import-1")
        assert first.status_code == again.status_code == 201, first.content
        assert again.content == first.content
        assert Incident.objects.count() == 1

    def test_a_markdown_import_is_compared_byte_for_byte(self, editor):
        ServiceFactory(slug="dns")
        url = f"{API}/incidents/import?service=dns"
        text = "# Resolver outage\n\n## Timeline\n\n- 2026-06-21 02:10 Lookups fail\n"
        first = editor.post(url, text, content_type="text/markdown", HTTP_IDEMPOTENCY_KEY="md-1")
        again = editor.post(url, text, content_type="text/markdown", HTTP_IDEMPOTENCY_KEY="md-1")
        other = editor.post(
            url, text + "\n", content_type="text/markdown", HTTP_IDEMPOTENCY_KEY="md-1"
        )
        assert first.status_code == again.status_code == 201, first.content
        assert again["Idempotent-Replayed"] == "true"
        assert other.status_code == 422
        assert Incident.objects.count() == 1

    @pytest.mark.parametrize(
        ("path", "body", "model"),
        [
            ("/action-items", {"title": "Alert on a missing worker file"}, ActionItem),
            ("/causes", {"kind": "primary", "title": "The build dropped the worker file"}, Cause),
            (
                "/timeline-events",
                {"occurred_at": "2026-01-02T06:00:00Z", "text": "Errors start"},
                TimelineEvent,
            ),
        ],
    )
    def test_rows_of_an_incident_are_made_once(self, editor, path, body, model):
        incident = IncidentFactory()
        url = f"{API}/incidents/{incident.reference}{path}"
        first = send(editor, url, json.dumps(body), "row-1")
        again = send(editor, url, json.dumps(body), "row-1")
        assert first.status_code == 201, first.content
        assert again.content == first.content
        assert model.objects.filter(incident=incident).count() == 1

    def test_a_service_is_made_once(self):
        admin = bearer(user_with_role("admin"))
        body = json.dumps({"slug": "search", "name": "Search"})
        first = send(admin, f"{API}/services", body, "svc-1")
        again = send(admin, f"{API}/services", body, "svc-1")
        assert first.status_code == 201, first.content
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"
        assert Service.objects.filter(slug="search").count() == 1

    def test_an_attachment_is_made_once_even_with_a_new_multipart_boundary(
        self, editor, settings, tmp_path
    ):
        settings.MEDIA_ROOT = tmp_path
        incident = IncidentFactory()
        url = f"{API}/incidents/{incident.reference}/attachments"
        answers = []
        for boundary in ("first-boundary", "second-boundary"):
            body = (
                (
                    f"--{boundary}\r\n"
                    'Content-Disposition: form-data; name="file"; filename="graph.png"\r\n'
                    "Content-Type: image/png\r\n\r\n"
                ).encode()
                + PNG
                + f"\r\n--{boundary}--\r\n".encode()
            )
            answers.append(
                editor.post(
                    url,
                    body,
                    content_type=f"multipart/form-data; boundary={boundary}",
                    HTTP_IDEMPOTENCY_KEY="upload-1",
                )
            )
        assert answers[0].status_code == 201, answers[0].content
        assert answers[1].content == answers[0].content
        assert answers[1]["Idempotent-Replayed"] == "true"
        assert Attachment.objects.count() == 1

    def test_another_file_under_the_same_key_is_422(self, editor, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        incident = IncidentFactory()
        url = f"{API}/incidents/{incident.reference}/attachments"
        first = editor.post(
            url,
            {"file": SimpleUploadedFile("a.png", PNG)},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-2",
        )
        other = editor.post(
            url,
            {"file": SimpleUploadedFile("a.png", PNG + b"\x01")},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-2",
        )
        assert first.status_code == 201, first.content
        assert other.status_code == 422
        assert Attachment.objects.count() == 1

    def test_a_token_is_made_once_and_its_secret_is_not_kept_readable(self, editor):
        body = json.dumps({"name": "sync job", "scope": "read"})
        before = ApiToken.objects.count()
        first = send(editor, f"{API}/tokens", body, "token-1")
        again = send(editor, f"{API}/tokens", body, "token-1")
        assert first.status_code == 201, first.content
        assert again.content == first.content
        assert ApiToken.objects.count() == before + 1
        secret = first.json()["token"].encode()
        stored = bytes(IdempotencyRecord.objects.get(key="token-1").body)
        assert secret not in stored
        assert b"sync job" not in stored


class TestBodiesAreComparedAsJsonValues:
    def test_another_key_order_and_white_space_replay_the_first_answer(self, editor):
        body = valid_incident_body()
        first = send(editor, f"{API}/incidents", json.dumps(body), "inc-2")
        reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)
        again = send(editor, f"{API}/incidents", reordered, "inc-2")
        assert again.status_code == 201, again.content
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"
        assert Incident.objects.count() == 1

    def test_another_value_under_the_same_key_is_422(self, editor):
        send(editor, f"{API}/incidents", json.dumps(valid_incident_body()), "inc-3")
        other = send(
            editor,
            f"{API}/incidents",
            json.dumps({**valid_incident_body(), "title": "Other"}),
            "inc-3",
        )
        assert other.status_code == 422
        assert problem_type(other) == "idempotency-key-reused"
        assert Incident.objects.count() == 1

    def test_the_same_key_on_another_url_is_422(self, editor):
        ServiceFactory(slug="checkout")
        incident = IncidentFactory()
        body = json.dumps({"title": "Same body, other place"})
        send(editor, f"{API}/incidents/{incident.reference}/action-items", body, "k")
        other = IncidentFactory()
        response = send(editor, f"{API}/incidents/{other.reference}/action-items", body, "k")
        assert response.status_code == 422


class TestRefusedRequestsAreNotKept:
    def test_a_corrected_retry_after_a_400_goes_through(self, editor):
        refused = send(editor, f"{API}/incidents", json.dumps({"title": ""}), "inc-4")
        assert refused.status_code == 400
        corrected = send(editor, f"{API}/incidents", json.dumps(valid_incident_body()), "inc-4")
        assert corrected.status_code == 201, corrected.content
        assert "Idempotent-Replayed" not in corrected
        assert Incident.objects.count() == 1

    def test_a_retry_after_a_403_goes_through_once_the_role_allows_it(self):
        user = user_with_role("viewer")
        client = bearer(user)
        body = json.dumps(valid_incident_body())
        assert send(client, f"{API}/incidents", body, "inc-5").status_code == 403
        user.groups.set([user_with_role("editor").groups.get()])
        assert send(bearer(user), f"{API}/incidents", body, "inc-5").status_code == 201

    def test_an_unknown_token_leaves_no_record(self):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer hst_not-a-real-token")
        response = send(client, f"{API}/incidents", "{}", "inc-6")
        assert response.status_code == 401
        assert not IdempotencyRecord.objects.exists()

    def test_the_layers_own_422_keeps_the_first_answer(self, editor):
        first = send(editor, f"{API}/incidents", json.dumps(valid_incident_body()), "inc-7")
        other = send(editor, f"{API}/incidents", json.dumps({"title": "x"}), "inc-7")
        again = send(editor, f"{API}/incidents", json.dumps(valid_incident_body()), "inc-7")
        assert other.status_code == 422
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"


def _post_routes() -> list[tuple[str, Callable[..., Any]]]:
    """Every URL pattern under /api/v1/ whose view answers POST."""

    def walk(patterns, prefix: str = ""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    routes = []
    for route, callback in walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        actions = getattr(callback, "actions", None)
        view_class = getattr(callback, "cls", None)
        answers_post = "post" in actions if actions else hasattr(view_class, "post")
        if answers_post:
            routes.append((route, callback))
    return routes


def test_every_api_post_is_idempotent_so_a_new_create_cannot_miss_it():
    routes = _post_routes()
    assert len(routes) > 30  # the walk found the API, not an empty list
    missing = [route for route, callback in routes if not idempotent_view(callback)]
    assert missing == []


def test_the_schema_documents_the_key_and_its_answers_on_every_post():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    posts = {path: item["post"] for path, item in schema["paths"].items() if "post" in item}
    assert len(posts) > 30
    for path, operation in posts.items():
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert headers.count("Idempotency-Key") == 1, path
        assert {"409", "422"} <= set(operation["responses"]), path
