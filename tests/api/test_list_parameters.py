"""Every list of the API: an unknown query parameter and an unknown ordering answer 400 naming
the allowed ones (never the whole list, as if the filter had worked), and updated_after is
offered wherever rows have an updated_at. The walk finds the lists from the URL conf, so a new
list is covered without being named here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from core.roles import Role
from deployments.models import Deployment
from tests.api.test_incidents_api import bearer, errors
from tests.factories import DeploymentFactory, IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db

# Lists that have no updated_after, and why.
NO_UPDATED_AFTER = {
    # Your own tokens: a handful, read whole; the token's row has no updated_at.
    "/api/v1/tokens",
    # The change feed follows its own cursor (`after`).
    "/api/v1/events",
    # Webhook endpoints: an admin's handful of settings, read whole, not data a job syncs.
    "/api/v1/webhooks",
}


def _lists(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every GET list route under /api/v1/, as a URL regex."""
    found = []
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            found += _lists(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            actions = getattr(pattern.callback, "actions", None) or {}
            path = prefix + str(pattern.pattern)
            if path.startswith("api/v1/") and (
                actions.get("get") == "list" or pattern.name == "events"
            ):
                found.append(path)
    return found


def _url(pattern: str, reference: str) -> str:
    path = pattern.replace("(?P<incident_ref>[^/]+)", reference)
    return "/" + path.replace("^", "").replace("$", "")


LISTS = _lists()


def test_the_walk_finds_the_lists():
    assert len(LISTS) >= 19, LISTS
    assert "api/v1/events" in LISTS


@pytest.fixture
def api():
    return bearer(user_with_role(Role.ADMIN))


@pytest.mark.parametrize("pattern", LISTS)
def test_an_unknown_parameter_is_a_400_naming_the_allowed_ones(api, pattern):
    url = _url(pattern, IncidentFactory().reference)
    found = errors(api.get(url, {"no_such_filter": "1"}))
    assert "Allowed:" in found["no_such_filter"][0]


@pytest.mark.parametrize("pattern", LISTS)
def test_an_unknown_ordering_is_a_400(api, pattern):
    url = _url(pattern, IncidentFactory().reference)
    found = errors(api.get(url, {"ordering": "password"}))
    assert "Allowed" in found["ordering"][0]


@pytest.mark.parametrize("pattern", LISTS)
def test_updated_after_is_offered_on_every_list_with_changing_rows(api, pattern):
    url = _url(pattern, IncidentFactory().reference)
    if url in NO_UPDATED_AFTER:
        pytest.skip("no updated_after here, as NO_UPDATED_AFTER says")
    response = api.get(url, {"updated_after": "2000-01-01T00:00:00Z"})
    assert response.status_code == 200, response.content


def test_updated_after_is_inclusive_and_leaves_out_rows_changed_before(api):
    old, new = DeploymentFactory(), DeploymentFactory()
    then = timezone.now() - timedelta(hours=1)
    Deployment.objects.filter(pk=old.pk).update(updated_at=then - timedelta(seconds=1))
    Deployment.objects.filter(pk=new.pk).update(updated_at=then)
    response = api.get("/api/v1/deployments", {"updated_after": then.isoformat()})
    assert [row["id"] for row in response.json()["results"]] == [new.pk]
