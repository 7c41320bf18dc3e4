"""The gate rules the system side answers for itself. incidents adds `blocking_action_items`.

Each function reads the request from the GateContext and at most a couple of rows from the
database, whatever the size of the manifest: artifacts are looked up in memory by path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db.models import OuterRef, Q, Subquery

from deployments.gate.registry import GateContext, Outcome, RuleOutcome, register
from deployments.models import (
    Artifact,
    CheckResult,
    Deployment,
    Environment,
    GateRule,
    HealthStatus,
)
from deployments.selectors import health_freshness, probe_interval


def _bytes(size: int) -> str:
    return f"{size:,} bytes"


def _short(commit: str) -> str:
    return commit[:7]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _same_commit(a: str, b: str) -> bool:
    # CI may send a short commit one time and the full one the next.
    a, b = a.lower(), b.lower()
    return a.startswith(b) or b.startswith(a)


@register(GateRule.Kind.REQUIRED_ARTIFACT)
def required_artifact(rule: GateRule, context: GateContext) -> RuleOutcome:
    found: dict[str, Any] = {
        "path": rule.path,
        "min_size": rule.min_size,
        "max_size": rule.max_size,
    }
    entry = context.by_path.get(rule.path)
    if entry is None:
        return RuleOutcome(
            Outcome.BLOCK,
            f"{rule.path} is missing from the build: the manifest does not list it.",
            {**found, "present": False},
        )
    size = int(entry["size"])
    found.update(present=True, size=size, sha256=entry["sha256"])
    if rule.min_size is not None and size < rule.min_size:
        return RuleOutcome(
            Outcome.BLOCK,
            f"{rule.path} is {_bytes(size)}, below the minimum of {_bytes(rule.min_size)}.",
            found,
        )
    if rule.max_size is not None and size > rule.max_size:
        return RuleOutcome(
            Outcome.BLOCK,
            f"{rule.path} is {_bytes(size)}, above the maximum of {_bytes(rule.max_size)}.",
            found,
        )
    return RuleOutcome(Outcome.PASS, f"{rule.path} is present ({_bytes(size)}).", found)


def _previous_deployment(context: GateContext, path: str) -> dict[str, Any] | None:
    """The environment's latest deployment that got out (any status but failed), with the digest
    of its `path` artifact as `key_sha256` (None when it had none). One query."""
    key = (
        Artifact.objects.filter(deployment=OuterRef("pk"), path=path).values("sha256")[:1]
        if path
        else None
    )
    rows = Deployment.objects.filter(environment=context.environment).exclude(
        status=Deployment.Status.FAILED
    )
    if key is not None:
        rows = rows.annotate(key_sha256=Subquery(key))
    columns = ["id", "external_id", "commit_sha", "manifest_digest", "started_at"]
    return (
        rows.order_by("-started_at", "-id")
        .values(*columns, *(["key_sha256"] if key is not None else []))
        .first()
    )


@register(GateRule.Kind.STALE_BUILD)
def stale_build(rule: GateRule, context: GateContext) -> RuleOutcome:
    """The seed's failure: the build stopped writing a file, and the old copy kept shipping."""
    what = rule.path or "the whole build"
    if rule.path:
        entry = context.by_path.get(rule.path)
        if entry is None:
            return RuleOutcome(
                Outcome.PASS,
                f"{rule.path} is not in this build, so there is nothing to compare (a required "
                "artifact rule is what catches a missing file).",
                {"path": rule.path, "present": False},
            )
        current = entry["sha256"]
    else:
        current = context.manifest_digest
        if not current:
            return RuleOutcome(
                Outcome.PASS, "The manifest is empty; there is nothing to compare.", {"path": ""}
            )
    previous = _previous_deployment(context, rule.path)
    found: dict[str, Any] = {"path": rule.path, "sha256": current}
    if previous is None:
        return RuleOutcome(
            Outcome.PASS,
            f"No earlier deployment in {context.environment.name} to compare {what} with.",
            {**found, "previous_deployment": None},
        )
    before = previous["key_sha256"] if rule.path else previous["manifest_digest"]
    found["previous_deployment"] = {
        "id": previous["id"],
        "external_id": previous["external_id"],
        "commit_sha": previous["commit_sha"],
        "started_at": _iso(previous["started_at"]),
        "sha256": before,
    }
    if before != current:
        return RuleOutcome(
            Outcome.PASS,
            f"{what} differs from the previous deployment's (commit "
            f"{_short(previous['commit_sha'])}).",
            found,
        )
    if _same_commit(previous["commit_sha"], context.commit_sha):
        return RuleOutcome(
            Outcome.PASS,
            f"{what} is the same as the previous deployment's, and so is the commit: a redeploy.",
            found,
        )
    return RuleOutcome(
        Outcome.BLOCK,
        f"{what} is byte for byte the one the previous deployment shipped (commit "
        f"{_short(previous['commit_sha'])}), but the commit is now "
        f"{_short(context.commit_sha)}: the build may not have rebuilt it.",
        found,
    )


