"""Reads behind the public status page (incidents.statuspage.page shapes them), one query each.

Every column is named in `.values()`: what is not public (root cause, names, notes, the timeline,
the incident's internal title, drafts) is never even read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate

from deployments.models import CheckResult, CheckResultHourly, Environment, HealthCheck
from incidents.models import (
    Audience,
    Communication,
    CommunicationComponent,
    Component,
    ComponentStatusChange,
    Incident,
    Maintenance,
    Subscriber,
)


def component_rows() -> list[Mapping[str, Any]]:
    """Enabled health checks with their newest result, one row each: the ones watching
    production, or no environment in particular, and the ones a component watches (an editor
    chose them). What users see is not a preview's health unless someone said so."""
    newest = CheckResult.objects.filter(health_check=OuterRef("pk")).order_by("-taken_at", "-pk")
    watched = Component.health_checks.through.objects.filter(healthcheck_id=OuterRef("pk"))
    watches_production = (
        Q(environment__isnull=True)
        | Q(environment__kind=Environment.Kind.PRODUCTION)
        | Q(Exists(watched))
    )
    rows = (
        HealthCheck.objects.filter(watches_production, enabled=True)
        .order_by()
        .values(
            "id",
            "name",
            "interval_seconds",
            service_name=F("service__name"),
            # One backward probe of result_check_time_idx per check.
            ok=Subquery(newest.values("ok")[:1]),
            maintenance=Subquery(newest.values("maintenance")[:1]),
            at=Subquery(newest.values("taken_at")[:1]),
        )
    )
    return list(rows)


def maintenance_rows(*, now: datetime) -> list[Mapping[str, Any]]:
    """Maintenance windows that have not ended and were not called off, soonest first."""
    rows = (
        # maintenance_ends_idx: windows that have not ended.
        Maintenance.objects.filter(ends_at__gt=now, cancelled_at__isnull=True)
        .order_by("starts_at", "pk")
        .values(
            "id",
            "title",
            "description_html",
            "starts_at",
            "ends_at",
            service_name=F("service__name"),
        )
    )
    return list(rows)


def uptime_rows(*, check_ids: list[int], since: datetime) -> list[Mapping[str, Any]]:
    """Samples and successes per (check, local day) from `since`, in one query.

    Rolled-up hours and raw results never overlap (the roll-up deletes what it counts), so
    the two parts add up. A day split between them comes back as two rows. Failures inside a
    maintenance window are not samples: planned downtime does not count against uptime (the
    roll-up leaves them out of its samples the same way).
    """
    hourly = (
        # hourly_once_per_hour is the (check, hour) index: one range scan per check.
        CheckResultHourly.objects.filter(health_check_id__in=check_ids, hour__gte=since)
        .order_by()
        .values("health_check_id", day=TruncDate("hour"))
        .annotate(samples=Sum("samples"), ok=Sum("ok_count"))
    )
    raw = (
        # result_check_time_idx: one range scan per check.
        CheckResult.objects.filter(health_check_id__in=check_ids, taken_at__gte=since)
        .order_by()
        .values("health_check_id", day=TruncDate("taken_at"))
        .annotate(
            samples=Count("pk", filter=Q(maintenance=False)), ok=Count("pk", filter=Q(ok=True))
        )
    )
    return list(hourly.union(raw, all=True))


# Published communications that the public reads: status page updates and the public post-mortem.
ON_THE_PAGE = (Audience.STATUS_PAGE, Audience.PUBLIC_POSTMORTEM)


def _public() -> QuerySet[Incident]:
    """Incidents the team made public; never a duplicate: the public reads of an outage once,
    under its original."""
    return Incident.objects.counted().filter(public_since__isnull=False)


