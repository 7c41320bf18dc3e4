"""Correlation reads: what shipped or changed, and how healthy a service was, around a stretch
of time.

Written for the incident page, but in terms of services and times only: deployments knows
nothing about incidents. Re-exported from deployments.selectors, where reads are looked for.

One module per topic; everything is importable from `deployments.correlation` as well.
"""

from deployments.correlation._common import FAILING_STATUSES, correlation_lead
from deployments.correlation.bracketing import Bracketing, CheckFailures, snapshots_bracketing
from deployments.correlation.changes import (
    WhatChanged,
    changes_around,
    deployments_around,
    merge_changes,
    what_changed,
)
from deployments.correlation.health import health_changes_between, health_turned_red
from deployments.correlation.rollback import (
    ROLLBACK_PLACEHOLDERS,
    RollbackCommand,
    good_for,
    last_known_good,
    rollback_command,
)
from deployments.correlation.summary import Correlation, correlation
from deployments.correlation.suspects import suspect_change, suspect_deployment

__all__ = [
    "FAILING_STATUSES",
    "ROLLBACK_PLACEHOLDERS",
    "Bracketing",
    "CheckFailures",
    "Correlation",
    "RollbackCommand",
    "WhatChanged",
    "changes_around",
    "correlation",
    "correlation_lead",
    "deployments_around",
    "good_for",
    "health_changes_between",
    "health_turned_red",
    "last_known_good",
    "merge_changes",
    "rollback_command",
    "snapshots_bracketing",
    "suspect_change",
    "suspect_deployment",
    "what_changed",
]
