"""correlation(): everything the incident page and the API show about the system around an
incident, gathered from the other topics in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from deployments.correlation._common import _last_change, _last_shipped, correlation_lead
from deployments.correlation.bracketing import Bracketing, snapshots_bracketing
from deployments.correlation.changes import (
    WhatChanged,
    changes_around,
    deployments_around,
    merge_changes,
)
from deployments.correlation.health import health_turned_red
from deployments.correlation.rollback import RollbackCommand, last_known_good, rollback_command
from deployments.models import Change, Deployment, Environment, Service


@dataclass(frozen=True)
class Correlation:
    """Everything the incident page and the API show about the system around an incident."""

    start: datetime
    end: datetime
    window_start: datetime
    deployments: list[Deployment]
    suspect: Deployment | None
    last_known_good: Deployment | None
    rollback: RollbackCommand | None
    bracketing: Bracketing
    changes: list[Change]
    suspect_change: Change | None

    @property
    def what_changed(self) -> list[WhatChanged]:
        """The deployments and changes together, oldest first."""
        return merge_changes(self.deployments, self.changes)


def correlation(*, service: Service, start: datetime, end: datetime | None = None) -> Correlation:
    """Deployments and changes in the correlation window, the suspects among them (a deployment
    and a change), the last known good as of `start` in the suspect's environment (else
    production) and the health around [start, end].

    A fixed number of queries (about ten), whatever the number of deployments, changes and
    snapshots.
    """
    end = end or timezone.now()
    red_at = health_turned_red(service=service, before=start, until=end) or start
    suspect = _last_shipped(service=service, red_at=red_at)
    environment = suspect.environment if suspect else None
    if environment is None:
        environment = (
            Environment.objects.select_related("service")
            .filter(service=service, kind=Environment.Kind.PRODUCTION)
            .order_by("name")
            .first()
        )
    good = last_known_good(environment=environment, before=start) if environment else None
    return Correlation(
        start=start,
        end=end,
        window_start=start - correlation_lead(),
        deployments=list(deployments_around(service=service, start=start, end=end)),
        suspect=suspect,
        last_known_good=good,
        rollback=rollback_command(deployment=good) if good else None,
        bracketing=snapshots_bracketing(service=service, start=start, end=end),
        changes=list(changes_around(service=service, start=start, end=end)),
        suspect_change=_last_change(service=service, red_at=red_at),
    )
