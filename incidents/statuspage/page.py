"""The public status page: what it shows, built from five queries, and nothing internal.

1. Components (incidents.models.Component): by group, with their status and the checks they
   watch; and the enabled production health checks with their newest result. A check that no
   component watches is still shown on its own under its service, as before components.
2. Uptime: results per (check, day) over 90 days from the hourly roll-ups and the raw results not
   yet rolled up, in one UNION ALL. Past days do not change, so they are cached for an hour and a
   warm build reads only today.
3. Maintenance: windows that have not ended.
4. Incidents: the public ones (made public by a published update or by an editor) that are
   open, the PAST_SHOWN latest resolved in the last 90 days, or the latest resolved, each joined
   to its published status-page updates and public post-mortem (a LEFT JOIN on a
   FilteredRelation). An internal incident is never read here, so it shows nowhere on the page:
   not in the lists, not in the overall status. Past incidents are shown in brief, each linking
   to its own public page; older ones are on the history pages. So the page stays the same size
   however long the history grows.

Each public incident has a page of its own (public_incident_page: one query), with its updates,
those withdrawn marked so, and its published public post-mortem; the history pages list every
public incident (public_history_page: two queries).

The queries are in incidents.statuspage.selectors; this module shapes their rows for the page and
the feeds, and holds their cache: Django's cache framework, one entry per rendered page and feed
list, dropped by status_page_invalidate() after every write they show. An entry is fresh for
PAGE_CACHE_SECONDS and kept longer: when it goes stale, one process (the one that takes the
rebuild lock) builds it again while every other serves the previous bytes (see cached()).
"""

from __future__ import annotations

import logging
import math
import time as clock
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import groupby
from operator import attrgetter
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page
from django.urls import reverse
from django.utils import timezone

