"""The gate's writes: asking it (one GateRun per answer), tying an answer to the deployment that
followed it, and configuring its rules."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from deployments import gate as registry
from deployments.models import Deployment, Environment, GateRule, GateRun, Service
from deployments.models.releases import manifest_digest
from deployments.services.feed import feed_gate_run

logger = logging.getLogger(__name__)

GATE_RULE_FIELDS = ("kind", "action", "path", "min_size", "max_size", "enabled", "order")
_K = GateRule.Kind
# Kinds that look at one file of the build; the others take no path.
PATH_KINDS = frozenset({_K.REQUIRED_ARTIFACT, _K.STALE_BUILD})


def _judge(rule: GateRule, context: registry.GateContext) -> dict[str, Any]:
    """One reason of the answer. A rule that cannot be checked blocks: a gate that passes what it
    could not look at is worse than none."""
    function = registry.implementation(rule.kind)
    checked = False
    if function is None:
        outcome = registry.RuleOutcome(
            registry.Outcome.BLOCK,
            f"No implementation of the {rule.kind} rule is installed, so the gate cannot check "
            "it; it blocks rather than let the build through unchecked.",
            {"kind": rule.kind, "registered": False},
        )
    else:
        try:
            # A savepoint: a rule that breaks the transaction must not take the record down too.
            with transaction.atomic():
                outcome = function(rule, context)
            checked = True
        except Exception:
            logger.exception("Gate rule %s (%s) failed", rule.pk, rule.kind)
            outcome = registry.RuleOutcome(
                registry.Outcome.BLOCK,
                f"The {rule.kind} rule failed with an error (see the server log); it blocks "
                "rather than let the build through unchecked.",
                {"kind": rule.kind, "error": True},
            )
    verdict = outcome.outcome
    if checked and verdict == registry.Outcome.BLOCK and rule.action == GateRule.Action.WARN:
        verdict = registry.Outcome.WARN
    return {
        "rule": rule.kind,
        "rule_id": rule.pk,
        "action": rule.action,
        "outcome": str(verdict),
        "message": outcome.message,
        "found": outcome.found,
    }


@transaction.atomic
def gate_evaluate(
    *,
    service: Service,
    environment: Environment,
    commit_sha: str,
    manifest: Iterable[Mapping[str, Any]],
    is_rollback: bool = False,
    requested_by: User | None = None,
) -> GateRun:
    """Run the environment's enabled rules in order and record the answer, pass or block.

    Blocked attempts are recorded too: they are what the environment's gate page is for. The cost
    is one query for the rules, a fixed few per rule and one insert, whatever the manifest's size.
    """
    if environment.service_id != service.pk:
        raise ValueError(f"{environment} is not an environment of {service}.")
    files = [
        {"path": f["path"], "size": int(f["size"]), "sha256": str(f["sha256"]).lower()}
        for f in manifest
    ]
    digest = manifest_digest(files) if files else ""
    context = registry.GateContext(
        service=service,
        environment=environment,
        commit_sha=commit_sha.lower(),
        manifest=files,
        manifest_digest=digest,
        is_rollback=is_rollback,
    )
    rules = GateRule.objects.filter(environment=environment, enabled=True).order_by("order", "id")
    reasons = [_judge(rule, context) for rule in rules]
    blocked = any(reason["outcome"] == registry.Outcome.BLOCK for reason in reasons)
    run = GateRun.objects.create(
        service=service,
        environment=environment,
        commit_sha=context.commit_sha,
        manifest_digest=digest,
        artifact_count=len(files),
        verdict=GateRun.Verdict.BLOCK if blocked else GateRun.Verdict.PASS,
        reasons=reasons,
        requested_by=requested_by if requested_by and requested_by.is_authenticated else None,
    )
    feed_gate_run(run=run)
    return run


def gate_run_link(*, deployment: Deployment) -> int:
    """Tie the latest unlinked gate answer for this environment, commit and build to the
    deployment just recorded. Returns how many runs were linked (0 or 1), in one query."""
    latest = (
        GateRun.objects.filter(
            environment_id=deployment.environment_id,
            commit_sha=deployment.commit_sha,
            manifest_digest=deployment.manifest_digest,
            deployment__isnull=True,
        )
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    return GateRun.objects.filter(pk__in=Subquery(latest)).update(
        deployment=deployment, updated_at=timezone.now()
    )


# --- Rules ----------------------------------------------------------------------------------------


def _path_problem(path: str) -> str | None:
    """A rule's path must be spelled as manifests spell paths, or it could never match."""
    if "\x00" in path:
        return "Must not contain NUL bytes."
    if path.startswith("/") or "\\" in path:
        return "Use the path relative to the build folder, with / between folders."
    segments = path.split("/")
    if ".." in segments or "." in segments or "" in segments:
        return "Use a normalised path: no empty, `.` or `..` segments, no trailing slash."
    return None


