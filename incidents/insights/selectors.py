"""Reads for the dashboard and the incident list: open incidents, post-mortems in review, the
list with its counts, and search.
"""

from __future__ import annotations

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from incidents.models import (
    ActionItem,
    Cause,
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


# Each word costs two EXISTS subqueries; a pasted paragraph must not become a huge query.
SEARCH_MAX_TERMS = 8


def incident_search(queryset: QuerySet[Incident], text: str) -> QuerySet[Incident]:
    """Narrow `queryset` to incidents that mention every word of `text`, case-insensitively.

    A word may appear in the title, the summary, a cause's title or detail, or an action item's
    title. Causes and items are matched with EXISTS rather than a join: a join would repeat an
    incident once per matching row, and inflate the list's count of open items.
    """
    for term in text.split()[:SEARCH_MAX_TERMS]:
        # A cause the draft from the facts proposed is nobody's finding until kept.
        causes = Cause.objects.filter(incident=OuterRef("pk"), proposed=False).filter(
            Q(title__icontains=term) | Q(detail__icontains=term)
        )
        items = ActionItem.objects.filter(incident=OuterRef("pk"), title__icontains=term)
        queryset = queryset.filter(
            Q(title__icontains=term) | Q(summary__icontains=term) | Exists(causes) | Exists(items)
        )
    return queryset


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
