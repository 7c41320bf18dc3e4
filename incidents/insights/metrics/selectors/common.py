"""What the chart selectors share: the incidents and action items a scope covers, and axes."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import QuerySet

from incidents.insights.metrics.forms import Scope
from incidents.models import ActionItem, Incident


def as_date(value: date | datetime) -> date:
    """A truncated month or week as a date: TruncMonth gives datetimes for datetime fields."""
    return value.date() if isinstance(value, datetime) else value


def incidents_in(scope: Scope) -> QuerySet[Incident]:
    """Incidents that started in the range, of the service and severity asked for."""
    incidents = Incident.objects.counted().filter(
        started_at__gte=scope.start_at, started_at__lt=scope.end_before
    )
    if scope.service is not None:
        incidents = incidents.filter(service=scope.service)
    if scope.severity:
        incidents = incidents.filter(severity=scope.severity)
    return incidents


def action_items_of(scope: Scope) -> QuerySet[ActionItem]:
    """Action items of counted incidents of the service and severity asked for (any date)."""
    if scope.service is None and not scope.severity:
        # Nothing else to read of the incidents: the duplicates' items are left out by the
        # duplicates' ids (a few, through the duplicate_of index) rather than by joining every
        # incident of the history to read its duplicate_of.
        duplicates = Incident.objects.filter(duplicate_of__isnull=False).values("pk")
        return ActionItem.objects.exclude(incident__in=duplicates)
    items = ActionItem.objects.filter(incident__duplicate_of__isnull=True)
    if scope.service is not None:
        items = items.filter(incident__service=scope.service)
    if scope.severity:
        items = items.filter(incident__severity=scope.severity)
    return items
