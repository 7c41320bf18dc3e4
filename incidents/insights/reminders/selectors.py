"""What the reminder emails say, and who is due one at a given moment.

Who: the beat runs every hour; a person is due when HINDSIGHT_DIGEST_HOUR in their own zone
(core.models.Profile.time_zone, UTC without a profile) passed since the previous run, on the
local day it is now. Everyone in one zone is due together, so the people are read per zone, a
query each, not per person.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.models import DEFAULT_TIME_ZONE, Profile
from core.roles import Role
from core.selectors import people_active
from incidents.action_items.selectors import (
    OPEN_ITEM_STATUSES,
    action_items_blocking_deployments,
    action_items_open_for,
)
from incidents.models import ActionItem, Incident, Severity

# A digest lists what is overdue and what falls due within this many days after today.
DIGEST_DAYS_AHEAD = 3
# An email is read, not scrolled: past this many rows it says how many more and links the page.
DIGEST_ITEMS_SHOWN = 30
SUMMARY_ROWS_SHOWN = 25
# A post-mortem in review for longer than this is stuck.
REVIEW_STALE_DAYS = 7
# A SEV1 or SEV2 should have its post-mortem published within this many business days of
# being resolved.
PUBLISH_BUSINESS_DAYS = 5
SEVERE = (Severity.SEV1, Severity.SEV2)


@dataclass(frozen=True)
class Due:
    """The zones whose reminders fell due in a stretch of time: for each, the local date of its
    digest, and the Monday of the local week of its summary."""

    digests: dict[str, date]
    summaries: dict[str, date]


def _local_moment(day: date, hour: int, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone)


def reminders_due_between(*, since: datetime, now: datetime, hour: int, weekday: int) -> Due:
    """The zones people chose whose digest hour (and summary weekday at that hour) fell in
    (`since`, `now`], counting only the local day (and week) `now` is in: a run after an outage
    catches up today's digest, never one for a day already past. One query: the distinct
    zones, a handful however many people there are."""
    names = set(Profile.objects.values_list("time_zone", flat=True).distinct())
    names.add(DEFAULT_TIME_ZONE)  # people who never chose one
    digests: dict[str, date] = {}
    summaries: dict[str, date] = {}
    for name in sorted(names):
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue  # a zone this server no longer knows: nobody can be placed in it
        today = now.astimezone(zone).date()
        if since < _local_moment(today, hour, zone) <= now:
            digests[name] = today
        monday = today - timedelta(days=today.weekday())
        if since < _local_moment(monday + timedelta(days=weekday), hour, zone) <= now:
            summaries[name] = monday
    return Due(digests=digests, summaries=summaries)


def _in_zone(name: str) -> Q:
    in_zone = Q(profile__time_zone=name)
    if name == DEFAULT_TIME_ZONE:
        in_zone |= Q(profile__isnull=True)
    return in_zone


def _wants_reminders() -> Q:
    return Q(profile__isnull=True) | Q(profile__reminder_emails=True)


def reminded_people() -> QuerySet[User]:
    """Active people with an address who have not turned reminder emails off."""
    return people_active().filter(_wants_reminders()).exclude(email="")


def digest_due_soon(today: date) -> date:
    return today + timedelta(days=DIGEST_DAYS_AHEAD)


def digest_recipients(*, zone: str, today: date) -> QuerySet[User]:
    """The people in `zone` who own an open item overdue or due within DIGEST_DAYS_AHEAD of
    `today`: the others would get an empty email, and get none."""
    owes = ActionItem.objects.filter(
        owner=OuterRef("pk"), status__in=OPEN_ITEM_STATUSES, due_date__lte=digest_due_soon(today)
    )
    return reminded_people().filter(_in_zone(zone)).filter(Exists(owes)).order_by("pk")


def summary_recipients(*, zone: str) -> QuerySet[User]:
    """The admins (the admin role, or superusers) in `zone`."""
    admin_members = Group.objects.filter(name=Role.ADMIN.value).values("user")
    return (
        reminded_people()
        .filter(_in_zone(zone))
        .filter(Q(is_superuser=True) | Q(pk__in=admin_members))
        .order_by("pk")
    )


def digest_items(*, person: User, today: date) -> QuerySet[ActionItem]:
    """The person's open items overdue or due within DIGEST_DAYS_AHEAD days, soonest first;
    each with `overdue`. Done and won't-do items, undated ones and later ones are not listed."""
    return action_items_open_for(user=person, today=today).filter(
        due_date__lte=digest_due_soon(today)
    )


