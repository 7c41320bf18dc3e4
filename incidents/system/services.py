"""Writes where incidents meet the system side, each subscribed to an event of deployments
(core.plugins) or called by a page: rollbacks written on open incidents' timelines, incidents
drafted from failing health checks, and "mark as cause".

deployments announces "rollback_recorded" from deployment_record, inside its transaction, only
for a deployment it has just created: a replayed record of the same external id returns the
existing row without announcing. `timeline_rollback_add` is idempotent on top of that: an
incident that already has a rollback event for the deployment gets no second one. "health_failing"
comes once per run of failing snapshots; `incident_draft_from_health` drafts one incident per run
however often it is told.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from deployments.models import (
    CheckResult,
    Deployment,
    Environment,
    HealthSnapshot,
    HealthStatus,
    Service,
)
from incidents.models import Cause, Incident, Severity, TimelineEvent
from incidents.postmortem.services import (
    history_record,
    incident_create,
    part_save,
    timeline_event_add,
)
from incidents.system.selectors import deployment_cause_title, rollback_text, went_live_at


@transaction.atomic
def timeline_rollback_add(*, deployment: Deployment) -> list[TimelineEvent]:
    """Write the rollback on the timeline of every open incident of the deployment's service."""
    deployment = Deployment.objects.select_related("environment", "rollback_of").get(
        pk=deployment.pk
    )
    incidents = Incident.objects.open().filter(service_id=deployment.environment.service_id)
    noted = set(
        TimelineEvent.objects.filter(
            deployment=deployment, kind=TimelineEvent.Kind.ROLLBACK, incident__in=incidents
        ).values_list("incident_id", flat=True)
    )
    return [
        timeline_event_add(
            incident=incident,
            occurred_at=went_live_at(deployment),
            text=rollback_text(deployment),
            kind=TimelineEvent.Kind.ROLLBACK,
            source=TimelineEvent.Source.DEPLOYMENT,
            deployment=deployment,
        )
        for incident in incidents.order_by("number")
        if incident.pk not in noted
    ]


@transaction.atomic
def deployment_mark_as_cause(
    *, incident: Incident, deployment: Deployment, user: User | None
) -> tuple[Cause, bool]:
    """Record the deployment as the incident's trigger. Returns (cause, created).

    A trigger, not the primary cause: the deployment is what set the outage off, while the
    primary cause is why it could (a broken build, a missing check), which people write. Any
    cause already tied to the deployment counts, whatever its kind, so marking twice (or two
    people at once: the incident row is locked first) adds one row.
    """
    if deployment.environment.service_id != incident.service_id:
        raise ValueError("The deployment belongs to another service.")
    list(Incident.objects.select_for_update().filter(pk=incident.pk).values_list("pk", flat=True))
    existing = Cause.objects.filter(incident=incident, deployment=deployment).first()
    if existing is not None:
        if existing.proposed:
            # The draft from the facts proposed it: marking it is keeping it.
            Cause.objects.filter(pk=existing.pk).update(proposed=False, version=F("version") + 1)
            existing.refresh_from_db()
            history_record(obj=existing, user=user)
        return existing, False
    cause = Cause(
        incident=incident,
        kind=Cause.Kind.TRIGGER,
        title=deployment_cause_title(deployment),
        deployment=deployment,
    )
    return part_save(row=cause, user=user), True


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _plain(text: str) -> str:
    """Text from a check's name or a server's answer, shown as typed rather than as Markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


@dataclass
class _Failing:
    name: str
    first_at: datetime
    count: int = 0
    status_code: int | None = None
    error: str = ""
    snapshot_ids: set[int] = field(default_factory=set)


def _failing_checks(snapshots: Sequence[HealthSnapshot]) -> list[_Failing]:
    """Each check that failed in the run: first failure, how often, and its last answer. A
    failure inside a maintenance window was planned: it is not what the incident is about."""
    results = (
        CheckResult.objects.filter(
            snapshot__in=[s.pk for s in snapshots], ok=False, maintenance=False
        )
        .select_related("health_check")
        .order_by("taken_at", "health_check__order", "health_check_id")
    )
    by_check: dict[int, _Failing] = {}
    for result in results:
        failing = by_check.setdefault(
            result.health_check_id,
            _Failing(name=result.health_check.name, first_at=result.taken_at),
        )
        failing.snapshot_ids.add(result.snapshot_id)
        failing.count = len(failing.snapshot_ids)
        failing.status_code = result.status_code
        failing.error = result.error
    return list(by_check.values())


@transaction.atomic
def incident_draft_from_health(
    *,
    service: Service,
    environment: Environment | None,
    snapshots: Sequence[HealthSnapshot],
) -> Incident:
    """Draft the incident for a run of failing snapshots (oldest first), once per run."""
    first, last = snapshots[0], snapshots[-1]
    # Two announcements of one run queue here, so the second finds the first one's draft.
    list(Service.objects.select_for_update().filter(pk=service.pk).values_list("pk", flat=True))
    existing = (
        Incident.objects.filter(
            service=service,
            started_at=first.taken_at,
            timeline_events__source=TimelineEvent.Source.HEALTH,
        )
        .order_by("pk")
        .first()
    )
    if existing is not None:
        return existing

    where = f" ({environment.name})" if environment is not None else ""
    incident = incident_create(
        service=service,
        title=f"{service.name}{where}: health checks failing",
        started_at=first.taken_at,
        severity=Severity.SEV2 if last.status == HealthStatus.DOWN else Severity.SEV3,
        detected_at=last.taken_at,
        status_line="Drafted by Hindsight from failing health checks",
        summary=(
            f"Hindsight drafted this incident after {len(snapshots)} failing health snapshots "
            f"in a row of {_plain(service.name)}{_plain(where)}, from "
            f"{first.taken_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} to "
            f"{last.taken_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC. "
            "Confirm what happened, then write the post-mortem."
        ),
    )
    for failing in _failing_checks(snapshots):
        answer = f"HTTP {failing.status_code}; " if failing.status_code is not None else ""
        timeline_event_add(
            incident=incident,
            occurred_at=failing.first_at,
            text=f"**{_plain(failing.name)}** failing: {_plain(failing.error or 'failed')} "
            f"({answer}{failing.count} of {len(snapshots)} snapshots)",
            kind=TimelineEvent.Kind.HEALTH,
            source=TimelineEvent.Source.HEALTH,
        )
    return incident
