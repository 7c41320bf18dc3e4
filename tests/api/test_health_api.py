"""The system-side configuration and health over the API: services, environments, health
checks (admins write, everyone reads) and health snapshots (read-only, cursor-paginated)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from api.tokens import token_create
from deployments.models import CheckResult, Environment, HealthCheck, HealthSnapshot, Service
from deployments.services import ProbeOutcome, snapshot_record
from tests.factories import (
    T0,
    EnvironmentFactory,
    HealthCheckFactory,
    ServiceFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services"
ENVIRONMENTS = "/api/v1/environments"
CHECKS = "/api/v1/health-checks"
SNAPSHOTS = "/api/v1/health-snapshots"
PROBLEM = "urn:hindsight:problem:"


def bearer(role: str = "admin", scope: str = "write") -> APIClient:
    user = user_with_role(role, username=f"{role}-{scope}")
    _token, raw = token_create(user=user, name="tooling", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def send(client: APIClient, method: str, path: str, body):
    raw = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(path, data=raw, content_type="application/json")


def conflict_errors(response) -> list[str]:
    assert response.status_code == 409, response.content
    assert response.json()["type"] == PROBLEM + "already-exists"
    return list(response.json()["errors"])


def field_errors(response) -> dict:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + "validation-error"
    return response.json()["errors"]


@pytest.fixture
def admin() -> APIClient:
    return bearer("admin")


@pytest.fixture
def viewer() -> APIClient:
    return bearer("viewer", "read")


class TestServices:
    def test_services_list_by_name_with_their_latest_health(self, viewer):
        check = HealthCheckFactory(service__name="Beta", service__slug="beta")
        ServiceFactory(name="Alpha", slug="alpha")
        snapshot_record(
            service=check.service, taken_at=T0, outcomes=[ProbeOutcome(check, False, error="503")]
        )
        results = viewer.get(SERVICES).json()["results"]
        assert [s["slug"] for s in results] == ["alpha", "beta"]
        assert results[0]["health_status"] is None
        assert results[1]["health_status"] == "down"
        assert results[1]["health_taken_at"] == "2026-01-02T06:02:00Z"

    def test_a_service_is_addressed_by_its_slug(self, viewer):
        ServiceFactory(name="Moodmash", slug="moodmash")
        response = viewer.get(f"{SERVICES}/moodmash")
        assert response.status_code == 200
        assert response.json()["name"] == "Moodmash"
        assert viewer.get(f"{SERVICES}/nope").status_code == 404

    def test_an_admin_adds_and_renames_a_service(self, admin):
        response = send(
            admin, "post", SERVICES, {"name": "Moodmash", "slug": "moodmash", "public_url": ""}
        )
        assert response.status_code == 201, response.content
        assert response["Location"].endswith(f"{SERVICES}/moodmash")
        changed = send(admin, "patch", f"{SERVICES}/moodmash", {"name": "MoodMash"})
        assert changed.status_code == 200
        assert changed.json()["name"] == "MoodMash"
        assert Service.objects.get().name == "MoodMash"

    def test_a_slug_already_taken_is_a_409_naming_the_field(self, admin):
        ServiceFactory(slug="moodmash")
        response = send(admin, "post", SERVICES, {"name": "Other", "slug": "moodmash"})
        assert conflict_errors(response) == ["slug"]
        assert Service.objects.count() == 1

    def test_renaming_onto_a_taken_slug_is_a_409(self, admin):
        ServiceFactory(slug="moodmash")
        ServiceFactory(slug="other")
        response = send(admin, "patch", f"{SERVICES}/other", {"slug": "moodmash"})
        assert conflict_errors(response) == ["slug"]
        assert Service.objects.filter(slug="other").exists()

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "X", "slug": "has space"},
            {"name": 5, "slug": "x"},
            {"name": "X", "slug": "x", "public_url": "ftp://example.test"},
            {"name": "X", "slug": "x", "public_url": "javascript:alert(1)"},
            {"name": "X", "slug": "x", "owner": "me"},
            {"name": "X\x00", "slug": "x"},
            {"slug": "x"},
        ],
    )
    def test_bad_service_input_is_a_400_and_writes_nothing(self, admin, body):
        assert send(admin, "post", SERVICES, body).status_code == 400
        assert not Service.objects.exists()

    @pytest.mark.parametrize(("role", "scope"), [("viewer", "write"), ("editor", "write")])
    def test_only_admins_add_services(self, role, scope):
        response = send(bearer(role, scope), "post", SERVICES, {"name": "X", "slug": "x"})
        assert response.status_code == 403
        assert not Service.objects.exists()

    def test_services_cannot_be_deleted_over_the_api(self, admin):
        ServiceFactory(slug="moodmash")
        assert admin.delete(f"{SERVICES}/moodmash").status_code == 405


class TestEnvironments:
    def test_environments_filter_by_service_slug(self, viewer):
        mine = EnvironmentFactory(service__slug="moodmash", name="production")
        EnvironmentFactory(service=mine.service, name="preview")
        EnvironmentFactory(service__slug="other")
        response = viewer.get(ENVIRONMENTS, {"service": "moodmash"})
        assert sorted(e["name"] for e in response.json()["results"]) == ["preview", "production"]
        assert viewer.get(f"{ENVIRONMENTS}/{mine.pk}").json()["service"] == "moodmash"

    def test_an_admin_adds_an_environment_to_a_service_and_changes_it(self, admin):
        ServiceFactory(slug="moodmash")
        body = {"service": "moodmash", "name": "preview", "kind": "preview"}
        response = send(admin, "post", ENVIRONMENTS, body)
        assert response.status_code == 201, response.content
        pk = response.json()["id"]
        template = "npx wrangler pages deployment rollback {external_id}"
        changed = send(
            admin, "patch", f"{ENVIRONMENTS}/{pk}", {"rollback_command_template": template}
        )
        assert changed.json()["rollback_command_template"] == template

    def test_a_name_the_service_already_has_is_a_409_on_the_name(self, admin):
        EnvironmentFactory(service__slug="moodmash", name="production")
        body = {"service": "moodmash", "name": "production"}
        assert conflict_errors(send(admin, "post", ENVIRONMENTS, body)) == ["name"]
        assert Environment.objects.count() == 1

    def test_an_unknown_service_is_a_404(self, admin):
        response = send(admin, "post", ENVIRONMENTS, {"service": "nope", "name": "production"})
        assert response.status_code == 404
        assert response.json()["type"] == PROBLEM + "unknown-service"
        assert not Environment.objects.exists()

    @pytest.mark.parametrize("params", [{"kind": ""}, {"kind": "prod"}, {"service": "a\x00b"}])
    def test_a_bad_filter_value_is_a_400(self, viewer, params):
        assert viewer.get(ENVIRONMENTS, params).status_code == 400

    def test_an_environment_never_moves_to_another_service(self, admin):
        environment = EnvironmentFactory()
        ServiceFactory(slug="other")
        response = send(admin, "patch", f"{ENVIRONMENTS}/{environment.pk}", {"service": "other"})
        assert "service" in field_errors(response)

    def test_a_viewer_cannot_change_an_environment(self):
        environment = EnvironmentFactory(branch="main")
        response = send(
            bearer("viewer"), "patch", f"{ENVIRONMENTS}/{environment.pk}", {"branch": "x"}
        )
        assert response.status_code == 403
        environment.refresh_from_db()
        assert environment.branch == "main"


def check_body(**overrides) -> dict:
    body = {
        "service": "moodmash",
        "environment": "production",
        "name": "Homepage",
        "url": "https://moodmash.example.test/",
        "method": "GET",
        "expected_status": 200,
        "expected_body": "<title>",
        "timeout_seconds": 5,
        "interval_seconds": 60,
        "enabled": True,
        "order": 1,
    }
    body.update(overrides)
    return body


class TestHealthChecks:
    @pytest.fixture(autouse=True)
    def production(self):
        return EnvironmentFactory(service__slug="moodmash", name="production")

    def test_an_admin_adds_a_check_reads_it_changes_it_and_deletes_it(self, admin, viewer):
        created = send(admin, "post", CHECKS, check_body())
        assert created.status_code == 201, created.content
        pk = created.json()["id"]
        assert created.json()["environment"] == "production"
        assert viewer.get(f"{CHECKS}/{pk}").json() == created.json()
        changed = send(admin, "patch", f"{CHECKS}/{pk}", {"enabled": False, "environment": None})
        assert changed.status_code == 200, changed.content
        assert (changed.json()["enabled"], changed.json()["environment"]) == (False, None)
        assert admin.delete(f"{CHECKS}/{pk}").status_code == 204
        assert not HealthCheck.objects.exists()

    def test_replacing_a_check_resets_what_the_request_leaves_out(self, admin):
        pk = send(admin, "post", CHECKS, check_body()).json()["id"]
        body = {"name": "Homepage", "url": "http://moodmash.example.test/"}
        response = send(admin, "put", f"{CHECKS}/{pk}", body)
        assert response.status_code == 200, response.content
        assert response.json()["expected_body"] == ""
        assert response.json()["environment"] is None

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("url", "ftp://moodmash.example.test/"),
            ("url", "file:///etc/passwd"),
            ("url", "gopher://moodmash.example.test/"),
            ("url", "not a url"),
            ("url", 7),
            ("expected_status", 99),
            ("expected_status", 600),
            ("expected_status", "200"),
            ("expected_status", 200.5),
            ("timeout_seconds", 0),
            ("timeout_seconds", 0.05),
            ("timeout_seconds", 121),
            ("timeout_seconds", "5"),
            ("interval_seconds", 9),
            ("interval_seconds", 86401),
            ("interval_seconds", True),
            ("enabled", "yes"),
            ("enabled", 1),
            ("method", "DELETE"),
            ("order", -1),
            ("order", 2**31),
            ("name", ""),
            ("name", 12),
            ("expected_body", "a\x00b"),
            ("environment", "staging"),
            ("environment", 3),
            ("service", 3),
            ("colour", "red"),
        ],
    )
    def test_bad_check_input_is_a_field_error_and_writes_nothing(self, admin, field, value):
        errors = field_errors(send(admin, "post", CHECKS, check_body(**{field: value})))
        assert field in errors
        assert not HealthCheck.objects.exists()

    def test_a_check_cannot_watch_another_services_environment(self, admin):
        EnvironmentFactory(service__slug="other", name="staging")
        errors = field_errors(send(admin, "post", CHECKS, check_body(environment="staging")))
        assert "environment" in errors

    def test_a_second_check_with_the_same_name_is_a_409_on_the_name(self, admin):
        send(admin, "post", CHECKS, check_body())
        assert conflict_errors(send(admin, "post", CHECKS, check_body())) == ["name"]
        assert HealthCheck.objects.count() == 1

    def test_a_check_for_an_unknown_service_is_a_404(self, admin):
        response = send(admin, "post", CHECKS, check_body(service="nope"))
        assert response.status_code == 404
        assert response.json()["type"] == PROBLEM + "unknown-service"

    def test_checks_filter_by_service_environment_and_enabled(self, viewer, production):
        on = HealthCheckFactory(service=production.service, environment=production)
        off = HealthCheckFactory(service=production.service, enabled=False)
        HealthCheckFactory()

        def ids(**params) -> set[int]:
            response = viewer.get(CHECKS, params)
            assert response.status_code == 200, response.content
            return {c["id"] for c in response.json()["results"]}

        assert ids(service="moodmash") == {on.pk, off.pk}
        assert ids(service="moodmash", enabled="false") == {off.pk}
        assert ids(service="moodmash", enabled="true") == {on.pk}
        assert ids(environment="production") == {on.pk}

    @pytest.mark.parametrize("enabled", ["", "null", "yes", "1", "True"])
    def test_enabled_is_true_or_false_and_nothing_else(self, viewer, enabled):
        assert viewer.get(CHECKS, {"enabled": enabled}).status_code == 400

    def test_a_check_stays_with_its_service(self, admin):
        pk = send(admin, "post", CHECKS, check_body()).json()["id"]
        assert "service" in field_errors(send(admin, "patch", f"{CHECKS}/{pk}", {"service": "x"}))

    @pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
    def test_every_role_reads_checks(self, role):
        HealthCheckFactory()
        assert bearer(role, "read").get(CHECKS).json()["count"] == 1

    @pytest.mark.parametrize(
        ("role", "scope"), [("viewer", "write"), ("editor", "write"), ("admin", "read")]
    )
    def test_only_an_admin_with_a_write_token_writes_checks(self, role, scope):
        check = HealthCheckFactory(enabled=True)
        client = bearer(role, scope)
        assert send(client, "post", CHECKS, check_body()).status_code == 403
        assert send(client, "patch", f"{CHECKS}/{check.pk}", {"enabled": False}).status_code == 403
        assert client.delete(f"{CHECKS}/{check.pk}").status_code == 403
        assert list(HealthCheck.objects.values_list("enabled", flat=True)) == [True]

    def test_anonymous_requests_are_401(self):
        check = HealthCheckFactory()
        client = APIClient()
        assert client.get(CHECKS).status_code == 401
        assert client.delete(f"{CHECKS}/{check.pk}").status_code == 401
        assert HealthCheck.objects.exists()


def snapshots(service: Service, count: int, *, checks: int = 5, start=T0) -> list[HealthSnapshot]:
    made = [HealthCheckFactory(service=service) for _ in range(checks)]
    return [
        snapshot_record(
            service=service,
            taken_at=start + timedelta(minutes=minute),
            outcomes=[
                ProbeOutcome(
                    check, ok=n != 0, status_code=200 if n else 503, error="" if n else "503"
                )
                for n, check in enumerate(made)
            ],
        )
        for minute in range(count)
    ]


class TestSnapshots:
    def test_snapshots_are_newest_first_each_with_its_results(self, viewer):
        service = ServiceFactory(slug="moodmash")
        made = snapshots(service, 3, checks=2)
        body = viewer.get(SNAPSHOTS).json()
        assert [s["id"] for s in body["results"]] == [s.pk for s in reversed(made)]
        first = body["results"][0]
        assert first["service"] == "moodmash"
        assert first["status"] == "degraded"
        assert first["kind"] == "scheduled"
        assert [r["ok"] for r in first["results"]] == [False, True]
        assert first["results"][0]["error"] == "503"
        assert set(first["results"][0]) == {
            "health_check",
            "name",
            "ok",
            "status_code",
            "latency_ms",
            "error",
            "maintenance",
        }
        assert (
            viewer.get(f"{SNAPSHOTS}/{made[0].pk}").json()["results"]
            == body["results"][2]["results"]
        )

    def test_cursor_pages_stay_stable_while_new_snapshots_arrive(self, viewer):
        service = ServiceFactory()
        made = snapshots(service, 7, checks=1)
        first = viewer.get(SNAPSHOTS, {"page_size": 3}).json()
        assert "count" not in first
        # Newer snapshots arrive between the pages; the next page still continues where the
        # first one stopped, with no repeats and no gaps.
        snapshots(service, 2, checks=1, start=T0 + timedelta(hours=1))
        second = viewer.get(first["next"]).json()
        third = viewer.get(second["next"]).json()
        seen = [s["id"] for page in (first, second, third) for s in page["results"]]
        assert seen == [s.pk for s in reversed(made)]
        assert third["next"] is None

    def test_snapshots_that_share_a_moment_are_neither_skipped_nor_repeated(self, viewer):
        services = [ServiceFactory() for _ in range(5)]
        for service in services:
            snapshots(service, 2, checks=1)
        seen, url = [], SNAPSHOTS + "?page_size=3"
        while url:
            page = viewer.get(url).json()
            seen += [s["id"] for s in page["results"]]
            url = page["next"]
        assert sorted(seen) == sorted(HealthSnapshot.objects.values_list("pk", flat=True))
        assert len(seen) == len(set(seen)) == 10

    def test_snapshots_filter_by_service_time_and_status(self, viewer):
        mine, other = ServiceFactory(slug="moodmash"), ServiceFactory(slug="other")
        made = snapshots(mine, 4, checks=1)
        snapshots(other, 4, checks=1)

        def ids(**params) -> list[int]:
            response = viewer.get(SNAPSHOTS, params)
            assert response.status_code == 200, response.content
            return [s["id"] for s in response.json()["results"]]

        assert ids(service="moodmash") == [s.pk for s in reversed(made)]
        after, before = (T0 + timedelta(minutes=1)).isoformat(), (T0 + timedelta(minutes=3))
        assert ids(service="moodmash", taken_after=after, taken_before=before.isoformat()) == [
            made[2].pk,
            made[1].pk,
        ]
        assert ids(status="up") == []
        assert len(ids(status="down")) == 8

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "sideways"},
            {"taken_after": "soon"},
            {"taken_before": "0001-01-01T00:00:00+01:00"},
            {"taken_after": "1960-01-01T00:00:00Z"},
            {"taken_after": ""},
            {"status": ""},
        ],
    )
    def test_a_bad_filter_value_is_a_400(self, viewer, params):
        response = viewer.get(SNAPSHOTS, params)
        assert response.status_code == 400
        assert response.json()["type"] == PROBLEM + "validation-error"

    @pytest.mark.parametrize(
        "position", ["garbage", "0001-01-01 00:00:00+05:00", "2026-01-02 06:02:00", ""]
    )
    def test_a_forged_cursor_is_a_404_not_a_crash(self, viewer, position):
        ServiceFactory()
        cursor = base64.b64encode(f"o=0&r=0&p={position}".encode()).decode()
        response = viewer.get(SNAPSHOTS, {"cursor": cursor})
        assert response.status_code == 404
        assert response.json()["type"] == PROBLEM + "not-found"

    def test_snapshots_cannot_be_written_over_the_api(self, admin):
        snapshot = snapshots(ServiceFactory(), 1, checks=1)[0]
        assert send(admin, "post", SNAPSHOTS, {"status": "up"}).status_code == 405
        assert admin.delete(f"{SNAPSHOTS}/{snapshot.pk}").status_code == 405

    def test_a_page_costs_the_same_for_1_and_50_snapshots_of_5_results(self, viewer):
        """Pinned: authentication 1 query, the role check 2, the page 1, its results 1."""
        viewer.get(SNAPSHOTS)  # marks the token used: a write that later requests skip
        service = ServiceFactory()
        snapshots(service, 1)

        def queries(size: int) -> int:
            with CaptureQueriesContext(connection) as captured:
                response = viewer.get(SNAPSHOTS, {"page_size": size})
            assert response.status_code == 200
            assert len(response.json()["results"]) == size
            assert all(len(s["results"]) == 5 for s in response.json()["results"])
            return len(captured)

        one = queries(1)
        snapshots(ServiceFactory(), 49)
        assert CheckResult.objects.count() == 250
        assert one == queries(50) == 5

    def test_the_results_of_a_page_come_in_one_query(self, viewer):
        viewer.get(SNAPSHOTS)
        snapshots(ServiceFactory(), 20)
        with CaptureQueriesContext(connection) as captured:
            viewer.get(SNAPSHOTS)
        result_queries = [q for q in captured if "deployments_checkresult" in q["sql"]]
        assert len(result_queries) == 1


class TestServiceAndEnvironmentBudgets:
    def queries(self, client: APIClient, url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    @pytest.mark.parametrize("url", [SERVICES, ENVIRONMENTS, CHECKS])
    def test_lists_cost_the_same_for_1_and_50_rows(self, viewer, url):
        viewer.get(url)
        EnvironmentFactory()
        HealthCheckFactory()
        one = self.queries(viewer, url)
        for _ in range(50):
            HealthCheckFactory(service=EnvironmentFactory().service)
        assert one == self.queries(viewer, url) == 5


def test_the_cursor_link_keeps_the_filters(viewer):
    service = ServiceFactory(slug="moodmash")
    snapshots(service, 3, checks=1)
    body = viewer.get(SNAPSHOTS, {"service": "moodmash", "page_size": 1}).json()
    query = parse_qs(urlsplit(body["next"]).query)
    assert query["service"] == ["moodmash"]
