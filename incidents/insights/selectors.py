"""Reads for the dashboard and the incident list: open incidents, post-mortems in review, the
list with its counts. Search is incidents.insights.search.
"""

from __future__ import annotations

from django.db.models import (
    Count,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from incidents.models import (
    ActionItem,
    Incident,
)


def incident_list() -> QuerySet[Incident]:
    """Incidents for the list page, with what each row shows, in a fixed number of queries.
    Duplicates are left out: each is told once, by its original.

    The open items are counted by a subquery per row, not a join with GROUP BY: PostgreSQL
    runs it for the rows of the page only (after the LIMIT), and the paginator's COUNT leaves
    an unused annotation out, so neither grows with the whole history.
    """
    open_items = (
        ActionItem.objects.filter(incident=OuterRef("pk"), status__in=ActionItem.OPEN_STATUSES)
        .order_by()
        .values("incident")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Incident.objects.counted()
        .select_related("service")
        .annotate(open_action_items=Coalesce(Subquery(open_items), 0))
        .order_by("-started_at", "-number")
    )


def incidents_open() -> QuerySet[Incident]:
    """Incidents not yet resolved nor closed as duplicates, the most severe first (sev1 sorts before sev2), then newest."""
    return (
        Incident.objects.open()
        .select_related("service")
        .order_by("severity", "-started_at", "-number")
    )


def postmortems_in_review() -> QuerySet[Incident]:
    """Post-mortems written and waiting for someone to review them, newest incident first."""
    return (
        Incident.objects.counted()
        .filter(postmortem_state=Incident.PostmortemState.IN_REVIEW)
        .select_related("service")
        .order_by("-started_at", "-number")
    )
