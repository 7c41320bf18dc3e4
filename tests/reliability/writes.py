"""Every route that writes, as a table: the ones walked with Redis down, and why each other is not.

WALKED holds a request for each write the Redis-down tests send (tests/reliability/
test_redis_down_*.py): the API's writes of incidents and their rows, the page forms, the
transitions that queue email, webhooks and search refreshes, the gate, deployments recorded by CI
and their smoke runs. NOT_WALKED names every other write route with the walked one that takes the
same way to Redis (the rate limit's counter, the outbox's publish after commit, the cache), so a
new write route fails `test_every_write_route_is_in_the_table` until someone decides which it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import token_create
from deployments.models import Deployment, HealthCheck, Service
from incidents.communications import services as communications
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    CommunicationTemplate,
    Incident,
    Lesson,
    Subscriber,
    SuccessCriterion,
    TimelineEvent,
    WebhookEndpoint,
)
from tests.factories import (
    ActionItemFactory,
    CauseFactory,
    DeploymentFactory,
    EnvironmentFactory,
    HealthCheckFactory,
    IncidentFactory,
    LessonFactory,
    ServiceFactory,
    SuccessCriterionFactory,
    TimelineEventFactory,
    user_with_role,
)

API = "/api/v1"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class World:
    """What the writes act on: one service with a production environment and a deployment, one
    open incident with a row in each section, a webhook endpoint following every event, a
    confirmed subscriber and an approved communication, and the people and tokens to write."""

    editor: Any
    admin: Any
    service: Service
    deployment: Deployment
    check: HealthCheck
    incident: Incident
    open: list[Incident]
    event: TimelineEvent
    cause: Cause
    lesson: Lesson
    item: ActionItem
    criterion: SuccessCriterion
    communication: Communication
    hook: WebhookEndpoint
    write_token: str
    gate_token: str

    @property
    def ref(self) -> str:
        return self.incident.reference


def world_build() -> World:
    editor = user_with_role("editor")
    admin = user_with_role("admin")
    # The demo's service and environment where the demo is loaded (the backup test), else new.
    service = ServiceFactory(slug="moodmash")
    environment = service.environments.filter(name="production").first() or EnvironmentFactory(
        service=service, name="production"
    )
    # Resolved, as the shipped email template asks; the resolves have open ones of their own.
    incident = IncidentFactory(service=service, status="resolved", resolved_at=timezone.now())
    default_templates_ensure()
    Subscriber.objects.create(email="reader@example.com", confirmed_at=timezone.now())
    draft = communications.communication_generate(
        incident=incident,
        template=CommunicationTemplate.objects.get(slug=USER_EMAIL_SLUG),
        user=None,
    )
    hook = WebhookEndpoint.objects.create(name="Pager", url="https://hooks.example.com/in")
    _token, write_token = token_create(user=admin, name="walk", scope=ApiToken.Scope.WRITE)
    _token, gate_token = token_create(user=admin, name="ci", scope=ApiToken.Scope.GATE)
    return World(
        editor=editor,
        admin=admin,
        service=service,
        deployment=DeploymentFactory(environment=environment),
        check=HealthCheckFactory(service=service),
        incident=incident,
        open=[IncidentFactory(service=service) for _ in range(2)],
        event=TimelineEventFactory(incident=incident),
        cause=CauseFactory(incident=incident),
        lesson=LessonFactory(incident=incident),
        item=ActionItemFactory(incident=incident),
        criterion=SuccessCriterionFactory(incident=incident),
        communication=communications.communication_approve(communication=draft, user=None),
        hook=hook,
        write_token=write_token,
        gate_token=gate_token,
    )


@dataclass(frozen=True)
class Write:
    """One request that writes: `route` is its URL name (namespaced), `path` and `body` are
    built from the world. An API body is sent as JSON, a page's as a form."""

    route: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], dict] = lambda w: {}
    token: str = "write"  # API only: "write" or "gate"
    headers: Callable[[World], dict[str, str]] = lambda w: {}
    id: str = ""

    def __str__(self) -> str:
        return self.id or f"{self.method} {self.route}"

    def send(self, world: World) -> Any:
        path = self.path(world)
        if path.startswith(API):
            client: Client = APIClient()
            raw = world.gate_token if self.token == "gate" else world.write_token
            data = json.dumps(self.body(world))
            return getattr(client, self.method.lower())(
                path,
                data=data,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
                **self.headers(world),
            )
        client = Client()
        client.force_login(world.admin)
        return getattr(client, self.method.lower())(path, self.body(world))


