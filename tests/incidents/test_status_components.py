"""Components on the status page: their status set by editors, by published updates and by
their checks; the JSON summary and the badges for machines and embeds."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext

from deployments.models import Environment, MaintenanceWindow
from deployments.services.health import ProbeOutcome, snapshot_record
from incidents.communications.services import communication_approve, communication_send
from incidents.models import (
    Audience,
    Communication,
    Component,
    ComponentGroup,
    ComponentStatus,
    Phase,
)
from incidents.statuspage import services
from incidents.statuspage.machine import BADGE_COLOURS
from incidents.statuspage.page import public_documents_mark_stale
from tests.factories import (
    EnvironmentFactory,
    HealthCheckFactory,
    IncidentFactory,
    ServiceFactory,
    user_with_role,
)
from tests.incidents.test_status_page import communication, result

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def component(name: str = "Web", *, group: ComponentGroup | None = None, checks=(), **fields):
    row = Component.objects.create(name=name, group=group, **fields)
    row.health_checks.set(checks)
    return row


def summary(client: Client | None = None) -> dict:
    response = (client or Client()).get("/status/summary.json")
    assert response.status_code == 200
    return json.loads(response.content)


# --- status set by people ----------------------------------------------------------------------


def test_an_editor_sets_the_status_and_a_stale_form_is_refused():
    editor = user_with_role("editor")
    web = component()
    services.component_set_status(
        component=web, status=ComponentStatus.PARTIAL_OUTAGE, user=editor, expected="operational"
    )
    web.refresh_from_db()
    assert (web.status, web.status_changed_by, web.status_changed_at) == (
        "partial_outage",
        editor,
        NOW,
    )
    with pytest.raises(services.ComponentStatusConflict):
        services.component_set_status(
            component=web, status="major_outage", user=editor, expected="operational"
        )
    web.refresh_from_db()
    assert web.status == "partial_outage"


def test_a_published_update_sets_the_status_of_the_components_it_names_and_no_other():
    editor = user_with_role("editor")
    web, api = component("Web"), component("API")
    incident = IncidentFactory(started_at=NOW - timedelta(minutes=5))
    update = Communication.objects.create(
        incident=incident,
        audience=Audience.STATUS_PAGE,
        phase=Phase.INVESTIGATING,
        subject="The site is down",
        body="We are on it.",
    )
    services.communication_components_set(
        communication=update, statuses={web.pk: ComponentStatus.MAJOR_OUTAGE}
    )
    communication_approve(communication=update, user=editor)
    web.refresh_from_db()
    assert web.status == "operational"  # not before it is published
    communication_send(communication=update, user=editor)
    web.refresh_from_db()
    api.refresh_from_db()
    assert (web.status, web.status_changed_by) == ("major_outage", editor)
    assert api.status == "operational"
    with pytest.raises(Exception, match="published update"):
        services.communication_components_set(communication=update, statuses={})


def test_publishing_an_update_marks_the_kept_pages_stale_after_every_other_row_it_locks():
    """The kept rows are locked last in a write, so a write that sets a component's status (the
    component, then the kept rows) never waits in a circle with one that publishes."""
    editor = user_with_role("editor")
    web = component("Web")
    assert Client().get("/status/").status_code == 200  # a kept row to mark
    incident = IncidentFactory(started_at=NOW - timedelta(minutes=5))
    update = Communication.objects.create(
        incident=incident,
        audience=Audience.STATUS_PAGE,
        phase=Phase.INVESTIGATING,
        subject="The site is down",
        body="We are on it.",
    )
    services.communication_components_set(
        communication=update, statuses={web.pk: ComponentStatus.MAJOR_OUTAGE}
    )
    communication_approve(communication=update, user=editor)
    with CaptureQueriesContext(connection) as queries:
        communication_send(communication=update, user=editor)
    # Each statement that locks rows, by its table: UPDATE, and SELECT ... FOR UPDATE.
    writes = [
        q["sql"].split('"')[1]
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") or "FOR UPDATE" in q["sql"]
    ]
    first_marking = writes.index("incidents_publicdocument")
    assert "incidents_component" in writes[:first_marking]
    assert "incidents_incident" in writes[:first_marking]
    assert set(writes[first_marking:]) == {"incidents_publicdocument"}


# --- status proposed by checks -----------------------------------------------------------------


def test_failing_checks_propose_a_partial_then_a_major_outage_and_passing_ones_operational():
    one, two = HealthCheckFactory(), HealthCheckFactory()
    web = component(checks=[one, two])
    assert services.component_status_propose(component=web) is None  # nothing answered yet
    result(one, at=NOW - timedelta(minutes=1), ok=True)
    result(two, at=NOW - timedelta(minutes=1), ok=False)
    assert services.component_status_propose(component=web) == "partial_outage"
    result(one, at=NOW, ok=False)
    assert services.component_status_propose(component=web) == "major_outage"
    result(one, at=NOW + timedelta(seconds=1), ok=True)
    result(two, at=NOW + timedelta(seconds=1), ok=True)
    assert services.component_status_propose(component=web) == "operational"


def test_a_check_in_a_maintenance_window_proposes_under_maintenance():
    check = HealthCheckFactory()
    web = component(checks=[check])
    result(check, at=NOW - timedelta(minutes=1), ok=False, maintenance=True)
    assert services.component_status_propose(component=web) == "under_maintenance"
    result(check, at=NOW, ok=True)
    MaintenanceWindow.objects.create(
        service=check.service,
        starts_at=NOW - timedelta(minutes=5),
        ends_at=NOW + timedelta(hours=1),
    )
    assert services.component_status_propose(component=web) == "under_maintenance"


def test_an_editor_accepts_a_proposal_or_overrides_it():
    editor = user_with_role("editor")
    check = HealthCheckFactory()
    web = component(checks=[check])
    result(check, at=NOW, ok=False)
    services.component_proposal_accept(
        component=web, proposed="major_outage", expected="operational", user=editor
    )
    web.refresh_from_db()
    assert web.status == "major_outage"
    # The checks changed their mind since the editor looked: the old proposal is refused.
    result(check, at=NOW + timedelta(seconds=5), ok=True)
    with pytest.raises(services.ComponentStatusConflict):
        services.component_proposal_accept(
            component=web, proposed="major_outage", expected="major_outage", user=editor
        )
    # Overriding is setting the status the editor chose instead.
    services.component_set_status(
        component=web, status="degraded_performance", user=editor, expected="major_outage"
    )
    web.refresh_from_db()
    assert web.status == "degraded_performance"


def test_a_component_following_its_checks_takes_their_proposal_when_health_changes():
    service = ServiceFactory()
    production = EnvironmentFactory(service=service, kind=Environment.Kind.PRODUCTION)
    check = HealthCheckFactory(service=service, environment=production)
    following = component("Web", checks=[check], follows_checks=True)
    asking = component("API", checks=[check])
    snapshot_record(
        service=service, taken_at=NOW, outcomes=[ProbeOutcome(health_check=check, ok=True)]
    )
    snapshot_record(
        service=service,
        taken_at=NOW + timedelta(minutes=1),
        outcomes=[ProbeOutcome(health_check=check, ok=False, error="503")],
    )
    following.refresh_from_db()
    asking.refresh_from_db()
    assert following.status == "major_outage"
    assert following.status_changed_by is None
    assert asking.status == "operational"  # it only proposes; an editor decides
    snapshot_record(
        service=service,
        taken_at=NOW + timedelta(minutes=2),
        outcomes=[ProbeOutcome(health_check=check, ok=True)],
    )
    following.refresh_from_db()
    assert following.status == "operational"


# --- the page ----------------------------------------------------------------------------------


def test_the_page_shows_components_by_group_with_their_status():
    moodmash = ComponentGroup.objects.create(name="MoodMash")
    check = HealthCheckFactory(name="Homepage probe")
    result(check, at=NOW - timedelta(minutes=1))
    component("Web", group=moodmash, checks=[check], order=1)
    component("API", group=moodmash, order=2, status=ComponentStatus.PARTIAL_OUTAGE)
    component("Billing", status=ComponentStatus.UNDER_MAINTENANCE)
    html = Client().get("/status/").content.decode()
    assert html.index("MoodMash") < html.index("Web") < html.index("API") < html.index("Billing")
    assert '<span class="status partial_outage"' in html
    assert "Under maintenance" in html
    assert "Partial outage" in html  # the overall status too
    # The check a component watches is shown as the component's bar, not on its own again.
    assert "Homepage probe" not in html
    assert "uptime of 1 check" in html


def test_the_migration_turns_each_production_check_into_a_component_following_it(
    django_db_blocker,
):
    module = importlib.import_module("incidents.migrations.0014_components")
    service = ServiceFactory(name="MoodMash")
    live = HealthCheckFactory(service=service, name="Homepage")
    HealthCheckFactory(
        service=service,
        name="Preview",
        environment=EnvironmentFactory(service=service, kind=Environment.Kind.PREVIEW),
    )
    result(live, at=NOW, ok=False)
    executor = MigrationExecutor(connection)
    module.components_from_production_checks(executor.loader.project_state().apps, None)
    (made,) = Component.objects.select_related("group")
    assert made.group is not None
    assert (made.name, made.group.name, made.follows_checks, made.status) == (
        "Homepage",
        "MoodMash",
        True,
        "major_outage",
    )
    assert list(made.health_checks.all()) == [live]


# --- the JSON summary --------------------------------------------------------------------------


def test_the_summary_has_the_shape_of_a_hosted_status_page_summary():
    moodmash = ComponentGroup.objects.create(name="MoodMash")
    web = component("Web", group=moodmash, status=ComponentStatus.PARTIAL_OUTAGE)
    document = summary()
    assert set(document) >= {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert set(document["page"]) == {"name", "url", "updated_at"}
    assert document["status"] == {"indicator": "major", "description": "Partial System Outage"}
    (row,) = document["components"]
    assert {k: row[k] for k in ("id", "name", "status", "group_id")} == {
        "id": web.pk,
        "name": "Web",
        "status": "partial_outage",
        "group_id": moodmash.pk,
    }
    assert "updated_at" in row
    assert document["groups"] == [{"id": moodmash.pk, "name": "MoodMash", "components": [web.pk]}]


def test_the_summary_answers_any_origin_for_get_and_options_without_credentials():
    client = Client()
    response = client.get("/status/summary.json", HTTP_ORIGIN="https://elsewhere.test")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Content-Type"] == "application/json"
    assert "Access-Control-Allow-Credentials" not in response
    preflight = client.options("/status/summary.json", HTTP_ORIGIN="https://elsewhere.test")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert preflight["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    assert client.post("/status/summary.json").status_code == 405


def test_an_internal_incident_is_absent_from_the_summary_until_published():
    incident = IncidentFactory(started_at=NOW - timedelta(minutes=5))
    assert summary()["incidents"] == []
    communication(incident, "Checkout is failing", at=NOW - timedelta(minutes=1))
    public_documents_mark_stale()  # what publishing does, in its transaction
    (shown,) = summary()["incidents"]
    assert shown["name"] == "Checkout is failing"
    assert shown["incident_updates"][0]["subject"] == "Checkout is failing"
    assert incident.title not in json.dumps(summary())


# --- badges ------------------------------------------------------------------------------------


def test_the_badge_is_an_svg_with_the_name_escaped():
    web = component('<b>&"x', status=ComponentStatus.OPERATIONAL)
    response = Client().get(f"/status/components/{web.pk}/badge.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "max-age=" in response["Cache-Control"]
    body = response.content.decode()
    assert "&lt;b&gt;&amp;&quot;x" in body
    assert "<b>" not in body
    assert Client().get("/status/components/999999/badge.svg").status_code == 404


@pytest.mark.parametrize("status", ComponentStatus.values)
def test_each_status_has_its_own_badge_colour(status):
    web = component(status=status)
    body = Client().get(f"/status/components/{web.pk}/badge.svg").content.decode()
    assert f'fill="{BADGE_COLOURS[ComponentStatus(status)]}"' in body
    assert ComponentStatus(status).label.lower() in body
    assert len(set(BADGE_COLOURS.values())) == len(ComponentStatus.values)


# --- how cheaply -------------------------------------------------------------------------------


def _components(n: int) -> list[Component]:
    group = ComponentGroup.objects.create(name="MoodMash")
    made = []
    for i in range(n):
        check = HealthCheckFactory(name=f"Check {i}")
        result(check, at=NOW - timedelta(minutes=1), ok=i % 3 != 0)
        made.append(component(f"Part {i}", group=group if i % 2 else None, checks=[check]))
    return made


@pytest.mark.parametrize("n", [1, 50])
def test_the_page_summary_and_badge_cost_fixed_queries(django_assert_num_queries, n):
    made = _components(n)
    # Each: its kept row looked for, its own reads, the row stored; then the row alone. (The
    # page's row is looked for twice: by the middleware, then by the view.) The page's own reads:
    # checks, their uptime, components, their status history, maintenance, incidents.
    with django_assert_num_queries(2 + 6 + 1):
        html = Client().get("/status/").content.decode()
    assert html.count('class="component" data-component') == n
    with django_assert_num_queries(1 + 3 + 1):
        document = summary()
    assert len(document["components"]) == n
    with django_assert_num_queries(1 + 1 + 1):
        Client().get(f"/status/components/{made[-1].pk}/badge.svg")
    with django_assert_num_queries(2):
        Client().get(f"/status/components/{made[-1].pk}/badge.svg")
        summary()


# --- the editors' page -------------------------------------------------------------------------


def test_editors_see_the_proposal_accept_it_or_override_it_and_viewers_cannot():
    check = HealthCheckFactory()
    web = component(checks=[check])
    result(check, at=NOW, ok=False)
    editor, viewer = user_with_role("editor"), user_with_role("viewer")
    client = Client()
    client.force_login(editor)
    html = client.get("/components/").content.decode()
    assert 'name="accept" value="major_outage"' in html
    url = f"/components/{web.pk}/status"
    client.post(url, {"accept": "major_outage", "expected": "operational"})
    web.refresh_from_db()
    assert web.status == "major_outage"
    # A form from before that change is refused, not applied.
    client.post(url, {"status": "operational", "expected": "operational"})
    web.refresh_from_db()
    assert web.status == "major_outage"
    client.post(url, {"status": "partial_outage", "expected": "major_outage"})
    web.refresh_from_db()
    assert web.status == "partial_outage"
    client.force_login(viewer)
    assert (
        client.post(url, {"status": "operational", "expected": "partial_outage"}).status_code == 403
    )


# --- creating, editing and deleting components and groups ---------------------------------------


def test_component_save_creates_and_changes_a_component_with_its_checks():
    first, second = HealthCheckFactory(), HealthCheckFactory()
    group = services.component_group_save(name="MoodMash", order=1)
    web = services.component_save(name="Web", group=group, order=2, health_checks=[first])
    assert (web.name, web.group, web.order) == ("Web", group, 2)
    assert list(web.health_checks.all()) == [first]
    services.component_save(component=web, name="Website", health_checks=[second])
    web.refresh_from_db()
    assert web.name == "Website"
    assert list(web.health_checks.all()) == [second]
    # Leaving the checks out keeps them.
    services.component_save(component=web, order=5)
    assert list(web.health_checks.all()) == [second]


def test_the_model_refuses_a_bad_component_or_group_and_nothing_is_written():
    services.component_group_save(name="MoodMash")
    with pytest.raises(ValidationError) as raised:
        services.component_group_save(name="MoodMash")
    assert "name" in raised.value.message_dict
    with pytest.raises(ValidationError) as raised:
        services.component_save(name="x" * 101)
    assert "name" in raised.value.message_dict
    with pytest.raises(ValidationError):
        services.component_save(name="")
    assert not Component.objects.exists()
    with pytest.raises(TypeError):
        services.component_save(name="Web", status="major_outage")


def test_a_component_set_to_follow_its_checks_takes_their_proposal_at_once():
    check = HealthCheckFactory()
    result(check, at=NOW, ok=False)
    web = services.component_save(name="Web", health_checks=[check])
    assert web.status == ComponentStatus.OPERATIONAL
    web = services.component_save(component=web, follows_checks=True)
    assert web.status == ComponentStatus.MAJOR_OUTAGE


def test_deleting_a_group_keeps_its_components_and_deleting_a_component_drops_it_from_updates():
    group = services.component_group_save(name="MoodMash")
    web = services.component_save(name="Web", group=group)
    incident = IncidentFactory()
    update = communication(incident, "Web is down", at=NOW, status=Communication.Status.DRAFT)
    services.communication_components_set(communication=update, statuses={web.pk: "major_outage"})
    services.component_group_delete(group=group)
    web.refresh_from_db()
    assert web.group is None
    services.component_delete(component=web)
    assert not Component.objects.exists()
    assert not update.component_statuses.exists()


def test_editors_create_edit_and_delete_components_and_groups_from_the_pages():
    check = HealthCheckFactory()
    client = Client()
    client.force_login(user_with_role("editor"))
    assert 'href="/components/new/"' in client.get("/components/").content.decode()
    response = client.post("/components/groups/new/", {"name": "MoodMash", "order": "0"})
    assert response.status_code == 302
    group = ComponentGroup.objects.get()
    response = client.post(
        "/components/new/",
        {"name": "Web", "group": group.pk, "order": "1", "health_checks": [check.pk]},
    )
    assert response.status_code == 302
    web = Component.objects.get()
    assert (web.name, web.group, web.follows_checks) == ("Web", group, False)
    assert list(web.health_checks.all()) == [check]
    response = client.post(
        f"/components/{web.pk}/edit/",
        {"name": "Website", "group": "", "order": "1", "follows_checks": "on"},
    )
    assert response.status_code == 302
    web.refresh_from_db()
    assert (web.name, web.group, web.follows_checks) == ("Website", None, True)
    assert not web.health_checks.exists()
    assert "Delete “Website”?" in client.get(f"/components/{web.pk}/delete/").content.decode()
    assert Component.objects.exists()
    client.post(f"/components/{web.pk}/delete/")
    assert not Component.objects.exists()
    client.post(f"/components/groups/{group.pk}/delete/")
    assert not ComponentGroup.objects.exists()


def test_a_refused_component_form_shows_errors_beside_fields_and_keeps_what_was_typed():
    services.component_group_save(name="MoodMash")
    client = Client()
    client.force_login(user_with_role("editor"))
    response = client.post("/components/groups/new/", {"name": "MoodMash", "order": "3"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_name_error"' in html
    assert 'value="3"' in html
    response = client.post("/components/new/", {"name": "", "order": "7"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_name_error"' in html
    assert 'value="7"' in html
    assert not Component.objects.exists()


def test_viewers_cannot_create_edit_or_delete_components():
    web = component()
    client = Client()
    client.force_login(user_with_role("viewer"))
    assert client.post("/components/new/", {"name": "API", "order": "0"}).status_code == 403
    assert client.post(f"/components/{web.pk}/edit/", {"name": "X", "order": 0}).status_code == 403
    assert client.post(f"/components/{web.pk}/delete/").status_code == 403
    assert Component.objects.get().name == "Web"


def test_the_admin_saves_components_and_groups_through_the_services(admin_client, monkeypatch):
    check = HealthCheckFactory()
    called: list[dict] = []
    real = services.component_save

    def spy(**fields):
        called.append(fields)
        return real(**fields)

    monkeypatch.setattr(services, "component_save", spy)
    admin_client.post("/admin/incidents/componentgroup/add/", {"name": "MoodMash", "order": "0"})
    group = ComponentGroup.objects.get()
    response = admin_client.post(
        "/admin/incidents/component/add/",
        {"name": "Web", "group": group.pk, "order": "0", "health_checks": [check.pk]},
    )
    assert response.status_code == 302
    web = Component.objects.get()
    assert list(web.health_checks.all()) == [check]
    assert len(called) == 1
    admin_client.post(f"/admin/incidents/component/{web.pk}/delete/", {"post": "yes"})
    assert not Component.objects.exists()
