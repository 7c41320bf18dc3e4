"""The REST face's shapes: what the deployments API accepts and what it answers.

Serializers here validate and shape, nothing else; the views hand validated data to
deployments.services. Input is strict: a JSON number is not a string, `true` is not 1, an
unknown key is an error rather than silently dropped, and dates stay between 1970 and 9999.

Reads shape `.values()` rows by hand (`RowSerializer`): DRF's per-field machinery costs several
times the query on a list of a hundred rows. The fields are still declared, so the schema
describes exactly the keys `to_representation` writes; a test holds the two together.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from api.problems import Problem
from api.serializers import RejectUnknownFieldsMixin, StrictCharField
from deployments.models import Deployment, Environment, HealthCheck, HealthStatus

MANIFEST_MAX_FILES = 10_000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# What the schema can say of the range: the year. (An offset can still push a time at the very
# edges out of range; the field says so then.)
YEAR_1970_TO_9999 = r"^(19[7-9][0-9]|[2-9][0-9]{3})-"
PG_BIGINT_MAX = 2**63 - 1
PG_INT_MAX = 2**31 - 1
SHA256_RE = re.compile(r"[0-9a-f]{64}")
UNKNOWN_FIELD = "Unknown field."
PROBE_SCHEMES = ("http", "https")


# --- Strict fields ------------------------------------------------------------------------------


class _TextOnly:
    """For DRF's string fields: a number is not a string (CharField would take 42 as "42")."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictRegexField(_TextOnly, serializers.RegexField):
    pass


class StrictSlugField(_TextOnly, serializers.SlugField):
    pass


