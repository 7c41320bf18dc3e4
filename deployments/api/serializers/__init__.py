"""The REST face's shapes: what the deployments API accepts and what it answers.

Serializers here validate and shape, nothing else; the views hand validated data to
deployments.services. Input is strict: a JSON number is not a string, `true` is not 1, an
unknown key is an error rather than silently dropped, and dates stay between 1970 and 9999.

Reads shape `.values()` rows by hand (`RowSerializer`): DRF's per-field machinery costs several
times the query on a list of a hundred rows. The fields are still declared, so the schema
describes exactly the keys `to_representation` writes; a test holds the two together.
"""

from __future__ import annotations

from api.serializers import (  # noqa: F401
    StrictBooleanField,
    StrictChoiceField,
    StrictIntegerField,
)
from deployments.api.serializers.fields import (  # noqa: F401
    EARLIEST,
    MANIFEST_MAX_FILES,
    PG_BIGINT_MAX,
    PG_INT_MAX,
    PROBE_SCHEMES,
    SHA256_RE,
    UNKNOWN_FIELD,
    StrictFloatField,
    StrictRegexField,
    StrictSerializer,
    StrictSlugField,
    StrictURLField,
    _TextOnly,
)
from deployments.api.serializers.manifest import (  # noqa: F401
    ManifestEntrySerializer,
    ManifestField,
    _entry_errors,
    _path_problem,
)
from deployments.api.serializers.requests import (  # noqa: F401
    ChangeRecordSerializer,
    DeploymentRecordSerializer,
    DeploymentStatusSerializer,
    EnvironmentCreateSerializer,
    EnvironmentUpdateSerializer,
    HealthCheckCreateSerializer,
    HealthCheckUpdateSerializer,
    MaintenanceWindowOpenSerializer,
    ServiceWriteSerializer,
    _EnvironmentFields,
    _finish_after_start,
    _HealthCheckFields,
)
from deployments.api.serializers.responses import (  # noqa: F401
    ArtifactSerializer,
    ChangeSerializer,
    CheckResultSerializer,
    DeploymentDetailSerializer,
    DeploymentSerializer,
    EnvironmentSerializer,
    HealthCheckSerializer,
    HealthHourSerializer,
    HealthSnapshotSerializer,
    MaintenanceWindowSerializer,
    RowSerializer,
    ServiceSerializer,
)
