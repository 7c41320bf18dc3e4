"""Every API route checks the token's scope: the test walks the URL configuration, so a route
added later is walked too, and calls each route and method with a token of every scope.

Narrow scopes reach only the routes listed in NARROW; `read` reaches every read and the gate;
`write` reaches everything. A new route reaches no narrow scope until its view says so
(`token_scopes`, api.scopes) and this table agrees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient, APIRequestFactory

from api.models import ApiToken
from api.tokens import token_create
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

READ, WRITE, GATE, DEPLOYMENTS = (s.value for s in ApiToken.Scope)
REFUSAL = "this route needs a token with one of"

# (route, method): the scopes beyond the defaults (read and write for reads, write otherwise).
NARROW: dict[tuple[str, str], set[str]] = {
    ("gate", "POST"): {READ, GATE, DEPLOYMENTS},
    ("deployments", "GET"): {DEPLOYMENTS},
    ("deployments", "POST"): {DEPLOYMENTS},
    ("deployments/{pk}", "GET"): {DEPLOYMENTS},
    ("deployments/{pk}/status", "POST"): {DEPLOYMENTS},
    ("deployments/{pk}/verify", "POST"): {DEPLOYMENTS},
    ("changes", "POST"): {DEPLOYMENTS},
    ("maintenance-windows", "GET"): {DEPLOYMENTS},
    ("maintenance-windows", "POST"): {DEPLOYMENTS},
    ("maintenance-windows/{pk}", "GET"): {DEPLOYMENTS},
    ("maintenance-windows/{pk}/end", "POST"): {DEPLOYMENTS},
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _readable(route: str) -> str:
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return route.replace("^", "").replace("$", "").removeprefix("api/v1/")


def api_routes() -> list[tuple[str, str, Callable[..., Any], list[str]]]:
    """(route, method, view, its keyword arguments) for every API route and method."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        view = pattern.callback
        actions = getattr(view, "actions", None)
        if actions is not None:
            methods = [m.upper() for m in actions]
        else:
            methods = [m for m in METHODS if hasattr(getattr(view, "view_class", None), m.lower())]
        names = list(pattern.pattern.regex.groupindex)
        found += [(_readable(route), m, view, names) for m in methods if m in METHODS]
    return found


ROUTES = api_routes()


def test_the_walk_finds_every_part_of_the_api():
    readable = {route for route, *_ in ROUTES}
    assert {"tokens", "incidents", "deployments", "gate", "incidents/{ref}/export"} <= readable
    assert set(NARROW) <= {(route, method) for route, method, *_ in ROUTES}
    assert len(ROUTES) > 100


@pytest.fixture
def tokens() -> dict[str, str]:
    # An admin: its role may call every route, so a 403 here can only be the token's scope.
    # No row has the ids the walk sends, so no call touches these tokens (DELETE revokes).
    admin = user_with_role("admin")
    return {
        scope: token_create(user=admin, name=scope, scope=scope)[1]
        for scope in (READ, WRITE, GATE, DEPLOYMENTS)
    }


def expected(route: str, method: str) -> set[str]:
    base = {READ, WRITE} if method == "GET" else {WRITE}
    return base | NARROW.get((route, method), set())


def test_every_route_answers_exactly_the_scopes_it_lists(tokens):
    factory = APIRequestFactory()
    wrong = []
    for route, method, view, names in ROUTES:
        for scope, raw in tokens.items():
            request = factory.generic(
                method,
                "/api/v1/" + route,
                data="{}",
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
            )
            response = view(request, **dict.fromkeys(names, "999999"))
            body = getattr(response, "data", None) or {}
            refused = response.status_code == 403 and REFUSAL in str(body.get("detail", ""))
            if refused == (scope in expected(route, method)):
                wrong.append(f"{method} {route} with a {scope} token: {response.status_code}")
    assert wrong == []


def test_a_refusal_names_the_scope_and_what_the_route_needs(tokens):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[GATE]}")
    response = client.get("/api/v1/incidents")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == (
        "This token has the gate scope; this route needs a token with one of: read, write."
    )


def test_the_openapi_document_lists_each_operations_scopes():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert paths["/api/v1/gate"]["post"]["x-token-scopes"] == [READ, WRITE, GATE, DEPLOYMENTS]
    assert paths["/api/v1/deployments"]["post"]["x-token-scopes"] == [WRITE, DEPLOYMENTS]
    assert paths["/api/v1/incidents"]["get"]["x-token-scopes"] == [READ, WRITE]
    assert paths["/api/v1/incidents"]["post"]["x-token-scopes"] == [WRITE]
    assert "Token scopes: `write`." in paths["/api/v1/incidents"]["post"]["description"]
    for path in paths.values():
        for method, operation in path.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                assert operation["x-token-scopes"], (path, method)
