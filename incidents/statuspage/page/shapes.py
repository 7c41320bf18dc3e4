"""The status page's data shapes: what a template or feed is handed, built by the other modules
of this package from the selectors' rows; and how far back the page looks.

Frozen where a value never changes once read; the page's components and incidents are filled in
as their rows arrive, so they are not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from django.urls import reverse

from incidents.models import COMPONENT_STATUS_RANK, ComponentStatus, Incident
from incidents.models.incident import REFERENCE_PREFIX

HISTORY_DAYS = 90
# Past incidents on the page, at most: the rest are a link away, on the history pages.
PAST_SHOWN = 10
# Open incidents on the page, at most: on a bad day the page stays small, and says how many more
# there are, on the history pages.
ACTIVE_SHOWN = 10
HISTORY_PER_PAGE = 25


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


@dataclass(frozen=True)
class DayBar:
    uptime: UptimeDay
    status: str | None  # the worst of the day, None before the component's history
    status_label: str

    @property
    def marked(self) -> bool:
        """Worth a mark above the bar: a day that was not all operational."""
        return self.status is not None and self.status != ComponentStatus.OPERATIONAL


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
    # The days shown, oldest first, and the worst status it had on each; None before its
    # history begins.
    history_days: list[date] = field(default_factory=list)
    day_statuses: list[str | None] = field(default_factory=list)

    @property
    def days(self) -> list[UptimeDay]:
        return _merged_days(self.checks)

    @property
    def has_history(self) -> bool:
        return any(status is not None for status in self.day_statuses)

    @property
    def bars(self) -> list[DayBar]:
        """One per day shown: its checks' uptime beside the worst status people gave it."""
        days = self.days or [UptimeDay(day) for day in self.history_days]
        statuses = self.day_statuses or [None] * len(days)
        labels = dict(ComponentStatus.choices)
        return [
            DayBar(day, status, labels[status] if status else "")
            for day, status in zip(days, statuses, strict=True)
        ]

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
    # The newest moment the page's facts come from (a check, a status, an update), not when it
    # was built: a rebuild that finds nothing new makes the same bytes and the same ETag.
    as_of: datetime | None
    groups: list[StatusGroup]
    # The checks no component watches, by service, shown as before components.
    services: list[tuple[str, list[Component]]]
    active: list[PublicIncident]
    # The open incidents beyond ACTIVE_SHOWN, not listed.
    active_more: int
    past: list[PublicIncident]
    # Shown when nothing was resolved within HISTORY_DAYS, so the page still says when the last
    # incident was instead of implying there never was one.
    last_incident: PublicIncident | None
    maintenance_now: list[MaintenanceWindow]
    maintenance_upcoming: list[MaintenanceWindow]
    overall: str = ""
    overall_text: str = ""


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


def status_components(groups: list[StatusGroup]) -> list[StatusComponent]:
    return [component for group in groups for component in group.components]