class StrictURLField(_TextOnly, serializers.URLField):
    """An http(s) URL: the only schemes the prober speaks."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if urlsplit(value).scheme.lower() not in PROBE_SCHEMES:
            raise ValidationError("Only http and https URLs are accepted.")
        return value


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: not "12", not 12.0, not true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictDateTimeField(serializers.DateTimeField):
    """An ISO 8601 string between 1970 and 9999 (in UTC); a time without an offset is read in
    the server's time zone (TIME_ZONE, UTC unless set)."""

    default_error_messages = {
        **serializers.DateTimeField.default_error_messages,
        "range": "Enter a time between 1970-01-01 and 9999-12-31 (UTC).",
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("help_text", "ISO 8601, from 1970 to 9999 (UTC).")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601, e.g. 2026-01-02T06:02:00Z")
        parsed = super().to_internal_value(value)
        try:
            in_utc = parsed.astimezone(UTC)
        except OverflowError:
            self.fail("range")
        if in_utc < EARLIEST:
            self.fail("range")
        # In UTC: PostgreSQL refuses offsets beyond about 16 hours, Python allows 24.
        return in_utc


class StrictDateTimeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = StrictDateTimeField

    def map_serializer_field(self, auto_schema, direction):
        return {**build_basic_type(OpenApiTypes.DATETIME), "pattern": YEAR_1970_TO_9999}


# --- Strict serializers ---------------------------------------------------------------------------


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Refuses keys it does not know, naming each, instead of dropping them in silence."""


class StrictSerializerSchema(OpenApiSerializerExtension):
    """The schema says what the serializer does: a request with other keys is refused."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


# --- The manifest ---------------------------------------------------------------------------------


class ManifestEntrySerializer(StrictSerializer):
    """One shipped file. Only for the schema: ManifestField checks entries by hand."""

    path = StrictCharField(
        max_length=1024,
        trim_whitespace=False,
        help_text="Relative to the build folder, with / between folders, e.g. `_worker.js`. "
        "No absolute paths, no `.` or `..` segments.",
    )
    size = StrictIntegerField(min_value=0, max_value=PG_BIGINT_MAX, help_text="Bytes.")
    sha256 = StrictRegexField(
        r"^[0-9a-f]{64}$", help_text="SHA-256 of the file's bytes, 64 lowercase hex digits."
    )


def _path_problem(path: Any) -> str | None:
    if not isinstance(path, str):
        return "Must be a string."
    if not path:
        return "This field may not be blank."
    if len(path) > 1024:
        return "Ensure this field has no more than 1024 characters."
    if "\x00" in path:
        return "Must not contain NUL bytes."
    if not path.isascii():
        try:
            path.encode()
        except UnicodeEncodeError:
            return "Surrogate characters are not allowed."
    if path[0] in "/\\" or (len(path) > 1 and path[1] == ":" and path[0].isalpha()):
        return "Use a path relative to the build folder, not an absolute one."
    segments = path.replace("\\", "/").split("/")
    if ".." in segments:
        return "A path may not climb out of the build folder with `..`."
    if "" in segments or "." in segments:
        return "Use a normalised path: no empty or `.` segments, no trailing slash."
    return None


def _entry_errors(entry: Any) -> dict[str, list[str]]:
    if not isinstance(entry, Mapping):
        return {"non_field_errors": ["Expected an object with path, size and sha256."]}
    errors: dict[str, list[str]] = {}
    if "path" not in entry:
        errors["path"] = ["This field is required."]
    elif problem := _path_problem(entry["path"]):
        errors["path"] = [problem]
    if "size" not in entry:
        errors["size"] = ["This field is required."]
    else:
        size = entry["size"]
        if isinstance(size, bool) or not isinstance(size, int):
            errors["size"] = ["A valid integer is required."]
        elif not 0 <= size <= PG_BIGINT_MAX:
            errors["size"] = [f"Must be between 0 and {PG_BIGINT_MAX}."]
    if "sha256" not in entry:
        errors["sha256"] = ["This field is required."]
    elif not isinstance(entry["sha256"], str) or not SHA256_RE.fullmatch(entry["sha256"]):
        errors["sha256"] = ["Enter a SHA-256 digest as 64 lowercase hex digits."]
    for key in sorted(entry.keys() - {"path", "size", "sha256"}):
        errors[str(key)] = [UNKNOWN_FIELD]
    return errors


class ManifestField(serializers.ListField):
    """The build's files. Checked by hand: a DRF serializer per entry takes about half a second
    for 10,000 files, this loop under a tenth. Errors have ListField's shape, keyed by index.
    """

    def __init__(self, **kwargs: Any):
        # No max_length (maxItems): the limit answers 413, which a schema validator reading
        # maxItems would expect to be a 400. The description and the 413 response state it.
        kwargs.setdefault("child", ManifestEntrySerializer())
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if isinstance(data, (str, Mapping)) or not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if len(data) > MANIFEST_MAX_FILES:
            raise Problem(
                f"A manifest lists at most {MANIFEST_MAX_FILES} files; this one lists {len(data)}.",
                status_code=413,
                problem_type="manifest-too-large",
                max_files=MANIFEST_MAX_FILES,
                files=len(data),
            )
        errors: dict[int, dict[str, list[str]]] = {}
        first_at: dict[str, int] = {}
        for index, entry in enumerate(data):
            entry_errors = _entry_errors(entry)
            if "path" not in entry_errors and isinstance(entry, Mapping):
                seen = first_at.setdefault(entry["path"], index)
                if seen != index:
                    entry_errors["path"] = [f"Listed twice: also at index {seen}."]
            if entry_errors:
                errors[index] = entry_errors
        if errors:
            raise ValidationError(errors)
        return [{"path": e["path"], "size": e["size"], "sha256": e["sha256"]} for e in data]


# --- Requests -------------------------------------------------------------------------------------


def _finish_after_start(attrs: Mapping[str, Any]) -> None:
    started, finished = attrs.get("started_at"), attrs.get("finished_at")
    if started is not None and finished is not None and finished < started:
        raise ValidationError({"finished_at": ["A deployment cannot finish before it started."]})


class DeploymentRecordSerializer(StrictSerializer):
    service = StrictSlugField(max_length=100, help_text="The service's slug.")
    environment = StrictCharField(
        max_length=50, help_text="The environment's name within the service, e.g. production."
    )
    external_id = StrictCharField(
        max_length=200,
        help_text="The provider's id for this deployment. Recording it again in the same "
        "environment answers the first deployment (200) and creates nothing.",
    )
    commit_sha = StrictRegexField(
        r"^[0-9a-fA-F]{4,64}$",
        help_text="Hex commit id, 4 to 64 digits; stored in lowercase.",
    )
    branch = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    status = StrictChoiceField(choices=Deployment.Status.choices, default=Deployment.Status.PENDING)
    deployed_by = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="A person, or the CI job that shipped it.",
    )
    started_at = StrictDateTimeField(required=False, allow_null=True, default=None)
    finished_at = StrictDateTimeField(required=False, allow_null=True, default=None)
    rollback_of = StrictCharField(
        max_length=200,
        required=False,
        allow_null=True,
        default=None,
        help_text="External id of the deployment this one rolls back, in the same environment.",
    )
    manifest = ManifestField(
        required=False,
        default=list,
        help_text=f"The shipped files, at most {MANIFEST_MAX_FILES} (more answers 413), "
        "each path once.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _finish_after_start(attrs)
        return attrs


class DeploymentStatusSerializer(StrictSerializer):
    status = StrictChoiceField(choices=Deployment.Status.choices)
    finished_at = StrictDateTimeField(
        required=False,
        help_text="When it finished (ISO 8601, 1970 to 9999); only with succeeded, failed or "
        "rolled_back. Defaults to now for succeeded and failed when the deployment has no "
        "finish time yet.",
    )


class ServiceWriteSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    slug = StrictSlugField(max_length=100)
    public_url = StrictURLField(max_length=200, required=False, allow_blank=True, default="")
    description = StrictCharField(
        max_length=10_000, required=False, allow_blank=True, default="", trim_whitespace=False
    )


class _EnvironmentFields(StrictSerializer):
    name = StrictCharField(max_length=50, help_text="As CI names it, e.g. production.")
    kind = StrictChoiceField(choices=Environment.Kind.choices, default=Environment.Kind.PRODUCTION)
    url = StrictURLField(max_length=200, required=False, allow_blank=True, default="")
    branch = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    rollback_command_template = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="e.g. `npx wrangler pages deployment rollback {external_id}`.",
    )


