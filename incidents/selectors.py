"""Non-trivial reads on the human side."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from incidents.models import ActionItem, Cause, Incident, PathPriority, TimelineEvent


def incident_list() -> QuerySet[Incident]:
    """Incidents for the list page, with what each row shows, in a fixed number of queries."""
    return (
        Incident.objects.select_related("service")
        .annotate(
            open_action_items=Count(
                "action_items", filter=Q(action_items__status__in=["open", "in_progress"])
            )
        )
        .order_by("-started_at", "-number")
    )


def incident_document(reference: str | int) -> Incident:
    """One incident with every section of its post-mortem prefetched, in reading order.

    The query count is fixed: one per section, whatever the number of rows in it.
    """
    return (
        Incident.objects.select_related("service", "created_by")
        .prefetch_related(
            "authors",
            Prefetch(
                "timeline_events", queryset=TimelineEvent.objects.select_related("deployment")
            ),
            "status_items",
            Prefetch("causes", queryset=Cause.objects.select_related("deployment__environment")),
            "lessons",
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner")),
            "success_criteria",
            Prefetch("priorities", queryset=PathPriority.objects.prefetch_related("options")),
            "final_notes",
        )
        .by_reference(reference)
    )
