"""Recording deployments and moving them through their statuses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import plugins
from deployments.models import (
    Artifact,
    Deployment,
    Environment,
)
from deployments.models.releases import manifest_digest
from deployments.services import gate as gate_service
from deployments.services.feed import feed_deployment
from deployments.services.probes import smoke_run_enqueue
from feed.kinds import EventKind


@transaction.atomic
def deployment_record(
    *,
    environment: Environment,
    external_id: str,
    commit_sha: str,
    branch: str = "",
    status: str = Deployment.Status.PENDING,
    deployed_by: str = "",
    manifest: Iterable[Mapping] = (),
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    rollback_of: Deployment | None = None,
    rollback_of_external_id: str | None = None,
) -> tuple[Deployment, bool]:
    """Record a deployment and its manifest. Returns (deployment, created).

    The external id is the provider's: seeing it again means the same deployment, so a CI job that
    retries gets the first row back instead of a duplicate, even when both attempts race.
    `rollback_of_external_id` names the rolled-back deployment by its external id in the same
    environment, as CI knows it. Times CI leaves out are the server's: it started when the
    record arrived, and a deployment recorded as finished finished then.
    """
    if rollback_of is not None and rollback_of_external_id is not None:
        raise TypeError("Pass rollback_of or rollback_of_external_id, not both.")
    existing = Deployment.objects.filter(environment=environment, external_id=external_id).first()
    if existing is not None:
        return existing, False
    if rollback_of_external_id is not None:
        rollback_of = Deployment.objects.filter(
            environment=environment, external_id=rollback_of_external_id
        ).first()
        if rollback_of is None:
            raise ValidationError(
                {"rollback_of": "No deployment with this external id in this environment."}
            )
    started_at, finished_at = _record_times(
        status=status, started_at=started_at, finished_at=finished_at
    )
    manifest = list(manifest)
    try:
        # A savepoint, so that losing a race for the external id leaves a usable transaction.
        with transaction.atomic():
            deployment = Deployment.objects.create(
                environment=environment,
                external_id=external_id,
                commit_sha=commit_sha.lower(),
                branch=branch,
                status=status,
                deployed_by=deployed_by,
                manifest_digest=manifest_digest(manifest) if manifest else "",
                started_at=started_at,
                finished_at=finished_at,
                rollback_of=rollback_of,
            )
            Artifact.objects.bulk_create(
                Artifact(
                    deployment=deployment,
                    path=f["path"],
                    size=int(f["size"]),
                    sha256=f["sha256"].lower(),
                )
                for f in manifest
            )
    except IntegrityError:
        # Another request recorded the same external id between our look-up and our insert.
        existing = Deployment.objects.filter(
            environment=environment, external_id=external_id
        ).first()
        if existing is None:
            raise
        return existing, False
    # The gate's answer for this build, if CI asked, now shows which deployment followed it.
    gate_service.gate_run_link(deployment=deployment)
    if deployment.rollback_of_id is not None:
        # Only a new row: a replayed record returned above without telling anyone again.
        plugins.announce("rollback_recorded", deployment=deployment)
    deployment.refresh_from_db()
    feed_deployment(kind=EventKind.DEPLOYMENT_RECORDED, deployment=deployment)
    if deployment.status in FINISHED:
        feed_deployment(kind=EventKind.DEPLOYMENT_FINISHED, deployment=deployment)
    # Recorded as succeeded already: its smoke run starts after commit like any other's.
    smoke_run_enqueue(deployment=deployment)
    return deployment, True


def _record_times(
    *, status: str, started_at: datetime | None, finished_at: datetime | None
) -> tuple[datetime, datetime | None]:
    """The times a new record is stored with: the given ones, else the moment it arrived."""
    received = timezone.now()
    if finished_at is None and status in FINISHED:
        # Never before a start CI gave, even when CI's clock runs ahead of ours.
        finished_at = max(received, started_at) if started_at is not None else received
    if started_at is None:
        started_at = min(received, finished_at) if finished_at is not None else received
    if finished_at is not None and finished_at < started_at:
        raise ValidationError({"finished_at": "A deployment cannot finish before it started."})
    return started_at, finished_at


class TransitionNotAllowed(Exception):
    """The deployment's status cannot move to the one asked for."""

    def __init__(self, *, current: str, requested: str, allowed: Iterable[str]):
        self.current = current
        self.requested = requested
        self.allowed = sorted(allowed)
        super().__init__(f"A deployment that is {current} cannot become {requested}.")


_S = Deployment.Status
# Where a status may go. A rollback replaces a deployment that got out, whether it worked or
# not; rolled back is the end.
DEPLOYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    _S.PENDING: frozenset({_S.IN_PROGRESS, _S.SUCCEEDED, _S.FAILED}),
    _S.IN_PROGRESS: frozenset({_S.SUCCEEDED, _S.FAILED}),
    _S.SUCCEEDED: frozenset({_S.ROLLED_BACK}),
    _S.FAILED: frozenset({_S.ROLLED_BACK}),
    _S.ROLLED_BACK: frozenset(),
}
# The statuses of a deployment that has finished, one way or the other: each has a finish time.
FINISHED = frozenset({_S.SUCCEEDED, _S.FAILED, _S.ROLLED_BACK})


@transaction.atomic
def deployment_set_status(
    *, deployment: Deployment, status: str, finished_at: datetime | None = None
) -> Deployment:
    """Move a deployment to `status`, by compare-and-set on the status and finish time it has now.

    A finished status stamps finished_at: the given time, else now when it has none yet (a
    rollback keeps the time the rolled-back deployment went live). Asking for the status it
    already has changes nothing, so a CI step that retries is harmless, except that a given
    finish time is stored: it is how CI says when a deployment recorded as finished really did.
    """
    status = Deployment.Status(status)
    if finished_at is not None and status not in FINISHED:
        raise ValidationError({"finished_at": f"A deployment that is {status} has not finished."})
    for _attempt in range(3):
        current = Deployment.objects.get(pk=deployment.pk)
        changes: dict[str, Any] = {}
        if current.status != status:
            allowed = DEPLOYMENT_TRANSITIONS[current.status]
            if status not in allowed:
                raise TransitionNotAllowed(
                    current=current.status, requested=status, allowed=allowed
                )
            changes["status"] = status
        if finished_at is not None:
            if finished_at != current.finished_at:
                changes["finished_at"] = finished_at
        elif status in FINISHED and current.finished_at is None:
            changes["finished_at"] = timezone.now()
        if not changes:
            return current
        finished = changes.get("finished_at", current.finished_at)
        if finished is not None and finished < current.started_at:
            raise ValidationError({"finished_at": "A deployment cannot finish before it started."})
        # finished_at=None is IS NULL: the row must still have what was judged here.
        same = Deployment.objects.filter(
            pk=current.pk, status=current.status, finished_at=current.finished_at
        )
        if same.update(**changes, updated_at=timezone.now()):
            current.refresh_from_db()
            if "status" in changes and status in FINISHED:
                # Finishing is the event; a rollback of a finished one is finishing again.
                feed_deployment(kind=EventKind.DEPLOYMENT_FINISHED, deployment=current)
            if "status" in changes and status == _S.SUCCEEDED:
                smoke_run_enqueue(deployment=current)
            return current
        # Someone changed it meanwhile: judge the request again against what it has now.
    raise TransitionNotAllowed(
        current=Deployment.objects.values_list("status", flat=True).get(pk=deployment.pk),
        requested=status,
        allowed=(),
    )
