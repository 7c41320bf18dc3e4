"""The system side's writes, through the API (CI's gate and deployments, the catalogue, health
checks, gate rules, changes, maintenance windows, tokens) and its pages; the webhook pages; the
status page's components, maintenance and subscribers; settings; and signing in and out."""

from __future__ import annotations

from incidents.statuspage.subscriber_links import choice_token, confirm_token, unsubscribe_token
from tests.reliability.writes import API, PASSWORD, World, Write

GATE_QUESTION = {
    "service": "moodmash",
    "environment": "production",
    "commit": "E4F5A6B",
    "manifest": [{"path": "_worker.js", "size": 419_952, "sha256": "a" * 64}],
    "rollback": False,
}
DEPLOYMENT = {
    "service": "moodmash",
    "environment": "production",
    "external_id": "walk-0001",
    "commit_sha": "3f9a2c1",
    "status": "succeeded",
    "started_at": "2026-01-02T05:58:00Z",
    "finished_at": "2026-01-02T05:58:44Z",
}
HEALTH_CHECK = {"name": "Home page", "url": "https://moodmash.example.com/"}
GATE_RULE = {"kind": "required_artifact", "path": "_worker.js"}


def _api(tail: str) -> str:
    return f"{API}/{tail}"


def _gate(w: World, tail: str) -> str:
    return f"/system/moodmash/staging/gate/rules/{tail}"


SYSTEM_API: list[Write] = [
    # CI's gate, deployments and their smoke runs (the walk in one world, in this order,
    # verifies the deployment before recording a newer one).
    Write("gate", "POST", lambda w: _api("gate"), lambda w: GATE_QUESTION, token="gate"),
    Write("deployment-verify", "POST", lambda w: _api(f"deployments/{w.deployment.pk}/verify")),
    Write("deployment-list", "POST", lambda w: _api("deployments"), lambda w: DEPLOYMENT),
    Write(
        "deployment-set-status",
        "POST",
        lambda w: _api(f"deployments/{w.of('deployment:status').pk}/status"),
        lambda w: {"status": "succeeded", "finished_at": "2026-01-02T06:00:00Z"},
    ),
    # The catalogue.
    Write(
        "service-list",
        "POST",
        lambda w: _api("services"),
        lambda w: {"name": "Billing", "slug": "billing"},
    ),
    Write(
        "service-detail",
        "PUT",
        lambda w: _api("services/walk-spare"),
        lambda w: {"name": "Walk spare", "slug": "walk-spare", "description": "For the walk."},
    ),
    Write(
        "service-detail",
        "PATCH",
        lambda w: _api("services/walk-spare"),
        lambda w: {"public_url": "https://spare.example.com"},
    ),
    Write(
        "environment-list",
        "POST",
        lambda w: _api("environments"),
        lambda w: {"service": "moodmash", "name": "canary", "kind": "staging"},
    ),
    Write(
        "environment-detail",
        "PUT",
        lambda w: _api(f"environments/{w.of('environment').pk}"),
        lambda w: {"name": "staging", "kind": "staging", "branch": "main"},
    ),
    Write(
        "environment-detail",
        "PATCH",
        lambda w: _api(f"environments/{w.of('environment').pk}"),
        lambda w: {"url": "https://staging.example.com"},
    ),
    # Health checks.
    Write(
        "health-check-list",
        "POST",
        lambda w: _api("health-checks"),
        lambda w: {"service": "moodmash", **HEALTH_CHECK},
    ),
    Write(
        "health-check-detail",
        "PUT",
        lambda w: _api(f"health-checks/{w.of('check:put').pk}"),
        lambda w: {**HEALTH_CHECK, "name": "Sign-up page"},
    ),
    Write(
        "health-check-detail",
        "PATCH",
        lambda w: _api(f"health-checks/{w.of('check:patch').pk}"),
        lambda w: {"expected_status": 204},
    ),
    Write(
        "health-check-detail", "DELETE", lambda w: _api(f"health-checks/{w.of('check:delete').pk}")
    ),
    Write("health-check-run", "POST", lambda w: _api(f"health-checks/{w.of('check:run').pk}/run")),
    # Gate rules.
    Write(
        "gate-rule-list",
        "POST",
        lambda w: _api("gate-rules"),
        lambda w: {"service": "moodmash", "environment": "staging", **GATE_RULE},
    ),
    Write(
        "gate-rule-detail",
        "PUT",
        lambda w: _api(f"gate-rules/{w.of('rule:put').pk}"),
        lambda w: {**GATE_RULE, "action": "warn"},
    ),
    Write(
        "gate-rule-detail",
        "PATCH",
        lambda w: _api(f"gate-rules/{w.of('rule:patch').pk}"),
        lambda w: {"enabled": False},
    ),
    Write("gate-rule-detail", "DELETE", lambda w: _api(f"gate-rules/{w.of('rule:delete').pk}")),
    # Changes, maintenance windows and tokens.
    Write(
        "change-list",
        "POST",
        lambda w: _api("changes"),
        lambda w: {"service": "moodmash", "kind": "config", "summary": "Raised the worker limit"},
    ),
    Write(
        "maintenance-window-list",
        "POST",
        lambda w: _api("maintenance-windows"),
        lambda w: {"service": "moodmash", "reason": "Database upgrade", "minutes": 30},
    ),
    Write(
        "maintenance-window-end",
        "POST",
        lambda w: _api(f"maintenance-windows/{w.of('window').pk}/end"),
    ),
    Write("token-list", "POST", lambda w: _api("tokens"), lambda w: {"name": "Nightly export"}),
    Write("token-detail", "DELETE", lambda w: _api(f"tokens/{w.of('token:delete').pk}")),
]

