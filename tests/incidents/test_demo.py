from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db.models import Model
from django.urls import reverse

from core.roles import Role, roles_ensure
from deployments import selectors
from deployments.models import (
    Deployment,
    GateRule,
    GateRun,
    HealthCheck,
    HealthSnapshot,
    HealthStatus,
)
from deployments.services import gate_evaluate
from incidents.demo import DEMO_PASSWORD, DEMO_USERS
from incidents.demo.system import KNOWN_GOOD_EXTERNAL_ID
from incidents.models import ActionItem, Cause, Horizon, Incident, Lesson, TimelineEvent
from incidents.postmortem.services import action_item_complete

OUTAGE_START = datetime(2026, 1, 2, 6, 2, tzinfo=UTC)
OUTAGE_END = datetime(2026, 1, 2, 6, 18, tzinfo=UTC)


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models: list[type[Model]] = [
        *apps.get_app_config("incidents").get_models(),
        *apps.get_app_config("deployments").get_models(),
        get_user_model(),
        Group,
        Permission,
        Group.permissions.through,
        get_user_model().groups.through,
    ]
    return {model._meta.label: model._default_manager.count() for model in models}


@pytest.fixture
def demo_incident(demo_loaded) -> Incident:
    return Incident.objects.get(service__slug="moodmash")


def production_deployments() -> dict[str, Deployment]:
    rows = Deployment.objects.filter(
        environment__service__slug="moodmash", environment__name="production"
    )
    broken = rows.get(started_at__date="2026-01-02", rollback_of__isnull=True)
    return {
        "known_good": rows.get(external_id=KNOWN_GOOD_EXTERNAL_ID),
        "broken": broken,
        "rollback": rows.get(rollback_of=broken),
    }


@pytest.mark.django_db
def test_loading_the_demo_twice_changes_no_row_count():
    output = load_demo()
    first = row_counts()
    assert load_demo()
    assert row_counts() == first
    assert Incident.objects.count() == 1
    assert Incident.objects.get().reference in output


@pytest.mark.django_db
def test_the_command_prints_the_reference_and_every_login():
    output = load_demo()
    assert "INC-" in output
    assert DEMO_PASSWORD in output
    for username in DEMO_USERS:
        assert username in output


@pytest.mark.django_db
def test_the_demo_incident_is_a_published_resolved_sev1(demo_incident):
    assert demo_incident.severity == "sev1"
    assert demo_incident.status == Incident.Status.RESOLVED
    assert demo_incident.postmortem_state == Incident.PostmortemState.PUBLISHED
    assert demo_incident.started_at == OUTAGE_START
    assert demo_incident.resolved_at == OUTAGE_END
    assert demo_incident.duration.total_seconds() == 16 * 60
    assert list(demo_incident.authors.values_list("username", flat=True)) == ["demo-editor"]
    assert "<strong>" in demo_incident.summary_html


@pytest.mark.django_db
def test_the_demo_incident_has_rows_in_every_section(demo_incident):
    sections = [
        "timeline_events",
        "status_items",
        "causes",
        "lessons",
        "action_items",
        "success_criteria",
        "priorities",
        "final_notes",
    ]
    for name in sections:
        assert getattr(demo_incident, name).exists(), name
    assert set(demo_incident.lessons.values_list("kind", flat=True)) == set(Lesson.Kind.values)
    assert set(demo_incident.causes.values_list("kind", flat=True)) >= {
        Cause.Kind.PRIMARY,
        Cause.Kind.CONTRIBUTING,
        Cause.Kind.ASSUMPTION,
    }
    assert demo_incident.causes.filter(parent__isnull=False).exists()
    assert set(demo_incident.action_items.values_list("horizon", flat=True)) == set(Horizon.values)
    assert set(demo_incident.success_criteria.values_list("group", flat=True)) == {
        Horizon.BEFORE_NEXT_DEPLOYMENT,
        Horizon.LONG_TERM,
    }
    urgent = demo_incident.priorities.get(urgent=True)
    assert urgent.options.count() == 3
    assert all(option.estimate for option in urgent.options.all())
    assert all(row.text_html for row in demo_incident.timeline_events.all())


