"""The writes walked with Redis down, and the world they write to.

WALKED holds a request for each write the Redis-down tests send (tests/reliability/
test_redis_down_*.py): the API's writes of incidents and their rows, the page forms, the
transitions that queue email, webhooks and search refreshes, the gate, deployments recorded by CI
and their smoke runs. write_routes.py names every other write route.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.test import Client
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