@register(GateRule.Kind.PREVIEW_FIRST)
def preview_first(rule: GateRule, context: GateContext) -> RuleOutcome:
    if context.environment.kind != Environment.Kind.PRODUCTION:
        return RuleOutcome(
            Outcome.PASS,
            f"Applies to production only; {context.environment.name} is a "
            f"{context.environment.get_kind_display().lower()} environment.",
            {"environment_kind": context.environment.kind},
        )
    same_build = Q(commit_sha=context.commit_sha)
    if context.manifest_digest:
        same_build |= Q(manifest_digest=context.manifest_digest)
    tried = (
        Deployment.objects.filter(
            environment__service=context.service,
            environment__kind=Environment.Kind.PREVIEW,
            status=Deployment.Status.SUCCEEDED,
            health=Deployment.Health.HEALTHY,
        )
        .filter(same_build)
        .order_by("-started_at", "-id")
        .values("id", "external_id", "commit_sha", "environment__name", "health_checked_at")
        .first()
    )
    found: dict[str, Any] = {
        "commit_sha": context.commit_sha,
        "manifest_digest": context.manifest_digest,
    }
    if tried is not None:
        return RuleOutcome(
            Outcome.PASS,
            f"Ran healthy in {tried['environment__name']} first (deployment "
            f"{tried['external_id']}, commit {_short(tried['commit_sha'])}).",
            {
                **found,
                "preview_deployment": {
                    "id": tried["id"],
                    "external_id": tried["external_id"],
                    "environment": tried["environment__name"],
                    "health_checked_at": _iso(tried["health_checked_at"]),
                },
            },
        )
    previews = list(
        Environment.objects.filter(
            service=context.service, kind=Environment.Kind.PREVIEW
        ).values_list("name", flat=True)
    )
    found["preview_environments"] = previews
    if not previews:
        return RuleOutcome(
            Outcome.BLOCK,
            f"{context.service.slug} has no preview environment, so nothing of this build was "
            "tried before production.",
            found,
        )
    return RuleOutcome(
        Outcome.BLOCK,
        f"Neither commit {_short(context.commit_sha)} nor this exact build has a succeeded, "
        f"healthy deployment in {', '.join(previews)}. Deploy it there first.",
        found,
    )


# Down and degraded both hold a promotion back: shipping onto a half-broken environment hides
# whether the new build made it better or worse, and the way out of a failing environment is a
# rollback, which this rule lets through.
FAILING = (HealthStatus.DOWN, HealthStatus.DEGRADED)


def _latest_results(context: GateContext) -> list[Mapping[str, Any]]:
    """The newest check results for this environment: its own checks and the service-wide ones
    (checks that name no environment), each with the service's probe `interval`. One query over
    the (service, taken_at) index."""
    scope = Q(health_check__environment=context.environment) | Q(
        health_check__environment__isnull=True
    )
    mine = CheckResult.objects.filter(service=context.service).filter(scope)
    latest = mine.order_by("-taken_at").values("taken_at")[:1]
    return list(
        mine.filter(taken_at=Subquery(latest))
        .annotate(interval=probe_interval(context.service.pk))
        .order_by("health_check__order", "health_check_id")
        .values("taken_at", "ok", "health_check__name", "status_code", "error", "interval")
    )


@register(GateRule.Kind.HEALTH_BEFORE_PROMOTION)
def health_before_promotion(rule: GateRule, context: GateContext) -> RuleOutcome:
    results = _latest_results(context)
    env = context.environment.name
    if not results:
        return RuleOutcome(
            Outcome.WARN,
            f"No health check result for {env} yet, so its health could not be judged.",
            {"status": None, "rollback": context.is_rollback},
        )
    oks = [row["ok"] for row in results]
    measured = (
        HealthStatus.UP
        if all(oks)
        else HealthStatus.DOWN
        if not any(oks)
        else HealthStatus.DEGRADED
    )
    taken_at = results[0]["taken_at"]
    health = health_freshness(
        status=measured.value, checked_at=taken_at, interval_seconds=results[0]["interval"]
    )
    failing = [row["health_check__name"] for row in results if not row["ok"]]
    found = {
        "status": health.status,
        "measured_status": measured.value,
        "taken_at": _iso(taken_at),
        "age_seconds": int((health.now - taken_at).total_seconds()),
        "failing_checks": failing,
        "rollback": context.is_rollback,
    }
    latest = f"latest check at {_when(taken_at)}, {health.age}"
    if health.stale:
        if context.is_rollback:
            return RuleOutcome(
                Outcome.PASS,
                f"{env}'s health is unknown ({health.said}), but this is a rollback, which "
                "needs no healthy environment to go out.",
                found,
            )
        return RuleOutcome(
            Outcome.BLOCK,
            f"{env}'s health is unknown: {health.said} ({_when(taken_at)}, when it was "
            f"{measured.value}), too long ago to vouch for it now. Get its health checks "
            "answering again before promoting a new build.",
            found,
        )
    if measured not in FAILING:
        return RuleOutcome(Outcome.PASS, f"{env} is up ({latest}).", found)
    if context.is_rollback:
        return RuleOutcome(
            Outcome.PASS,
            f"{env} is {measured.value}, but this is a rollback, which is how it gets well again.",
            found,
        )
    return RuleOutcome(
        Outcome.BLOCK,
        f"{env} is {measured.value} ({latest}; failing: {', '.join(failing)}). Fix it or roll "
        "back before promoting a new build.",
        found,
    )