def gate_rule_check(
    *,
    kind: str,
    action: str = GateRule.Action.BLOCK,
    path: str = "",
    min_size: int | None = None,
    max_size: int | None = None,
) -> None:
    """Raise a ValidationError naming each field that does not fit the rule's kind."""
    errors: dict[str, str] = {}
    if kind not in GateRule.Kind.values:
        errors["kind"] = f"Choose one of: {', '.join(GateRule.Kind.values)}."
    if action not in GateRule.Action.values:
        errors["action"] = f"Choose one of: {', '.join(GateRule.Action.values)}."
    if kind == _K.REQUIRED_ARTIFACT and not path:
        errors["path"] = "A required artifact rule needs the path of the file, e.g. _worker.js."
    elif path and kind in GateRule.Kind.values and kind not in PATH_KINDS:
        errors["path"] = "Only required artifact and stale build rules look at a path."
    elif path and (problem := _path_problem(path)):
        errors["path"] = problem
    sized = min_size is not None or max_size is not None
    if sized and kind in GateRule.Kind.values and kind != _K.REQUIRED_ARTIFACT:
        field = "min_size" if min_size is not None else "max_size"
        errors[field] = "Only required artifact rules have sizes."
    elif min_size is not None and max_size is not None and min_size > max_size:
        errors["max_size"] = "The maximum size must not be below the minimum."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def gate_rule_create(
    *,
    environment: Environment,
    kind: str,
    action: str = GateRule.Action.BLOCK,
    path: str = "",
    min_size: int | None = None,
    max_size: int | None = None,
    enabled: bool = True,
    order: int = 0,
) -> GateRule:
    gate_rule_check(kind=kind, action=action, path=path, min_size=min_size, max_size=max_size)
    return GateRule.objects.create(
        service_id=environment.service_id,
        environment=environment,
        kind=kind,
        action=action,
        path=path,
        min_size=min_size,
        max_size=max_size,
        enabled=enabled,
        order=order,
    )


@transaction.atomic
def gate_rule_update(*, rule: GateRule, **changes: Any) -> GateRule:
    """Change some of a rule's fields; the rule as a whole must still make sense."""
    unknown = set(changes) - set(GATE_RULE_FIELDS)
    if unknown:
        raise TypeError(f"Not a gate rule field: {', '.join(sorted(unknown))}.")
    merged = {name: changes.get(name, getattr(rule, name)) for name in GATE_RULE_FIELDS}
    gate_rule_check(
        kind=merged["kind"],
        action=merged["action"],
        path=merged["path"],
        min_size=merged["min_size"],
        max_size=merged["max_size"],
    )
    for name, value in changes.items():
        setattr(rule, name, value)
    if changes:
        rule.save(update_fields=[*changes, "updated_at"])
    return rule


@transaction.atomic
def gate_rule_delete(*, rule: GateRule) -> None:
    # Past gate runs keep their reasons: they are a record of what was asked and answered.
    rule.delete()