def version(row: Any) -> dict[str, str]:
    row.refresh_from_db()
    return {"HTTP_IF_MATCH": f'"{row.version}"'}


def rows(w: World, kind: str) -> str:
    return f"{API}/incidents/{w.ref}/{kind}"


def page(w: World, tail: str) -> str:
    return f"/incidents/{w.ref}/{tail}"


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

WALKED: list[Write] = [
    # The API: incidents, their rows, their transitions.
    Write(
        "incident-list",
        "POST",
        lambda w: f"{API}/incidents",
        lambda w: {"title": "Queue", "service": "moodmash", "started_at": "2026-01-02T06:02:00Z"},
    ),
    Write(
        "incident-detail",
        "PATCH",
        lambda w: f"{API}/incidents/{w.ref}",
        lambda w: {"summary": "Writes stalled."},
        headers=lambda w: version(w.incident),
    ),
    Write(
        "incident-resolve",
        "POST",
        lambda w: f"{API}/incidents/{w.open[0].reference}/resolve",
    ),
    Write(
        "incident-postmortem-state",
        "POST",
        lambda w: f"{API}/incidents/{w.ref}/postmortem-state",
        lambda w: {"state": "in_review"},
    ),
    Write("incident-publish", "POST", lambda w: f"{API}/incidents/{w.ref}/publish"),
    Write(
        "incident-timeline-event-list",
        "POST",
        lambda w: rows(w, "timeline-events"),
        lambda w: {"occurred_at": "2026-01-02T06:03:00Z", "text": "Paged the on-call."},
    ),
    Write(
        "incident-timeline-event-detail",
        "PATCH",
        lambda w: f"{rows(w, 'timeline-events')}/{w.event.pk}",
        lambda w: {"text": "Paged the on-call again."},
        headers=lambda w: version(w.event),
    ),
    Write(
        "incident-cause-list",
        "POST",
        lambda w: rows(w, "causes"),
        lambda w: {"title": "A missing build step"},
    ),
    Write(
        "incident-lesson-detail",
        "DELETE",
        lambda w: f"{rows(w, 'lessons')}/{w.lesson.pk}",
        headers=lambda w: version(w.lesson),
    ),
    Write(
        "incident-action-item-list",
        "POST",
        lambda w: rows(w, "action-items"),
        lambda w: {"title": "Check the build output"},
    ),
    Write(
        "incident-success-criterion-move",
        "POST",
        lambda w: f"{rows(w, 'success-criteria')}/{w.criterion.pk}/move",
        lambda w: {"offset": -1},
    ),
    Write("action-item-complete", "POST", lambda w: f"{API}/action-items/{w.item.pk}/complete"),
    # Messages: email to subscribers and webhooks.
    Write(
        "incident-communication-send",
        "POST",
        lambda w: f"{rows(w, 'communications')}/{w.communication.pk}/send",
    ),
    Write("webhook-ping", "POST", lambda w: f"{API}/webhooks/{w.hook.pk}/ping"),
    # The system side: CI's gate, deployments and their smoke runs (the walk in one world, in
    # this order, verifies the deployment before recording a newer one).
    Write("gate", "POST", lambda w: f"{API}/gate", lambda w: GATE_QUESTION, token="gate"),
    Write("deployment-verify", "POST", lambda w: f"{API}/deployments/{w.deployment.pk}/verify"),
    Write("deployment-list", "POST", lambda w: f"{API}/deployments", lambda w: DEPLOYMENT),
    # The pages.
    Write(
        "incidents:declare",
        "POST",
        lambda w: "/incidents/new/",
        lambda w: {
            "service": w.service.pk,
            "title": "Queue",
            "severity": "sev2",
            "started_at": "2026-01-02T06:02",
        },
    ),
    Write(
        "incidents:prose_edit",
        "POST",
        lambda w: page(w, "text/summary/edit"),
        lambda w: {
            "summary": "Writes stalled.",
            "version": version(w.incident)["HTTP_IF_MATCH"][1:-1],
        },
    ),
    Write(
        "incidents:row_new",
        "POST",
        lambda w: page(w, "timeline/new"),
        lambda w: {"occurred_at": "2026-01-02T06:03", "kind": "detected", "text": "Paged."},
    ),
    Write(
        "incidents:resolve",
        "POST",
        lambda w: f"/incidents/{w.open[1].reference}/resolve",
        lambda w: {"resolved_at": "2026-01-02T06:30"},
    ),
    Write(
        "incidents:communication_send",
        "POST",
        lambda w: page(w, f"communications/{w.communication.pk}/send"),
    ),
    Write("incidents:action_item_done", "POST", lambda w: f"/action-items/{w.item.pk}/done"),
    Write("incidents:webhook_ping", "POST", lambda w: f"/webhooks/{w.hook.pk}/ping"),
    Write(
        "incidents:status_subscribe",
        "POST",
        lambda w: "/status/subscribe/",
        lambda w: {"email": "new-reader@example.com"},
    ),
]