def _with_published(incidents: QuerySet[Incident]) -> QuerySet[Incident, Any]:
    """One row per (incident, published update or post-mortem), or one with neither."""
    return (
        incidents.annotate(
            published=FilteredRelation(
                "communications",
                condition=Q(
                    communications__audience__in=ON_THE_PAGE,
                    communications__status=Communication.Status.SENT,
                ),
            )
        )
        .order_by("-started_at", "-number")
        .values(
            "number",
            "status",
            "status_line",
            "impact_html",
            "started_at",
            "resolved_at",
            service_name=F("service__name"),
            public_summary_html=Case(
                When(postmortem_state=Incident.PostmortemState.PUBLISHED, then=F("summary_html")),
                default=Value(""),
                output_field=models.TextField(),
            ),
            update_id=F("published__id"),
            update_audience=F("published__audience"),
            update_phase=F("published__phase"),
            update_subject=F("published__subject"),
            update_body_html=F("published__body_html"),
            update_at=Coalesce("published__sent_at", "published__created_at"),
            update_corrects=F("published__corrects_id"),
            update_retracted_at=F("published__retracted_at"),
        )
    )


def public_incident_rows(
    *, now: datetime, history_days: int, past_limit: int
) -> list[Mapping[str, Any]]:
    """Public incidents that are open, among the `past_limit` latest resolved within
    `history_days`, or the latest resolved, newest first: one row per (incident, published
    update or post-mortem), or one with neither. However long the history, the page reads a
    bounded number of incidents; the rest are on the history pages."""
    resolved = Incident.Status.RESOLVED
    latest = _public().filter(status=resolved).order_by("-resolved_at", "-pk").values("pk")
    recent = latest.filter(resolved_at__gte=now - timedelta(days=history_days))
    rows = _with_published(
        _public().filter(
            ~Q(status=resolved) | Q(pk__in=recent[:past_limit]) | Q(pk=Subquery(latest[:1]))
        )
    )
    return list(rows)


def public_incident_detail_rows(*, number: int) -> list[Mapping[str, Any]]:
    """One public incident with everything it published, in one query; no rows when there is
    no such incident, it is internal, or it is a duplicate."""
    return list(_with_published(_public().filter(number=number)))


def public_history(*, page: int | str, per_page: int) -> Page:
    """One page of every public incident, newest first, in brief: two queries (the count and
    the page). The heading is the incident's first standing update's subject, as on the page."""
    first_update = (
        Communication.objects.filter(
            incident=OuterRef("pk"),
            audience=Audience.STATUS_PAGE,
            status=Communication.Status.SENT,
            retracted_at__isnull=True,
        )
        .order_by(Coalesce("sent_at", "created_at").asc(), "pk")
        .values("subject")[:1]
    )
    rows = (
        # incident_public_started_idx: the public incidents, newest first.
        _public()
        .order_by("-started_at", "-number")
        .values(
            "number",
            "status",
            "status_line",
            "started_at",
            "resolved_at",
            service_name=F("service__name"),
            first_subject=Subquery(first_update),
        )
    )
    return Paginator(rows, per_page).get_page(page)


def withdrawn_update_rows(*, since: datetime, limit: int) -> list[Mapping[str, Any]]:
    """Status page updates withdrawn since `since` whose incident is internal now, newest first.

    A feed reader keeps what it once read, so the feeds go on saying these were withdrawn after
    their incident left the page: the update's subject, which was public, and nothing else.
    """
    rows = (
        Communication.objects.filter(
            audience=Audience.STATUS_PAGE,
            status=Communication.Status.SENT,
            retracted_at__gte=since,
            incident__public_since__isnull=True,
            incident__duplicate_of__isnull=True,
        )
        .order_by("-retracted_at", "-pk")
        .values("id", "subject", "retracted_at")[:limit]
    )
    return list(rows)


# --- Components ---------------------------------------------------------------------------


def status_component_rows() -> list[Mapping[str, Any]]:
    """Every component with its group and the ids of the checks it watches: one row per
    (component, watched check), or one with no check. One query (a LEFT JOIN on the M2M)."""
    rows = Component.objects.order_by().values(
        "id",
        "name",
        "order",
        "status",
        "status_changed_at",
        "created_at",
        "group_id",
        group_name=F("group__name"),
        group_order=F("group__order"),
        check_id=F("health_checks__id"),
    )
    return list(rows)


