"""The deployments REST face: services, environments, deployments, changes, maintenance windows,
health checks and snapshots.

Reads select `.values()` rows and shape them with the RowSerializers; writes validate with a
strict serializer and call deployments.services. Who may do what is RolePermission's: the
queryset's model permissions, so every role reads and only admins write.
"""

from __future__ import annotations

from deployments.api.views.catalogue import (  # noqa: F401
    EnvironmentViewSet,
    ServiceViewSet,
)
from deployments.api.views.changes import (  # noqa: F401
    ChangeViewSet,
    MaintenanceWindowViewSet,
)
from deployments.api.views.common import (  # noqa: F401
    CONFLICT_PROBLEMS,
    CREATE_PROBLEMS,
    ID_REGEX,
    IDEMPOTENCY_PARAMETER,
    IDEMPOTENCY_PROBLEMS,
    LOCATION_HEADER,
    PROBLEM_REF,
    RowViewSet,
    _merge,
    clashes_as_409,
    environment_named,
    problems,
    service_by_slug,
)
from deployments.api.views.deployments import (  # noqa: F401
    DEPLOYMENT_STATUS_PROBLEMS,
    DeploymentViewSet,
)
from deployments.api.views.health import (  # noqa: F401
    HealthCheckViewSet,
    HealthHourViewSet,
    HealthSnapshotViewSet,
    SnapshotCursorPagination,
)