@dataclass(frozen=True)
class Listed:
    """The first rows of a list, and how many there are in all."""

    rows: list
    count: int

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


@dataclass(frozen=True)
class WeeklySummary:
    blocking: Listed  # open action items that block deployments
    stale_reviews: Listed  # post-mortems in review for more than REVIEW_STALE_DAYS
    unpublished: Listed  # SEV1/SEV2 without a published post-mortem PUBLISH_BUSINESS_DAYS on

    @property
    def empty(self) -> bool:
        return not (self.blocking.count or self.stale_reviews.count or self.unpublished.count)


def business_days_after(moment: datetime, days: int) -> datetime:
    """`moment` plus `days` working days (Monday to Friday) in the organisation's zone."""
    at = moment.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))
    counted = 0
    while counted < days:
        at += timedelta(days=1)
        if at.weekday() < 5:
            counted += 1
    return at


def _listed(rows: QuerySet, shown: int) -> Listed:
    return Listed(rows=list(rows[:shown]), count=rows.count())


def review_started_at(incident_ids: list[int]) -> dict[int, datetime]:
    """When each of these incidents (in review now) last went into review, from its history.

    The history holds the incident's every recorded state; the current stay in review began
    with the first "in review" record after the last record of another state. One query for
    all of them. An incident without history (written by bulk SQL) is left out."""
    history = (
        Incident.history.model.objects.filter(id__in=incident_ids)
        .order_by("id", "history_date", "history_id")
        .values_list("id", "history_date", "postmortem_state")
    )
    started: dict[int, datetime] = {}
    for pk, at, state in history:
        if state != Incident.PostmortemState.IN_REVIEW:
            started.pop(pk, None)
        else:
            started.setdefault(pk, at)
    return started


def postmortems_stuck_in_review(*, now: datetime, shown: int = SUMMARY_ROWS_SHOWN) -> Listed:
    """Post-mortems in review since more than REVIEW_STALE_DAYS ago, longest waiting first;
    each with `in_review_since`. Read whole: a team has a few in review at a time, not years."""
    in_review = list(
        Incident.objects.counted()
        .filter(postmortem_state=Incident.PostmortemState.IN_REVIEW)
        .select_related("service")
    )
    since = review_started_at([incident.pk for incident in in_review])
    cutoff = now - timedelta(days=REVIEW_STALE_DAYS)
    stuck = []
    for incident in in_review:
        # Without history the last change to the row is the best that is known.
        incident.in_review_since = since.get(incident.pk, incident.updated_at)  # type: ignore[attr-defined]
        if incident.in_review_since <= cutoff:  # type: ignore[attr-defined]
            stuck.append(incident)
    stuck.sort(key=lambda incident: (incident.in_review_since, incident.number))  # type: ignore[attr-defined]
    return Listed(rows=stuck[:shown], count=len(stuck))


def severe_unpublished(*, now: datetime, shown: int = SUMMARY_ROWS_SHOWN) -> Listed:
    """Resolved SEV1 and SEV2 incidents whose post-mortem is not published PUBLISH_BUSINESS_DAYS
    business days after they were resolved, the most recently resolved first.

    Five business days are seven calendar days from a weekday (five or six from a weekend):
    what was resolved more than seven days ago is late for certain, counted by the database;
    the few resolved five to seven days ago are judged one by one."""
    late = (
        Incident.objects.counted()
        .filter(severity__in=SEVERE, status=Incident.Status.RESOLVED)
        .exclude(postmortem_state=Incident.PostmortemState.PUBLISHED)
        .select_related("service")
        .order_by("-resolved_at", "-number")
    )
    certain = late.filter(resolved_at__lte=now - timedelta(days=7))
    recent = [
        incident
        for incident in late.filter(
            resolved_at__gt=now - timedelta(days=7), resolved_at__lte=now - timedelta(days=5)
        )
        if incident.resolved_at is not None
        and business_days_after(incident.resolved_at, PUBLISH_BUSINESS_DAYS) <= now
    ]
    rows = recent[:shown] + list(certain[: max(0, shown - len(recent))])
    return Listed(rows=rows, count=len(recent) + certain.count())


def weekly_summary(*, now: datetime) -> WeeklySummary:
    return WeeklySummary(
        blocking=_listed(action_items_blocking_deployments(), SUMMARY_ROWS_SHOWN),
        stale_reviews=postmortems_stuck_in_review(now=now),
        unpublished=severe_unpublished(now=now),
    )
