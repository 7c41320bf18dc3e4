"""The deployments API: recording deployments with their manifests, status changes, reads."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django import db
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from api.tokens import token_create
from deployments.api import serializers as api_serializers
from deployments.models import Artifact, Deployment
from deployments.services import ProbeOutcome, snapshot_record
from tests.factories import (
    T0,
    DeploymentFactory,
    EnvironmentFactory,
    HealthCheckFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

DEPLOYMENTS = "/api/v1/deployments"
NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
SHA = "a" * 64
PROBLEM = "urn:hindsight:problem:"


def bearer(role: str = "admin", scope: str = "write") -> APIClient:
    user = user_with_role(role, username=f"{role}-{scope}")
    _token, raw = token_create(user=user, name="CI", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def post(client: APIClient, path: str, body, **headers):
    """POST a JSON body; a str is sent as it is, so tests can send what json.dumps would not."""
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data=raw, content_type="application/json", **headers)


@pytest.fixture
def admin() -> APIClient:
    return bearer("admin")


@pytest.fixture
def production():
    return EnvironmentFactory(service__slug="moodmash", name="production")


def record_body(**overrides) -> dict:
    body = {
        "service": "moodmash",
        "environment": "production",
        "external_id": "b7c1e2d0-0001",
        "commit_sha": "3f9a2c1",
        "branch": "main",
        "status": "succeeded",
        "deployed_by": "ci: pages deploy",
        "started_at": "2026-01-02T05:58:00Z",
        "finished_at": "2026-01-02T05:58:44Z",
        "manifest": [
            {"path": "_worker.js", "size": 419_952, "sha256": SHA},
            {"path": "_routes.json", "size": 120, "sha256": "b" * 64},
            {"path": "assets/app.css", "size": 2_048, "sha256": "c" * 64},
        ],
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


class TestRecording:
    def test_recording_a_deployment_stores_it_with_its_manifest_and_answers_201(
        self, admin, production
    ):
        response = post(admin, DEPLOYMENTS, record_body())
        assert response.status_code == 201, response.content
        data = response.json()
        deployment = Deployment.objects.get()
        assert response["Location"].endswith(f"{DEPLOYMENTS}/{deployment.pk}")
        assert data["id"] == deployment.pk
        assert data["service"] == "moodmash"
        assert data["environment"] == "production"
        assert data["status"] == "succeeded"
        assert data["started_at"] == "2026-01-02T05:58:00Z"
        assert data["manifest_digest"] == deployment.manifest_digest != ""
        assert [a["path"] for a in data["artifacts"]] == [
            "_routes.json",
            "_worker.js",
            "assets/app.css",
        ]
        assert data["artifacts"][1] == {"path": "_worker.js", "size": 419_952, "sha256": SHA}
        assert deployment.artifacts.count() == 3

    def test_a_commit_in_capitals_is_stored_in_lowercase(self, admin, production):
        response = post(admin, DEPLOYMENTS, record_body(commit_sha="3F9A2C1"))
        assert response.json()["commit_sha"] == "3f9a2c1"

    @time_machine.travel(NOW, tick=False)
    def test_only_service_environment_external_id_and_commit_are_required(self, admin, production):
        body = {
            "service": "moodmash",
            "environment": "production",
            "external_id": "x1",
            "commit_sha": "abcd",
        }
        response = post(admin, DEPLOYMENTS, body)
        assert response.status_code == 201, response.content
        data = response.json()
        assert data["status"] == "pending"
        assert data["artifacts"] == []
        assert data["manifest_digest"] == ""
        assert data["started_at"] == "2026-12-04T09:30:00Z"  # when the server received it
        assert data["finished_at"] is None
        assert (data["health"], data["health_checked_at"]) == ("unknown", None)

    @time_machine.travel(NOW, tick=False)
    def test_a_succeeded_record_without_times_started_and_finished_when_received(
        self, admin, production
    ):
        body = record_body()
        del body["finished_at"], body["started_at"]
        data = post(admin, DEPLOYMENTS, body).json()
        assert data["started_at"] == data["finished_at"] == "2026-12-04T09:30:00Z"
        deployment = Deployment.objects.get()
        assert deployment.started_at == deployment.finished_at == NOW

    def test_a_deployment_recorded_without_times_is_found_by_started_after(self, admin, production):
        before = datetime.now(UTC) - timedelta(seconds=1)
        body = record_body()
        del body["finished_at"], body["started_at"]
        created = post(admin, DEPLOYMENTS, body).json()
        found = admin.get(
            DEPLOYMENTS, {"service": "moodmash", "started_after": before.isoformat()}
        ).json()
        assert [d["id"] for d in found["results"]] == [created["id"]]

    def test_the_same_external_id_again_answers_200_with_the_first_deployment(
        self, admin, production
    ):
        first = post(admin, DEPLOYMENTS, record_body())
        again = post(admin, DEPLOYMENTS, record_body(commit_sha="ffff", manifest=[]))
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        assert Deployment.objects.count() == 1
        assert Artifact.objects.count() == 3

    def test_the_same_external_id_in_another_environment_is_another_deployment(
        self, admin, production
    ):
        EnvironmentFactory(service=production.service, name="preview")
        post(admin, DEPLOYMENTS, record_body())
        response = post(admin, DEPLOYMENTS, record_body(environment="preview"))
        assert response.status_code == 201
        assert Deployment.objects.count() == 2

    @pytest.mark.parametrize(
        ("service", "environment"), [("moodmash", "staging"), ("no-such-service", "production")]
    )
    def test_an_unknown_environment_is_a_404_problem_and_writes_nothing(
        self, admin, production, service, environment
    ):
        response = post(admin, DEPLOYMENTS, record_body(service=service, environment=environment))
        assert response.status_code == 404
        assert problem_type(response) == "unknown-environment"
        assert not Deployment.objects.exists()

    def test_a_rollback_names_the_deployment_it_rolls_back_by_external_id(self, admin, production):
        broken = DeploymentFactory(environment=production, external_id="broken-1")
        response = post(
            admin, DEPLOYMENTS, record_body(external_id="rollback-1", rollback_of="broken-1")
        )
        assert response.status_code == 201
        assert response.json()["rollback_of"] == "broken-1"
        assert Deployment.objects.get(external_id="rollback-1").rollback_of == broken

    def test_a_rollback_of_a_deployment_in_another_environment_is_refused(self, admin, production):
        preview = EnvironmentFactory(service=production.service, name="preview")
        DeploymentFactory(environment=preview, external_id="elsewhere")
        response = post(admin, DEPLOYMENTS, record_body(rollback_of="elsewhere"))
        assert "rollback_of" in field_errors(response)
        assert Deployment.objects.count() == 1

    def test_finishing_before_starting_is_refused(self, admin, production):
        body = record_body(started_at="2026-01-02T06:00:00Z", finished_at="2026-01-02T05:59:59Z")
        assert "finished_at" in field_errors(post(admin, DEPLOYMENTS, body))
        assert not Deployment.objects.exists()


class TestManifestRules:
    def test_a_manifest_over_10000_files_is_413(self, admin, production):
        files = [
            {"path": f"f/{n}.js", "size": 1, "sha256": SHA}
            for n in range(api_serializers.MANIFEST_MAX_FILES + 1)
        ]
        response = post(admin, DEPLOYMENTS, record_body(manifest=files))
        assert response.status_code == 413
        assert problem_type(response) == "manifest-too-large"
        assert response.json()["max_files"] == 10_000
        assert not Deployment.objects.exists()

    def test_a_manifest_of_exactly_10000_files_is_recorded(self, admin, production):
        files = [
            {"path": f"f/{n}.js", "size": n, "sha256": SHA}
            for n in range(api_serializers.MANIFEST_MAX_FILES)
        ]
        response = post(admin, DEPLOYMENTS, record_body(manifest=files))
        assert response.status_code == 201
        assert Artifact.objects.count() == 10_000

    @pytest.mark.parametrize(
        "path",
        [
            "",
            "../secrets.txt",
            "assets/../../etc/passwd",
            "assets/..",
            "..\\windows\\system.ini",
            "/etc/passwd",
            "\\server\\share",
            "C:\\build\\app.js",
            "C:/build/app.js",
            "a//b.js",
            "./a.js",
            "dist/",
            "nul\x00byte.js",
            "x" * 1025,
            42,
            None,
            ["a.js"],
        ],
    )
    def test_a_path_that_is_not_a_plain_relative_one_is_a_field_error(
        self, admin, production, path
    ):
        manifest = [
            {"path": "fine.js", "size": 1, "sha256": SHA},
            {"path": path, "size": 1, "sha256": SHA},
        ]
        errors = field_errors(post(admin, DEPLOYMENTS, record_body(manifest=manifest)))
        assert list(errors["manifest"]) == ["1"]
        assert list(errors["manifest"]["1"]) == ["path"]
        assert not Deployment.objects.exists()

    @pytest.mark.parametrize("path", ["a..b.js", "..hidden", "dir/.env", "ünïcode/файл.js"])
    def test_unusual_but_harmless_paths_are_accepted(self, admin, production, path):
        manifest = [{"path": path, "size": 1, "sha256": SHA}]
        assert post(admin, DEPLOYMENTS, record_body(manifest=manifest)).status_code == 201

    @pytest.mark.parametrize(
        "sha256",
        ["A" * 64, "a" * 63, "a" * 65, "g" * 64, " " + "a" * 63, 123, None, ""],
    )
    def test_sha256_must_be_64_lowercase_hex_digits(self, admin, production, sha256):
        manifest = [{"path": "a.js", "size": 1, "sha256": sha256}]
        errors = field_errors(post(admin, DEPLOYMENTS, record_body(manifest=manifest)))
        assert list(errors["manifest"]["0"]) == ["sha256"]

    @pytest.mark.parametrize("size", [-1, "10", 1.5, 10.0, True, None, 2**63])
    def test_size_must_be_a_non_negative_integer(self, admin, production, size):
        manifest = [{"path": "a.js", "size": size, "sha256": SHA}]
        errors = field_errors(post(admin, DEPLOYMENTS, record_body(manifest=manifest)))
        assert list(errors["manifest"]["0"]) == ["size"]

    def test_a_path_listed_twice_is_refused_at_its_second_place(self, admin, production):
        manifest = [
            {"path": "a.js", "size": 1, "sha256": SHA},
            {"path": "b.js", "size": 1, "sha256": SHA},
            {"path": "a.js", "size": 2, "sha256": "b" * 64},
        ]
        errors = field_errors(post(admin, DEPLOYMENTS, record_body(manifest=manifest)))
        assert errors["manifest"] == {"2": {"path": ["Listed twice: also at index 0."]}}
        assert not Deployment.objects.exists()

    @pytest.mark.parametrize(
        "entry",
        [
            {"path": "a.js", "size": 1},
            {"path": "a.js", "size": 1, "sha256": SHA, "mode": "0644"},
            "a.js",
            ["a.js", 1, SHA],
        ],
    )
    def test_an_entry_must_be_exactly_path_size_and_sha256(self, admin, production, entry):
        errors = field_errors(post(admin, DEPLOYMENTS, record_body(manifest=[entry])))
        assert "0" in errors["manifest"]

    @pytest.mark.parametrize("manifest", [{"a.js": SHA}, "a.js", 3])
    def test_the_manifest_must_be_a_list(self, admin, production, manifest):
        assert "manifest" in field_errors(post(admin, DEPLOYMENTS, record_body(manifest=manifest)))


class TestBadInput:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("commit_sha", 1234567),
            ("commit_sha", "not-hex"),
            ("commit_sha", "abc"),
            ("external_id", 42),
            ("external_id", ""),
            ("branch", 7),
            ("deployed_by", ["me"]),
            ("service", {"slug": "moodmash"}),
            ("environment", True),
            ("status", "shipped"),
            ("status", 1),
            ("started_at", "yesterday"),
            ("started_at", 1767333480),
            ("started_at", "1969-12-31T23:59:59Z"),
            ("started_at", "1970-01-01T00:30:00+01:00"),
            ("started_at", "10000-01-01T00:00:00Z"),
            ("finished_at", "9999-12-31T23:59:59-05:00"),
            ("rollback_of", 5),
            ("external_id", "x" * 201),
        ],
    )
    def test_a_wrong_value_is_a_field_error_and_writes_nothing(
        self, admin, production, field, value
    ):
        errors = field_errors(post(admin, DEPLOYMENTS, record_body(**{field: value})))
        assert field in errors
        assert not Deployment.objects.exists()

    @pytest.mark.parametrize("field", ["external_id", "branch", "deployed_by", "environment"])
    def test_nul_bytes_in_text_are_refused(self, admin, production, field):
        errors = field_errors(post(admin, DEPLOYMENTS, record_body(**{field: "a\x00b"})))
        assert field in errors

    def test_unknown_fields_are_refused_and_named(self, admin, production):
        body = record_body(comit_sha="abc1234", notes="hi")
        errors = field_errors(post(admin, DEPLOYMENTS, body))
        assert set(errors) == {"comit_sha", "notes"}
        assert not Deployment.objects.exists()

    @pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "null", "{bad json", "{}"])
    def test_a_body_that_is_not_a_deployment_is_a_400(self, admin, production, raw):
        response = post(admin, DEPLOYMENTS, raw)
        assert response.status_code == 400
        assert problem_type(response) in {"validation-error", "malformed-request"}

    def test_a_form_body_is_415(self, admin, production):
        response = admin.post(DEPLOYMENTS, {"service": "moodmash"}, format="multipart")
        assert response.status_code == 415
        assert problem_type(response) == "unsupported-media-type"

    def test_a_time_with_a_far_offset_is_stored_as_the_same_moment(self, admin, production):
        body = record_body(started_at="2026-01-02T05:58:00-21:40", finished_at=None)
        response = post(admin, DEPLOYMENTS, body)
        assert response.status_code == 201, response.content
        assert response.json()["started_at"] == "2026-01-03T03:38:00Z"

    def test_a_naive_time_is_taken_as_utc(self, admin, production):
        body = record_body(started_at="2026-01-02T05:58:00", finished_at=None)
        assert post(admin, DEPLOYMENTS, body).json()["started_at"] == "2026-01-02T05:58:00Z"


class TestStatus:
    def url(self, deployment) -> str:
        return f"{DEPLOYMENTS}/{deployment.pk}/status"

    def test_a_pending_deployment_starts_then_succeeds_stamping_its_finish(self, admin):
        deployment = DeploymentFactory(status="pending", started_at=T0)
        started = post(admin, self.url(deployment), {"status": "in_progress"})
        assert started.status_code == 200, started.content
        assert started.json()["status"] == "in_progress"
        assert started.json()["started_at"] == "2026-01-02T06:02:00Z"
        assert started.json()["finished_at"] is None
        done = post(
            admin, self.url(deployment), {"status": "succeeded", "finished_at": "2099-01-01T00:00Z"}
        )
        assert done.status_code == 200
        assert done.json()["finished_at"] == "2099-01-01T00:00:00Z"
        deployment.refresh_from_db()
        assert deployment.status == "succeeded"

    def test_a_finish_time_sent_with_the_status_it_has_is_stored(self, admin, production):
        # The README's and the CI client's way: recorded as succeeded, then told when it finished.
        body = record_body(started_at="2026-01-02T05:58:00Z")
        del body["finished_at"]
        created = post(admin, DEPLOYMENTS, body).json()
        assert created["finished_at"] is not None
        url = f"{DEPLOYMENTS}/{created['id']}/status"
        response = post(admin, url, {"status": "succeeded", "finished_at": "2026-01-02T05:58:44Z"})
        assert response.status_code == 200, response.content
        assert response.json()["finished_at"] == "2026-01-02T05:58:44Z"
        assert Deployment.objects.get().finished_at == T0 - timedelta(minutes=3, seconds=16)

    def test_rolling_back_keeps_when_it_went_live_unless_told(self, admin):
        deployment = DeploymentFactory(status="succeeded", finished_at=T0)
        response = post(admin, self.url(deployment), {"status": "rolled_back"})
        assert response.json()["finished_at"] == "2026-01-02T06:02:00Z"

    def test_succeeding_without_a_time_finishes_it_now(self, admin):
        deployment = DeploymentFactory(status="in_progress")
        response = post(admin, self.url(deployment), {"status": "succeeded"})
        deployment.refresh_from_db()
        assert response.json()["finished_at"] is not None
        assert deployment.finished_at is not None

    def test_a_succeeded_deployment_can_be_rolled_back(self, admin):
        deployment = DeploymentFactory(status="succeeded")
        response = post(admin, self.url(deployment), {"status": "rolled_back"})
        assert response.json()["status"] == "rolled_back"

    @pytest.mark.parametrize(
        ("current", "requested"),
        [
            ("succeeded", "in_progress"),
            ("succeeded", "pending"),
            ("failed", "succeeded"),
            ("rolled_back", "succeeded"),
            ("in_progress", "pending"),
            ("pending", "rolled_back"),
        ],
    )
    def test_a_move_the_lifecycle_does_not_allow_is_a_409_naming_the_allowed_ones(
        self, admin, current, requested
    ):
        deployment = DeploymentFactory(status=current)
        response = post(admin, self.url(deployment), {"status": requested})
        assert response.status_code == 409
        assert problem_type(response) == "status-transition-not-allowed"
        body = response.json()
        assert (body["current"], body["requested"]) == (current, requested)
        assert requested not in body["allowed"]
        deployment.refresh_from_db()
        assert deployment.status == current

    def test_asking_for_the_status_it_has_changes_nothing(self, admin):
        deployment = DeploymentFactory(status="succeeded", finished_at=T0)
        response = post(admin, self.url(deployment), {"status": "succeeded"})
        assert response.status_code == 200
        deployment.refresh_from_db()
        assert deployment.finished_at == T0

    def test_finishing_before_it_started_is_a_field_error(self, admin):
        deployment = DeploymentFactory(status="in_progress", started_at=T0)
        early = (T0 - timedelta(minutes=1)).isoformat()
        response = post(admin, self.url(deployment), {"status": "failed", "finished_at": early})
        assert "finished_at" in field_errors(response)
        deployment.refresh_from_db()
        assert deployment.status == "in_progress"

    def test_a_finish_time_for_a_deployment_that_is_only_starting_is_refused(self, admin):
        deployment = DeploymentFactory(status="pending")
        body = {"status": "in_progress", "finished_at": "2026-01-02T06:00:00Z"}
        assert "finished_at" in field_errors(post(admin, self.url(deployment), body))

    @pytest.mark.parametrize(
        "body", [{}, {"status": "done"}, {"status": "failed", "reason": "x"}, {"status": 3}]
    )
    def test_a_bad_status_request_is_a_400(self, admin, body):
        deployment = DeploymentFactory(status="in_progress")
        assert post(admin, self.url(deployment), body).status_code == 400

    def test_the_status_of_an_unknown_deployment_is_404(self, admin):
        assert post(admin, f"{DEPLOYMENTS}/999999/status", {"status": "failed"}).status_code == 404


class TestReading:
    def test_a_deployment_reads_back_with_its_artifacts(self, admin, production):
        created = post(admin, DEPLOYMENTS, record_body()).json()
        response = bearer("viewer", "read").get(f"{DEPLOYMENTS}/{created['id']}")
        assert response.status_code == 200
        assert response.json() == created

    @pytest.mark.parametrize("pk", ["999999", "99999999999999999999999", "abc"])
    def test_an_unknown_deployment_is_a_404_problem(self, admin, pk):
        response = admin.get(f"{DEPLOYMENTS}/{pk}")
        assert response.status_code == 404
        assert problem_type(response) == "not-found"

    def test_the_list_is_newest_first_by_default(self, admin):
        env = EnvironmentFactory()
        old = DeploymentFactory(environment=env, started_at=T0 - timedelta(days=2))
        new = DeploymentFactory(environment=env, started_at=T0)
        middle = DeploymentFactory(environment=env, started_at=T0 - timedelta(days=1))
        ids = [d["id"] for d in admin.get(DEPLOYMENTS).json()["results"]]
        assert ids == [new.pk, middle.pk, old.pk]
        ids = [
            d["id"] for d in admin.get(DEPLOYMENTS, {"ordering": "started_at"}).json()["results"]
        ]
        assert ids == [old.pk, middle.pk, new.pk]

    def test_the_list_filters_by_service_environment_status_commit_and_time(self, admin):
        production = EnvironmentFactory(service__slug="moodmash", name="production")
        preview = EnvironmentFactory(service=production.service, name="preview")
        other = EnvironmentFactory(service__slug="other", name="production")
        a = DeploymentFactory(
            environment=production, commit_sha="abc1234", status="failed", started_at=T0
        )
        b = DeploymentFactory(
            environment=preview, commit_sha="abd9999", started_at=T0 - timedelta(hours=2)
        )
        c = DeploymentFactory(environment=other, commit_sha="fff0000", started_at=T0)

        def ids(**params) -> set[int]:
            response = admin.get(DEPLOYMENTS, params)
            assert response.status_code == 200, response.content
            return {d["id"] for d in response.json()["results"]}

        assert ids(service="moodmash") == {a.pk, b.pk}
        assert ids(service="moodmash", environment="production") == {a.pk}
        assert ids(environment="production") == {a.pk, c.pk}
        assert ids(status="failed") == {a.pk}
        assert ids(commit="AB") == {a.pk, b.pk}
        assert ids(commit="abc") == {a.pk}
        assert ids(started_after=(T0 - timedelta(hours=1)).isoformat()) == {a.pk, c.pk}
        assert ids(started_before=(T0 - timedelta(hours=1)).isoformat()) == {b.pk}
        assert ids(external_id=c.external_id) == {c.pk}

    def test_a_time_filter_with_a_far_offset_means_the_same_moment(self, admin):
        deployment = DeploymentFactory(started_at=T0)
        just_before = "2026-01-01T08:21:00-21:40"  # T0 minus a minute
        assert [
            d["id"]
            for d in admin.get(DEPLOYMENTS, {"started_after": just_before}).json()["results"]
        ] == [deployment.pk]
        assert admin.get(DEPLOYMENTS, {"started_before": just_before}).json()["count"] == 0

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "shipped"},
            {"commit": "xyz"},
            {"started_after": "yesterday"},
            {"started_after": "1969-01-01T00:00:00Z"},
            {"started_after": "1970-01-01T00:00:00+01:00"},
            {"service": "a\x00b"},
            {"status": ""},
            {"commit": ""},
            {"started_before": ""},
        ],
    )
    def test_a_bad_filter_value_is_a_400(self, admin, params):
        response = admin.get(DEPLOYMENTS, params)
        assert response.status_code == 400
        assert problem_type(response) == "validation-error"

    def test_every_role_reads(self, production):
        DeploymentFactory(environment=production)
        for role in ("viewer", "editor", "admin"):
            assert bearer(role, "read").get(DEPLOYMENTS).json()["count"] == 1


class TestPermissions:
    @pytest.mark.parametrize(
        ("role", "scope", "expected"),
        [
            ("viewer", "write", 403),
            ("editor", "write", 403),
            ("admin", "read", 403),
            ("admin", "write", 201),
        ],
    )
    def test_only_an_admin_with_a_write_token_records_deployments(
        self, production, role, scope, expected
    ):
        response = post(bearer(role, scope), DEPLOYMENTS, record_body())
        assert response.status_code == expected
        if expected == 403:
            assert problem_type(response) == "permission-denied"
        assert Deployment.objects.count() == (1 if expected == 201 else 0)

    @pytest.mark.parametrize(("role", "scope"), [("editor", "write"), ("admin", "read")])
    def test_only_an_admin_with_a_write_token_changes_a_status(self, role, scope):
        deployment = DeploymentFactory(status="in_progress")
        response = post(
            bearer(role, scope), f"{DEPLOYMENTS}/{deployment.pk}/status", {"status": "failed"}
        )
        assert response.status_code == 403
        deployment.refresh_from_db()
        assert deployment.status == "in_progress"

    def test_anonymous_requests_are_401_with_a_bearer_challenge(self, production):
        deployment = DeploymentFactory(environment=production)
        client = APIClient()
        for response in (
            client.get(DEPLOYMENTS),
            client.get(f"{DEPLOYMENTS}/{deployment.pk}"),
            post(client, DEPLOYMENTS, record_body()),
        ):
            assert response.status_code == 401
            assert problem_type(response) == "not-authenticated"
            assert response["WWW-Authenticate"].startswith("Bearer")
        assert Deployment.objects.count() == 1


class TestIdempotency:
    def test_a_retry_with_the_same_key_and_body_replays_the_first_answer_byte_for_byte(
        self, admin, production
    ):
        first = post(admin, DEPLOYMENTS, record_body(), HTTP_IDEMPOTENCY_KEY="deploy-42")
        again = post(admin, DEPLOYMENTS, record_body(), HTTP_IDEMPOTENCY_KEY="deploy-42")
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again["Location"] == first["Location"]
        assert again["Idempotent-Replayed"] == "true"
        assert Deployment.objects.count() == 1

    def test_the_same_key_with_another_body_is_422(self, admin, production):
        post(admin, DEPLOYMENTS, record_body(), HTTP_IDEMPOTENCY_KEY="deploy-42")
        other = post(
            admin, DEPLOYMENTS, record_body(external_id="other"), HTTP_IDEMPOTENCY_KEY="deploy-42"
        )
        assert other.status_code == 422
        assert problem_type(other) == "idempotency-key-reused"
        assert Deployment.objects.count() == 1

    @pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ünicode"])
    def test_a_malformed_key_is_400_and_writes_nothing(self, admin, production, key):
        response = post(admin, DEPLOYMENTS, record_body(), HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 400
        assert problem_type(response) == "malformed-idempotency-key"
        assert not Deployment.objects.exists()

    def test_status_changes_are_idempotent_too(self, admin):
        deployment = DeploymentFactory(status="in_progress")
        url = f"{DEPLOYMENTS}/{deployment.pk}/status"
        first = post(admin, url, {"status": "failed"}, HTTP_IDEMPOTENCY_KEY="status-1")
        again = post(admin, url, {"status": "failed"}, HTTP_IDEMPOTENCY_KEY="status-1")
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"

    def test_each_transition_is_its_own_idempotent_request(self, admin):
        deployment = DeploymentFactory(status="pending")
        url = f"{DEPLOYMENTS}/{deployment.pk}/status"
        started = post(admin, url, {"status": "in_progress"}, HTTP_IDEMPOTENCY_KEY="ci-7-start")
        done = post(admin, url, {"status": "succeeded"}, HTTP_IDEMPOTENCY_KEY="ci-7-done")
        replayed = post(admin, url, {"status": "in_progress"}, HTTP_IDEMPOTENCY_KEY="ci-7-start")
        assert (started.json()["status"], done.json()["status"]) == ("in_progress", "succeeded")
        assert replayed.content == started.content
        assert replayed["Idempotent-Replayed"] == "true"
        deployment.refresh_from_db()
        assert deployment.status == "succeeded"  # the replay moved nothing back


class TestQueryBudgets:
    """Pinned: authentication is 1 query (the token with its user) and the role check 2 (the
    user's and the groups' permissions); then the list's count and page, or the detail's row
    and its artifacts."""

    def queries(self, client: APIClient, url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured)

    def test_the_list_costs_the_same_for_1_and_50_deployments(self, production):
        client = bearer("viewer", "read")
        client.get(DEPLOYMENTS)  # marks the token used: a write that later requests skip
        rollback_target = DeploymentFactory(environment=production)
        DeploymentFactory(environment=production, rollback_of=rollback_target)
        one = self.queries(client, f"{DEPLOYMENTS}?page_size=1")
        DeploymentFactory.create_batch(50, environment=production, rollback_of=rollback_target)
        fifty = self.queries(client, f"{DEPLOYMENTS}?page_size=50")
        assert one == fifty == 5

    def test_the_detail_costs_the_same_for_1_and_50_artifacts(self, admin, production):
        few = post(admin, DEPLOYMENTS, record_body(external_id="few")).json()
        many_files = [{"path": f"{n}.js", "size": n, "sha256": SHA} for n in range(50)]
        many = post(admin, DEPLOYMENTS, record_body(external_id="many", manifest=many_files))
        assert self.queries(admin, f"{DEPLOYMENTS}/{few['id']}") == 5
        assert self.queries(admin, f"{DEPLOYMENTS}/{many.json()['id']}") == 5


class TestSchema:
    @pytest.fixture
    def schema(self, client) -> dict:
        client.force_login(user_with_role("viewer"))
        response = client.get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        return response.json()

    def test_recording_documents_200_and_201_the_problems_and_the_idempotency_key(self, schema):
        operation = schema["paths"][DEPLOYMENTS]["post"]
        assert {"200", "201", "400", "404", "409", "413", "422"} <= set(operation["responses"])
        assert "application/problem+json" in operation["responses"]["413"]["content"]
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"]
        assert "Location" in operation["responses"]["201"]["headers"]

    def test_request_bodies_refuse_unknown_keys_as_the_api_does(self, schema):
        components = schema["components"]["schemas"]
        for name in ("DeploymentRecordRequest", "ManifestEntryRequest", "DeploymentStatusRequest"):
            assert components[name]["additionalProperties"] is False, name


def test_each_read_shape_writes_exactly_the_fields_the_schema_declares_in_its_order(
    admin, production
):
    """Real rows through the endpoints: the keys, and their order, are the declared fields'."""
    assert post(admin, DEPLOYMENTS, record_body()).status_code == 201
    check = HealthCheckFactory(service=production.service, environment=production)
    snapshot_record(
        service=production.service, taken_at=T0, outcomes=[ProbeOutcome(check, ok=True)]
    )
    snapshot = admin.get("/api/v1/health-snapshots").json()["results"][0]
    shapes = [
        (admin.get("/api/v1/services").json()["results"][0], api_serializers.ServiceSerializer),
        (
            admin.get("/api/v1/environments").json()["results"][0],
            api_serializers.EnvironmentSerializer,
        ),
        (admin.get(DEPLOYMENTS).json()["results"][0], api_serializers.DeploymentSerializer),
        (
            admin.get(f"{DEPLOYMENTS}/{Deployment.objects.get().pk}").json(),
            api_serializers.DeploymentDetailSerializer,
        ),
        (
            admin.get(f"{DEPLOYMENTS}/{Deployment.objects.get().pk}").json()["artifacts"][0],
            api_serializers.ArtifactSerializer,
        ),
        (
            admin.get("/api/v1/health-checks").json()["results"][0],
            api_serializers.HealthCheckSerializer,
        ),
        (snapshot, api_serializers.HealthSnapshotSerializer),
        (snapshot["results"][0], api_serializers.CheckResultSerializer),
    ]
    for data, serializer in shapes:
        assert list(data) == list(serializer().fields), serializer.__name__


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_records_of_one_external_id_make_one_row_and_no_error():
    """No Idempotency-Key: the external id alone must hold, even when the inserts race."""
    EnvironmentFactory(service__slug="moodmash", name="production")
    clients = [bearer("admin", "write") for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def record(client: APIClient) -> None:
        try:
            barrier.wait()
            statuses.append(post(client, DEPLOYMENTS, record_body()).status_code)
        finally:
            db.connections.close_all()

    threads = [threading.Thread(target=record, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 7 + [201]
    assert Deployment.objects.count() == 1
    assert Artifact.objects.count() == 3
