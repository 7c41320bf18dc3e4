"""The OpenAPI schema is truthful: schemathesis calls every operation, authenticated, and no
answer is a server error or disagrees with the schema. Runs on PostgreSQL in make test."""

from __future__ import annotations

import re
import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.tokens import token_create
from hindsight.wsgi import application
from tests.factories import user_with_role

# How many generated requests per operation. With about 95 operations, 8 each keeps the whole
# suite well inside CI's 15-minute budget; raise it locally for a deeper run.
EXAMPLES_PER_OPERATION = 8

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application


@pytest.fixture
def api_token(db):
    """A write token of an admin, so every operation is reachable."""
    user = user_with_role("admin", username="schemathesis", is_superuser=True, is_staff=True)
    _token, raw = token_create(user=user, name="schemathesis", scope="write")
    return raw


@pytest.fixture
def without_rate_limits(monkeypatch):
    """The contract, not the limits (tests/api/test_throttling.py has those): with its checks
    that leave the credentials out, schemathesis sends one address more requests in a test than
    it may send in a minute, and a 429 is not the 401 those checks look for."""
    rates = dict.fromkeys(SimpleRateThrottle.THROTTLE_RATES, "1000000/min")
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly would close the test's connection after each request
    (Django's test client disconnects these signals for the same reason)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_schema_is_served_to_logged_in_users_only(client: Client, db):
    assert client.get("/api/schema/").status_code in (401, 403)
    client.force_login(user_with_role("viewer"))
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3" in response.content


def test_every_enum_has_a_stable_name_not_a_hashed_one():
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    # drf-spectacular names a clash like Status968Enum, from a hash of the choices: a client
    # generated from it would rename its types whenever a choice changed.
    hashed = [
        name for name in components if re.fullmatch(r"[A-Za-z]+[0-9A-F][0-9a-f]{2}Enum", name)
    ]
    assert hashed == []


def test_no_component_is_described_by_the_machinery_it_is_built_on():
    from api.reads import RowSerializer
    from api.serializers import StrictSerializer

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    assert RowSerializer.__doc__ is not None
    assert StrictSerializer.__doc__ is not None
    machinery = {RowSerializer.__doc__.split()[0], StrictSerializer.__doc__.split()[0]}
    described = [
        name
        for name, component in components.items()
        if component.get("description", "").split()[:1]
        and component["description"].split()[0] in machinery
    ]
    assert described == []


def test_the_docs_page_sends_a_browser_not_signed_in_to_sign_in_and_back(client: Client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/api/docs/"
    # Credentials that do not hold are the API's problem, not a page to sign in on.
    refused = client.get("/api/docs/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert refused.status_code == 401
    assert refused["Content-Type"] == "application/problem+json"


def test_the_docs_page_loads_its_assets_from_this_server(client: Client, db):
    client.force_login(user_with_role("viewer"))
    html = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert assets, html
    # The sidecar's files and our own, and the start-up script the page serves itself (as a
    # file, for the Content-Security-Policy).
    local = ("/static/drf_spectacular_sidecar/", "/static/css/", "/api/docs/?script=")
    assert all(a.startswith(local) for a in assets), assets
    assert "/api/docs/?script=" in assets
    # No other host anywhere, scripts included. (Not a search for "cdn": the page's random
    # CSRF token holds those three letters about once in 500 pages.)
    assert re.findall(r"(?:https?:)?//[\w-]+(?:\.[\w-]+)+", html) == []


@pytest.mark.postgres
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_as_documented(
    case, api_token, keep_test_connection, without_rate_limits
):
    if case.headers and "Idempotency-Key" in case.headers:
        # Generated cases would reuse one key with different bodies, which is rightly a 422.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_token}"},
        # Valid-looking data can still name a service or incident that doesn't exist (a 400 or
        # 404, which is right); every other check stays: no 5xx, status codes, content types,
        # headers and bodies as documented, schema-violating input refused.
        excluded_checks=[positive_data_acceptance],
    )