def _like(walked: str, *routes: str) -> dict[str, str]:
    assert any(f"{w.method} {w.route}" == walked for w in WALKED), walked
    return dict.fromkeys(routes, f"reaches Redis as {walked} does")


def _api_rows(*kinds: str) -> list[str]:
    return [
        f"{method} incident-{kind}-detail"
        for kind in kinds
        for method in ("PUT", "PATCH", "DELETE")
    ] + [f"POST incident-{kind}-move" for kind in kinds if kind != "timeline-event"]


# Write routes not walked, each with the walked one that takes its way to Redis (the API's rate
# limit counter, the outbox after commit, the cache), or why it takes none.
NOT_WALKED: dict[str, str] = {
    # The API's rows and incident transitions: a row service, the live mark and its search refresh.
    **_like(
        "PATCH incident-timeline-event-detail",
        *_api_rows("timeline-event", "cause", "lesson", "action-item", "success-criterion"),
        "POST incident-lesson-list",
        "POST incident-success-criterion-list",
        "POST incident-timeline-event-hide",
        "POST incident-timeline-event-show",
        "PUT incident-detail",
        "DELETE incident-detail",
        "POST incident-duplicate-of",
        "POST incident-draft",
        "POST incident-draft-keep",
        "POST incident-draft-discard",
        "POST incident-unpublish",
        "POST incident-import",
        "POST incident-attachments",
    ),
    **_like(
        "POST incident-communication-send",
        "POST incident-communication-generate",
        "PATCH incident-communication-detail",
        "DELETE incident-communication-detail",
        "POST incident-communication-approve",
        "POST incident-communication-correct",
        "POST incident-communication-retract",
        "POST communication-template-list",
        "PATCH communication-template-detail",
    ),
    **_like(
        "POST action-item-complete",
        "POST action-item-reopen",
        "POST action-item-start",
        "POST action-item-wont-do",
    ),
    **_like(
        "POST webhook-ping",
        "POST webhook-list",
        "PATCH webhook-detail",
        "DELETE webhook-detail",
        "POST webhook-secret",
        "POST webhook-redeliver",
    ),
    # The system side's configuration: a row written, the rate limit counted.
    **_like(
        "POST deployment-list",
        "POST deployment-set-status",
        "POST service-list",
        "PUT service-detail",
        "PATCH service-detail",
        "POST environment-list",
        "PUT environment-detail",
        "PATCH environment-detail",
        "POST health-check-list",
        "PUT health-check-detail",
        "PATCH health-check-detail",
        "DELETE health-check-detail",
        "POST health-check-run",
        "POST gate-rule-list",
        "PUT gate-rule-detail",
        "PATCH gate-rule-detail",
        "DELETE gate-rule-detail",
        "POST change-list",
        "POST maintenance-window-list",
        "POST maintenance-window-end",
        "POST token-list",
        "DELETE token-detail",
    ),
    # The incident page's forms: a service, the live mark and its search refresh.
    **_like(
        "POST incidents:row_new",
        "POST incidents:row_edit",
        "POST incidents:row_delete",
        "POST incidents:row_move",
        "POST incidents:timeline_hide",
        "POST incidents:criterion_toggle",
        "POST incidents:action_item_status",
        "POST incidents:details_edit",
        "POST incidents:tags_edit",
        "POST incidents:section_text",
        "POST incidents:document_edit",
        "POST incidents:document_paste",
        "POST incidents:set_status",
        "POST incidents:set_postmortem_state",
        "POST incidents:mark_duplicate",
        "POST incidents:unmark_duplicate",
        "POST incidents:mark_as_cause",
        "POST incidents:draft_propose",
        "POST incidents:draft_keep",
        "POST incidents:draft_discard",
        "POST incidents:incident_publish",
        "POST incidents:incident_unpublish",
        "POST incidents:attachment_upload",
        "POST incidents:import",
        "POST incidents:import_confirm",
    ),
    **_like(
        "POST incidents:communication_send",
        "POST incidents:communication_generate",
        "POST incidents:communication_edit",
        "POST incidents:communication_approve",
        "POST incidents:communication_correct",
        "POST incidents:communication_discard",
        "POST incidents:communication_retract",
        "POST incidents:communication_template_new",
        "POST incidents:communication_template_edit",
    ),
    **_like(
        "POST incidents:action_item_done",
        "POST incidents:action_item_undone",
        "POST incidents:action_item_start",
        "POST incidents:action_item_wont_do",
        "POST incidents:action_item_assign",
    ),
    **_like(
        "POST incidents:webhook_ping",
        "POST incidents:webhook_create",
        "POST incidents:webhook_edit",
        "POST incidents:webhook_rotate",
        "POST incidents:webhook_redeliver",
        "POST incidents:webhook_delete",
    ),
    **_like(
        "POST incidents:status_subscribe",
        "POST incidents:status_confirm",
        "POST incidents:status_unsubscribe",
        "POST incidents:status_subscription",
    ),
    # Settings pages: rows written, nothing queued.
    **_like(
        "POST incidents:declare",
        "POST incidents:component_create",
        "POST incidents:component_edit",
        "POST incidents:component_delete",
        "POST incidents:component_status",
        "POST incidents:component_group_create",
        "POST incidents:component_group_edit",
        "POST incidents:component_group_delete",
        "POST incidents:maintenance_create",
        "POST incidents:maintenance_edit",
        "POST incidents:maintenance_delete",
        "POST deployments:gate_rule_add",
        "POST deployments:gate_rule_edit",
        "POST deployments:gate_rule_toggle",
        "POST deployments:gate_rule_delete",
        "POST deployments:health_check_run",
        "POST preferences",
        "POST tokens",
        "POST token_revoke",
        "POST service_accounts",
        "POST service_account_tokens",
    ),
    # Sessions and the login throttle (django-axes) are in the database; the preview writes nothing.
    **dict.fromkeys(
        ["POST login", "PUT login", "POST logout", "POST incidents:preview"],
        "no Redis: sessions and login attempts are database rows; the preview only renders",
    ),
}


def _methods(callback: Callable) -> set[str]:
    """The methods a route answers: a viewset's mapping, an APIView's handlers, or what
    require_http_methods (require_POST, ...) lets through, read from its closure."""
    cls = getattr(callback, "cls", None)
    if cls is not None:
        actions = getattr(callback, "actions", None)
        names = actions or [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]
        return {name.upper() for name in names}
    view_class = getattr(callback, "view_class", None)  # Django's class-based views
    if view_class is not None:
        names = ["get", "post", "put", "patch", "delete"]
        return {name.upper() for name in names if hasattr(view_class, name)}
    func: Any = callback
    while func is not None:
        code = getattr(func, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = func.__closure__[code.co_freevars.index("request_method_list")]
            return {method.upper() for method in cell.cell_contents}
        func = getattr(func, "__wrapped__", None)
    return {"GET", "POST", "PUT", "PATCH", "DELETE"}  # a view that says nothing takes anything


def write_routes() -> set[str]:
    """`METHOD route-name` of every write route outside the admin."""

    def walk(patterns: list, namespace: str) -> Any:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                for method in _methods(pattern.callback) & WRITE_METHODS:
                    yield f"{method} {namespace}{pattern.name}"

    return set(walk(get_resolver().url_patterns, ""))
