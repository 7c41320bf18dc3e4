"""The authorization matrix: every URL pattern and every API route, asked with each method as an
anonymous visitor, a viewer, an editor, an admin (signed in) and a read-scope API token, against
a table that states the outcome each should get. A route missing from the table fails the test,
so a new route is classified the day it is added.

Outcomes: ok (past the door: any answer but the ones below), login (sent to sign in), 401, 403,
404, 405. Pages are asked about real rows (an incident, its rows and messages, a component, ...)
where a fixture makes them, otherwise about id 999999, where a caller let in gets 404. Each
request runs in a savepoint that is rolled back, so one caller's DELETE does not change what the
next one sees. API routes are asked about id 999999: DRF checks role and scope before it looks
the row up, so 404 there means "let in". The admin site is Django's own and is asked as a whole
(GET and POST on each of its pages as anonymous and as an admin, and by every caller on the
pages whose one permission check decides for all of them; Hindsight's roles carry no staff status, so all of
them are sent to its login, and a staff account is let in).

The table is authorization_table.py.

Related, deeper checks: tests/incidents/test_permissions.py (a viewer's forged POST writes
nothing, on every incidents page) and tests/api/test_token_scopes.py (every token scope on every
API route).
"""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiToken
from api.tokens import token_create
from incidents.attachments.services import attachment_upload
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.communications.services import communication_generate
from incidents.models import CommunicationTemplate, Incident
from incidents.statuspage.services import component_group_save, component_save, maintenance_create
from tests.factories import (
    ActionItemFactory,
    CauseFactory,
    EnvironmentFactory,
    IncidentFactory,
    SuccessCriterionFactory,
    TimelineEventFactory,
    user_with_role,
)
from tests.security.authorization_table import PUBLIC_ROUTES, TABLE
from tests.security.matrix import (
    LOGIN,
    OK,
    PAGE_METHODS,
    UNAUTHENTICATED,
    Route,
    outcome,
    routes,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

ROLES = ("anonymous", "viewer", "editor", "admin", "read_token")
MISSING = "999999"


@pytest.fixture
def values() -> dict[str, str]:
    """A row for each kind of parameter a page takes, by the parameter's (or route's) name."""
    default_templates_ensure()
    environment = EnvironmentFactory(service__slug="shop", name="production")
    incident = IncidentFactory(
        number=1,
        service=environment.service,
        status=Incident.Status.RESOLVED,
        resolved_at=timezone.now() - timedelta(minutes=5),
    )
    cause = CauseFactory(incident=incident)
    action = ActionItemFactory(incident=incident)
    event = TimelineEventFactory(incident=incident)
    criterion = SuccessCriterionFactory(incident=incident)
    template = CommunicationTemplate.objects.get(slug=USER_EMAIL_SLUG)
    message = communication_generate(incident=incident, template=template, user=None)
    attachment = attachment_upload(
        incident=incident, upload=SimpleUploadedFile("worker.log", b"exited 1\n"), user=None
    )
    group = component_group_save(name="Shop")
    component = component_save(name="Checkout", group=group)
    now = timezone.now()
    maintenance = maintenance_create(
        title="Database upgrade", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2)
    )
    return {
        "reference": incident.reference,
        "key": "causes",
        "field": "summary",
        "name": "summary-box",
        "slug": USER_EMAIL_SLUG,
        "service": "shop",
        "environment": "production",
        "pk": MISSING,
        "delivery": MISSING,
        "token": "not-a-valid-link",
        # By route name, where pk names a row of its own kind.
        "incidents:row_edit": str(cause.pk),
        "incidents:row_delete": str(cause.pk),
        "incidents:row_move": str(cause.pk),
        "incidents:timeline_hide": str(event.pk),
        "incidents:criterion_toggle": str(criterion.pk),
        "incidents:action_item_status": str(action.pk),
        "action_item": str(action.pk),
        "communication": str(message.pk),
        "attachment": str(attachment.pk),
        "attachment_name": attachment.name,
        "component": str(component.pk),
        "component_group": str(group.pk),
        "maintenance": str(maintenance.pk),
    }


def _pk_for(route: Route, values: dict[str, str]) -> str:
    if route.name in values:
        return values[route.name]
    short = route.name.split(":")[-1]
    for kind in ("component_group", "component", "maintenance", "communication", "action_item"):
        if short.startswith(kind):
            return values[kind]
    if short == "attachment_file":
        return values["attachment"]
    return MISSING


def url_of(route: Route, values: dict[str, str]) -> str:
    path = "/" + route.route
    for name in route.names:
        if name == "pk":
            value = _pk_for(route, values)
        elif name == "name" and route.name == "incidents:attachment_file":
            value = values["attachment_name"]
        elif route.api:
            value = MISSING
        else:
            value = values.get(name, MISSING)
        path = path.replace("{" + name + "}", value)
    if route.name == "incidents:live_parts":
        path += "?name=summary-box"
    return path


