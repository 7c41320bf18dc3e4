"""Incidents drafted from health: a production service that keeps failing its checks.

deployments announces "health_failing" once per run of failures, when the run reaches
HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES failing snapshots in a row (deployments.services.health).
`health_failing_draft` drafts an incident that starts at the run's first failing snapshot, with a
timeline event per failing check at its first failure. It runs inside the snapshot's transaction,
so the draft and the snapshot that triggered it land together or not at all. It is idempotent: an
incident of the service that starts at the same first failing snapshot and carries health events
is that run's draft, and a second announcement of the run returns it and adds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction

from deployments.models import CheckResult, Environment, HealthSnapshot, HealthStatus, Service
from incidents.models import Incident, Severity, TimelineEvent
from incidents.services import incident_create, timeline_event_add

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
    """Each check that failed in the run: first failure, how often, and its last answer."""
    results = (
        CheckResult.objects.filter(snapshot__in=[s.pk for s in snapshots], ok=False)
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
def health_failing_draft(
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
