"""Configuration rows: services, environments, health checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction

from deployments.models import (
    Environment,
    HealthCheck,
    Service,
)
from deployments.probing.ssrf import validate_target_url

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
    try:
        validate_target_url(check.url)
    except ValidationError as exc:
        raise ValidationError({"url": exc.error_list}) from exc
    if check.environment is not None and check.environment.service_id != check.service_id:
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