@pytest.mark.django_db
def test_action_items_are_done_only_where_the_demo_says(demo_incident):
    items = demo_incident.action_items
    immediate = items.filter(horizon=Horizon.IMMEDIATE)
    assert immediate.exists()
    assert not immediate.exclude(status=ActionItem.Status.DONE).exists()
    assert not immediate.filter(done_by__isnull=True).exists()
    assert items.filter(horizon=Horizon.TODAY, parent__isnull=False).exists()
    blocking = items.filter(blocks_deployments=True)
    assert blocking.count() == 2
    assert not blocking.exclude(horizon=Horizon.BEFORE_NEXT_DEPLOYMENT).exists()
    assert not blocking.exclude(status=ActionItem.Status.OPEN).exists()
    assert set(items.values_list("owner__username", flat=True)) == {"demo-editor", "demo-admin"}


@pytest.mark.django_db
def test_the_broken_deployment_shipped_no_worker_and_the_known_good_one_did(demo_incident):
    deployments = production_deployments()
    broken_paths = set(deployments["broken"].artifacts.values_list("path", flat=True))
    assert "_worker.js" not in broken_paths
    assert "_routes.json" in broken_paths
    worker = deployments["known_good"].artifacts.get(path="_worker.js")
    assert worker.size > 400_000
    assert deployments["known_good"].commit_sha.startswith("dc8023d")
    assert deployments["broken"].status == Deployment.Status.ROLLED_BACK
    assert deployments["rollback"].rollback_of == deployments["broken"]
    assert deployments["rollback"].manifest_digest == deployments["known_good"].manifest_digest
    assert Deployment.objects.filter(status=Deployment.Status.SUCCEEDED).count() >= 4


@pytest.mark.django_db
def test_the_timeline_links_the_deploy_and_the_rollback(demo_incident):
    deployments = production_deployments()
    events = demo_incident.timeline_events
    deploy = events.get(kind=TimelineEvent.Kind.DEPLOYMENT)
    rollback = events.get(kind=TimelineEvent.Kind.ROLLBACK)
    assert deploy.deployment == deployments["broken"]
    assert rollback.deployment == deployments["rollback"]
    assert {deploy.source, rollback.source} == {TimelineEvent.Source.DEPLOYMENT}
    times = list(events.values_list("occurred_at", flat=True))
    assert times == sorted(times)


@pytest.mark.django_db
def test_snapshots_fail_exactly_during_the_outage(demo_incident):
    snapshots = list(
        HealthSnapshot.objects.filter(
            service__slug="moodmash", taken_at__date="2026-01-02"
        ).order_by("taken_at")
    )
    assert snapshots[0].taken_at == datetime(2026, 1, 2, 5, 32, tzinfo=UTC)
    assert snapshots[-1].taken_at == datetime(2026, 1, 2, 6, 48, tzinfo=UTC)
    assert len(snapshots) == 77
    for snapshot in snapshots:
        down = OUTAGE_START <= snapshot.taken_at < OUTAGE_END
        results = list(snapshot.results.all())
        assert len(results) == 5
        assert snapshot.status == (HealthStatus.DOWN if down else HealthStatus.UP)
        assert all(r.ok is not down for r in results), snapshot.taken_at
        assert {r.status_code for r in results} == ({404} if down else {200})
    assert sum(s.status == HealthStatus.DOWN for s in snapshots) == 16


