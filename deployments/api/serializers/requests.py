"""Request shapes: what recording a deployment and configuring services and checks accept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ValidationError

from api.serializers import (
    BoundedDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
)
from deployments.api.serializers.fields import (
    MANIFEST_MAX_FILES,
    PG_INT_MAX,
    StrictFloatField,
    StrictRegexField,
    StrictSerializer,
    StrictSlugField,
    StrictURLField,
)
from deployments.api.serializers.manifest import ManifestField
from deployments.models import Change, Deployment, Environment, HealthCheck
from deployments.services.changes import MAINTENANCE_DEFAULT_MINUTES, MAINTENANCE_MAX_MINUTES

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
    started_at = BoundedDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When it started; left out, the time the server receives the record.",
    )
    finished_at = BoundedDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When it finished; left out with a finished status (succeeded, failed, "
        "rolled_back), the time the server receives the record.",
    )
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
    finished_at = BoundedDateTimeField(
        required=False,
        help_text="When it finished (ISO 8601, 1970 to 9999); only with succeeded, failed or "
        "rolled_back. Stored as given, also with the status the deployment has already; left "
        "out, a deployment that has no finish time yet gets now.",
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


class ChangeRecordSerializer(StrictSerializer):
    service = StrictSlugField(
        max_length=100, help_text="The service's slug; an unknown one answers 404."
    )
    environment = StrictCharField(
        max_length=50,
        required=False,
        allow_null=True,
        default=None,
        help_text="The environment's name within the service; leave it out for a change to "
        "the whole service. An unknown one answers 404.",
    )
    kind = StrictChoiceField(choices=Change.Kind.choices)
    summary = StrictCharField(max_length=500, help_text="What changed, in a line.")
    link = StrictURLField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Where to read more (a pull request, a flag's page): http or https. Shown as "
        "a link; Hindsight never fetches it.",
    )
    at = BoundedDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When it took effect (ISO 8601, 1970 to 9999); defaults to now.",
    )
    by = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="A person, or the job that made the change.",
    )
    external_id = StrictCharField(
        max_length=200,
        required=False,
        default="",
        help_text="Your id for this change. Recording it again for the same service answers "
        "the first change (200) and creates nothing.",
    )


class MaintenanceWindowOpenSerializer(StrictSerializer):
    service = StrictSlugField(
        max_length=100, help_text="The service's slug; an unknown one answers 404."
    )
    environment = StrictCharField(
        max_length=50,
        required=False,
        allow_null=True,
        default=None,
        help_text="Only the checks watching this environment of the service; leave it out for "
        "every check of the service. An unknown one answers 404.",
    )
    reason = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why, e.g. the deployment it covers.",
    )
    minutes = StrictIntegerField(
        min_value=1,
        max_value=MAINTENANCE_MAX_MINUTES,
        default=MAINTENANCE_DEFAULT_MINUTES,
        help_text="How long it stays open unless ended first: it closes by itself after that.",
    )
    external_id = StrictCharField(
        max_length=200,
        required=False,
        default="",
        help_text="Your id for this window, e.g. the deployment's. While a window of the "
        "service with this id is open, opening it again answers that window (200).",
    )