class EnvironmentCreateSerializer(_EnvironmentFields):
    service = StrictSlugField(
        max_length=100, help_text="The service's slug; an unknown one answers 404."
    )


class EnvironmentUpdateSerializer(_EnvironmentFields):
    """The service is not here: an environment never moves to another service."""


class _HealthCheckFields(StrictSerializer):
    environment = StrictCharField(
        max_length=50,
        required=False,
        allow_null=True,
        default=None,
        help_text="Name of the environment of the same service this check watches.",
    )
    name = StrictCharField(max_length=100)
    url = StrictURLField(max_length=2000)
    method = StrictChoiceField(choices=HealthCheck.Method.choices, default=HealthCheck.Method.GET)
    expected_status = StrictIntegerField(min_value=100, max_value=599, default=200)
    expected_body = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="Text the response body must contain, if any.",
    )
    timeout_seconds = StrictFloatField(min_value=0.1, max_value=120, default=10.0)
    interval_seconds = StrictIntegerField(min_value=10, max_value=86400, default=60)
    enabled = StrictBooleanField(default=True)
    order = StrictIntegerField(min_value=0, max_value=PG_INT_MAX, default=0)


class HealthCheckCreateSerializer(_HealthCheckFields):
    service = StrictSlugField(
        max_length=100, help_text="The service's slug; an unknown one answers 404."
    )


class HealthCheckUpdateSerializer(_HealthCheckFields):
    """The service is not here: a check's results are its service's history."""


# --- Responses ------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    # The same text DRF's DateTimeField writes, so every date in the API looks alike.
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class RowSerializer(serializers.Serializer):
    """Read-only; shapes a `.values(*columns.values())` row into the declared fields."""

    columns: dict[str, str] = {}

    @classmethod
    def values(cls) -> list[str]:
        """The columns to select; nested lists are fetched apart and put in the row by name."""
        return [
            column
            for name, column in cls.columns.items()
            if not isinstance(cls._declared_fields[name], serializers.BaseSerializer)
        ]

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # Worked out once per class, not once per row.
        cls._pairs = tuple(cls.columns.items())
        cls._datetimes = tuple(
            name
            for name, field in cls._declared_fields.items()
            if isinstance(field, serializers.DateTimeField)
        )

    def to_representation(self, row: Mapping[str, Any]) -> dict[str, Any]:
        data = {name: row[column] for name, column in self._pairs}
        for name in self._datetimes:
            data[name] = _iso(data[name])
        return data


