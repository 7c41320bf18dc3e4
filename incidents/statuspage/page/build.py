"""The status page itself, built in six queries (one fewer with no component, one fewer when
nothing is checked): the components by group with the checks they watch, their status history
over the days shown, the checks no component watches (by service, as before components), their
uptime, the maintenance windows that have not ended, the public incidents; and the overall status
they add up to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import groupby
from operator import attrgetter
from typing import Any

from django.utils import timezone

from deployments.selectors import health_is_stale
from incidents.models import COMPONENT_STATUS_RANK, ComponentStatus
from incidents.statuspage.page.public import public_incidents
from incidents.statuspage.page.shapes import (
    ACTIVE_SHOWN,
    HISTORY_DAYS,
    Component,
    MaintenanceWindow,
    PublicIncident,
    StatusComponent,
    StatusGroup,
    StatusPage,
    UptimeDay,
    status_components,
)
from incidents.statuspage.page.uptime import _day_start, _uptime
from incidents.statuspage.selectors import (
    component_rows,
    component_status_rows,
    maintenance_rows,
    status_component_rows,
)


def _component(row: Mapping[str, Any], now: datetime) -> Component:
    at = row["at"]
    if at is None:
        state = "unknown"
    elif health_is_stale(checked_at=at, interval_seconds=row["interval_seconds"], now=now):
        # Not vouched for: judged as everywhere else health is shown.
        state = "stale"
    elif row["ok"]:
        state = "operational"
    else:
        # Failing inside a maintenance window that CI opened around a deployment: planned.
        state = "in_maintenance" if row["maintenance"] else "outage"
    return Component(
        id=row["id"], name=row["name"], service=row["service_name"], state=state, checked_at=at
    )


def _overall(page: StatusPage, components: list[Component]) -> tuple[str, str]:
    said = [c.status for c in status_components(page.groups)]
    if said and all(status == ComponentStatus.MAJOR_OUTAGE for status in said) and not components:
        return "major", "Major outage"
    if ComponentStatus.MAJOR_OUTAGE in said or ComponentStatus.PARTIAL_OUTAGE in said:
        return "partial", "Partial outage"
    if ComponentStatus.DEGRADED_PERFORMANCE in said:
        return "partial", "Degraded performance"
    outages = sum(component.state == "outage" for component in components)
    if components and outages == len(components):
        return "major", "Major outage"
    if outages:
        return "partial", "Partial outage"
    if page.active:
        return "incident", "An incident is being handled"
    if (
        page.maintenance_now
        or ComponentStatus.UNDER_MAINTENANCE in said
        or any(c.state == "in_maintenance" for c in components)
    ):
        return "maintenance", "Maintenance in progress"
    if not said and components and all(c.state in ("stale", "unknown") for c in components):
        return "unknown", "No recent checks: current status unknown"
    return "operational", "All systems operational"


def _maintenance(row: Mapping[str, Any], now: datetime) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=row["id"],
        title=row["title"],
        service=row["service_name"],
        description_html=row["description_html"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        in_progress=row["starts_at"] <= now,
    )


def _groups(checks: dict[int, Component]) -> tuple[list[StatusGroup], set[int]]:
    """The components by group, groups in their order and the ungrouped last; and the ids of
    the checks they watch."""
    statuses = dict(ComponentStatus.choices)
    groups: dict[int | None, StatusGroup] = {}
    group_order: dict[int | None, tuple[int, str]] = {}
    components: dict[int, StatusComponent] = {}
    component_order: dict[int, tuple[int, str, int]] = {}
    watched: set[int] = set()
    for row in status_component_rows():
        component = components.get(row["id"])
        if component is None:
            group = groups.get(row["group_id"])
            if group is None:
                group = groups[row["group_id"]] = StatusGroup(
                    id=row["group_id"], name=row["group_name"] or ""
                )
                group_order[row["group_id"]] = (row["group_order"] or 0, group.name.lower())
            component = components[row["id"]] = StatusComponent(
                id=row["id"],
                name=row["name"],
                status=row["status"],
                status_label=statuses.get(row["status"], row["status"]),
                updated_at=row["status_changed_at"],
                group_id=row["group_id"],
            )
            component_order[row["id"]] = (row["order"], row["name"].lower(), row["id"])
            group.components.append(component)
        check = checks.get(row["check_id"]) if row["check_id"] is not None else None
        if check is not None:
            component.checks.append(check)
            watched.add(check.id)
    for group in groups.values():
        group.components.sort(key=lambda c: component_order[c.id])
        group.components = list(group.components)
        for component in group.components:
            component.checks.sort(key=lambda c: c.name.lower())
    ordered = sorted(groups.values(), key=lambda g: (g.id is None, *group_order[g.id]))
    return ordered, watched


def _worst_by_day(
    changes: Sequence[tuple[datetime, str]], days: list[date], now: datetime
) -> list[str | None]:
    """The worst status held on each day, from a component's changes in time order (the first
    may be before days[0]: the status it had then). A status holds from its change until the
    next one, or now."""
    index = {day: n for n, day in enumerate(days)}
    worst: list[str | None] = [None] * len(days)
    for n, (at, status) in enumerate(changes):
        until = changes[n + 1][0] if n + 1 < len(changes) else now
        first = max(timezone.localdate(at), days[0])
        # Held until the next change, not through it: a change at midnight ends the day before.
        last = min(timezone.localdate(max(at, until - timedelta(microseconds=1))), days[-1])
        day = first
        while day <= last:
            held = worst[index[day]]
            if held is None or COMPONENT_STATUS_RANK[status] > COMPONENT_STATUS_RANK[held]:
                worst[index[day]] = status
            day += timedelta(days=1)
    return worst


def _history(groups: list[StatusGroup], days: list[date], now: datetime) -> None:
    """Give each component the worst status of each day shown (one query, however many
    components and days; none without components)."""
    components = status_components(groups)
    if not components:
        return
    changes: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for row in component_status_rows(since=_day_start(days[0])):
        changes[row["component_id"]].append((row["at"], row["status"]))
    for component in components:
        component.history_days = days
        component.day_statuses = _worst_by_day(
            sorted(changes[component.id], key=lambda change: change[0]), days, now
        )


def _as_of(
    checks: list[Component], groups: list[StatusGroup], incidents: list[PublicIncident]
) -> datetime | None:
    moments = [c.checked_at for c in checks]
    moments += [c.updated_at for c in status_components(groups)]
    for incident in incidents:
        moments += [incident.started_at, incident.resolved_at, *(u.at for u in incident.updates)]
    return max((moment for moment in moments if moment is not None), default=None)


def status_page_build(*, now: datetime | None = None) -> StatusPage:
    """Everything the page shows, read in six queries (see the module's docstring)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = [today - timedelta(days=n) for n in range(HISTORY_DAYS - 1, -1, -1)]

    checks = [_component(row, now) for row in component_rows()]
    uptime = _uptime([c.id for c in checks], days)
    for check in checks:
        check.days = [uptime.get((check.id, day)) or UptimeDay(day) for day in days]
    groups, watched = _groups({check.id: check for check in checks})
    _history(groups, days, now)
    components = [check for check in checks if check.id not in watched]
    components.sort(key=lambda c: (c.service, c.name.lower()))
    services = [(name, list(group)) for name, group in groupby(components, attrgetter("service"))]
    windows = [_maintenance(row, now) for row in maintenance_rows(now=now)]

    incidents = public_incidents(now=now)
    cutoff = now - timedelta(days=HISTORY_DAYS)
    past = [
        i
        for i in incidents
        if not i.is_open and i.resolved_at is not None and i.resolved_at >= cutoff
    ]
    active = [i for i in incidents if i.is_open]
    page = StatusPage(
        as_of=_as_of(checks, groups, incidents),
        groups=groups,
        services=services,
        active=active[:ACTIVE_SHOWN],
        active_more=max(0, len(active) - ACTIVE_SHOWN),
        past=past,
        last_incident=None if past else next((i for i in incidents if not i.is_open), None),
        maintenance_now=[w for w in windows if w.in_progress],
        maintenance_upcoming=[w for w in windows if not w.in_progress],
    )
    page.overall, page.overall_text = _overall(page, components)
    return page
