"""Where to roll back to: the last known good deployment of an environment, and the
environment's rollback command filled in for it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from string import Formatter

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from deployments.correlation._common import FAILING_STATUSES, _scheduled
from deployments.models import Deployment, Environment, HealthStatus

ROLLBACK_PLACEHOLDERS = ("external_id", "commit")


def good_for() -> timedelta:
    """How long a deployment must stay healthy to count as good (HINDSIGHT_LAST_KNOWN_GOOD_MINUTES)."""
    return timedelta(minutes=settings.HINDSIGHT_LAST_KNOWN_GOOD_MINUTES)


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
