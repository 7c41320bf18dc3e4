"""The system side: services, where they run, what was shipped, how healthy they were, and the
gate in front of every deployment.

This app is the lower floor. It never imports incidents; incidents reads from here.
"""

from deployments.models.catalogue import (
    Environment,
    Service,
    commit_validator,
    sha256_validator,
)
from deployments.models.changes import Change, MaintenanceWindow
from deployments.models.gate import GateRule, GateRun
from deployments.models.health import (
    CheckResult,
    CheckResultHourly,
    HealthChange,
    HealthCheck,
    HealthSnapshot,
    HealthStatus,
)
from deployments.models.releases import Artifact, Deployment

__all__ = [
    "Artifact",
    "Change",
    "CheckResult",
    "CheckResultHourly",
    "Deployment",
    "Environment",
    "GateRule",
    "GateRun",
    "HealthChange",
    "HealthCheck",
    "HealthSnapshot",
    "HealthStatus",
    "MaintenanceWindow",
    "Service",
    "commit_validator",
    "sha256_validator",
]
