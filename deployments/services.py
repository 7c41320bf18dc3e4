"""Writes on the system side. Every function is keyword-only and runs in one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

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
    rollback_of_external_id: str | None = None,
) -> tuple[Deployment, bool]:
    """Record a deployment and its manifest. Returns (deployment, created).

    The external id is the provider's: seeing it again means the same deployment, so a CI job that
    retries gets the first row back instead of a duplicate, even when both attempts race.
    `rollback_of_external_id` names the rolled-back deployment by its external id in the same
    environment, as CI knows it.
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
    if started_at is not None and finished_at is not None and finished_at < started_at:
        raise ValidationError({"finished_at": "A deployment cannot finish before it started."})
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
    return deployment, True


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
_FINISHING = frozenset({_S.SUCCEEDED, _S.FAILED})


@transaction.atomic
def deployment_set_status(
    *, deployment: Deployment, status: str, finished_at: datetime | None = None
) -> Deployment:
    """Move a deployment to `status`, by compare-and-set on the status it has now.

    Asking for the status it already has changes nothing, so a CI step that retries is harmless.
    Starting stamps started_at when it is empty; succeeding or failing stamps finished_at (the
    given time, else now) when it is empty.
    """
    status = Deployment.Status(status)
    if finished_at is not None and status not in _FINISHING | {_S.ROLLED_BACK}:
        raise ValidationError({"finished_at": f"A deployment that is {status} has not finished."})
    for _attempt in range(3):
        current = Deployment.objects.get(pk=deployment.pk)
        if current.status == status:
            return current
        allowed = DEPLOYMENT_TRANSITIONS[current.status]
        if status not in allowed:
            raise TransitionNotAllowed(current=current.status, requested=status, allowed=allowed)
        changes: dict[str, Any] = {"status": status}
        now = timezone.now()
        if status == _S.IN_PROGRESS and current.started_at is None:
            changes["started_at"] = now
        if finished_at is not None:
            changes["finished_at"] = finished_at
        elif status in _FINISHING and current.finished_at is None:
            changes["finished_at"] = now
        started = changes.get("started_at", current.started_at)
        finished = changes.get("finished_at", current.finished_at)
        if started is not None and finished is not None and finished < started:
            raise ValidationError({"finished_at": "A deployment cannot finish before it started."})
        if Deployment.objects.filter(pk=current.pk, status=current.status).update(**changes):
            current.refresh_from_db()
            return current
        # Someone moved it meanwhile: judge the request again against the status it has now.
    raise TransitionNotAllowed(
        current=Deployment.objects.values_list("status", flat=True).get(pk=deployment.pk),
        requested=status,
        allowed=(),
    )


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


# --- Configuration rows: services, environments, health checks --------------------------------
# Written by admins through the API and the admin site. Each write validates the whole row, so
# a rule the model states is never bypassed by a partial update.

SERVICE_FIELDS = frozenset({"name", "slug", "public_url", "description"})
ENVIRONMENT_FIELDS = frozenset({"name", "kind", "url", "branch", "rollback_command_template"})
HEALTH_CHECK_FIELDS = frozenset(
    {
        "environment",
        "name",
        "url",
        "method",
        "expected_status",
        "expected_body",
        "timeout_seconds",
        "interval_seconds",
        "enabled",
        "order",
    }
)
PROBE_SCHEMES = frozenset({"http", "https"})


def _check_fields(function: str, fields: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"{function}() got unexpected fields: {sorted(unknown)}")


class AlreadyExists(ValidationError):
    """The row would clash with one that exists: a unique rule, and nothing else, refused it."""


_UNIQUE_CODES = frozenset({"unique", "unique_together"})


def _clean_and_save(instance: models.Model, *, unique_field: str) -> None:
    """full_clean, then save. A clash with an existing row (checked or raced) is AlreadyExists.

    Django reports a multi-column unique constraint under NON_FIELD_ERRORS; API clients need to
    know which of their fields to change, so it is reported on unique_field.
    """
    try:
        instance.full_clean()
    except ValidationError as exc:
        errors: dict[str, list[ValidationError]] = {}
        only_clashes = True
        for field, field_errors in exc.error_dict.items():
            for error in field_errors:
                clash = error.code in _UNIQUE_CODES
                only_clashes = only_clashes and clash
                key = field
                if field == NON_FIELD_ERRORS:
                    key = unique_field if clash else "non_field_errors"
                errors.setdefault(key, []).append(error)
        raise (AlreadyExists if only_clashes else ValidationError)(errors) from exc
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise AlreadyExists({unique_field: "This is already taken."}) from exc


@transaction.atomic
def service_create(*, name: str, slug: str, public_url: str = "", description: str = "") -> Service:
    service = Service(name=name, slug=slug, public_url=public_url, description=description)
    _clean_and_save(service, unique_field="slug")
    return service


@transaction.atomic
def service_update(*, service: Service, **changes: Any) -> Service:
    _check_fields("service_update", changes, SERVICE_FIELDS)
    for field, value in changes.items():
        setattr(service, field, value)
    _clean_and_save(service, unique_field="slug")
    return service


@transaction.atomic
def environment_create(*, service: Service, name: str, **fields: Any) -> Environment:
    _check_fields("environment_create", fields, ENVIRONMENT_FIELDS - {"name"})
    environment = Environment(service=service, name=name, **fields)
    _clean_and_save(environment, unique_field="name")
    return environment


@transaction.atomic
def environment_update(*, environment: Environment, **changes: Any) -> Environment:
    """Change an environment. It stays with its service: its deployments belong to that one."""
    _check_fields("environment_update", changes, ENVIRONMENT_FIELDS)
    for field, value in changes.items():
        setattr(environment, field, value)
    _clean_and_save(environment, unique_field="name")
    return environment


def _health_check_validate(check: HealthCheck) -> None:
    # Rules across rows or beyond what URLField checks; the model cannot state them itself.
    if urlsplit(check.url).scheme.lower() not in PROBE_SCHEMES:
        raise ValidationError({"url": "Only http and https URLs can be probed."})
    if check.environment_id is not None and check.environment.service_id != check.service_id:
        raise ValidationError({"environment": "The environment belongs to another service."})


@transaction.atomic
def health_check_create(*, service: Service, name: str, url: str, **fields: Any) -> HealthCheck:
    _check_fields("health_check_create", fields, HEALTH_CHECK_FIELDS - {"name", "url"})
    check = HealthCheck(service=service, name=name, url=url, **fields)
    _health_check_validate(check)
    _clean_and_save(check, unique_field="name")
    return check


@transaction.atomic
def health_check_update(*, health_check: HealthCheck, **changes: Any) -> HealthCheck:
    """Change a check. It stays with its service: its results are that service's history."""
    _check_fields("health_check_update", changes, HEALTH_CHECK_FIELDS)
    for field, value in changes.items():
        setattr(health_check, field, value)
    _health_check_validate(health_check)
    _clean_and_save(health_check, unique_field="name")
    return health_check


@transaction.atomic
def health_check_delete(*, health_check: HealthCheck) -> None:
    """Delete a check and, with it, its results."""
    health_check.delete()
