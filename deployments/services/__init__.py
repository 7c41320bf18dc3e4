"""Writes on the system side. Every function is keyword-only and runs in one transaction.

One module per topic; everything is importable from `deployments.services` as well.
"""

from deployments.models.releases import manifest_digest
from deployments.services.catalogue import (
    ENVIRONMENT_FIELDS,
    HEALTH_CHECK_FIELDS,
    PROBE_SCHEMES,
    SERVICE_FIELDS,
    AlreadyExists,
    environment_create,
    environment_update,
    health_check_create,
    health_check_delete,
    health_check_update,
    service_create,
    service_update,
)
from deployments.services.changes import (
    MAINTENANCE_DEFAULT_MINUTES,
    MAINTENANCE_MAX_MINUTES,
    change_record,
    maintenance_window_end,
    maintenance_window_open,
)
from deployments.services.gate import (
    GATE_RULE_FIELDS,
    gate_evaluate,
    gate_rule_check,
    gate_rule_create,
    gate_rule_delete,
    gate_rule_update,
    gate_run_link,
)
from deployments.services.health import ProbeOutcome, overall_status, snapshot_record
from deployments.services.probes import NotVerifiable, deployment_verify
from deployments.services.releases import (
    TransitionNotAllowed,
    deployment_record,
    deployment_set_status,
)

__all__ = [
    "ENVIRONMENT_FIELDS",
    "GATE_RULE_FIELDS",
    "HEALTH_CHECK_FIELDS",
    "MAINTENANCE_DEFAULT_MINUTES",
    "MAINTENANCE_MAX_MINUTES",
    "PROBE_SCHEMES",
    "SERVICE_FIELDS",
    "AlreadyExists",
    "NotVerifiable",
    "ProbeOutcome",
    "TransitionNotAllowed",
    "change_record",
    "deployment_record",
    "deployment_set_status",
    "deployment_verify",
    "environment_create",
    "environment_update",
    "gate_evaluate",
    "gate_rule_check",
    "gate_rule_create",
    "gate_rule_delete",
    "gate_rule_update",
    "gate_run_link",
    "health_check_create",
    "health_check_delete",
    "health_check_update",
    "maintenance_window_end",
    "maintenance_window_open",
    "manifest_digest",
    "overall_status",
    "service_create",
    "service_update",
    "snapshot_record",
]
