"""Correlation reads: what shipped or changed, and how healthy a service was, around a stretch
of time.

Written for the incident page, but in terms of services and times only: deployments knows
nothing about incidents. Re-exported from deployments.selectors, where reads are looked for.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from string import Formatter

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from deployments.models import (
    Change,
    CheckResult,
    Deployment,
    Environment,
    HealthChange,
    HealthSnapshot,
    HealthStatus,
    Service,
)

# Degraded pages people as much as down does: both count as failing.
FAILING_STATUSES = (HealthStatus.DOWN, HealthStatus.DEGRADED)
# Only scheduled snapshots measure every check; a one-check "run now" says nothing overall.
_SCHEDULED = HealthSnapshot.Kind.SCHEDULED
# Deployments that got out: a failed one never served traffic.
_SHIPPED = (Deployment.Status.SUCCEEDED, Deployment.Status.ROLLED_BACK)
ROLLBACK_PLACEHOLDERS = ("external_id", "commit")


def correlation_lead() -> timedelta:
    """How far before a moment deployments are looked at (HINDSIGHT_CORRELATION_WINDOW_HOURS)."""
    return timedelta(hours=settings.HINDSIGHT_CORRELATION_WINDOW_HOURS)


def good_for() -> timedelta:
    """How long a deployment must stay healthy to count as good (HINDSIGHT_LAST_KNOWN_GOOD_MINUTES)."""
    return timedelta(minutes=settings.HINDSIGHT_LAST_KNOWN_GOOD_MINUTES)


def _scheduled(service: Service | int) -> QuerySet[HealthSnapshot]:
    return HealthSnapshot.objects.filter(service=service, kind=_SCHEDULED)


def deployments_around(
    *,
    service: Service,
    start: datetime,
    end: datetime | None = None,
    before: timedelta | None = None,
) -> QuerySet[Deployment]:
    """Deployments of the service that started from `before` ahead of `start` (default: the
    correlation window) up to `end` (default: now), oldest first, with what a row shows."""
    lead = correlation_lead() if before is None else before
    return (
        Deployment.objects.filter(
            environment__service=service,
            started_at__gte=start - lead,
            started_at__lte=end or timezone.now(),
        )
        .select_related("environment", "rollback_of")
        .order_by("started_at", "id")
    )


def health_changes_between(
    *, service: Service, start: datetime, end: datetime
) -> QuerySet[HealthChange]:
    """Served by healthchange_service_time_idx."""
    return HealthChange.objects.filter(
        service=service, changed_at__gte=start, changed_at__lte=end
    ).order_by("changed_at", "id")


def health_turned_red(
    *, service: Service, before: datetime, until: datetime | None = None
) -> datetime | None:
    """When the service's health turned red for the trouble going on at `before`.

    The first change to down or degraded after its last change back to up at or before
    `before`. Without change rows (data older than the health runtime), the first failing
    scheduled snapshot after the last healthy one. A red turn up to `until` (default `before`)
    counts, for incidents declared before the checks noticed. Nothing older than the correlation
    window is looked at. Two queries at most.
    """
    since, until = before - correlation_lead(), until or before
    recovered = HealthChange.objects.filter(
        service=service, to_status=HealthStatus.UP, changed_at__gte=since, changed_at__lte=before
    ).order_by("-changed_at")
    turned = (
        HealthChange.objects.filter(
            service=service,
            to_status__in=FAILING_STATUSES,
            changed_at__gte=since,
            changed_at__lte=until,
        )
        .filter(Q(changed_at__gt=Subquery(recovered.values("changed_at")[:1])) | ~Exists(recovered))
        .order_by("changed_at")
        .values_list("changed_at", flat=True)
        .first()
    )
    if turned is not None:
        return turned
    healthy = (
        _scheduled(service)
        .filter(status=HealthStatus.UP, taken_at__gte=since, taken_at__lte=before)
        .order_by("-taken_at")
    )
    return (
        _scheduled(service)
        .filter(status__in=FAILING_STATUSES, taken_at__gte=since, taken_at__lte=until)
        .filter(Q(taken_at__gt=Subquery(healthy.values("taken_at")[:1])) | ~Exists(healthy))
        .order_by("taken_at")
        .values_list("taken_at", flat=True)
        .first()
    )


def suspect_deployment(
    *, service: Service, before: datetime, until: datetime | None = None
) -> Deployment | None:
    """The last deployment that got out before the service's health turned red.

    Red is health_turned_red(); when health never turned, `before` itself. Production is
    suspected ahead of other environments: a preview deployment never broke what users saw.
    Only deployments within the correlation window qualify: a months-old deployment is history,
    not a suspect. Three queries at most.
    """
    red_at = health_turned_red(service=service, before=before, until=until) or before
    return _last_shipped(service=service, red_at=red_at)


def _production_first(environment: str) -> Case:
    """0 for production and for what names no environment (the whole service), else 1."""
    return Case(
        When(**{f"{environment}__kind": Environment.Kind.PRODUCTION}, then=Value(0)),
        When(**{f"{environment}__isnull": True}, then=Value(0)),
        default=Value(1),
    )


def _last_shipped(*, service: Service, red_at: datetime) -> Deployment | None:
    return (
        Deployment.objects.filter(
            environment__service=service,
            status__in=_SHIPPED,
            finished_at__lte=red_at,
            finished_at__gte=red_at - correlation_lead(),
        )
        .select_related("environment", "rollback_of")
        .order_by(_production_first("environment"), "-finished_at", "-id")
        .first()
    )


def changes_around(
    *,
    service: Service,
    start: datetime,
    end: datetime | None = None,
    before: timedelta | None = None,
) -> QuerySet[Change]:
    """Changes of the service from `before` ahead of `start` (default: the correlation window)
    up to `end` (default: now), oldest first, as deployments_around() for deployments. Served
    by change_service_at_idx."""
    lead = correlation_lead() if before is None else before
    return (
        Change.objects.filter(service=service, at__gte=start - lead, at__lte=end or timezone.now())
        .select_related("environment")
        .order_by("at", "id")
    )


def suspect_change(
    *, service: Service, before: datetime, until: datetime | None = None
) -> Change | None:
    """The last change that took effect before the service's health turned red, within the
    correlation window, as suspect_deployment() picks a deployment: red is health_turned_red()
    or `before`, and a change to production or to the whole service is suspected ahead of one
    to another environment. Three queries at most."""
    red_at = health_turned_red(service=service, before=before, until=until) or before
    return _last_change(service=service, red_at=red_at)


def _last_change(*, service: Service, red_at: datetime) -> Change | None:
    return (
        Change.objects.filter(service=service, at__lte=red_at, at__gte=red_at - correlation_lead())
        .select_related("environment")
        .order_by(_production_first("environment"), "-at", "-id")
        .first()
    )


@dataclass(frozen=True)
class WhatChanged:
    """One thing that changed a service at a moment: a deployment or a recorded change."""

    at: datetime
    deployment: Deployment | None = None
    change: Change | None = None


def merge_changes(
    deployments: Iterable[Deployment], changes: Iterable[Change]
) -> list[WhatChanged]:
    """Deployments (by when they started) and changes (by when they took effect) in one list,
    oldest first; at the same moment deployments come first."""
    rows = [WhatChanged(at=d.started_at, deployment=d) for d in deployments if d.started_at]
    rows += [WhatChanged(at=c.at, change=c) for c in changes]
    return sorted(rows, key=lambda row: row.at)


def what_changed(*, service: Service, start: datetime, end: datetime) -> list[WhatChanged]:
    """Every deployment that started and every change that took effect in [start, end], oldest
    first. Two queries. What a timeline drafted from the facts reads."""
    deployments = deployments_around(service=service, start=start, end=end, before=timedelta(0))
    changes = changes_around(service=service, start=start, end=end, before=timedelta(0))
    return merge_changes(deployments, changes)


def last_known_good(
    *, environment: Environment, before: datetime | None = None
) -> Deployment | None:
    """The latest deployment of the environment known to work, as of `before` (default: now).

    Known to work means: it succeeded; its smoke run after deploying passed (health healthy);
    and it stayed healthy for HINDSIGHT_LAST_KNOWN_GOOD_MINUTES after it finished, which we
    take only from evidence: at least one healthy scheduled snapshot of the service in that
    span and no failing one. A deployment nothing measured (or one followed so closely by the
    next that the next one's failures fall in its span) does not qualify; a rollback target has
    to be proven, not merely unrefuted. As of `before`, the span must have ended by then, and a
    deployment rolled back later still counts as it was at the time. One query.
    """
    moment = before or timezone.now()
    span = good_for()
    after = _scheduled(environment.service_id).filter(
        taken_at__gt=OuterRef("finished_at"), taken_at__lte=OuterRef("finished_at") + span
    )
    rolled_back_later = Deployment.objects.filter(rollback_of=OuterRef("pk"), started_at__gt=moment)
    return (
        Deployment.objects.filter(
            environment=environment,
            health=Deployment.Health.HEALTHY,
            finished_at__lte=moment - span,
        )
        .filter(
            Q(status=Deployment.Status.SUCCEEDED)
            | Q(status=Deployment.Status.ROLLED_BACK) & Exists(rolled_back_later)
        )
        .filter(
            Exists(after.filter(status=HealthStatus.UP)),
            ~Exists(after.filter(status__in=FAILING_STATUSES)),
        )
        .select_related("environment")
        .order_by("-finished_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class RollbackCommand:
    text: str
    rendered: bool
    problem: str = ""


def rollback_command(*, deployment: Deployment) -> RollbackCommand | None:
    """The environment's rollback command for this deployment, or None when it has none.

    Only `{external_id}` and `{commit}` are filled, shell-quoted (an id is CI's text, and this
    command gets pasted into a terminal). Any other placeholder, a format spec or an unbalanced
    brace leaves the template as it is, with the problem said, instead of failing the page.
    """
    template = deployment.environment.rollback_command_template
    if not template:
        return None
    values = {"external_id": deployment.external_id, "commit": deployment.commit_sha}
    known = ", ".join(f"{{{name}}}" for name in ROLLBACK_PLACEHOLDERS)
    parts = []
    try:
        for literal, name, spec, conversion in Formatter().parse(template):
            parts.append(literal)
            if name is None:
                continue
            if name not in values or spec or conversion:
                shown = "{" + name + (f"!{conversion}" if conversion else "") + "}"
                return RollbackCommand(
                    template, False, f"Unknown placeholder {shown}; known: {known}."
                )
            parts.append(shlex.quote(values[name]))
    except ValueError as error:
        return RollbackCommand(template, False, f"The template does not parse: {error}.")
    return RollbackCommand("".join(parts), True)


@dataclass(frozen=True)
class CheckFailures:
    """One check's failures in a stretch of time."""

    health_check_id: int
    name: str
    first_failed_at: datetime
    last_failed_at: datetime
    count: int
    last_error: str


@dataclass(frozen=True)
class Bracketing:
    before: HealthSnapshot | None  # the last healthy snapshot at or before the start
    failing: list[CheckFailures]  # per check, in the checks' order
    after: HealthSnapshot | None  # the first healthy snapshot after the last failure

    @property
    def first_failed_at(self) -> datetime | None:
        return min((f.first_failed_at for f in self.failing), default=None)

    @property
    def last_failed_at(self) -> datetime | None:
        return max((f.last_failed_at for f in self.failing), default=None)


def snapshots_bracketing(
    *, service: Service, start: datetime, end: datetime | None = None
) -> Bracketing:
    """The health around [start, end]: the last healthy snapshot before it, the failures in it
    summarized per check, and the first healthy snapshot after them.

    Failures count from that last healthy snapshot on, since checks often fail before anyone
    declares an incident. Three queries, each a range on a (service, taken_at) index, however
    many snapshots there are.
    """
    end = end or timezone.now()
    before = (
        _scheduled(service)
        .filter(
            status=HealthStatus.UP, taken_at__lte=start, taken_at__gte=start - correlation_lead()
        )
        .order_by("-taken_at")
        .first()
    )
    window = CheckResult.objects.filter(
        service=service,
        ok=False,
        # A failure inside a maintenance window was expected; it is not the incident's.
        maintenance=False,
        taken_at__gt=before.taken_at if before else start,
        taken_at__lte=end,
    )
    last_error = window.filter(health_check=OuterRef("health_check_id")).order_by("-taken_at")
    rows = (
        window.values("health_check_id", "health_check__name", "health_check__order")
        .annotate(
            first=Min("taken_at"),
            last=Max("taken_at"),
            count=Count("id"),
            last_error=Subquery(last_error.values("error")[:1]),
        )
        .order_by("health_check__order", "health_check__name")
    )
    failing = [
        CheckFailures(
            health_check_id=row["health_check_id"],
            name=row["health_check__name"],
            first_failed_at=row["first"],
            last_failed_at=row["last"],
            count=row["count"],
            last_error=row["last_error"] or "",
        )
        for row in rows
    ]
    recovered_from = max([start, *(f.last_failed_at for f in failing)])
    after = (
        _scheduled(service)
        .filter(status=HealthStatus.UP, taken_at__gt=recovered_from)
        .order_by("taken_at")
        .first()
    )
    return Bracketing(before=before, failing=failing, after=after)


@dataclass(frozen=True)
class Correlation:
    """Everything the incident page and the API show about the system around an incident."""

    start: datetime
    end: datetime
    window_start: datetime
    deployments: list[Deployment]
    suspect: Deployment | None
    last_known_good: Deployment | None
    rollback: RollbackCommand | None
    bracketing: Bracketing
    changes: list[Change]
    suspect_change: Change | None

    @property
    def what_changed(self) -> list[WhatChanged]:
        """The deployments and changes together, oldest first."""
        return merge_changes(self.deployments, self.changes)


def correlation(*, service: Service, start: datetime, end: datetime | None = None) -> Correlation:
    """Deployments and changes in the correlation window, the suspects among them (a deployment
    and a change), the last known good as of `start` in the suspect's environment (else
    production) and the health around [start, end].

    A fixed number of queries (about ten), whatever the number of deployments, changes and
    snapshots.
    """
    end = end or timezone.now()
    red_at = health_turned_red(service=service, before=start, until=end) or start
    suspect = _last_shipped(service=service, red_at=red_at)
    environment = suspect.environment if suspect else None
    if environment is None:
        environment = (
            Environment.objects.select_related("service")
            .filter(service=service, kind=Environment.Kind.PRODUCTION)
            .order_by("name")
            .first()
        )
    good = last_known_good(environment=environment, before=start) if environment else None
    return Correlation(
        start=start,
        end=end,
        window_start=start - correlation_lead(),
        deployments=list(deployments_around(service=service, start=start, end=end)),
        suspect=suspect,
        last_known_good=good,
        rollback=rollback_command(deployment=good) if good else None,
        bracketing=snapshots_bracketing(service=service, start=start, end=end),
        changes=list(changes_around(service=service, start=start, end=end)),
        suspect_change=_last_change(service=service, red_at=red_at),
    )