class ServiceSerializer(RowSerializer):
    columns = {
        "id": "id",
        "name": "name",
        "slug": "slug",
        "public_url": "public_url",
        "description": "description",
        "created_at": "created_at",
        "health_status": "health_status",
        "health_taken_at": "health_taken_at",
    }
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    public_url = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    health_status = serializers.ChoiceField(
        choices=HealthStatus.choices,
        allow_null=True,
        help_text="Overall status of the latest health snapshot; null when never checked.",
    )
    health_taken_at = serializers.DateTimeField(allow_null=True)


class EnvironmentSerializer(RowSerializer):
    columns = {
        "id": "id",
        "service": "service__slug",
        "name": "name",
        "kind": "kind",
        "url": "url",
        "branch": "branch",
        "rollback_command_template": "rollback_command_template",
    }
    id = serializers.IntegerField()
    service = serializers.SlugField(help_text="The service's slug.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Environment.Kind.choices)
    url = serializers.CharField()
    branch = serializers.CharField()
    rollback_command_template = serializers.CharField()


class DeploymentSerializer(RowSerializer):
    columns = {
        "id": "id",
        "service": "environment__service__slug",
        "environment": "environment__name",
        "external_id": "external_id",
        "commit_sha": "commit_sha",
        "branch": "branch",
        "status": "status",
        "deployed_by": "deployed_by",
        "started_at": "started_at",
        "finished_at": "finished_at",
        "created_at": "created_at",
        "rollback_of": "rollback_of__external_id",
        "manifest_digest": "manifest_digest",
    }
    id = serializers.IntegerField()
    service = serializers.SlugField(help_text="The service's slug.")
    environment = serializers.CharField(help_text="The environment's name.")
    external_id = serializers.CharField()
    commit_sha = serializers.CharField()
    branch = serializers.CharField()
    status = serializers.ChoiceField(choices=Deployment.Status.choices)
    deployed_by = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    rollback_of = serializers.CharField(
        allow_null=True, help_text="External id of the deployment this one rolled back."
    )
    manifest_digest = serializers.CharField(
        help_text="SHA-256 over the sorted manifest; equal for byte-identical builds. "
        "Empty without a manifest."
    )


class ArtifactSerializer(RowSerializer):
    columns = {"path": "path", "size": "size", "sha256": "sha256"}
    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class DeploymentDetailSerializer(DeploymentSerializer):
    columns = {**DeploymentSerializer.columns, "artifacts": "artifacts"}
    artifacts = ArtifactSerializer(many=True, help_text="The manifest, by path.")


class HealthCheckSerializer(RowSerializer):
    columns = {
        "id": "id",
        "service": "service__slug",
        "environment": "environment__name",
        "name": "name",
        "url": "url",
        "method": "method",
        "expected_status": "expected_status",
        "expected_body": "expected_body",
        "timeout_seconds": "timeout_seconds",
        "interval_seconds": "interval_seconds",
        "enabled": "enabled",
        "order": "order",
    }
    id = serializers.IntegerField()
    service = serializers.SlugField(help_text="The service's slug.")
    environment = serializers.CharField(allow_null=True, help_text="The environment's name.")
    name = serializers.CharField()
    url = serializers.URLField()
    method = serializers.ChoiceField(choices=HealthCheck.Method.choices)
    expected_status = serializers.IntegerField()
    expected_body = serializers.CharField()
    timeout_seconds = serializers.FloatField()
    interval_seconds = serializers.IntegerField()
    enabled = serializers.BooleanField()
    order = serializers.IntegerField()


class CheckResultSerializer(RowSerializer):
    columns = {
        "health_check": "health_check_id",
        "name": "health_check__name",
        "ok": "ok",
        "status_code": "status_code",
        "latency_ms": "latency_ms",
        "error": "error",
    }
    health_check = serializers.IntegerField(help_text="The check's id.")
    name = serializers.CharField(help_text="The check's name.")
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class HealthSnapshotSerializer(RowSerializer):
    columns = {
        "id": "id",
        "service": "service__slug",
        "taken_at": "taken_at",
        "status": "status",
        "results": "results",
    }
    id = serializers.IntegerField()
    service = serializers.SlugField(help_text="The service's slug.")
    taken_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=HealthStatus.choices)
    results = CheckResultSerializer(many=True, help_text="One per check, by check id.")