from core.ratelimited_log import RateLimitedLog
from deployments.selectors import health_is_stale
from incidents.models import (
    COMPONENT_STATUS_RANK,
    Audience,
    Communication,
    ComponentStatus,
    Incident,
    Phase,
)
from incidents.models.incident import REFERENCE_PREFIX
from incidents.statuspage.selectors import (
    component_rows,
    maintenance_rows,
    public_history,
    public_incident_detail_rows,
    public_incident_rows,
    status_component_rows,
    uptime_rows,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

HISTORY_DAYS = 90
# Past incidents on the page, at most: the rest are a link away, on the history pages.
PAST_SHOWN = 10
HISTORY_PER_PAGE = 25
# The rendered page is kept this long: during an outage everyone refreshes, and nobody needs it
# fresher than this.
PAGE_CACHE_SECONDS = 10
# A stale entry is kept this much longer than it is fresh, so that while one process rebuilds it
# the others still have bytes to serve instead of all building at once.
STALE_KEEP_SECONDS = 3600
# How long a rebuild may hold the lock: a process that dies while building holds back the others
# (who serve the previous bytes meanwhile) this long at most.
REBUILD_LOCK_SECONDS = 30
# Bump the version when the cached value (incidents.statuspage.views.RenderedPage, or the
# (fresh-until, value) pair that cached() keeps) changes shape.
PAGE_CACHE_KEY = "incidents:status-page:v5"
FEED_CACHE_KEY = "incidents:status-feed:v2"
INCIDENT_CACHE_KEY = "incidents:status-incident:v2:{number}"
# The JSON summary (incidents.statuspage.machine); here so every write drops it with the page.
SUMMARY_CACHE_KEY = "incidents:status-summary:v2"
PAST_UPTIME_CACHE_SECONDS = 3600


def _percent(ok: int, samples: int) -> float | None:
    """Uptime rounded down to hundredths: a page that shows two decimals must never round a
    failure away into "100.00%"."""
    return math.floor(10_000 * ok / samples) / 100 if samples else None


@dataclass(frozen=True)
class UptimeDay:
    day: date
    samples: int = 0
    ok: int = 0

    @property
    def percent(self) -> float | None:
        return _percent(self.ok, self.samples)

    @property
    def level(self) -> str:
        """The bar's colour: none (no data), ok, minor, major or down."""
        percent = self.percent
        if percent is None:
            return "none"
        if percent >= 99.9:
            return "ok"
        if percent >= 99:
            return "minor"
        return "major" if percent >= 95 else "down"


@dataclass
class Component:
    id: int
    name: str
    service: str
    state: str  # operational, outage, in_maintenance, stale or unknown
    checked_at: datetime | None
    days: list[UptimeDay] = field(default_factory=list)

    @property
    def uptime_percent(self) -> float | None:
        return _percent(sum(day.ok for day in self.days), sum(day.samples for day in self.days))


def _merged_days(checks: list[Component]) -> list[UptimeDay]:
    if not checks:
        return []
    return [
        UptimeDay(days[0].day, sum(d.samples for d in days), sum(d.ok for d in days))
        for days in zip(*(check.days for check in checks), strict=True)
    ]


@dataclass
class StatusComponent:
    """A component as the public sees it: the status people gave it, and the uptime of the
    checks it watches (merged into one bar, each check's own below it)."""

    id: int
    name: str
    status: str
    status_label: str
    updated_at: datetime | None
    group_id: int | None
    checks: list[Component] = field(default_factory=list)

    @property
    def days(self) -> list[UptimeDay]:
        return _merged_days(self.checks)

    @property
    def uptime_percent(self) -> float | None:
        days = self.days
        return _percent(sum(d.ok for d in days), sum(d.samples for d in days))


@dataclass
class StatusGroup:
    id: int | None  # None: the components in no group
    name: str
    components: list[StatusComponent] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The worst of its components' statuses."""
        return max(
            (c.status for c in self.components),
            key=COMPONENT_STATUS_RANK.__getitem__,
            default=ComponentStatus.OPERATIONAL,
        )


@dataclass(frozen=True)
class MaintenanceWindow:
    id: int
    title: str
    service: str | None
    description_html: str
    starts_at: datetime
    ends_at: datetime
    in_progress: bool


@dataclass(frozen=True)
class PublicUpdate:
    id: int
    phase: str
    phase_label: str
    subject: str
    body_html: str
    at: datetime
    is_correction: bool
    # Withdrawn: left off the page; the feeds say it was withdrawn, and when.
    retracted_at: datetime | None = None
    # A published correction of it exists: the page says so beside it.
    corrected: bool = False


@dataclass(frozen=True)
class PublicPostmortem:
    """The post-mortem written for customers, as published (a public_postmortem communication)."""

    id: int
    subject: str
    body_html: str
    at: datetime
    retracted_at: datetime | None = None


def incident_url(number: int) -> str:
    return reverse("incidents:status_incident", args=[f"{REFERENCE_PREFIX}{number}"])


@dataclass
class PublicIncident:
    number: int
    service: str
    status: str
    status_label: str
    status_line: str
    impact_html: str
    summary_html: str  # the post-mortem summary, empty until the post-mortem is published
    started_at: datetime
    resolved_at: datetime | None
    updates: list[PublicUpdate] = field(default_factory=list)
    # Updates withdrawn since they were published: the feeds and the incident's own page say
    # so; the status page leaves them off.
    withdrawn: list[PublicUpdate] = field(default_factory=list)
    # The latest published public post-mortem still standing, and those withdrawn.
    postmortem: PublicPostmortem | None = None
    withdrawn_postmortems: list[PublicPostmortem] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return f"{REFERENCE_PREFIX}{self.number}"

    @property
    def url(self) -> str:
        return incident_url(self.number)

    @property
    def timeline(self) -> list[PublicUpdate]:
        """Standing and withdrawn updates together, newest first: the incident page's list."""
        return sorted([*self.updates, *self.withdrawn], key=lambda u: (u.at, u.id), reverse=True)

    @property
    def heading(self) -> str:
        """The first published update's subject, else "Disruption to <service>". The incident's
        own title is written for the team and may name the cause, so it never appears here."""
        if self.updates:
            return self.updates[-1].subject
        return f"Disruption to {self.service}"

    @property
    def is_open(self) -> bool:
        return self.status != Incident.Status.RESOLVED


@dataclass
class StatusPage:
    generated_at: datetime
    groups: list[StatusGroup]
    # The checks no component watches, by service, shown as before components.
    services: list[tuple[str, list[Component]]]
    active: list[PublicIncident]
    past: list[PublicIncident]
    # Shown when nothing was resolved within HISTORY_DAYS, so the page still says when the last
    # incident was instead of implying there never was one.
    last_incident: PublicIncident | None
    maintenance_now: list[MaintenanceWindow]
    maintenance_upcoming: list[MaintenanceWindow]
    overall: str = ""
    overall_text: str = ""


def _uptime_key(today: date) -> str:
    return f"incidents:status-uptime:{today.isoformat()}:{HISTORY_DAYS}"


def status_page_invalidate(*, incident_number: int | None = None) -> None:
    """Drop the cached page, feeds and today's uptime after a write they show, and the page of
    the incident it was about, if any; every process reads the same cache, so the next request
    anywhere builds them afresh.

    Called after commit, so it never raises: with the cache down the write stands and is
    answered as saved, the failure is logged, and what the cache still holds (if it comes back)
    runs out within PAGE_CACHE_SECONDS.
    """
    with _one_attempt():
        keys = [
            PAGE_CACHE_KEY,
            FEED_CACHE_KEY,
            SUMMARY_CACHE_KEY,
            _uptime_key(timezone.localdate()),
        ]
        if incident_number is not None:
            keys.append(INCIDENT_CACHE_KEY.format(number=incident_number))
        _cache_call(cache.delete_many, keys)


# A cache that fails (Redis down, or wedged and answering nothing) costs the public pages their
# speed, not their answer: they are built from the database for each request. Within one request
# the cache is tried once: after a failure the rest of the request goes without it, so a wedged
# Redis costs a request one socket timeout (settings.CACHES), not one per cache call. Failures are
# logged once a minute, not once a request.


def new_cache_log() -> RateLimitedLog:
    return RateLimitedLog(logger, seconds=60)


cache_trouble = new_cache_log()


def cache_failed(error: Exception) -> None:
    """Say that the shared cache failed and the request goes on without it (once a minute)."""
    cache_trouble.warning(
        "Status page: the cache failed, going on without it: %s: %s", type(error).__name__, error
    )


@dataclass
class _Attempt:
    failed: bool = False


_attempt: ContextVar[_Attempt | None] = ContextVar("status_page_cache_attempt", default=None)


@contextmanager
def _one_attempt() -> Iterator[None]:
    """The cache calls inside share one try: after the first failure the others are skipped."""
    token = _attempt.set(_Attempt())
    try:
        yield
    finally:
        _attempt.reset(token)


def _cache_call(method: Callable[..., T], *args: object) -> T | None:
    attempt = _attempt.get()
    if attempt is not None and attempt.failed:
        return None
    try:
        return method(*args)
    except Exception as error:  # whatever the backend raises; Redis raises its own errors
        if attempt is not None:
            attempt.failed = True
        cache_failed(error)
        return None


def cached(key: str, build: Callable[[], T], seconds: int = PAGE_CACHE_SECONDS) -> T:
    """What is kept in the cache under `key`, or what `build()` makes, fresh for `seconds`.

    Kept as (fresh until, value) for `seconds` + STALE_KEEP_SECONDS. A reader who finds it stale
    tries to take the rebuild lock (cache.add, which only one caller wins): the winner builds and
    stores it, the others return the stale value meanwhile, so one process rebuilds at a time.
    With nothing kept (cold, or dropped by status_page_invalidate() after a write), the reader
    builds: a write must show at once, never behind someone else's rebuild.
    """
    with _one_attempt():
        kept = _cache_call(cache.get, key)
        if kept is not None:
            fresh_until, value = kept
            if clock.time() < fresh_until:
                return value
            lock = f"{key}:rebuilding"
            if not _cache_call(cache.add, lock, 1, REBUILD_LOCK_SECONDS):
                return value  # another process is rebuilding it (or the cache just failed)
            try:
                return _build_and_keep(key, build, seconds)
            finally:
                _cache_call(cache.delete, lock)
        return _build_and_keep(key, build, seconds)


def _build_and_keep(key: str, build: Callable[[], T], seconds: int) -> T:
    # One copy for every visitor: built in the organisation's zone, never in the zone of the
    # signed-in person whose request happened to build it.
    with timezone.override(settings.TIME_ZONE):
        value = build()
    _cache_call(cache.set, key, (clock.time() + seconds, value), seconds + STALE_KEEP_SECONDS)
    return value


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


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _uptime(check_ids: list[int], days: list[date]) -> dict[tuple[int, date], UptimeDay]:
    if not check_ids:
        return {}
    today = days[-1]
    key = _uptime_key(today)
    past = _cache_call(cache.get, key)
    if past is None or not set(check_ids) <= past["checks"]:
        rows = uptime_rows(check_ids=check_ids, since=_day_start(days[0]))
        past = {"checks": set(check_ids), "rows": [r for r in rows if r["day"] < today]}
        _cache_call(cache.set, key, past, PAST_UPTIME_CACHE_SECONDS)
        rows = [r for r in rows if r["day"] >= today]
    else:
        rows = uptime_rows(check_ids=check_ids, since=_day_start(today))
    totals: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    for row in [*past["rows"], *rows]:
        total = totals[(row["health_check_id"], row["day"])]
        total[0] += row["samples"] or 0
        total[1] += row["ok"] or 0
    return {key: UptimeDay(key[1], samples, ok) for key, (samples, ok) in totals.items()}


def public_incidents(*, now: datetime, past_limit: int = PAST_SHOWN) -> list[PublicIncident]:
    """Open incidents, the `past_limit` latest resolved within HISTORY_DAYS and the latest
    resolved one, newest first, each with its published status-page updates, newest first,
    and its public post-mortem. One query."""
    return _shaped(public_incident_rows(now=now, history_days=HISTORY_DAYS, past_limit=past_limit))


def public_incident(*, number: int) -> PublicIncident | None:
    """The public incident numbered `number` with everything it published; None if there is
    none, or it is internal or a duplicate. One query."""
    incidents = _shaped(public_incident_detail_rows(number=number))
    return incidents[0] if incidents else None


def _shaped(rows: list[Mapping[str, Any]]) -> list[PublicIncident]:
    statuses = dict(Incident.Status.choices)
    phases = dict(Phase.choices)
    incidents: dict[int, PublicIncident] = {}
    # Updates that a published correction, still standing, corrects.
    corrected = {
        row["update_corrects"]
        for row in rows
        if row["update_corrects"] is not None and row["update_retracted_at"] is None
    }
    for row in rows:
        incident = incidents.get(row["number"])
        if incident is None:
            incident = incidents[row["number"]] = PublicIncident(
                number=row["number"],
                service=row["service_name"],
                status=row["status"],
                status_label=statuses.get(row["status"], row["status"]),
                status_line=row["status_line"],
                impact_html=row["impact_html"],
                summary_html=row["public_summary_html"],
                started_at=row["started_at"],
                resolved_at=row["resolved_at"],
            )
        if row["update_audience"] == Audience.PUBLIC_POSTMORTEM:
            postmortem = PublicPostmortem(
                id=row["update_id"],
                subject=row["update_subject"],
                body_html=row["update_body_html"],
                at=row["update_at"],
                retracted_at=row["update_retracted_at"],
            )
            if postmortem.retracted_at is not None:
                incident.withdrawn_postmortems.append(postmortem)
            elif incident.postmortem is None or (postmortem.at, postmortem.id) > (
                incident.postmortem.at,
                incident.postmortem.id,
            ):
                incident.postmortem = postmortem
        elif row["update_id"] is not None:
            incident.updates.append(
                PublicUpdate(
                    id=row["update_id"],
                    phase=row["update_phase"],
                    phase_label=phases.get(row["update_phase"], "Update"),
                    subject=row["update_subject"],
                    body_html=row["update_body_html"],
                    at=row["update_at"],
                    is_correction=row["update_corrects"] is not None,
                    retracted_at=row["update_retracted_at"],
                    corrected=row["update_id"] in corrected,
                )
            )
    for incident in incidents.values():
        incident.withdrawn = [u for u in incident.updates if u.retracted_at is not None]
        incident.updates = [u for u in incident.updates if u.retracted_at is None]
        incident.updates.sort(key=lambda update: (update.at, update.id), reverse=True)
        incident.withdrawn.sort(key=lambda update: (update.at, update.id), reverse=True)
    return list(incidents.values())


@dataclass(frozen=True)
class HistoryEntry:
    number: int
    heading: str
    service: str
    status: str
    status_label: str
    status_line: str
    started_at: datetime
    resolved_at: datetime | None

    @property
    def url(self) -> str:
        return incident_url(self.number)


def public_history_page(*, page: int | str | None) -> tuple[Page, list[HistoryEntry]]:
    """One page of every public incident, newest first, in brief; a page number out of range
    gives the last page, one that is not a number the first (Paginator.get_page)."""
    rows = public_history(page=page or 1, per_page=HISTORY_PER_PAGE)
    statuses = dict(Incident.Status.choices)
    entries = [
        HistoryEntry(
            number=row["number"],
            heading=row["first_subject"] or f"Disruption to {row['service_name']}",
            service=row["service_name"],
            status=row["status"],
            status_label=statuses.get(row["status"], row["status"]),
            status_line=row["status_line"],
            started_at=row["started_at"],
            resolved_at=row["resolved_at"],
        )
        for row in rows
    ]
    return rows, entries


def public_preview(incident: Incident) -> PublicIncident:
    """The incident as the status page shows it, or would once public, for the team's own page.

    Built from the incident and its communications as they are loaded (prefetched by the
    incident page), with no query of its own.
    """
    updates = [
        PublicUpdate(
            id=c.pk,
            phase=c.phase,
            phase_label=c.get_phase_display() or "Update",
            subject=c.subject,
            body_html=c.body_html,
            at=c.sent_at or c.created_at,
            is_correction=c.corrects_id is not None,
        )
        for c in incident.communications.all()
        if c.audience == Audience.STATUS_PAGE
        and c.status == Communication.Status.SENT
        and c.retracted_at is None
    ]
    updates.sort(key=lambda update: (update.at, update.id), reverse=True)
    published = incident.postmortem_state == Incident.PostmortemState.PUBLISHED
    return PublicIncident(
        number=incident.number,
        service=incident.service.name,
        status=incident.status,
        status_label=incident.get_status_display(),
        status_line=incident.status_line,
        impact_html=incident.impact_html,
        summary_html=incident.summary_html if published else "",
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        updates=updates,
    )


def status_components(groups: list[StatusGroup]) -> list[StatusComponent]:
    return [component for group in groups for component in group.components]


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


def status_page_build(*, now: datetime | None = None) -> StatusPage:
    """Everything the page shows, read in five queries (four when nothing is checked)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = [today - timedelta(days=n) for n in range(HISTORY_DAYS - 1, -1, -1)]

    checks = [_component(row, now) for row in component_rows()]
    uptime = _uptime([c.id for c in checks], days)
    for check in checks:
        check.days = [uptime.get((check.id, day)) or UptimeDay(day) for day in days]
    groups, watched = _groups({check.id: check for check in checks})
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
    page = StatusPage(
        generated_at=now,
        groups=groups,
        services=services,
        active=[i for i in incidents if i.is_open],
        past=past,
        last_incident=None if past else next((i for i in incidents if not i.is_open), None),
        maintenance_now=[w for w in windows if w.in_progress],
        maintenance_upcoming=[w for w in windows if not w.in_progress],
    )
    page.overall, page.overall_text = _overall(page, components)
    return page