def component_status_rows(*, since: datetime) -> list[Mapping[str, Any]]:
    """Every component's status changes from `since` and, for each, the last change before it
    (the status it had at `since`): (component_id, status, at) rows, in one query (a UNION
    ALL). A component with no change recorded before `since` has none for the days before its
    first one."""
    before = ComponentStatusChange.objects.filter(component=OuterRef("pk"), at__lt=since).order_by(
        "-at", "-pk"
    )
    held = (
        Component.objects.order_by()
        # component_status_change_idx: one backward probe per component.
        .annotate(
            held=Subquery(before.values("status")[:1]), held_at=Subquery(before.values("at")[:1])
        )
        .filter(held__isnull=False)
        .values_list("pk", "held", "held_at")
    )
    during = (
        ComponentStatusChange.objects.filter(at__gte=since)
        .order_by()
        .values_list("component_id", "status", "at")
    )
    return [
        {"component_id": pk, "status": status, "at": at}
        for pk, status, at in during.union(held, all=True)
    ]


def check_states(*, check_ids: list[int]) -> dict[int, Mapping[str, Any]]:
    """The enabled checks among `check_ids` with their newest result (ok, maintenance, at; all
    None when never checked), by id. One query."""
    if not check_ids:
        return {}
    newest = CheckResult.objects.filter(health_check=OuterRef("pk")).order_by("-taken_at", "-pk")
    rows = (
        HealthCheck.objects.filter(pk__in=check_ids, enabled=True)
        .order_by()
        .values(
            "id",
            "service_id",
            "environment_id",
            ok=Subquery(newest.values("ok")[:1]),
            maintenance=Subquery(newest.values("maintenance")[:1]),
            at=Subquery(newest.values("taken_at")[:1]),
        )
    )
    return {row["id"]: row for row in rows}


def component_check_ids(*, component_ids: list[int]) -> dict[int, list[int]]:
    """The checks each component watches, by component id. One query."""
    through = Component.health_checks.through
    watched: dict[int, list[int]] = {pk: [] for pk in component_ids}
    for component_id, check_id in through.objects.filter(
        component_id__in=component_ids
    ).values_list("component_id", "healthcheck_id"):
        watched[component_id].append(check_id)
    return watched


# --- Subscribers: who hears about what --------------------------------------------------------


def subscribers_reached(
    *, components: QuerySet[Any, Any] | None, everyone_if_none: bool = False
) -> QuerySet[Subscriber]:
    """The confirmed, still subscribed addresses that hear about news of `components` (a
    queryset of component ids, evaluated inside this one query): whole-page subscribers, and
    those who chose one of them. None means news of the whole page, for everyone. With
    `everyone_if_none`, news naming no component at all goes to everyone too (a status page
    update that names none is about the whole page).

    One query however many subscribers and components: the choice is read by EXISTS on the
    join table, never row by row."""
    active = Subscriber.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)
    if components is None:
        return active
    chosen = Subscriber.components.through.objects.filter(subscriber_id=OuterRef("pk"))
    reached = Q(~Exists(chosen)) | Q(Exists(chosen.filter(component_id__in=components)))
    if everyone_if_none:
        reached |= Q(~Exists(components))
    return active.filter(reached)


def update_components(*, communication_id: int) -> QuerySet[Any, Any]:
    """The ids of the components a status page update names, as a subquery."""
    return CommunicationComponent.objects.filter(communication_id=communication_id).values(
        "component_id"
    )


def maintenance_components(*, maintenance: Maintenance) -> QuerySet[Any, Any] | None:
    """The ids of the components a maintenance window affects, as a subquery; None for a window
    of everything (no service).

    A window names a service, a component names health checks: the window affects the
    components watching any check of that service. That is the one link the models hold
    between the two; a service no component watches affects no chosen component, so only
    whole-page subscribers hear of it."""
    if maintenance.service_id is None:
        return None
    return (
        Component.objects.filter(health_checks__service_id=maintenance.service_id)
        .values("pk")
        .distinct()
    )


def subscribable_components() -> list[Component]:
    """The components a subscriber may choose, in the status page's order: by group, then
    their own."""
    return list(
        Component.objects.select_related("group").order_by(
            F("group__order").asc(nulls_last=True), "group__name", "order", "name", "pk"
        )
    )
