"""The deployment gate: a registry of rule kinds and the rules the system side answers for.

Importing the package registers deployments' own rules; gate_evaluate
(deployments.services.gate) runs them. See registry.py for how another app adds a kind.
"""

from deployments.gate import rules  # noqa: F401  (registers the rule kinds on import)
from deployments.gate.registry import (
    GateContext,
    Outcome,
    RuleFunction,
    RuleOutcome,
    implementation,
    register,
    registered_kinds,
)

__all__ = [
    "GateContext",
    "Outcome",
    "RuleFunction",
    "RuleOutcome",
    "implementation",
    "register",
    "registered_kinds",
]
