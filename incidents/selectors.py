"""Non-trivial reads on the human side."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)

from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    Delivery,
    Incident,
    PathPriority,
    TimelineEvent,
)


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


def communications_with_progress() -> QuerySet[Communication]:
    """Communications newest first, each with its template, author and approver, and how many
    of its deliveries are sent, pending and failed: one query however many there are."""
    return (
        Communication.objects.select_related("template", "created_by", "approved_by")
        .annotate(
            **{
                f"deliveries_{status}": Count("deliveries", filter=Q(deliveries__status=status))
                for status in Delivery.Status.values
            }
        )
        .order_by("-created_at", "-id")
    )


def incident_document(reference: str | int, *, timeline_limit: int | None = None) -> Incident:
    """One incident with every section of its post-mortem prefetched, in reading order.

    The query count is fixed: one per section, whatever the number of rows in it. With
    `timeline_limit`, only the latest that many timeline events are read (a timeline grows
    without bound; the API lists the rest apart): they are `embedded_timeline`, in time order,
    and `timeline_truncated` says whether older ones exist. Raises Incident.DoesNotExist.
    """
    user_model = get_user_model()
    sections: list[str | Prefetch] = [
        Prefetch("authors", queryset=user_model.objects.order_by(user_model.USERNAME_FIELD)),
        "status_items",
        Prefetch("causes", queryset=Cause.objects.select_related("deployment__environment")),
        "lessons",
        Prefetch("action_items", queryset=ActionItem.objects.select_related("owner")),
        "success_criteria",
        Prefetch("priorities", queryset=PathPriority.objects.prefetch_related("options")),
        "final_notes",
        Prefetch("communications", queryset=communications_with_progress()),
    ]
    events = TimelineEvent.objects.select_related("deployment", "created_by")
    if timeline_limit is None:
        sections.append(Prefetch("timeline_events", queryset=events))
    incident = (
        Incident.objects.select_related("service", "created_by")
        .prefetch_related(*sections)
        .by_reference(reference)
    )
    if timeline_limit is not None:
        latest = list(
            events.filter(incident=incident).order_by("-occurred_at", "-id")[: timeline_limit + 1]
        )
        incident.timeline_truncated = len(latest) > timeline_limit
        incident.embedded_timeline = latest[:timeline_limit][::-1]
    return incident


# Spelled as in the partial indexes on ActionItem, so PostgreSQL can use them for these reads.
OPEN_ITEM_STATUSES = [ActionItem.Status.OPEN, ActionItem.Status.IN_PROGRESS]

# Each word costs two EXISTS subqueries; a pasted paragraph must not become a huge query.
SEARCH_MAX_TERMS = 8


def incident_search(queryset: QuerySet[Incident], text: str) -> QuerySet[Incident]:
    """Narrow `queryset` to incidents that mention every word of `text`, case-insensitively.

    A word may appear in the title, the summary, a cause's title or detail, or an action item's
    title. Causes and items are matched with EXISTS rather than a join: a join would repeat an
    incident once per matching row, and inflate the list's count of open items.
    """
    for term in text.split()[:SEARCH_MAX_TERMS]:
        causes = Cause.objects.filter(incident=OuterRef("pk")).filter(
            Q(title__icontains=term) | Q(detail__icontains=term)
        )
        items = ActionItem.objects.filter(incident=OuterRef("pk"), title__icontains=term)
        queryset = queryset.filter(
            Q(title__icontains=term) | Q(summary__icontains=term) | Exists(causes) | Exists(items)
        )
    return queryset


def incidents_open() -> QuerySet[Incident]:
    """Incidents not yet resolved, the most severe first (sev1 sorts before sev2), then newest."""
    return (
        Incident.objects.open()
        .select_related("service")
        .order_by("severity", "-started_at", "-number")
    )


def action_items_open_for(*, user: AbstractBaseUser, today: date) -> QuerySet[ActionItem]:
    """The open items `user` owns, soonest due first, so overdue ones lead; undated ones last.

    Each row carries `overdue` (due before `today`).
    """
    return (
        ActionItem.objects.filter(owner=user, status__in=OPEN_ITEM_STATUSES)
        .select_related("incident")
        .annotate(
            overdue=ExpressionWrapper(
                Q(due_date__isnull=False) & Q(due_date__lt=today), output_field=BooleanField()
            )
        )
        .order_by(F("due_date").asc(nulls_last=True), "id")
    )


def action_items_blocking_deployments() -> QuerySet[ActionItem]:
    """Open items the deployment gate blocks on, with their incident and service, by service."""
    return (
        ActionItem.objects.filter(blocks_deployments=True, status__in=OPEN_ITEM_STATUSES)
        .select_related("incident__service", "owner")
        .order_by("incident__service__name", "-incident__number", "order", "id")
    )


def postmortems_in_review() -> QuerySet[Incident]:
    """Post-mortems written and waiting for someone to review them, newest incident first."""
    return (
        Incident.objects.filter(postmortem_state=Incident.PostmortemState.IN_REVIEW)
        .select_related("service")
        .order_by("-started_at", "-number")
    )


def action_item_list(
    *,
    today: date,
    owner: AbstractBaseUser | None = None,
    overdue: bool = False,
    due_between: tuple[date, date] | None = None,
    horizon: str = "",
    incident_number: int | None = None,
    blocking: bool = False,
    statuses: list[str] | None = OPEN_ITEM_STATUSES,
) -> QuerySet[ActionItem]:
    """Action items of every incident (sub-items too) for the action items page.

    Overdue first (the most overdue leading), then by due date with undated ones last, then
    priority. Each row carries `overdue` and what it shows (incident, service, owner, parent),
    so a page of rows costs one query. `statuses=None` means every status; `due_between` is
    inclusive at both ends.
    """
    items = (
        ActionItem.objects.select_related("incident__service", "owner", "parent")
        # A row shows titles, not prose: leave the incident's and the items' Markdown behind.
        .defer(
            "detail",
            "detail_html",
            "parent__detail",
            "parent__detail_html",
            *(
                f"incident__{name}{suffix}"
                for name in Incident.markdown_fields
                for suffix in ("", "_html")
            ),
        )
        .annotate(
            # The isnull test keeps it two-valued: without it an undated open row would be NULL,
            # not False, and sort apart from the other rows that are not overdue.
            overdue=ExpressionWrapper(
                Q(due_date__isnull=False)
                & Q(due_date__lt=today)
                & Q(status__in=OPEN_ITEM_STATUSES),
                output_field=BooleanField(),
            )
        )
    )
    if statuses is not None:
        items = items.filter(status__in=statuses)
    if owner is not None:
        items = items.filter(owner=owner)
    if overdue:
        items = items.filter(status__in=OPEN_ITEM_STATUSES, due_date__lt=today)
    if due_between is not None:
        items = items.filter(due_date__range=due_between)
    if horizon:
        items = items.filter(horizon=horizon)
    if incident_number is not None:
        items = items.filter(incident__number=incident_number)
    if blocking:
        items = items.filter(blocks_deployments=True, status__in=OPEN_ITEM_STATUSES)
    return items.order_by(F("overdue").desc(), F("due_date").asc(nulls_last=True), "priority", "id")
