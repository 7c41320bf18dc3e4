"""Recording changes that are not deployments, and opening and ending maintenance windows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from deployments.models import Change, Environment, MaintenanceWindow, Service
from deployments.selectors import maintenance_windows_open
from deployments.services.feed import feed_change
from deployments.services.health import service_lock

MAINTENANCE_DEFAULT_MINUTES = 60
# A window longer than a day is no longer a deployment: a service muted that long needs a
# person's decision, not a CI job's.
MAINTENANCE_MAX_MINUTES = 24 * 60


def _same_service(service: Service, environment: Environment | None) -> None:
    if environment is not None and environment.service_id != service.pk:
        raise ValidationError({"environment": f"{environment} is not an environment of {service}."})


@transaction.atomic
def change_record(
    *,
    service: Service,
    kind: str,
    summary: str,
    environment: Environment | None = None,
    link: str = "",
    at: datetime | None = None,
    by: str = "",
    external_id: str = "",
) -> tuple[Change, bool]:
    """Record a change to a service. Returns (change, created).

    With an external id, recording it again for the same service (a CI job that retries, two
    racing) gives the first change back, unchanged. Without one, every call is a new change.
    """
    _same_service(service, environment)
    if external_id:
        existing = Change.objects.filter(service=service, external_id=external_id).first()
        if existing is not None:
            return existing, False
    change = Change(
        service=service,
        environment=environment,
        kind=kind,
        summary=summary,
        link=link,
        at=at or timezone.now(),
        by=by,
        external_id=external_id,
    )
    # Choices, lengths and the link's scheme: the API checked them already, other callers not.
    change.full_clean(
        exclude=["service", "environment"], validate_unique=False, validate_constraints=False
    )
    try:
        # A savepoint, so that losing a race for the external id leaves a usable transaction.
        with transaction.atomic():
            change.save()
    except IntegrityError:
        existing = Change.objects.filter(service=service, external_id=external_id).first()
        if not external_id or existing is None:
            raise
        return existing, False
    feed_change(change=change)
    return change, True


@transaction.atomic
def maintenance_window_open(
    *,
    service: Service,
    environment: Environment | None = None,
    reason: str = "",
    external_id: str = "",
    opened_by: str = "",
    minutes: int = MAINTENANCE_DEFAULT_MINUTES,
) -> tuple[MaintenanceWindow, bool]:
    """Open a maintenance window from now for `minutes`. Returns (window, created).

    With an external id, a window of the service with that id that is still open is answered
    instead of a second one; once it has ended or run out, the same id opens a new window.
    """
    _same_service(service, environment)
    if not 1 <= minutes <= MAINTENANCE_MAX_MINUTES:
        raise ValidationError(
            {"minutes": f"A window lasts 1 to {MAINTENANCE_MAX_MINUTES} minutes (24 hours)."}
        )
    # Two opens of one service queue here, so the second finds the first one's window: "open"
    # depends on the time, which no unique constraint can express.
    service_lock(service.pk)
    now = timezone.now()
    if external_id:
        existing = (
            maintenance_windows_open(at=now)
            .filter(service=service, external_id=external_id)
            .order_by("-starts_at", "-id")
            .first()
        )
        if existing is not None:
            return existing, False
    window = MaintenanceWindow(
        service=service,
        environment=environment,
        reason=reason,
        external_id=external_id,
        opened_by=opened_by,
        starts_at=now,
        ends_at=now + timedelta(minutes=minutes),
    )
    window.full_clean(
        exclude=["service", "environment"], validate_unique=False, validate_constraints=False
    )
    window.save()
    return window, True


@transaction.atomic
def maintenance_window_end(*, window: MaintenanceWindow) -> MaintenanceWindow:
    """End a window now. A window that has ended already (ended, or past its ends_at) keeps
    the end it had: the compare-and-set matches only a window still open, so two ends racing
    stamp one time."""
    now = timezone.now()
    MaintenanceWindow.objects.filter(pk=window.pk, ended_at__isnull=True, ends_at__gt=now).update(
        ended_at=now, updated_at=now
    )
    return MaintenanceWindow.objects.select_related("service", "environment").get(pk=window.pk)