SYSTEM_PAGES: list[Write] = [
    Write(
        "deployments:gate_rule_add",
        "POST",
        lambda w: _gate(w, "new"),
        lambda w: {**GATE_RULE, "action": "block", "enabled": "on", "order": 0},
    ),
    Write(
        "deployments:gate_rule_edit",
        "POST",
        lambda w: _gate(w, f"{w.of('rule:page-edit').pk}/edit"),
        lambda w: {**GATE_RULE, "action": "warn", "enabled": "on", "order": 1},
    ),
    Write(
        "deployments:gate_rule_toggle",
        "POST",
        lambda w: _gate(w, f"{w.of('rule:page-toggle').pk}/toggle"),
    ),
    Write(
        "deployments:gate_rule_delete",
        "POST",
        lambda w: _gate(w, f"{w.of('rule:page-delete').pk}/delete"),
    ),
    Write(
        "deployments:health_check_run",
        "POST",
        lambda w: f"/system/health/checks/{w.of('check:run').pk}/run/",
    ),
    # Webhooks.
    Write(
        "incidents:webhook_create",
        "POST",
        lambda w: "/webhooks/new/",
        lambda w: {
            "name": "Chat",
            "url": "https://chat.example.com/hooks/in",
            "events": ["incident.declared"],
            "active": "on",
        },
    ),
    Write(
        "incidents:webhook_edit",
        "POST",
        lambda w: f"/webhooks/{w.hook.pk}/edit/",
        lambda w: {"name": "Pager (primary)", "url": w.hook.url, "active": "on"},
    ),
    Write("incidents:webhook_rotate", "POST", lambda w: f"/webhooks/{w.hook.pk}/secret"),
    Write("incidents:webhook_ping", "POST", lambda w: f"/webhooks/{w.hook.pk}/ping"),
    Write(
        "incidents:webhook_redeliver",
        "POST",
        lambda w: f"/webhooks/{w.hook.pk}/deliveries/{w.of('delivery').pk}/redeliver",
    ),
    Write(
        "incidents:webhook_delete",
        "POST",
        lambda w: f"/webhooks/{w.of('hook:page-delete').pk}/delete/",
    ),
]

