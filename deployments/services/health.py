"""Storing what the prober found: snapshots, their results, and the changes they make.

A scheduled snapshot is judged against the service's previous scheduled one, in its own
transaction with the service row locked, so two snapshots of one service are judged one after
the other:
- a different overall status records a HealthChange (from "" for the service's first snapshot)
  and announces "health_changed";
- the HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES-th failing (down or degraded) snapshot in a row of a
  service whose enabled checks watch a production environment announces "health_failing". Only
  that one: the run is announced exactly when it reaches the threshold, so once per run.
A snapshot stored out of order (a later scheduled one exists already) changes nothing: the
later ones were judged without it. Run-now snapshots (kind manual) never count; see
deployments.services.probes.

A check that fails while a maintenance window covers it (deployments.selectors.
checks_in_maintenance) is stored as it answered, with `maintenance` set. It does not count
toward the overall status: when such failures are the only ones, the snapshot's status is
maintenance, which is neither up nor failing, so it breaks a run of failures and drafts nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from core import plugins
from deployments.models import (
    CheckResult,
    Environment,
    HealthChange,
    HealthCheck,
    HealthSnapshot,
    HealthStatus,
    Service,
)
from deployments.probing import ProbeTarget, probe_targets
from deployments.selectors import checks_in_maintenance

# A service is failing while any check fails: degraded pages people as much as down does.
FAILING = frozenset({HealthStatus.DOWN, HealthStatus.DEGRADED})
SCHEDULED = HealthSnapshot.Kind.SCHEDULED


@dataclass(frozen=True)
class ProbeOutcome:
    """What one probe of one check found; the prober produces these, snapshot_record stores them."""

    health_check: HealthCheck
    ok: bool
    status_code: int | None = None
    latency_ms: int | None = None
    error: str = ""


def probe_checks(checks: Sequence[HealthCheck]) -> list[ProbeOutcome]:
    """Probe HealthCheck rows concurrently through the guarded prober; one outcome per check, in
    the same order. Never raises for network trouble: a failure is ok=False with the reason."""
    checks = list(checks)
    results = probe_targets(
        [
            ProbeTarget(
                url=check.url,
                method=check.method,
                expected_status=check.expected_status,
                expected_body=check.expected_body,
                timeout=check.timeout_seconds,
            )
            for check in checks
        ]
    )
    return [
        ProbeOutcome(
            health_check=check,
            ok=result.ok,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
        )
        for check, result in zip(checks, results, strict=True)
    ]


def overall_status(outcomes: Iterable[ProbeOutcome], *, resting: Collection[int] = ()) -> str:
    """Up when every check passed, down when none did, degraded in between. Failures of the
    checks in `resting` (ids of checks in a maintenance window) are left out; when they are the
    only failures, maintenance."""
    counted, excused = [], 0
    for o in outcomes:
        if not o.ok and o.health_check.pk in resting:
            excused += 1
        else:
            counted.append(o.ok)
    return status_of(counted, in_maintenance=excused)


def status_of(oks: Iterable[bool], *, in_maintenance: int = 0) -> str:
    """The status of the counted answers `oks`, beside `in_maintenance` failures not counted."""
    oks = list(oks)
    if all(oks):
        return HealthStatus.MAINTENANCE if in_maintenance else HealthStatus.UP
    if not any(oks):
        return HealthStatus.DOWN
    return HealthStatus.DEGRADED


def service_lock(service_id: int) -> None:
    """Hold the service row until the transaction ends; snapshots of one service queue here."""
    list(Service.objects.select_for_update().filter(pk=service_id).values_list("pk", flat=True))


@transaction.atomic
def snapshot_record(
    *,
    service: Service,
    taken_at: datetime,
    outcomes: Iterable[ProbeOutcome],
    kind: str = SCHEDULED,
    status: str | None = None,
) -> HealthSnapshot:
    """Store one snapshot of a service with a result row per check, and judge what it changed.

    `status` overrides the overall status worked out from the outcomes; a run-now snapshot
    passes the service's status with its one fresh answer in place.
    """
    outcomes = list(outcomes)
    if not outcomes:
        # A snapshot with no results would read as "up" while nothing was measured.
        raise ValueError("A snapshot needs at least one check result.")
    service_lock(service.pk)
    failed = [o.health_check for o in outcomes if not o.ok]
    # Only failures are excused, so a snapshot where everything passed asks nothing.
    resting = checks_in_maintenance(checks=failed, at=taken_at) if failed else set()
    snapshot = HealthSnapshot.objects.create(
        service=service,
        taken_at=taken_at,
        status=status or overall_status(outcomes, resting=resting),
        kind=kind,
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
            maintenance=not o.ok and o.health_check.pk in resting,
        )
        for o in outcomes
    )
    if kind == SCHEDULED and not _later_scheduled_exists(snapshot):
        _record_change(snapshot)
        _announce_failing_run(snapshot)
    return snapshot


def _scheduled(service_id: int) -> QuerySet[HealthSnapshot]:
    return HealthSnapshot.objects.filter(service_id=service_id, kind=SCHEDULED)


def _later_scheduled_exists(snapshot: HealthSnapshot) -> bool:
    return _scheduled(snapshot.service_id).filter(taken_at__gt=snapshot.taken_at).exists()


def _record_change(snapshot: HealthSnapshot) -> HealthChange | None:
    previous = (
        _scheduled(snapshot.service_id)
        .filter(taken_at__lt=snapshot.taken_at)
        .order_by("-taken_at")
        .values_list("status", flat=True)
        .first()
    )
    if previous == snapshot.status:
        return None
    change = HealthChange.objects.create(
        service_id=snapshot.service_id,
        snapshot=snapshot,
        changed_at=snapshot.taken_at,
        from_status=previous or "",
        to_status=snapshot.status,
    )
    plugins.announce("health_changed", change=change)
    return change


def failing_run(snapshot: HealthSnapshot, *, limit: int) -> list[HealthSnapshot]:
    """The failing scheduled snapshots in a row that end with this one, newest first, at most
    `limit` + 1 of them (enough to tell a run that just reached `limit` from a longer one)."""
    recent = (
        _scheduled(snapshot.service_id)
        .filter(taken_at__lte=snapshot.taken_at)
        .order_by("-taken_at")[: limit + 1]
    )
    run = []
    for row in recent:
        if row.status not in FAILING:
            break
        run.append(row)
    return run


def _announce_failing_run(snapshot: HealthSnapshot) -> None:
    threshold = settings.HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES
    if threshold <= 0 or snapshot.status not in FAILING:
        return
    run = failing_run(snapshot, limit=threshold)
    if len(run) != threshold:
        # Shorter: not yet. Longer: announced when it reached the threshold.
        return
    production = list(
        Environment.objects.filter(
            health_checks__service_id=snapshot.service_id,
            health_checks__enabled=True,
            kind=Environment.Kind.PRODUCTION,
        )
        .distinct()
        .order_by("pk")
    )
    if not production:
        return
    plugins.announce(
        "health_failing",
        service=snapshot.service,
        environment=production[0] if len(production) == 1 else None,
        snapshots=run[::-1],
    )