@pytest.mark.django_db
def test_the_known_good_deployment_was_watched_healthy_and_the_broken_one_failed(demo_incident):
    deployments = production_deployments()
    known_good, broken = deployments["known_good"], deployments["broken"]
    assert known_good.finished_at is not None
    watched = list(
        HealthSnapshot.objects.filter(
            service__slug="moodmash",
            taken_at__gt=known_good.finished_at,
            taken_at__lte=known_good.finished_at + timedelta(minutes=40),
        ).order_by("taken_at")
    )
    assert [s.taken_at for s in watched] == [
        datetime(2025, 12, 30, 21, 45, tzinfo=UTC) + timedelta(minutes=5 * i) for i in range(7)
    ]
    assert {s.status for s in watched} == {HealthStatus.UP}
    assert HealthSnapshot.objects.filter(service__slug="moodmash").count() == 77 + 7
    assert known_good.health == Deployment.Health.HEALTHY
    assert broken.health == Deployment.Health.UNHEALTHY
    assert deployments["rollback"].health == Deployment.Health.HEALTHY
    assert known_good.health_checked_at is not None
    assert known_good.health_checked_at > known_good.finished_at
    # Every production deployment but the broken one passed its smoke run.
    production = Deployment.objects.filter(environment=broken.environment)
    assert set(production.exclude(pk=broken.pk).values_list("health", flat=True)) == {
        Deployment.Health.HEALTHY
    }


@pytest.mark.django_db
def test_the_incident_shows_the_broken_deployment_as_suspect_and_where_to_roll_back(
    demo_incident,
):
    deployments = production_deployments()
    found = selectors.correlation(
        service=demo_incident.service,
        start=demo_incident.started_at,
        end=demo_incident.resolved_at,
    )
    assert found.suspect == deployments["broken"]
    assert found.last_known_good == deployments["known_good"]
    assert found.rollback is not None
    assert found.rollback.text == f"npx wrangler pages deployment rollback {KNOWN_GOOD_EXTERNAL_ID}"
    assert [f.count for f in found.bracketing.failing] == [16] * 5
    assert found.bracketing.after is not None
    assert found.bracketing.after.taken_at == OUTAGE_END


