"""The demo: the MoodMash outage of 2 January 2026 with its deployments, health and post-mortem.

`make run` loads it on every start, so demo_load() must be idempotent: each row has a stable
key (username, service slug, environment name, provider id, check name, snapshot time, incident
title), and a second run finds the rows of the first instead of adding more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group, User
from django.db import transaction

from core.roles import Role, roles_ensure
from deployments.models import (
    Artifact,
    CheckResult,
    CheckResultHourly,
    Deployment,
    HealthCheck,
    HealthSnapshot,
)
from incidents.demo import content
from incidents.demo.communications import communications_load
from incidents.demo.gate import gate_load
from incidents.demo.history import history_load
from incidents.demo.sections import sections_create
from incidents.demo.status_page import status_page_load
from incidents.demo.system import (
    DETECTED_AT,
    MITIGATED_AT,
    OUTAGE_START,
    RESOLVED_AT,
    DemoSystem,
    system_load,
)
from incidents.demo.uptime import uptime_history_load
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    Severity,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.postmortem.services import incident_create

DEMO_PASSWORD = "hindsight-demo"
DEMO_USERS: dict[str, Role] = {
    "demo-admin": Role.ADMIN,
    "demo-editor": Role.EDITOR,
    "demo-viewer": Role.VIEWER,
}


@dataclass(frozen=True)
class DemoSummary:
    reference: str
    incident_created: bool
    counts: dict[str, int] = field(default_factory=dict)


def _users(groups: dict[str, Group]) -> dict[str, User]:
    user_model = get_user_model()
    existing = dict(
        user_model.objects.filter(username__in=list(DEMO_USERS)).values_list("username", "password")
    )
    # Hashing costs about 0.4 s, so all three share one hash and it is only replaced when it no
    # longer matches; replacing it every run would also log out every open demo session.
    hashes = set(existing.values())
    if len(existing) == len(DEMO_USERS) and len(hashes) == 1:
        password = hashes.pop()
        if not check_password(DEMO_PASSWORD, password):
            password = make_password(DEMO_PASSWORD)
    else:
        password = make_password(DEMO_PASSWORD)

    users: dict[str, User] = {}
    for username, role in DEMO_USERS.items():
        admin = role == Role.ADMIN
        user, _ = user_model.objects.update_or_create(
            username=username,
            defaults={
                "password": password,
                "email": f"{username}@example.invalid",
                "is_active": True,
                "is_staff": admin,
                "is_superuser": admin,
            },
        )
        user.groups.set([groups[role.value]])
        users[username] = user
    return users


def _incident(system: DemoSystem, users: dict[str, User]) -> tuple[Incident, bool]:
    existing = Incident.objects.filter(service=system.service, title=content.TITLE).first()
    if existing is not None:
        # Left as it is: whoever explores the demo may have edited it, and a reload must not
        # undo their work. Delete the incident to get the original back on the next load.
        return existing, False
    incident = incident_create(
        service=system.service,
        title=content.TITLE,
        started_at=OUTAGE_START,
        severity=Severity.SEV1,
        created_by=users[content.EDITOR],
        status=Incident.Status.RESOLVED,
        postmortem_state=Incident.PostmortemState.PUBLISHED,
        detected_at=DETECTED_AT,
        mitigated_at=MITIGATED_AT,
        resolved_at=RESOLVED_AT,
        **content.INCIDENT,
    )
    sections_create(
        incident=incident,
        deployments={
            "known_good": system.known_good,
            "broken": system.broken,
            "rollback": system.rollback,
        },
        users=users,
    )
    return incident, True


def _counts(system: DemoSystem, incident: Incident) -> dict[str, int]:
    service = system.service
    return {
        "deployments": Deployment.objects.filter(environment__service=service).count(),
        "artifacts": Artifact.objects.filter(deployment__environment__service=service).count(),
        "health checks": HealthCheck.objects.filter(service=service).count(),
        "snapshots": HealthSnapshot.objects.filter(service=service).count(),
        "check results": CheckResult.objects.filter(service=service).count(),
        "hourly roll-ups": CheckResultHourly.objects.filter(service=service).count(),
        "timeline events": TimelineEvent.objects.filter(incident=incident).count(),
        "status items": StatusItem.objects.filter(incident=incident).count(),
        "causes": Cause.objects.filter(incident=incident).count(),
        "lessons": Lesson.objects.filter(incident=incident).count(),
        "action items": ActionItem.objects.filter(incident=incident).count(),
        "success criteria": SuccessCriterion.objects.filter(incident=incident).count(),
        "priorities": PathPriority.objects.filter(incident=incident).count(),
        "solution options": SolutionOption.objects.filter(priority__incident=incident).count(),
        "final notes": FinalNote.objects.filter(incident=incident).count(),
    }


@transaction.atomic
def demo_load(*, history: bool = False) -> DemoSummary:
    """Load the demo users, MoodMash's system history and its post-mortem; safe to repeat.

    `history` adds three years of three more services (history.py) for the metrics page.
    """
    users = _users(roles_ensure())
    system = system_load()
    gate_load(system)
    communications_load()
    incident, created = _incident(system, users)
    status_page_load(incident=incident, users=users)
    # The public status page shows production's checks only; preview has no uptime to show.
    uptime_history_load(list(HealthCheck.objects.filter(environment=system.production)))
    counts = _counts(system, incident)
    if history:
        counts.update(history_load(users=users))
    return DemoSummary(reference=incident.reference, incident_created=created, counts=counts)
