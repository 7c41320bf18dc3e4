"""Storing what the prober found: snapshots and their results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from deployments.models import (
    CheckResult,
    HealthCheck,
    HealthSnapshot,
    HealthStatus,
    Service,
)


@dataclass(frozen=True)
class ProbeOutcome:
    """What one probe of one check found; the prober produces these, snapshot_record stores them."""

    health_check: HealthCheck
    ok: bool
    status_code: int | None = None
    latency_ms: int | None = None
    error: str = ""


def overall_status(outcomes: Iterable[ProbeOutcome]) -> str:
    """Up when every check passed, down when none did, degraded in between."""
    oks = [o.ok for o in outcomes]
    if all(oks):
        return HealthStatus.UP
    if not any(oks):
        return HealthStatus.DOWN
    return HealthStatus.DEGRADED


@transaction.atomic
def snapshot_record(
    *, service: Service, taken_at: datetime, outcomes: Iterable[ProbeOutcome]
) -> HealthSnapshot:
    """Store one snapshot of a service with a result row per check."""
    outcomes = list(outcomes)
    if not outcomes:
        # A snapshot with no results would read as "up" while nothing was measured.
        raise ValueError("A snapshot needs at least one check result.")
    snapshot = HealthSnapshot.objects.create(
        service=service, taken_at=taken_at, status=overall_status(outcomes)
    )
    CheckResult.objects.bulk_create(
        CheckResult(
            snapshot=snapshot,
            health_check=o.health_check,
            service=service,
            taken_at=taken_at,
            ok=o.ok,
            status_code=o.status_code,
            latency_ms=o.latency_ms,
            error="" if o.ok else o.error[:500],
        )
        for o in outcomes
    )
    return snapshot
