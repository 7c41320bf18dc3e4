"""The gate over the API: asking it (200 pass, 409 block, same shape), bad questions, the record
of answers and the rules' CRUD."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from api.tokens import token_create
from deployments import services
from deployments.models import GateRule, GateRun
from tests.factories import EnvironmentFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db

GATE = "/api/v1/gate"
RUNS = "/api/v1/gate-runs"
RULES = "/api/v1/gate-rules"
PROBLEM = "urn:hindsight:problem:"
WORKER = {"path": "_worker.js", "size": 419_952, "sha256": "a" * 64}
ROUTES = {"path": "_routes.json", "size": 162, "sha256": "b" * 64}


def bearer(role: str = "admin", scope: str = "write") -> APIClient:
    user = user_with_role(role, username=f"{role}-{scope}")
    _token, raw = token_create(user=user, name="CI", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def post(client: APIClient, path: str, body, method: str = "post"):
    raw = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(path, data=raw, content_type="application/json")


def question(**overrides) -> dict:
    body = {
        "service": "moodmash",
        "environment": "production",
        "commit": "E4F5A6B",
        "manifest": [ROUTES, WORKER],
        "rollback": False,
    }
    body.update(overrides)
    return body


def problem_type(response) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return response.json()["type"].removeprefix(PROBLEM)


def field_errors(response) -> dict:
    assert response.status_code == 400, response.content
    assert problem_type(response) == "validation-error"
    return response.json()["errors"]


@pytest.fixture
def production():
    environment = EnvironmentFactory(service__slug="moodmash", name="production")
    services.gate_rule_create(
        environment=environment, kind="required_artifact", path="_worker.js", min_size=100_000
    )
    return environment


@pytest.fixture
def ci() -> APIClient:
    """What a CI job holds: a viewer's read token is enough to ask."""
    return bearer("viewer", "read")


class TestAsking:
    def test_a_good_build_passes_with_200_and_its_reasons(self, ci, production):
        response = post(ci, GATE, question())
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json"
        body = response.json()
        run = GateRun.objects.get()
        assert body["verdict"] == "pass"
        assert body["gate_run"] == run.pk
        assert body["commit_sha"] == "e4f5a6b"
        assert body["artifact_count"] == 2
        assert body["manifest_digest"] == services.manifest_digest([ROUTES, WORKER])
        (reason,) = body["reasons"]
        assert reason["rule"] == "required_artifact"
        assert reason["rule_id"] == GateRule.objects.get().pk
        assert reason["outcome"] == "pass"
        assert reason["found"]["size"] == 419_952
        assert run.requested_by is not None
        assert run.requested_by.username == "viewer-read"

    def test_a_build_without_its_worker_is_a_409_answer_not_a_problem(self, ci, production):
        response = post(ci, GATE, question(manifest=[ROUTES]))
        assert response.status_code == 409
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert body["verdict"] == "block"
        assert body["reasons"][0]["outcome"] == "block"
        assert "_worker.js is missing" in body["reasons"][0]["message"]
        assert body["reasons"][0]["found"]["path"] == "_worker.js"
        assert GateRun.objects.get().verdict == GateRun.Verdict.BLOCK

    def test_rollback_is_passed_to_the_rules(self, ci, production):
        services.gate_rule_create(environment=production, kind="health_before_promotion")
        body = post(ci, GATE, question(rollback=True)).json()
        assert body["reasons"][1]["found"]["rollback"] is True

    def test_asking_needs_credentials(self, production):
        response = post(APIClient(), GATE, question())
        assert response.status_code == 401
        assert not GateRun.objects.exists()

    def test_a_user_without_a_role_may_not_ask(self, production):
        _token, raw = token_create(user=UserFactory(), name="x", scope="write")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert post(client, GATE, question()).status_code == 403
        assert not GateRun.objects.exists()


