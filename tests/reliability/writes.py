"""The world the walked writes act on, and what one walked write is.

The writes themselves, one for every route that writes, are in writes_api.py (the REST API),
writes_pages.py (the incident page's forms) and writes_system.py (the system side's pages,
settings, the status page and signing in and out); write_routes.py puts them together and checks
that every write route is among them.

The Redis-down tests (tests/reliability/test_redis_down_*.py) send them in two ways: each on the
world as built (in a savepoint of its own), and all in turn on one world. So a write that uses
up what it acts on (a delete, a send, a transition that happens once) has a row of its own in
`World.spare`, and no write depends on another having run before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import service_account_create, token_create
from deployments.models import Deployment, Environment, GateRule, HealthCheck, Service
from deployments.services.changes import maintenance_window_open
from incidents.communications import services as communications
from incidents.communications.defaults import (
    PUBLIC_POSTMORTEM_SLUG,
    USER_EMAIL_SLUG,
    default_templates_ensure,
)
from incidents.drafting.services import postmortem_draft_propose
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
from incidents.statuspage.services import component_group_save, component_save, maintenance_create
from incidents.statuspage.services.visibility import incident_publish
from incidents.webhooks.services import webhook_endpoint_ping
from tests.brokers import refused_port
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
FORM = "application/x-www-form-urlencoded"
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's
MD5_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


@dataclass
class World:
    """What the writes act on: one service with a production environment and a deployment, one
    resolved incident with a row in each section and two open ones, a webhook endpoint following
    every event, a confirmed subscriber and an approved communication, the people and tokens to
    write, and a spare row for each write that uses one up (`spare`, by name)."""

    editor: Any
    admin: Any
    service: Service
    environment: Environment
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
    subscriber: Subscriber
    write_token: str
    gate_token: str
    spare: dict[str, Any]

    @property
    def ref(self) -> str:
        return self.incident.reference

    def of(self, name: str) -> Any:
        return self.spare[name]


def _communication(incident: Incident, slug: str, *, to: str) -> Communication:
    """A communication generated from template `slug` and taken as far as `to`: draft,
    approved or sent."""
    draft = communications.communication_generate(
        incident=incident, template=CommunicationTemplate.objects.get(slug=slug), user=None
    )
    if to == "draft":
        return draft
    if slug == PUBLIC_POSTMORTEM_SLUG:  # its template leaves parts for the editor to write
        communications.communication_update(
            communication=draft,
            subject=draft.subject,
            body="A deployment shipped without a file the service needs; rolling back fixed it.",
            user=None,
        )
    approved = communications.communication_approve(communication=draft, user=None)
    if to == "approved":
        return approved
    return communications.communication_send(communication=approved, user=None)


ROW_FACTORIES: dict[str, Callable[..., Any]] = {
    "timeline-events": TimelineEventFactory,
    "causes": CauseFactory,
    "lessons": LessonFactory,
    "action-items": ActionItemFactory,
    "success-criteria": SuccessCriterionFactory,
}


def _spares(*, service: Service, environment: Environment, incident: Incident, admin: Any) -> dict:
    now = timezone.now()
    spare: dict[str, Any] = {}
    # A row of each section for each write that changes or deletes one.
    for kind, make in ROW_FACTORIES.items():
        for use in ("put", "patch", "delete", "move", "page"):
            spare[f"{kind}:{use}"] = make(incident=incident)
    spare["timeline-events:hidden"] = TimelineEventFactory(incident=incident, hidden=True)
    # Incidents that one write each changes for good.
    for use in ("put", "delete", "duplicate", "undo-duplicate", "published", "page-published"):
        spare[f"incident:{use}"] = IncidentFactory(service=service)
    spare["incident:undo-duplicate"].duplicate_of = incident
    spare["incident:undo-duplicate"].save(update_fields=["duplicate_of"])
    for use in ("published", "page-published"):
        spare[f"incident:{use}"] = incident_publish(incident=spare[f"incident:{use}"], user=None)
    # Proposals of a first draft to keep and to discard: the draft tells the status changes.
    for use in ("keep", "discard", "page-keep", "page-discard"):
        drafted = IncidentFactory(
            service=service, status="resolved", detected_at=now, resolved_at=now
        )
        postmortem_draft_propose(incident=drafted, user=None)
        spare[f"draft:{use}"] = drafted
    # Action items in the state each transition starts from.
    for use in ("start", "wont-do", "page-done", "page-start", "page-wont-do", "assign", "status"):
        spare[f"item:{use}"] = ActionItemFactory(incident=incident)
    for use in ("reopen", "page-undone"):
        spare[f"item:{use}"] = ActionItemFactory(incident=incident, status="done", done_at=now)
    # Communications in the state each step starts from.
    for use in ("patch", "delete", "approve", "page-edit", "page-approve", "page-discard"):
        spare[f"message:{use}"] = _communication(incident, USER_EMAIL_SLUG, to="draft")
    spare["message:page-send"] = _communication(incident, USER_EMAIL_SLUG, to="approved")
    for use in ("correct", "page-correct"):
        spare[f"message:{use}"] = _communication(incident, USER_EMAIL_SLUG, to="sent")
    for use in ("retract", "page-retract"):
        spare[f"message:{use}"] = _communication(incident, PUBLIC_POSTMORTEM_SLUG, to="sent")
    # Webhook endpoints to delete.
    for use in ("delete", "page-delete"):
        spare[f"hook:{use}"] = WebhookEndpoint.objects.create(
            name=f"Spare {use}", url="https://hooks.example.com/spare"
        )
    # The system side's configuration, one row for each write that changes it.
    spare["service"] = ServiceFactory(slug="walk-spare")
    spare["environment"] = EnvironmentFactory(service=service, name="staging", kind="staging")
    for use in ("put", "patch", "delete"):
        spare[f"check:{use}"] = HealthCheckFactory(service=service)
    # Probed by the run: an address the prober's guard refuses at once, so the run records a
    # failed result without waiting on the network.
    spare["check:run"] = HealthCheckFactory(
        service=service, url=f"http://127.0.0.1:{refused_port()}/health"
    )
    # Gate rules of the spare environment, so the gate's answer for production stays as it is.
    for use in ("put", "patch", "delete", "page-edit", "page-toggle", "page-delete"):
        spare[f"rule:{use}"] = GateRule.objects.create(
            service=service, environment=spare["environment"], kind="required_artifact", path="a.js"
        )
    spare["deployment:status"] = DeploymentFactory(environment=environment, status="pending")
    spare["window"], _created = maintenance_window_open(service=service, reason="Walk")
    for use in ("delete", "page-revoke"):
        spare[f"token:{use}"] = token_create(user=admin, name=use, scope=ApiToken.Scope.READ)[0]
    spare["account"] = service_account_create(
        username="walk-deploys", role="editor", created_by=admin
    )
    # The status page's components, groups and announced maintenance.
    spare["group"] = component_group_save(name="Shop")
    spare["group:delete"] = component_group_save(name="Spare")
    spare["component"] = component_save(name="Checkout", group=spare["group"])
    spare["component:delete"] = component_save(name="Spare", group=spare["group"])
    spare["component:status"] = component_save(name="Search", group=spare["group"])
    for use in ("edit", "delete"):
        spare[f"maintenance:{use}"] = maintenance_create(
            title="Database upgrade",
            starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=1, hours=1),
        )
    for use in ("confirm", "unsubscribe", "choice"):
        spare[f"subscriber:{use}"] = Subscriber.objects.create(
            email=f"{use}@example.com",
            confirmed_at=None if use == "confirm" else now,
        )
    return spare


def world_build() -> World:
    # Passwords hashed as every test checks them (tests/conftest.py), also when the world is
    # built before any test runs: signing in is one of the writes.
    with override_settings(PASSWORD_HASHERS=[MD5_HASHER]):
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
    subscriber = Subscriber.objects.create(email="reader@example.com", confirmed_at=timezone.now())
    hook = WebhookEndpoint.objects.create(name="Pager", url="https://hooks.example.com/in")
    _token, write_token = token_create(user=admin, name="walk", scope=ApiToken.Scope.WRITE)
    _token, gate_token = token_create(user=admin, name="ci", scope=ApiToken.Scope.GATE)
    spare = _spares(service=service, environment=environment, incident=incident, admin=admin)
    spare["delivery"] = webhook_endpoint_ping(endpoint=hook)
    return World(
        editor=editor,
        admin=admin,
        service=service,
        environment=environment,
        deployment=DeploymentFactory(environment=environment),
        check=HealthCheckFactory(service=service),
        incident=incident,
        open=[IncidentFactory(service=service) for _ in range(2)],
        event=TimelineEventFactory(incident=incident),
        cause=CauseFactory(incident=incident),
        lesson=LessonFactory(incident=incident),
        item=ActionItemFactory(incident=incident),
        criterion=SuccessCriterionFactory(incident=incident),
        communication=_communication(incident, USER_EMAIL_SLUG, to="approved"),
        hook=hook,
        subscriber=subscriber,
        write_token=write_token,
        gate_token=gate_token,
        spare=spare,
    )


@dataclass(frozen=True)
class Write:
    """One request that writes: `route` is its URL name (namespaced), `path` and `body` are
    built from the world. An API body is sent as JSON (as a multipart form with `multipart`), a
    page's as a form, by the admin signed in unless `signed_in` is False (the public pages and
    signing in)."""

    route: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], dict] = lambda w: {}
    token: str = "write"  # API only: "write" or "gate"
    headers: Callable[[World], dict[str, str]] = lambda w: {}  # API only
    multipart: bool = False
    signed_in: bool = True
    id: str = ""

    def __str__(self) -> str:
        return self.id or f"{self.method} {self.route}"

    def send(self, world: World) -> Any:
        path = self.path(world)
        send: Callable[..., Any]
        if path.startswith(API):
            client: Client = APIClient()
            raw = world.gate_token if self.token == "gate" else world.write_token
            send = getattr(client, self.method.lower())
            auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}", **self.headers(world)}
            if self.multipart:
                return send(path, data=self.body(world), format="multipart", **auth)
            data = json.dumps(self.body(world))
            return send(path, data=data, content_type="application/json", **auth)
        client = Client()
        if self.signed_in:
            client.force_login(world.admin)
        if self.method != "POST":  # a form in another method's body, as a browser cannot send
            form = urlencode(self.body(world), doseq=True)
            return client.generic(self.method, path, form, FORM)
        return client.post(path, self.body(world))


def refusal(response: Any) -> str | None:
    """Why a write was refused, though its status says it went through: a page that redirects
    with an error message (a refused step is shown, not raised)."""
    request = getattr(response, "wsgi_request", None)
    if request is None or not hasattr(request, "_messages"):
        return None
    errors = [str(m) for m in get_messages(request) if m.level >= message_levels.ERROR]
    return "; ".join(errors) or None


def version(row: Any) -> dict[str, str]:
    row.refresh_from_db()
    return {"HTTP_IF_MATCH": f'"{row.version}"'}


def current(row: Any) -> str:
    """The row's version as its page's form carries it."""
    row.refresh_from_db()
    return str(row.version)


def rows(w: World, kind: str) -> str:
    return f"{API}/incidents/{w.ref}/{kind}"


def page(w: World, tail: str) -> str:
    return f"/incidents/{w.ref}/{tail}"
