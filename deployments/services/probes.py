"""Probing on a schedule, on request ("Run now") and after a deploy (the smoke run).

The network part is probe_checks (deployments.services.health), which never raises for network trouble:
an unreachable, refusing, timing-out or non-HTTP target is a failed outcome with its error.
This module decides what to probe and when, and stores what came back.

Schedule. A service is snapshotted at the shortest interval among its enabled checks, and every
snapshot probes all of them: a snapshot is the whole service at one moment, which is what its
overall status, the health changes and the incident page compare. A check with a longer interval
is probed more often than it asks; grouping checks by interval would make every snapshot partial.
Slots are multiples of that interval, shifted by a fixed offset per service so that a thousand
services on one interval don't all probe in the same second. Beat runs `health_dispatch` every
few seconds; `health_dispatch_due` claims the current slot of every due service by
compare-and-set on Service.probe_due_at (moving it to the next slot) and enqueues one
`service_probe(service_id, slot)` per claim, so of two racing beats one wins each slot. The probe
stores nothing when a scheduled snapshot at or after its slot exists (checked again under the
service's row lock), so a redelivered task is a no-op; a task still queued two slots later
expires unrun.

Run now. `health_check_run` probes one check at once and stores its result in a snapshot of kind
manual holding that one result. The snapshot's status is the service's, not the check's: the
fresh answer in place of this check's last scheduled one, beside the other enabled checks' last
scheduled answers. So "latest status" stays true for the whole service, and the snapshot never
records a health change nor counts toward a run of failures (snapshot_record judges scheduled
snapshots only). A failure inside a maintenance window is excused in that status as it is in a
scheduled snapshot's.

Smoke run. When a deployment becomes succeeded, `smoke_run_enqueue` queues
`deployment_smoke_run` after commit. It probes the enabled checks watching the deployment's
environment and marks the deployment healthy (all passed) or unhealthy, with health_checked_at,
once: the write is a compare-and-set on "not checked yet", and a checked deployment is not probed
again. No checks for the environment: health stays unknown. A deployment recorded long after it
finished (history imported, the demo) is not smoke-run, since today's answer says nothing about
it. The smoke run stores only its verdict; scheduled snapshots keep the history.

Verify. `deployment_verify` runs the same smoke checks on request (POST
/deployments/{id}/verify, which the CI client's wait-healthy polls), again if need be, for the
deployment its environment runs now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from celery import current_app
from django.db import transaction
from django.db.models import Exists, Min, Q, QuerySet
from django.utils import timezone

from deployments.models import (
    CheckResult,
    Deployment,
    HealthCheck,
    HealthSnapshot,
    Service,
)
from deployments.selectors import in_maintenance
from deployments.services.health import (
    ProbeOutcome,
    probe_checks,
    service_lock,
    snapshot_record,
    status_of,
)
from outbox.services import outbox_enqueue

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
# A smoke run checks a deploy that just happened; one recorded later than this after it
# finished is history.
SMOKE_RUN_MAX_AGE = timedelta(minutes=30)
# Handed to the outbox, so recording a deployment never waits on a broker that is down and the
# smoke run is not lost while it is.
SMOKE_RUN_TASK = "deployments.tasks.deployment_smoke_run"
# Services name tasks by their registered names, as the outbox does: deployments.tasks imports
# this module, never the other way round.
PROBE_TASK = "deployments.tasks.service_probe"
CHECK_ORDER = ("order", "name", "pk")


# --- Schedule ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    service_id: int
    slot: datetime
    interval: int


def slot_start(*, service_id: int, interval: int, now: datetime) -> datetime:
    """The start of the service's slot that `now` falls in."""
    # 7919 is prime: neighbouring ids land far apart within the interval.
    offset = (service_id * 7919) % interval
    elapsed = (now - EPOCH) // SECOND
    return EPOCH + SECOND * ((elapsed - offset) // interval * interval + offset)


@transaction.atomic
def health_dispatch_due(*, now: datetime | None = None) -> list[Claim]:
    """Claim the current slot of every service that is due and enqueue its probe after commit.

    Every service with an enabled check is read: the table is small, and deciding in Python
    covers a due time left far ahead by a longer interval since shortened.
    """
    now = now or timezone.now()
    claims = []
    rows = (
        Service.objects.filter(health_checks__enabled=True)
        .values_list("pk", "probe_due_at")
        .annotate(interval=Min("health_checks__interval_seconds"))
        .order_by("pk")
    )
    for pk, due_at, interval in rows:
        step = SECOND * interval
        if due_at is not None and now < due_at <= now + step:
            continue
        slot = slot_start(service_id=pk, interval=interval, now=now)
        same = Q(probe_due_at__isnull=True) if due_at is None else Q(probe_due_at=due_at)
        # Compare-and-set: of two dispatchers that read the same due time, one moves it.
        # The prober's own schedule, not a change anyone reads: updated_at stays.
        if Service.objects.filter(same, pk=pk).update(probe_due_at=slot + step):
            claim = Claim(service_id=pk, slot=slot, interval=interval)
            claims.append(claim)
            transaction.on_commit(partial(_probe_enqueue, claim), robust=True)
    return claims


def _probe_enqueue(claim: Claim) -> None:
    current_app.signature(
        PROBE_TASK,
        args=(claim.service_id, claim.slot.isoformat()),
        expires=claim.slot + 2 * SECOND * claim.interval,
    ).apply_async()


def _slot_taken(service_id: int, slot: datetime) -> bool:
    return HealthSnapshot.objects.filter(
        service_id=service_id, kind=HealthSnapshot.Kind.SCHEDULED, taken_at__gte=slot
    ).exists()


def service_probe_run(*, service: Service, slot: datetime) -> HealthSnapshot | None:
    """Probe every enabled check of the service for one slot and store the snapshot.

    None when there is nothing to do: no enabled checks, or the slot (or a later one) is
    stored already. Probing happens outside any transaction; only the write holds the lock.
    """
    checks = list(HealthCheck.objects.filter(service=service, enabled=True).order_by(*CHECK_ORDER))
    if not checks or _slot_taken(service.pk, slot):
        return None
    taken_at = timezone.now()
    outcomes = probe_checks(checks)
    with transaction.atomic():
        service_lock(service.pk)
        if _slot_taken(service.pk, slot):
            return None
        return snapshot_record(service=service, taken_at=taken_at, outcomes=outcomes)


# --- Run now -------------------------------------------------------------------------------------


def health_check_run(*, health_check: HealthCheck) -> CheckResult:
    """Probe one check now and store its result in a one-result snapshot of kind manual."""
    taken_at = timezone.now()
    (outcome,) = probe_checks([health_check])
    with transaction.atomic():
        service_lock(health_check.service_id)
        snapshot = snapshot_record(
            service=health_check.service,
            taken_at=taken_at,
            outcomes=[outcome],
            kind=HealthSnapshot.Kind.MANUAL,
            status=_service_status_with(health_check, outcome, taken_at),
        )
    return CheckResult.objects.select_related("health_check", "snapshot").get(snapshot=snapshot)


def _service_status_with(check: HealthCheck, outcome: ProbeOutcome, taken_at: datetime) -> str:
    latest = (
        HealthSnapshot.objects.filter(
            service_id=check.service_id, kind=HealthSnapshot.Kind.SCHEDULED
        )
        .order_by("-taken_at")
        .values_list("pk", flat=True)
        .first()
    )
    others = list(
        CheckResult.objects.filter(snapshot_id=latest, health_check__enabled=True)
        .exclude(health_check_id=check.pk)
        .values_list("ok", "maintenance")
    )
    oks = [ok for ok, maintenance in others if not maintenance]
    excused = len(others) - len(oks)
    # A disabled check takes no part in the service's status, unless it is all there is.
    if check.enabled or not others:
        if not outcome.ok and in_maintenance(health_check=check, at=taken_at):
            excused += 1
        else:
            oks.append(outcome.ok)
    return status_of(oks, in_maintenance=excused)


# --- Smoke run after a deploy -------------------------------------------------------------------


def smoke_run_enqueue(*, deployment: Deployment) -> bool:
    """Queue the smoke run of a deployment that just succeeded, to run after commit."""
    if deployment.status != Deployment.Status.SUCCEEDED or deployment.health_checked_at:
        return False
    finished = deployment.finished_at
    if finished is not None and timezone.now() - finished > SMOKE_RUN_MAX_AGE:
        return False
    if not HealthCheck.objects.filter(
        environment_id=deployment.environment_id, enabled=True
    ).exists():
        return False
    outbox_enqueue(task=SMOKE_RUN_TASK, kwargs={"deployment_id": deployment.pk})
    return True


def deployment_smoke_run(*, deployment: Deployment) -> Deployment:
    """Probe the deployment's environment and mark the deployment healthy or unhealthy, once."""
    if deployment.status != Deployment.Status.SUCCEEDED or deployment.health_checked_at:
        # Checked already, or replaced meanwhile: the environment no longer runs it.
        return deployment
    verdict = _smoke_probe(deployment)
    if verdict is not None:
        health, checked_at = verdict
        Deployment.objects.filter(
            pk=deployment.pk, status=Deployment.Status.SUCCEEDED, health_checked_at__isnull=True
        ).update(health=health, health_checked_at=checked_at, updated_at=timezone.now())
        deployment.refresh_from_db()
    return deployment


class NotVerifiable(Exception):
    """The deployment is not what its environment runs now, so probing says nothing about it."""


# Deployments that got out and so replace the one before them; a failed one never served.
_SHIPPED = (Deployment.Status.SUCCEEDED, Deployment.Status.ROLLED_BACK)


def deployment_verify(*, deployment: Deployment) -> Deployment:
    """Run the deployment's smoke checks now, as its smoke run does, and store what they found.

    Unlike the smoke run it probes again when a verdict is stored already: it is how CI waits for
    a deployment to turn healthy (a first probe may beat the provider's propagation). So only a
    succeeded deployment that is still the newest one out in its environment can be verified:
    probing the environment says nothing about one that was rolled back or replaced, and a late
    answer must not rewrite its past. Without enabled checks for the environment nothing is
    probed and its health stays as it is. A verdict newer than this probe is never overwritten.
    """
    deployment = Deployment.objects.get(pk=deployment.pk)
    if deployment.status != Deployment.Status.SUCCEEDED:
        raise NotVerifiable(
            f"Only a succeeded deployment can be verified; this one is {deployment.status}."
        )
    newer = _newer_shipped(deployment).values_list("external_id", flat=True).first()
    if newer is not None:
        raise NotVerifiable(
            f"The environment runs a newer deployment ({newer}), so probing it says nothing "
            "about this one."
        )
    verdict = _smoke_probe(deployment)
    if verdict is not None:
        health, checked_at = verdict
        # Compare-and-set: still succeeded, still the newest out, and no later verdict stored
        # while the probes ran.
        Deployment.objects.filter(
            Q(health_checked_at__isnull=True) | Q(health_checked_at__lte=checked_at),
            ~Exists(_newer_shipped(deployment)),
            pk=deployment.pk,
            status=Deployment.Status.SUCCEEDED,
        ).update(health=health, health_checked_at=checked_at, updated_at=timezone.now())
        deployment.refresh_from_db()
    return deployment


def _newer_shipped(deployment: Deployment) -> QuerySet[Deployment]:
    """Deployments that got out in the same environment after this one: they replaced it."""
    return Deployment.objects.filter(
        Q(started_at__gt=deployment.started_at)
        | Q(started_at=deployment.started_at, pk__gt=deployment.pk),
        environment_id=deployment.environment_id,
        status__in=_SHIPPED,
    )


def _smoke_probe(deployment: Deployment) -> tuple[str, datetime] | None:
    """Probe the enabled checks watching the deployment's environment: (health, when the probes
    started), or None when no check watches it. Outside any transaction: probes take seconds."""
    checks = list(
        HealthCheck.objects.filter(environment_id=deployment.environment_id, enabled=True).order_by(
            *CHECK_ORDER
        )
    )
    if not checks:
        return None
    checked_at = timezone.now()
    outcomes = probe_checks(checks)
    healthy = all(o.ok for o in outcomes)
    return (Deployment.Health.HEALTHY if healthy else Deployment.Health.UNHEALTHY), checked_at
