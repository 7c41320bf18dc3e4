"""POST and GET /changes and /maintenance-windows: what CI records around a deployment, how it is
listed, and every refusal as problem+json."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from deployments.api import serializers as api_serializers
from deployments.models import Change, MaintenanceWindow
from tests.api.test_deployments_api import bearer, field_errors, post, problem_type
from tests.api.test_incidents_api import assert_documented
from tests.factories import (
    T0,
    ChangeFactory,
    EnvironmentFactory,
    MaintenanceWindowFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

CHANGES = "/api/v1/changes"
WINDOWS = "/api/v1/maintenance-windows"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def admin() -> APIClient:
    return bearer("admin")


@pytest.fixture
def production():
    return EnvironmentFactory(service__slug="storefront", name="production")


@pytest.fixture(scope="module")
def openapi():
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def change_body(**overrides) -> dict:
    body = {
        "service": "storefront",
        "environment": "production",
        "kind": "feature_flag",
        "summary": "New checkout for everyone",
        "link": "https://flags.example.test/checkout",
        "at": "2026-01-02T05:50:00Z",
        "by": "release bot",
        "external_id": "flag-checkout-1",
    }
    body.update(overrides)
    return body


class TestRecordingChanges:
    def test_a_change_is_recorded_with_201_and_reads_back(self, admin, production, openapi):
        response = post(admin, CHANGES, change_body())
        assert response.status_code == 201, response.content
        assert_documented(openapi, CHANGES, "POST", CHANGES, response)
        change = Change.objects.get()
        assert response["Location"].endswith(f"{CHANGES}/{change.pk}")
        data = response.json()
        assert data == {
            "id": change.pk,
            "service": "storefront",
            "environment": "production",
            "kind": "feature_flag",
            "summary": "New checkout for everyone",
            "link": "https://flags.example.test/checkout",
            "at": "2026-01-02T05:50:00Z",
            "by": "release bot",
            "external_id": "flag-checkout-1",
            "created_at": data["created_at"],
        }
        assert admin.get(f"{CHANGES}/{change.pk}").json() == data

    def test_only_service_kind_and_summary_are_required(self, admin, production, clock):
        body = {"service": "storefront", "kind": "config", "summary": "Pool size 20"}
        response = post(admin, CHANGES, body)
        assert response.status_code == 201, response.content
        data = response.json()
        assert (data["environment"], data["link"], data["by"], data["external_id"]) == (
            None,
            "",
            "",
            "",
        )
        assert data["at"] == "2026-01-02T06:02:00Z"  # now

    def test_the_same_external_id_again_answers_200_with_the_first_change(self, admin, production):
        first = post(admin, CHANGES, change_body())
        again = post(admin, CHANGES, change_body(summary="Something else", kind="other"))
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        assert Change.objects.count() == 1

    def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer(
        self, admin, production
    ):
        body = change_body(external_id="")
        body.pop("external_id")
        first = post(admin, CHANGES, body, HTTP_IDEMPOTENCY_KEY="change-1")
        again = post(admin, CHANGES, body, HTTP_IDEMPOTENCY_KEY="change-1")
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"
        assert Change.objects.count() == 1

    def test_an_unknown_service_is_a_404_problem(self, admin, production, openapi):
        response = post(admin, CHANGES, change_body(service="nowhere"))
        assert response.status_code == 404
        assert problem_type(response) == "unknown-service"
        assert_documented(openapi, CHANGES, "POST", CHANGES, response)
        assert not Change.objects.exists()

    def test_an_unknown_environment_is_a_404_problem(self, admin, production):
        response = post(admin, CHANGES, change_body(environment="staging"))
        assert response.status_code == 404
        assert problem_type(response) == "unknown-environment"
        assert not Change.objects.exists()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("kind", "deploy"),
            ("kind", None),
            ("link", "javascript:alert(1)"),
            ("link", "ftp://files.example.test/x"),
            ("link", "not a url"),
            ("link", 42),
            ("summary", ""),
            ("summary", "x" * 501),
            ("at", "yesterday"),
            ("at", "1969-12-31T23:59:00Z"),
            ("external_id", ""),
            ("by", 7),
        ],
    )
    def test_a_bad_value_is_a_400_naming_the_field_and_writes_nothing(
        self, admin, production, field, value
    ):
        response = post(admin, CHANGES, change_body(**{field: value}))
        assert field in field_errors(response)
        assert not Change.objects.exists()

    def test_unknown_fields_are_refused_and_named(self, admin, production):
        assert "deployed_by" in field_errors(post(admin, CHANGES, change_body(deployed_by="x")))

    @pytest.mark.parametrize(("role", "scope"), [("viewer", "write"), ("admin", "read")])
    def test_only_an_admin_with_a_write_token_records_changes(self, production, role, scope):
        response = post(bearer(role, scope), CHANGES, change_body())
        assert response.status_code == 403
        assert problem_type(response) == "permission-denied"
        assert not Change.objects.exists()


class TestListingChanges:
    def test_the_list_is_newest_first_and_every_role_reads_it(self, production):
        old = ChangeFactory(service=production.service, at=T0 - timedelta(hours=2))
        new = ChangeFactory(service=production.service, at=T0)
        body = bearer("viewer", "read").get(CHANGES).json()
        assert [row["id"] for row in body["results"]] == [new.pk, old.pk]

    def test_the_list_filters_by_service_environment_kind_and_time(self, admin, production):
        preview = EnvironmentFactory(service=production.service, name="preview")
        flag = ChangeFactory(
            service=production.service, environment=production, kind="feature_flag", at=T0
        )
        infra = ChangeFactory(
            service=production.service, kind="infrastructure", at=T0 - timedelta(hours=1)
        )
        on_preview = ChangeFactory(
            service=production.service, environment=preview, at=T0 - timedelta(hours=2)
        )
        elsewhere = ChangeFactory(at=T0)

        def ids(**params) -> list[int]:
            response = admin.get(CHANGES, params)
            assert response.status_code == 200, response.content
            return [row["id"] for row in response.json()["results"]]

        assert ids(service="storefront") == [flag.pk, infra.pk, on_preview.pk]
        assert ids(service=elsewhere.service.slug) == [elsewhere.pk]
        assert ids(environment="preview") == [on_preview.pk]
        assert ids(kind="infrastructure") == [infra.pk]
        assert ids(service="storefront", after="2026-01-02T05:02:00Z") == [flag.pk, infra.pk]
        assert ids(service="storefront", before="2026-01-02T05:02:00Z") == [on_preview.pk]
        assert ids(ordering="at", service="storefront") == [on_preview.pk, infra.pk, flag.pk]

    @pytest.mark.parametrize(
        "params", [{"kind": "deploy"}, {"after": "soon"}, {"before": ""}, {"kind": ""}]
    )
    def test_a_bad_filter_value_is_a_400(self, admin, params):
        response = admin.get(CHANGES, params)
        assert response.status_code == 400
        assert problem_type(response) == "validation-error"

    def test_an_unknown_change_is_a_404_problem(self, admin):
        response = admin.get(f"{CHANGES}/999999")
        assert response.status_code == 404
        assert problem_type(response) == "not-found"


class TestOpeningWindows:
    def test_a_window_opens_now_for_60_minutes_and_answers_201(
        self, admin, production, clock, openapi
    ):
        response = post(admin, WINDOWS, {"service": "storefront", "reason": "Deploy 42"})
        assert response.status_code == 201, response.content
        assert_documented(openapi, WINDOWS, "POST", WINDOWS, response)
        window = MaintenanceWindow.objects.get()
        assert response["Location"].endswith(f"{WINDOWS}/{window.pk}")
        assert response.json() == {
            "id": window.pk,
            "service": "storefront",
            "environment": None,
            "reason": "Deploy 42",
            "external_id": "",
            "opened_by": "admin-write (CI)",
            "starts_at": "2026-01-02T06:02:00Z",
            "ends_at": "2026-01-02T07:02:00Z",
            "ended_at": None,
            "open": True,
        }

    def test_a_window_of_one_environment_for_some_minutes(self, admin, production, clock):
        body = {"service": "storefront", "environment": "production", "minutes": 15}
        data = post(admin, WINDOWS, body).json()
        assert data["environment"] == "production"
        assert data["ends_at"] == "2026-01-02T06:17:00Z"

    def test_the_same_external_id_while_open_answers_200_and_after_its_end_opens_anew(
        self, admin, production, clock
    ):
        body = {"service": "storefront", "external_id": "deploy-42"}
        first = post(admin, WINDOWS, body)
        clock.shift(5 * MINUTE)
        again = post(admin, WINDOWS, {**body, "minutes": 10})
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        post(admin, f"{WINDOWS}/{first.json()['id']}/end", {})
        reopened = post(admin, WINDOWS, body)
        assert reopened.status_code == 201
        assert reopened.json()["id"] != first.json()["id"]

    @pytest.mark.parametrize("minutes", [0, 24 * 60 + 1, "60", 1.5, True, None])
    def test_a_window_lasts_1_to_1440_whole_minutes(self, admin, production, minutes):
        response = post(admin, WINDOWS, {"service": "storefront", "minutes": minutes})
        assert "minutes" in field_errors(response)
        assert not MaintenanceWindow.objects.exists()

    def test_an_unknown_service_or_environment_is_a_404_problem(self, admin, production):
        response = post(admin, WINDOWS, {"service": "nowhere"})
        assert (response.status_code, problem_type(response)) == (404, "unknown-service")
        response = post(admin, WINDOWS, {"service": "storefront", "environment": "staging"})
        assert (response.status_code, problem_type(response)) == (404, "unknown-environment")
        assert not MaintenanceWindow.objects.exists()

    def test_only_an_admin_with_a_write_token_opens_windows(self, production):
        for client in (bearer("viewer", "write"), bearer("admin", "read")):
            assert post(client, WINDOWS, {"service": "storefront"}).status_code == 403
        assert not MaintenanceWindow.objects.exists()


class TestEndingWindows:
    def test_ending_closes_it_now_and_ending_again_changes_nothing(
        self, admin, production, clock, openapi
    ):
        window = post(admin, WINDOWS, {"service": "storefront"}).json()
        url = f"{WINDOWS}/{window['id']}/end"
        clock.shift(7 * MINUTE)
        ended = post(admin, url, {})
        assert ended.status_code == 200, ended.content
        assert_documented(openapi, f"{WINDOWS}/{{id}}/end", "POST", url, ended)
        assert ended.json()["ended_at"] == "2026-01-02T06:09:00Z"
        assert ended.json()["open"] is False
        clock.shift(MINUTE)
        assert post(admin, url, {}).json() == ended.json()

    def test_a_window_closes_by_itself_after_its_minutes(self, admin, production, clock):
        window = post(admin, WINDOWS, {"service": "storefront", "minutes": 5}).json()
        clock.shift(5 * MINUTE)
        data = admin.get(f"{WINDOWS}/{window['id']}").json()
        assert (data["open"], data["ended_at"]) == (False, None)
        assert post(admin, f"{WINDOWS}/{window['id']}/end", {}).json() == data

    def test_ending_an_unknown_window_is_a_404_and_a_viewer_may_not(self, admin, production):
        assert post(admin, f"{WINDOWS}/999999/end", {}).status_code == 404
        window = MaintenanceWindowFactory(service=production.service)
        response = post(bearer("viewer", "write"), f"{WINDOWS}/{window.pk}/end", {})
        assert response.status_code == 403
        assert MaintenanceWindow.objects.get().ended_at is None


class TestListingWindows:
    def test_the_list_filters_by_service_environment_external_id_and_open(
        self, admin, production, clock
    ):
        preview = EnvironmentFactory(service=production.service, name="preview")
        now_open = MaintenanceWindowFactory(
            service=production.service, environment=production, external_id="d-2"
        )
        ended = MaintenanceWindowFactory(
            service=production.service,
            environment=preview,
            starts_at=T0 - 30 * MINUTE,
            ended_at=T0 - 20 * MINUTE,
            external_id="d-1",
        )
        ran_out = MaintenanceWindowFactory(
            service=production.service, starts_at=T0 - timedelta(hours=2)
        )
        elsewhere = MaintenanceWindowFactory(starts_at=T0 - timedelta(hours=3))

        def ids(**params) -> list[int]:
            response = admin.get(WINDOWS, params)
            assert response.status_code == 200, response.content
            return [row["id"] for row in response.json()["results"]]

        assert ids() == [now_open.pk, ended.pk, ran_out.pk, elsewhere.pk]
        assert ids(service="storefront") == [now_open.pk, ended.pk, ran_out.pk]
        assert ids(environment="preview") == [ended.pk]
        assert ids(external_id="d-2") == [now_open.pk]
        assert ids(open="true") == [now_open.pk]
        assert ids(open="false", service="storefront") == [ended.pk, ran_out.pk]
        rows = admin.get(WINDOWS).json()["results"]
        assert [row["open"] for row in rows] == [True, False, False, False]

    @pytest.mark.parametrize("params", [{"open": "yes"}, {"open": ""}, {"open": "1"}])
    def test_a_bad_filter_value_is_a_400(self, admin, params):
        response = admin.get(WINDOWS, params)
        assert response.status_code == 400
        assert problem_type(response) == "validation-error"


class TestQueryBudgets:
    """Pinned, as for the deployments list: the token with its user (1), the role's
    permissions (2), then the count and the page; one join each for service and environment."""

    def queries(self, client: APIClient, url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured)

    def test_the_change_list_costs_the_same_for_1_and_50_changes(self, production):
        client = bearer("viewer", "read")
        client.get(CHANGES)  # marks the token used: a write that later requests skip
        ChangeFactory(service=production.service, environment=production)
        one = self.queries(client, f"{CHANGES}?page_size=1")
        ChangeFactory.create_batch(50, service=production.service, environment=production)
        fifty = self.queries(client, f"{CHANGES}?page_size=50")
        assert one == fifty == 5

    def test_the_window_list_costs_the_same_for_1_and_50_windows(self, production, clock):
        client = bearer("viewer", "read")
        client.get(WINDOWS)
        MaintenanceWindowFactory(service=production.service, environment=production)
        one = self.queries(client, f"{WINDOWS}?page_size=1&open=true")
        for i in range(50):
            MaintenanceWindowFactory(
                service=production.service, environment=production, starts_at=T0 + i * MINUTE
            )
        fifty = self.queries(client, f"{WINDOWS}?page_size=50&open=true")
        assert one == fifty == 5


class TestSchema:
    @pytest.fixture
    def schema(self, client) -> dict:
        from tests.factories import user_with_role

        client.force_login(user_with_role("viewer"))
        response = client.get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        return response.json()

    @pytest.mark.parametrize("path", [CHANGES, WINDOWS])
    def test_recording_documents_200_201_the_problems_and_the_idempotency_key(self, schema, path):
        operation = schema["paths"][path]["post"]
        assert {"200", "201", "400", "404", "409", "422"} <= set(operation["responses"])
        assert "application/problem+json" in operation["responses"]["404"]["content"]
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"]
        assert "Location" in operation["responses"]["201"]["headers"]

    def test_request_bodies_refuse_unknown_keys_as_the_api_does(self, schema):
        components = schema["components"]["schemas"]
        for name in ("ChangeRecordRequest", "MaintenanceWindowOpenRequest"):
            assert components[name]["additionalProperties"] is False, name

    def test_the_kinds_have_a_stable_enum_name(self, schema):
        kinds = schema["components"]["schemas"]["ChangeRecordRequest"]["properties"]["kind"]
        assert kinds == {"$ref": "#/components/schemas/ChangeKindEnum"}


def test_each_read_shape_writes_exactly_the_fields_the_schema_declares_in_its_order(
    admin, production
):
    ChangeFactory(service=production.service)
    MaintenanceWindowFactory(service=production.service)
    shapes = [
        (admin.get(CHANGES).json()["results"][0], api_serializers.ChangeSerializer),
        (admin.get(WINDOWS).json()["results"][0], api_serializers.MaintenanceWindowSerializer),
    ]
    for data, serializer in shapes:
        assert list(data) == list(serializer().fields), serializer.__name__


def test_a_service_deleted_takes_its_changes_and_windows_with_it(production):
    ChangeFactory(service=production.service)
    MaintenanceWindowFactory(service=production.service)
    ServiceFactory()
    production.service.delete()
    assert not Change.objects.exists()
    assert not MaintenanceWindow.objects.exists()