STATUS_PAGE: list[Write] = [
    Write(
        "incidents:component_create",
        "POST",
        lambda w: "/components/new/",
        lambda w: {"name": "Search", "group": w.of("group").pk, "order": 1},
    ),
    Write(
        "incidents:component_edit",
        "POST",
        lambda w: f"/components/{w.of('component').pk}/edit/",
        lambda w: {
            "name": "Checkout",
            "group": w.of("group").pk,
            "order": 2,
            "health_checks": [w.check.pk],
            "follows_checks": "on",
        },
    ),
    Write(
        "incidents:component_delete",
        "POST",
        lambda w: f"/components/{w.of('component:delete').pk}/delete/",
    ),
    Write(
        "incidents:component_status",
        "POST",
        lambda w: f"/components/{w.of('component:status').pk}/status",
        lambda w: {"status": "degraded_performance", "expected": w.of("component:status").status},
    ),
    Write(
        "incidents:component_group_create",
        "POST",
        lambda w: "/components/groups/new/",
        lambda w: {"name": "Accounts", "order": 2},
    ),
    Write(
        "incidents:component_group_edit",
        "POST",
        lambda w: f"/components/groups/{w.of('group').pk}/edit/",
        lambda w: {"name": "Shop front", "order": 1},
    ),
    Write(
        "incidents:component_group_delete",
        "POST",
        lambda w: f"/components/groups/{w.of('group:delete').pk}/delete/",
    ),
    Write(
        "incidents:maintenance_create",
        "POST",
        lambda w: "/maintenance/new/",
        lambda w: {
            "title": "Search index rebuild",
            "service": w.service.pk,
            "starts_at": "2030-01-02T06:00",
            "ends_at": "2030-01-02T07:00",
            "description": "Search may be slow.",
        },
    ),
    Write(
        "incidents:maintenance_edit",
        "POST",
        lambda w: f"/maintenance/{w.of('maintenance:edit').pk}/edit/",
        lambda w: {
            "title": "Database upgrade, part one",
            "service": w.service.pk,
            "starts_at": "2030-01-03T06:00",
            "ends_at": "2030-01-03T07:00",
            "description": "",
        },
    ),
    Write(
        "incidents:maintenance_delete",
        "POST",
        lambda w: f"/maintenance/{w.of('maintenance:delete').pk}/delete/",
    ),
    # The public pages' writes, by a visitor who is not signed in.
    Write(
        "incidents:status_subscribe",
        "POST",
        lambda w: "/status/subscribe/",
        lambda w: {"email": "new-reader@example.com"},
        signed_in=False,
    ),
    Write(
        "incidents:status_confirm",
        "POST",
        lambda w: f"/status/confirm/{confirm_token(w.of('subscriber:confirm'))}/",
        signed_in=False,
    ),
    Write(
        "incidents:status_unsubscribe",
        "POST",
        lambda w: f"/status/unsubscribe/{unsubscribe_token(w.of('subscriber:unsubscribe'))}/",
        signed_in=False,
    ),
    Write(
        "incidents:status_subscription",
        "POST",
        lambda w: f"/status/subscription/{choice_token(w.of('subscriber:choice'))}/",
        lambda w: {"components": [w.of("component").pk]},
        signed_in=False,
    ),
]

SETTINGS: list[Write] = [
    Write(
        "preferences",
        "POST",
        lambda w: "/settings/",
        lambda w: {"time_zone": "Europe/Berlin", "reminder_emails": "on"},
    ),
    Write(
        "tokens",
        "POST",
        lambda w: "/settings/tokens/",
        lambda w: {"name": "CI deploys", "scope": "read", "expires_in_days": 30},
    ),
    Write(
        "token_revoke",
        "POST",
        lambda w: f"/settings/tokens/{w.of('token:page-revoke').pk}/revoke",
    ),
    Write(
        "service_accounts",
        "POST",
        lambda w: "/settings/service-accounts/",
        lambda w: {"username": "nightly-export", "role": "viewer", "description": "Backups."},
    ),
    Write(
        "service_account_tokens",
        "POST",
        lambda w: f"/settings/service-accounts/{w.of('account').pk}/tokens",
        lambda w: {"name": "Deploys", "scope": "read", "expires_in_days": 30},
    ),
    # Signing in (a session and the login throttle's records, in the database) and out.
    Write(
        "login",
        "POST",
        lambda w: "/login/",
        lambda w: {"username": "editor-user", "password": PASSWORD},
        signed_in=False,
    ),
    Write("logout", "POST", lambda w: "/logout/"),
]

SYSTEM_WRITES: list[Write] = [*SYSTEM_API, *SYSTEM_PAGES, *STATUS_PAGE, *SETTINGS]
