"""The gate's registry: which function answers for each kind of GateRule.

deployments registers its own kinds (deployments/gate/rules.py). incidents registers
`blocking_action_items` from its AppConfig.ready(), so the gate can ask about action items without
deployments importing incidents. A rule function looks at one rule and the request, and says what
it found; whether a finding blocks or only warns is the rule's `action`, applied by gate_evaluate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db import models

from core import plugins
from deployments.models import Environment, GateRule, Service


class Outcome(models.TextChoices):
    PASS = "pass", "Pass"
    WARN = "warn", "Warn"
    BLOCK = "block", "Block"


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule found. `found` is JSON-ready and names what the rule looked at."""

    outcome: str
    message: str
    found: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GateContext:
    """The question put to the gate: may this build of this commit go to this environment?"""

    service: Service
    environment: Environment
    commit_sha: str
    # [{"path": str, "size": int, "sha256": str}, ...], each path once.
    manifest: list[dict[str, Any]]
    manifest_digest: str
    is_rollback: bool = False
    # Look-ups several rules share (e.g. the previous deployment), made once per evaluation.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def by_path(self) -> dict[str, dict[str, Any]]:
        return {entry["path"]: entry for entry in self.manifest}


# rule(rule, context) -> RuleOutcome. It may read the database, but a fixed number of times: never
# once per artifact.
RuleFunction = Callable[[GateRule, GateContext], RuleOutcome]


def register(kind: str) -> Callable[[RuleFunction], RuleFunction]:
    """Decorator: `function` answers for GateRule.kind == kind (kept in core.plugins, the one
    registry of plug-in points). Registering it again is a no-op."""
    if kind not in GateRule.Kind.values:
        raise ValueError(f"Unknown gate rule kind {kind!r}; known: {sorted(GateRule.Kind.values)}.")

    def decorator(function: RuleFunction) -> RuleFunction:
        plugins.gate_rule_register(kind, function)
        return function

    return decorator


def implementation(kind: str) -> RuleFunction | None:
    return plugins.gate_rule(kind)


def registered_kinds() -> frozenset[str]:
    return plugins.gate_rule_kinds()
