"""Similar past incidents, with the action items they left open.

An earlier incident is similar when:

- it hit the same service, and a health check that failed in this incident failed in it too
  (raw results, or the hourly roll-ups that outlive them); or
- it hit the same service, and one of its causes has a category one of this incident's causes
  has (Cause.category; uncategorised causes match nothing); or
- its text is close: its title shares at least half of the distinctive words of this one's,
  in any of their forms ("crashed", "crashes"), among the candidates the search
  (incidents.insights.search) finds for them. On PostgreSQL that is its full-text search,
  which also finds a word in its other forms; SQLite has none, and its candidates are the
  incidents whose heading holds one of the words as written.

The same cause category on another service is a weak signal, and never enough alone: there are
nine categories, so across a whole organisation "a configuration mistake" matches most of its
history. It only ranks an incident found another way (a close title elsewhere) above the ones
without it: each strong reason counts one, a category shared across services half.

Bounded whatever the history: at most SIMILAR_SHOWN incidents, found among the latest
SERVICE_SCANNED of the service and the search's best CANDIDATES, in at most five queries. The
shared category rides along as a subquery of each of them, not a query of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import (
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from deployments.models import CheckResult, CheckResultHourly
from incidents.action_items.selectors import OPEN_ITEM_STATUSES
from incidents.insights import search
from incidents.models import ActionItem, Cause, Incident

SIMILAR_SHOWN = 5
# The service's latest incidents whose health and causes are compared; older ones are not looked
# at.
SERVICE_SCANNED = 200
# Checks often fail a while before anyone declares an incident, and an open incident is
# compared over its first day.
FAILING_LEAD = timedelta(hours=1)
OPEN_REACH = timedelta(hours=24)
# The open items shown under each similar incident; the rest are counted.
ITEMS_SHOWN = 10
# Too common to say two incidents are alike; searched, they would find everything.
_COMMON = """a an and are as at be been but by for from has have in into is it its no not of on or
our the their this that to was were when while with after before during again"""
STOP_WORDS = frozenset(_COMMON.split())
# Two titles are close when they share at least half of the first one's distinctive words,
# and this many at least: one word ("Outage") would call every incident that uses it similar.
MIN_WORDS = 2
# The search's best matches compared word by word with the title.
CANDIDATES = 100

CHECKS = "checks"
TEXT = "text"
CATEGORY = "category"  # the same service, and a cause of the same category
CATEGORY_ELSEWHERE = "category elsewhere"  # another service's: weak, see the docstring
WEIGHTS = {CHECKS: 1.0, TEXT: 1.0, CATEGORY: 1.0, CATEGORY_ELSEWHERE: 0.5}
# The subquery annotated on every candidate: the first category it shares with this incident.
SHARED_CATEGORY = "shared_category"


@dataclass
class Similar:
    incident: Incident
    reasons: set[str] = field(default_factory=set)
    open_items: list[ActionItem] = field(default_factory=list)
    open_count: int = 0
    # A cause category it shares with the incident looked at ("" for none).
    category: str = ""

    @property
    def same_checks(self) -> bool:
        return CHECKS in self.reasons

    @property
    def close_text(self) -> bool:
        return TEXT in self.reasons

    @property
    def same_category(self) -> bool:
        return CATEGORY in self.reasons

    @property
    def category_elsewhere(self) -> bool:
        return CATEGORY_ELSEWHERE in self.reasons

    @property
    def category_label(self) -> str:
        return str(Cause.Category(self.category).label) if self.category else ""

    @property
    def score(self) -> float:
        return sum(WEIGHTS[reason] for reason in self.reasons)

    @property
    def more_items(self) -> int:
        return self.open_count - len(self.open_items)


def _window(incident: Incident, now: datetime) -> tuple[datetime, datetime]:
    end = incident.resolved_at or min(incident.started_at + OPEN_REACH, now)
    return incident.started_at - FAILING_LEAD, max(end, incident.started_at)


def failing_checks(incident: Incident, *, now: datetime | None = None) -> set[int]:
    """The health checks of the incident's service that failed around it (outside maintenance),
    from raw results and from hourly roll-ups past retention; one query."""
    start, end = _window(incident, now or timezone.now())
    raw = CheckResult.objects.filter(
        service_id=incident.service_id,
        ok=False,
        maintenance=False,
        taken_at__gte=start,
        taken_at__lte=end,
    ).values_list("health_check_id", flat=True)
    hourly = CheckResultHourly.objects.filter(
        service_id=incident.service_id,
        hour__gt=start - timedelta(hours=1),
        hour__lte=end,
        ok_count__lt=F("samples"),
    ).values_list("health_check_id", flat=True)
    return set(raw.order_by().union(hourly.order_by()))


def _shared_category(incident: Incident) -> Subquery:
    """For an outer incident: the first cause category it shares with `incident`, else null."""
    mine = Cause.objects.filter(incident_id=incident.pk).exclude(category="").values("category")
    return Subquery(
        Cause.objects.filter(incident_id=OuterRef("pk"), category__in=mine)
        .order_by("category")
        .values("category")[:1]
    )


def _earlier(incident: Incident) -> QuerySet[Incident]:
    """Incidents that started before this one, each with the cause category it shares with this
    one (SHARED_CATEGORY); duplicates are told by their originals."""
    return (
        Incident.objects.counted()
        .filter(started_at__lt=incident.started_at)
        .exclude(pk=incident.pk)
        .select_related("service")
        .annotate(**{SHARED_CATEGORY: _shared_category(incident)})
    )


def _latest_of_service(incident: Incident) -> QuerySet[Incident, int]:
    return (
        Incident.objects.filter(service_id=incident.service_id, started_at__lt=incident.started_at)
        .order_by("-started_at")
        .values_list("pk", flat=True)[:SERVICE_SCANNED]
    )


def _sharing_checks(incident: Incident, checks: set[int]) -> list[Incident]:
    """Earlier incidents of the service in whose window one of `checks` failed too."""
    latest = _latest_of_service(incident)
    window_end = ExpressionWrapper(
        Coalesce(F("resolved_at"), F("started_at") + OPEN_REACH), output_field=DateTimeField()
    )
    window_start = ExpressionWrapper(F("started_at") - FAILING_LEAD, output_field=DateTimeField())
    failed_raw = CheckResult.objects.filter(
        service_id=OuterRef("service_id"),
        health_check_id__in=checks,
        ok=False,
        maintenance=False,
        taken_at__gte=OuterRef("window_start"),
        taken_at__lte=OuterRef("window_end"),
    )
    failed_hourly = CheckResultHourly.objects.filter(
        service_id=OuterRef("service_id"),
        health_check_id__in=checks,
        ok_count__lt=F("samples"),
        hour__gt=OuterRef("window_start") - timedelta(hours=1),
        hour__lte=OuterRef("window_end"),
    )
    return list(
        _earlier(incident)
        .filter(pk__in=latest)
        .alias(window_start=window_start, window_end=window_end)
        .filter(Q(Exists(failed_raw)) | Q(Exists(failed_hourly)))
        .order_by("-started_at", "-number")[:SIMILAR_SHOWN]
    )


def _sharing_category(incident: Incident) -> list[Incident]:
    """Earlier incidents of the service with a cause of a category this one's causes have."""
    return list(
        _earlier(incident)
        .filter(pk__in=_latest_of_service(incident), **{f"{SHARED_CATEGORY}__isnull": False})
        .order_by("-started_at", "-number")[:SIMILAR_SHOWN]
    )


