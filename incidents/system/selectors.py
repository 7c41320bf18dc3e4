"""Reads where incidents meet the system side: an incident's timeline as shown, with the
deployments, other changes and health changes that happened meanwhile merged in, and how a
deployment is named in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from deployments import selectors as system
from deployments.models import (
    Change,
    Deployment,
    HealthChange,
    HealthStatus,
)
from incidents.models import Incident, TimelineEvent


def short(commit: str) -> str:
    return commit[:7]


def went_live_at(deployment: Deployment) -> datetime:
    return deployment.finished_at or deployment.started_at


def rollback_text(deployment: Deployment) -> str:
    previous = deployment.rollback_of
    environment = deployment.environment.name
    if previous is None:
        return f"{environment.capitalize()} rolled back to `{short(deployment.commit_sha)}`."
    return (
        f"Rolled back {environment} from `{short(previous.commit_sha)}` "
        f"to `{short(deployment.commit_sha)}`."
    )


# --- The timeline as shown: people's rows, plus what the system recorded meanwhile -------------


@dataclass(frozen=True)
class MergedEvent:
    """A row read from the deployments or health tables when the timeline is shown; read-only,
    and never stored as a TimelineEvent."""

    occurred_at: datetime
    source: str  # "deployment", "change" or "health", as TimelineEvent.Source
    kind: str  # a TimelineEvent.Kind, for the row's look
    text: str
    deployment: Deployment | None = None
    change: Change | None = None
    merged: bool = True

    def get_kind_display(self) -> str:
        return TimelineEvent.Kind(self.kind).label

    def get_source_display(self) -> str:
        return TimelineEvent.Source(self.source).label


def _deployment_event(deployment: Deployment) -> MergedEvent:
    if deployment.rollback_of_id:
        kind, text = TimelineEvent.Kind.ROLLBACK, rollback_text(deployment)
    else:
        kind = TimelineEvent.Kind.DEPLOYMENT
        text = (
            f"Deployed `{short(deployment.commit_sha)}` to {deployment.environment.name} "
            f"({deployment.get_status_display().lower()})."
        )
    return MergedEvent(
        occurred_at=deployment.started_at,
        source=TimelineEvent.Source.DEPLOYMENT,
        kind=kind,
        text=text,
        deployment=deployment,
    )


def _change_event(change: Change) -> MergedEvent:
    where = f" to {change.environment.name}" if change.environment else ""
    by = f" by {change.by}" if change.by else ""
    return MergedEvent(
        occurred_at=change.at,
        source=TimelineEvent.Source.CHANGE,
        kind=TimelineEvent.Kind.CHANGE,
        text=f"{change.get_kind_display()} change{where}{by}: {change.summary}",
        change=change,
    )


def _health_event(change: HealthChange) -> MergedEvent:
    to = HealthStatus(change.to_status).label.lower()
    if change.from_status:
        text = f"Health went from {HealthStatus(change.from_status).label.lower()} to {to}."
    else:
        text = f"First health reading: {to}."
    return MergedEvent(
        occurred_at=change.changed_at,
        source=TimelineEvent.Source.HEALTH,
        kind=TimelineEvent.Kind.HEALTH,
        text=text,
    )


def merged_events(incident: Incident, *, skip_deployments: set[int]) -> list[MergedEvent]:
    """Deployments that started, other changes (configuration, flags, infrastructure) that took
    effect and health changes that happened within the incident's window (its start to its
    resolution, or now), oldest first. Three queries.

    Deployments in `skip_deployments` are left out: someone already wrote about them.
    """
    end = incident.resolved_at or timezone.now()
    deployments = system.deployments_around(
        service=incident.service, start=incident.started_at, end=end, before=timedelta(0)
    )
    changes = system.health_changes_between(
        service=incident.service, start=incident.started_at, end=end
    )
    others = system.changes_around(
        service=incident.service, start=incident.started_at, end=end, before=timedelta(0)
    )
    rows = [_deployment_event(d) for d in deployments if d.pk not in skip_deployments]
    rows += [_change_event(c) for c in others]
    rows += [_health_event(c) for c in changes]
    return sorted(rows, key=lambda row: row.occurred_at)


def timeline_rows(incident: Incident) -> list[TimelineEvent | MergedEvent]:
    """The incident's timeline events (prefetched) merged with merged_events(), by time; at the
    same moment people's rows come first."""
    events = list(incident.timeline_events.all())
    written = {e.deployment_id for e in events if e.deployment_id}
    merged = merged_events(incident, skip_deployments=written)
    rows: list[TimelineEvent | MergedEvent] = [*events, *merged]
    # sorted() is stable: events were first, so at a tie they stay first.
    return sorted(rows, key=lambda row: row.occurred_at)


# --- Mark as cause -------------------------------------------------------------------------------


def deployment_cause_title(deployment: Deployment) -> str:
    return (
        f"Deployment `{short(deployment.commit_sha)}` to {deployment.environment.name} "
        f"at {deployment.started_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    )