@pytest.fixture(autouse=True)
def unthrottled(monkeypatch) -> None:
    """Hundreds of requests a minute from one caller are the point here, not abuse."""
    rates = dict.fromkeys(api_settings.DEFAULT_THROTTLE_RATES, "1000000/min")
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.fixture
def callers() -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for role in ("viewer", "editor", "admin"):
        clients[role] = Client()
        clients[role].force_login(user_with_role(role))
    owner = User.objects.get(username="admin-user")
    _token, raw = token_create(user=owner, name="matrix", scope=ApiToken.Scope.READ)
    clients["read_token"] = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return clients


def ask(client: Client, method: str, url: str, api: bool) -> str:
    # The session cookie as it was: a POST to logout/ clears it, and its rollback does not.
    cookies = SimpleCookie(client.cookies)
    with transaction.atomic():
        response = client.generic(
            method,
            url,
            data="{}" if api else "",
            content_type="application/json" if api else "application/x-www-form-urlencoded",
        )
        transaction.set_rollback(True)
    client.cookies = cookies
    return outcome(response)


def _is_admin_site(route: Route) -> bool:
    return route.route.startswith("admin/")


ROUTES = routes()
CHECKED = [route for route in ROUTES if not _is_admin_site(route)]
ADMIN_SITE = [route for route in ROUTES if _is_admin_site(route)]


def test_the_walk_finds_pages_the_api_and_the_admin_site():
    names = {route.name for route in ROUTES}
    assert {"incidents:detail", "incident-list", "deployments:services", "login"} <= names
    assert {"admin:index", "admin:incidents_incident_changelist"} <= names
    assert len(CHECKED) > 180
    assert len(ADMIN_SITE) > 100


def test_every_route_and_method_has_an_entry_in_the_table():
    missing = [
        f"{route.name} {method} ({route.route})"
        for route in CHECKED
        for method in route.methods
        if method not in TABLE.get(route.name, {})
    ]
    assert missing == [], "classify these routes in tests/security/authorization_table.py"


def test_the_table_names_no_route_or_method_that_is_gone():
    walked = {(route.name, method) for route in CHECKED for method in route.methods}
    listed = {(name, method) for name, methods in TABLE.items() for method in methods}
    assert sorted(listed - walked) == []


def test_the_public_routes_are_exactly_the_ones_listed():
    anonymous_gets_in = {
        name
        for name, methods in TABLE.items()
        if any(v.split()[0] not in (LOGIN, UNAUTHENTICATED, "405") for v in methods.values())
    }
    assert anonymous_gets_in == PUBLIC_ROUTES


def _area(route: Route) -> str:
    if route.api:
        return "api"
    return "incidents" if route.name.startswith("incidents:") else "system and settings"


# In parts, so parallel test workers share the requests.
@pytest.mark.parametrize("area", ["api", "incidents", "system and settings"])
def test_each_caller_gets_what_the_table_says_from_every_route_and_method(area, values, callers):
    wrong = []
    for route in (r for r in CHECKED if _area(r) == area):
        url = url_of(route, values)
        for method, expected in TABLE.get(route.name, {}).items():
            got = " ".join(ask(callers[role], method, url, route.api) for role in ROLES)
            if got != expected:
                wrong.append(f"{method} {url} ({route.name}): {got!r}, table says {expected!r}")
    assert wrong == []


# The admin site's own sign-in and sign-out pages, open to all like the app's.
ADMIN_SITE_OPEN = frozenset({"admin:login", "admin:logout"})


def test_the_admin_site_sends_everyone_without_staff_status_to_its_login(values, callers):
    """Every admin page, with each method a page takes, for anonymous and for the strongest role
    without staff status; every caller on the pages that decide for all of them (the site's one
    permission check). A POST is refused like a GET, before the admin reads the form."""
    wrong = []
    for route in ADMIN_SITE:
        url = url_of(route, values)
        expected = OK if route.name in ADMIN_SITE_OPEN else LOGIN
        everyone = route.name in ("admin:index", "admin:incidents_incident_changelist")
        for role in ROLES if everyone else ("anonymous", "admin"):
            for method in PAGE_METHODS:
                if (got := ask(callers[role], method, url, api=False)) != expected:
                    wrong.append(f"{method} {url} as {role}: {got}")
    assert wrong == []
    staff = Client()
    staff.force_login(User.objects.create_superuser("root", "root@example.test", "x"))
    assert staff.get("/admin/").status_code == 200