def title_words(title: str) -> list[str]:
    """The distinctive words of a title: no stop words, no one- or two-letter words, nothing a
    search would read as an operator (quotes, a leading minus), each once, at most
    SEARCH_MAX_TERMS of them."""
    words: list[str] = []
    for word in re.findall(r"\w+", title.lower()):
        if len(word) > 2 and word not in STOP_WORDS and word not in words:
            words.append(word)
    return words[: search.SEARCH_MAX_TERMS]


_SUFFIXES = ("ments", "ment", "ings", "ing", "ies", "ed", "es", "s")


def stem(word: str) -> str:
    """A word without its commonest English endings ("crashed", "crashes" and "crashing" are
    all "crash"): enough to compare two titles, not a linguist's stemmer."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def close_titles(words: list[str], other_title: str) -> bool:
    """Whether another title shares at least half of `words` (and two at least), by stem."""
    mine = {stem(word) for word in words}
    theirs = {stem(word) for word in title_words(other_title)}
    shared = len(mine & theirs)
    return shared >= MIN_WORDS and 2 * shared >= len(mine)


def _close_text(incident: Incident) -> list[Incident]:
    """Earlier incidents whose title is close to this one's. The candidates come from the
    search: on PostgreSQL a full-text search for any of the title's words (ranked with a match
    in the heading first), on SQLite the incidents whose heading holds one of them as written;
    the closest CANDIDATES of them are then compared word by word."""
    words = title_words(incident.title)
    if len(words) < MIN_WORDS:
        return []
    earlier = _earlier(incident)
    if search.full_text():
        candidates = search.incident_search(earlier, " or ".join(words))
    else:
        in_heading = Q()
        for word in words:
            in_heading |= Q(search_document__heading__icontains=word)
        candidates = earlier.filter(in_heading).order_by("-started_at", "-number")
    close = [other for other in candidates[:CANDIDATES] if close_titles(words, other.title)]
    return close[:SIMILAR_SHOWN]


def _attach_open_items(found: list[Similar]) -> None:
    by_incident = {similar.incident.pk: similar for similar in found}
    items = (
        ActionItem.objects.filter(incident_id__in=list(by_incident), status__in=OPEN_ITEM_STATUSES)
        .select_related("owner")
        .order_by("incident_id", F("due_date").asc(nulls_last=True), "order", "id")
    )
    for item in items:
        similar = by_incident[item.incident_id]
        similar.open_count += 1
        if len(similar.open_items) < ITEMS_SHOWN:
            similar.open_items.append(item)


def similar_incidents(incident: Incident, *, now: datetime | None = None) -> list[Similar]:
    """At most SIMILAR_SHOWN earlier incidents like this one (see the module's docstring), those
    alike in more ways first (by WEIGHTS), then the newest; each with its open action items."""
    found: dict[int, Similar] = {}

    def add(other: Incident, reason: str) -> None:
        similar = found.setdefault(other.pk, Similar(incident=other))
        similar.reasons.add(reason)
        shared = getattr(other, SHARED_CATEGORY)
        if shared:
            similar.category = shared
            same_service = other.service_id == incident.service_id
            similar.reasons.add(CATEGORY if same_service else CATEGORY_ELSEWHERE)

    checks = failing_checks(incident, now=now)
    if checks:
        for other in _sharing_checks(incident, checks):
            add(other, CHECKS)
    for other in _sharing_category(incident):
        add(other, CATEGORY)
    for other in _close_text(incident):
        add(other, TEXT)
    ranked = sorted(
        found.values(),
        key=lambda s: (s.score, s.incident.started_at, s.incident.number),
        reverse=True,
    )[:SIMILAR_SHOWN]
    if ranked:
        _attach_open_items(ranked)
    return ranked