@pytest.mark.django_db
def test_demo_users_log_in_with_the_demo_password_and_hold_their_role(demo_incident):
    for username, role in DEMO_USERS.items():
        user = authenticate(username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert list(user.groups.values_list("name", flat=True)) == [role.value]
        assert authenticate(username=username, password="wrong") is None
    admin = get_user_model().objects.get(username="demo-admin")
    assert admin.is_superuser
    assert admin.is_staff
    assert not get_user_model().objects.get(username="demo-viewer").is_staff


@pytest.mark.django_db
def test_loading_again_restores_a_changed_demo_password(demo_incident):
    viewer = get_user_model().objects.get(username="demo-viewer")
    viewer.set_password("something-else")
    viewer.save()
    load_demo()
    assert authenticate(username="demo-viewer", password=DEMO_PASSWORD) is not None


@pytest.mark.django_db
def test_editor_may_change_incidents_but_viewer_may_not():
    roles_ensure()
    load_demo()
    users = {u.username: u for u in get_user_model().objects.filter(username__in=DEMO_USERS)}
    viewer, editor = users["demo-viewer"], users["demo-editor"]
    assert editor.has_perm("incidents.change_incident")
    assert not viewer.has_perm("incidents.change_incident")
    assert viewer.has_perm("incidents.view_incident")
    assert viewer.has_perm("deployments.view_deployment")
    assert not editor.has_perm("deployments.change_deployment")
    assert not editor.has_perm("auth.change_user")
    admin_group = Group.objects.get(name=Role.ADMIN)
    assert admin_group.permissions.filter(codename="change_deployment").exists()
    assert admin_group.permissions.filter(codename="change_user").exists()


@pytest.mark.django_db
def test_roles_ensure_takes_back_a_permission_granted_by_hand():
    groups = roles_ensure()
    stray = Permission.objects.get(codename="delete_incident")
    groups[Role.VIEWER].permissions.add(stray)
    roles_ensure()
    assert not Group.objects.get(name=Role.VIEWER).permissions.filter(pk=stray.pk).exists()
    assert Group.objects.filter(name__in=Role.values).count() == 3


@pytest.mark.django_db
def test_the_gate_would_have_blocked_the_upload_without_a_worker(demo_incident):
    deployments = production_deployments()
    broken = deployments["broken"]
    rules = GateRule.objects.filter(environment=broken.environment).order_by("order")
    assert [(r.kind, r.path, r.action) for r in rules] == [
        ("required_artifact", "_worker.js", "block"),
        ("required_artifact", "_routes.json", "block"),
        ("stale_build", "_worker.js", "block"),
        ("preview_first", "", "block"),
        ("blocking_action_items", "", "block"),
        ("health_before_promotion", "", "warn"),
    ]
    assert rules[0].min_size == 100 * 1024
    run = GateRun.objects.get(environment=broken.environment)
    assert run.verdict == GateRun.Verdict.BLOCK
    assert run.commit_sha == broken.commit_sha
    assert run.manifest_digest == broken.manifest_digest
    assert run.deployment == broken
    outcomes = {(r["rule"], r["found"].get("path", "")): r["outcome"] for r in run.reasons}
    assert outcomes[("required_artifact", "_worker.js")] == "block"
    assert outcomes[("required_artifact", "_routes.json")] == "pass"
    # The seed's two failures: no worker, and straight to production without trying preview.
    blocked = [r for r in run.reasons if r["outcome"] == "block"]
    assert [(r["rule"], r["found"].get("path")) for r in blocked] == [
        ("required_artifact", "_worker.js"),
        ("preview_first", None),
    ]
    assert "_worker.js is missing" in blocked[0]["message"]


def ask_production(system_service, manifest: Sequence[Mapping[str, Any]], commit: str) -> GateRun:
    production = system_service.environments.get(name="production")
    return gate_evaluate(
        service=system_service, environment=production, commit_sha=commit, manifest=manifest
    )


@pytest.mark.django_db
def test_preview_has_checks_and_the_fixed_build_ran_healthy_there(demo_incident):
    preview = demo_incident.service.environments.get(name="preview")
    checks = HealthCheck.objects.filter(environment=preview, enabled=True)
    assert set(checks.values_list("name", flat=True)) == {
        "Homepage (preview)",
        "API health (preview)",
        "Login page (preview)",
    }
    assert all(c.url.startswith("https://preview.moodmash.pages.dev/") for c in checks)
    [fixed] = Deployment.objects.filter(environment=preview)
    assert (fixed.status, fixed.health) == ("succeeded", "healthy")
    assert fixed.artifacts.get(path="_worker.js").size > 100 * 1024
    assert fixed.started_at > OUTAGE_END  # after the outage: not among its deployments


@time_machine.travel(datetime(2026, 12, 4, 9, 0, tzinfo=UTC), tick=False)
@pytest.mark.django_db
def test_the_gate_lets_the_fixed_build_out_once_the_blocking_items_are_done(demo_incident):
    service = demo_incident.service
    fixed = Deployment.objects.get(environment__service=service, environment__name="preview")
    manifest = list(fixed.artifacts.values("path", "size", "sha256"))

    before = ask_production(service, manifest, fixed.commit_sha)
    blocked = [r["rule"] for r in before.reasons if r["outcome"] == "block"]
    assert (before.verdict, blocked) == ("block", ["blocking_action_items"])

    for item in demo_incident.action_items.filter(blocks_deployments=True):
        action_item_complete(item=item, user=None)
    after = ask_production(service, manifest, fixed.commit_sha)

    assert after.verdict == GateRun.Verdict.PASS
    outcomes = {r["rule"]: r for r in after.reasons if r["rule"] != "required_artifact"}
    assert outcomes["preview_first"]["outcome"] == "pass"
    assert outcomes["stale_build"]["outcome"] == "pass"
    # The demo runs no checks: production's health is not known, and the rule says so.
    health = outcomes["health_before_promotion"]
    assert (health["outcome"], health["found"]["status"]) == ("warn", "unknown")
    assert "last check 11 months ago" in health["message"]


@pytest.mark.django_db
def test_a_build_never_tried_in_preview_is_still_held_back(demo_incident):
    for item in demo_incident.action_items.filter(blocks_deployments=True):
        action_item_complete(item=item, user=None)
    known_good = production_deployments()["known_good"]
    manifest = [
        {**f, "sha256": f["sha256"] if f["path"] != "_worker.js" else "e" * 64}
        for f in known_good.artifacts.values("path", "size", "sha256")
    ]
    run = ask_production(demo_incident.service, manifest, "e" * 40)
    blocked = [r["rule"] for r in run.reasons if r["outcome"] == "block"]
    assert blocked == ["preview_first"]


@time_machine.travel(datetime(2026, 12, 4, 9, 0, tzinfo=UTC), tick=False)
@pytest.mark.django_db
def test_inc_1_shows_the_deployment_rolled_back_to_and_how_to_roll_back_to_it(
    demo_incident, client
):
    client.force_login(get_user_model().objects.get(username="demo-viewer"))
    url = reverse("incidents:system_panel", args=[demo_incident.reference])
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    known = html.split('class="system-card lkg-card"')[1].split("</div>")[0]
    assert "dc8023d" in known
    assert f"npx wrangler pages deployment rollback {KNOWN_GOOD_EXTERNAL_ID}" in known
    # Its health now: the demo's checks last answered during the outage's morning.
    now = html.split('class="health-now"')[1].split("</p>")[0]
    assert ">Unknown</span>" in now
    assert "last check 11 months ago" in now


@time_machine.travel(datetime(2026, 12, 4, 9, 0, tzinfo=UTC), tick=False)
@pytest.mark.django_db
def test_the_dashboard_says_moodmash_health_is_unknown_and_how_old_it_is(demo_incident, client):
    client.force_login(get_user_model().objects.get(username="demo-viewer"))
    html = client.get(reverse("incidents:dashboard")).content.decode()
    row = html.split('<span class="service-name">MoodMash</span>')[1].split("</li>")[0]
    assert ">Unknown</span>" in row
    assert "last check 11 months ago" in row


@pytest.mark.django_db
def test_the_demo_publishes_status_updates_and_plans_one_maintenance_window(demo_incident):
    from django.utils import timezone

    from incidents.demo.status_page import UPDATES
    from incidents.models import Communication, Maintenance

    published = Communication.objects.filter(
        incident=demo_incident, audience="status_page", status=Communication.Status.SENT
    )
    assert set(published.values_list("subject", flat=True)) >= {u[2] for u in UPDATES}
    assert all(update.body_html and update.sent_at for update in published)
    [window] = Maintenance.objects.all()
    assert window.starts_at > timezone.now()
    assert "<strong>" in window.description_html


@pytest.mark.django_db
def test_a_reload_moves_an_ended_demo_maintenance_window_ahead_without_a_new_row(demo_incident):
    from datetime import timedelta

    from django.utils import timezone

    from incidents.models import Maintenance

    now = timezone.now()
    Maintenance.objects.update(starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    load_demo()
    [window] = Maintenance.objects.all()
    assert window.starts_at > now


@pytest.mark.django_db
def test_a_migrate_brings_the_roles_up_to_date_without_the_demo():
    # An install that never loads the demo, or an upgrade: migrate alone makes the groups and
    # takes back what a release removed from a role (editors lost deleting whole incidents).
    editor = Group.objects.get(name=Role.EDITOR)
    editor.permissions.add(Permission.objects.get(codename="delete_incident"))
    Group.objects.filter(name=Role.VIEWER).delete()
    call_command("migrate", verbosity=0)
    assert (
        not Group.objects.get(name=Role.EDITOR)
        .permissions.filter(codename="delete_incident")
        .exists()
    )
    assert Group.objects.get(name=Role.VIEWER).permissions.filter(codename="view_incident").exists()