class TestBadQuestions:
    def test_an_unknown_service_is_404(self, ci, production):
        response = post(ci, GATE, question(service="nope"))
        assert response.status_code == 404
        assert problem_type(response) == "unknown-service"

    def test_an_unknown_environment_is_404(self, ci, production):
        response = post(ci, GATE, question(environment="staging"))
        assert response.status_code == 404
        assert problem_type(response) == "unknown-environment"
        assert not GateRun.objects.exists()

    @pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "a/../../b", "dist/"])
    def test_a_path_outside_the_build_is_a_field_error(self, ci, production, path):
        manifest = [ROUTES, {**WORKER, "path": path}]
        errors = field_errors(post(ci, GATE, question(manifest=manifest)))
        assert list(errors["manifest"]["1"]) == ["path"]
        assert not GateRun.objects.exists()

    def test_more_than_10000_files_is_413(self, ci, production):
        files = [{"path": f"f/{n}.js", "size": 1, "sha256": "a" * 64} for n in range(10_001)]
        response = post(ci, GATE, question(manifest=files))
        assert response.status_code == 413
        assert problem_type(response) == "manifest-too-large"

    def test_a_body_beyond_the_server_limit_is_413(self, ci, production):
        padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
        response = post(ci, GATE, question(commit=padding))
        assert response.status_code == 413
        assert problem_type(response) == "body-too-large"

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"branch": "main"}, "branch"),
            ({"commit": "not-hex"}, "commit"),
            ({"rollback": "yes"}, "rollback"),
            ({"manifest": "_worker.js"}, "manifest"),
            ({"manifest": [{**WORKER, "mode": 644}]}, "manifest"),
            ({"manifest": [WORKER, WORKER]}, "manifest"),
        ],
    )
    def test_unknown_or_malformed_fields_are_400(self, ci, production, change, field):
        assert field in field_errors(post(ci, GATE, question(**change)))

    def test_a_missing_manifest_is_400(self, ci, production):
        body = question()
        del body["manifest"]
        assert "manifest" in field_errors(post(ci, GATE, body))


class TestGateRuns:
    def ask(self, commit: str, manifest: list[dict], environment) -> GateRun:
        return services.gate_evaluate(
            service=environment.service,
            environment=environment,
            commit_sha=commit,
            manifest=manifest,
        )

    def test_the_list_is_newest_first_and_filters(self, ci, production):
        older = self.ask("aaaa111", [ROUTES], production)
        newer = self.ask("bbbb222", [ROUTES, WORKER], production)
        body = ci.get(RUNS).json()
        assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
        assert body["results"][1]["verdict"] == "block"
        assert body["results"][1]["reasons"][0]["found"]["present"] is False
        blocked = ci.get(RUNS, {"verdict": "block", "service": "moodmash"}).json()["results"]
        assert [row["id"] for row in blocked] == [older.pk]
        assert ci.get(RUNS, {"environment": "preview"}).json()["results"] == []
        assert ci.get(RUNS, {"verdict": "maybe"}).status_code == 400
        assert ci.get(f"{RUNS}/{older.pk}").json()["commit_sha"] == "aaaa111"

    def test_the_list_costs_the_same_for_1_and_50_runs(self, ci, production):
        ci.get(RUNS)  # marks the token used: a write that later requests skip
        self.ask("aaaa111", [ROUTES], production)

        def cost(size: int) -> int:
            with CaptureQueriesContext(connection) as captured:
                assert ci.get(RUNS, {"page_size": size}).status_code == 200
            return len(captured)

        one = cost(1)
        for n in range(49):
            self.ask(f"{n:04x}0000", [ROUTES, WORKER], production)
        # The token with its user (1), the role check (2), the page's count and rows (2).
        assert one == cost(50) == 5


