"""Writes on the system side. Every function is keyword-only and runs in one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from deployments.models import (
    Artifact,
    CheckResult,
    Deployment,
    Environment,
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


def manifest_digest(manifest: Iterable[Mapping]) -> str:
    """A digest of the shipped files that ignores their order."""
    lines = sorted(f"{f['path']}\t{int(f['size'])}\t{f['sha256']}" for f in manifest)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


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
) -> tuple[Deployment, bool]:
    """Record a deployment and its manifest. Returns (deployment, created).

    The external id is the provider's: seeing it again means the same deployment, so a CI job that
    retries gets the first row back instead of a duplicate.
    """
    existing = Deployment.objects.filter(environment=environment, external_id=external_id).first()
    if existing is not None:
        return existing, False
    manifest = list(manifest)
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
            deployment=deployment, path=f["path"], size=int(f["size"]), sha256=f["sha256"].lower()
        )
        for f in manifest
    )
    return deployment, True


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