class TestGateRules:
    def create_body(self, **overrides) -> dict:
        body = {
            "service": "moodmash",
            "environment": "production",
            "kind": "stale_build",
            "path": "_worker.js",
        }
        body.update(overrides)
        return body

    def test_an_admin_adds_edits_and_deletes_a_rule(self, production):
        admin = bearer("admin")
        response = post(admin, RULES, self.create_body(order=5))
        assert response.status_code == 201, response.content
        created = response.json()
        assert response["Location"].endswith(f"{RULES}/{created['id']}")
        assert created == {
            "id": created["id"],
            "service": "moodmash",
            "environment": "production",
            "kind": "stale_build",
            "action": "block",
            "path": "_worker.js",
            "min_size": None,
            "max_size": None,
            "enabled": True,
            "order": 5,
        }
        url = f"{RULES}/{created['id']}"
        changed = post(admin, url, {"action": "warn", "enabled": False}, method="patch")
        assert changed.status_code == 200
        assert (changed.json()["action"], changed.json()["enabled"]) == ("warn", False)
        assert admin.delete(url).status_code == 204
        assert not GateRule.objects.filter(pk=created["id"]).exists()

    @pytest.mark.parametrize(
        ("role", "scope"), [("viewer", "read"), ("editor", "write"), ("admin", "read")]
    )
    def test_only_an_admin_with_a_write_token_changes_rules(self, production, role, scope):
        client = bearer(role, scope)
        assert client.get(RULES).status_code == 200
        assert post(client, RULES, self.create_body()).status_code == 403
        rule = GateRule.objects.get()
        assert post(client, f"{RULES}/{rule.pk}", {"enabled": False}, "patch").status_code == 403
        assert client.delete(f"{RULES}/{rule.pk}").status_code == 403
        assert GateRule.objects.get().enabled

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"kind": "required_artifact", "path": ""}, "path"),
            ({"kind": "preview_first"}, "path"),
            ({"path": "../up.js"}, "path"),
            ({"min_size": 10}, "min_size"),
            ({"kind": "required_artifact", "min_size": 10, "max_size": 5}, "max_size"),
            ({"min_size": -1}, "min_size"),
            ({"kind": "sometimes"}, "kind"),
            ({"environment": "staging"}, "environment"),
            ({"colour": "red"}, "colour"),
        ],
    )
    def test_a_rule_that_cannot_work_is_a_clear_400(self, production, overrides, field):
        errors = field_errors(post(bearer("admin"), RULES, self.create_body(**overrides)))
        assert field in errors
        assert GateRule.objects.count() == 1

    def test_an_update_that_breaks_the_rule_is_refused(self, production):
        rule, admin = GateRule.objects.get(), bearer("admin")
        url = f"{RULES}/{rule.pk}"
        sized = field_errors(post(admin, url, {"kind": "stale_build"}, "patch"))
        assert sized == {"min_size": ["Only required artifact rules have sizes."]}
        # A stale build rule may name a file, but has no sizes.
        response = post(admin, url, {"kind": "stale_build", "min_size": None}, "patch")
        assert response.status_code == 200
        assert "path" in field_errors(post(admin, url, {"kind": "preview_first"}, "patch"))
        rule.refresh_from_db()
        assert rule.kind == "stale_build"

    def test_an_unknown_service_is_404(self, production):
        response = post(bearer("admin"), RULES, self.create_body(service="nope"))
        assert response.status_code == 404
        assert problem_type(response) == "unknown-service"

    def test_the_list_filters_by_environment_and_kind(self, production):
        preview = EnvironmentFactory(service=production.service, name="preview", kind="preview")
        services.gate_rule_create(environment=preview, kind="stale_build")
        client = bearer("viewer", "read")
        rows = client.get(RULES, {"environment": "preview"}).json()["results"]
        assert [(r["environment"], r["kind"]) for r in rows] == [("preview", "stale_build")]
        rows = client.get(RULES, {"kind": "required_artifact"}).json()["results"]
        assert [r["path"] for r in rows] == ["_worker.js"]

    def test_the_list_costs_the_same_for_1_and_50_rules(self, production):
        client = bearer("viewer", "read")
        client.get(RULES)  # marks the token used: a write that later requests skip

        def cost(size: int) -> int:
            with CaptureQueriesContext(connection) as captured:
                assert len(client.get(RULES, {"page_size": size}).json()["results"]) == size
            return len(captured)

        one = cost(1)
        for n in range(49):
            services.gate_rule_create(environment=production, kind="stale_build", order=n)
        assert one == cost(50) == 5
