"""Query-string filters of the deployments API. A bad value is a 400, never a 500; the pieces
both apps share are in api.filters."""

from __future__ import annotations

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from api.filters import (
    BoundedIsoDateTimeFilter,
    NoEmptyTypedValuesForm,
    StrictBooleanFilter,
    UpdatedAfterFilterSet,
)
from api.serializers import EARLIEST, YEAR_PATTERN
from deployments.models import (
    Change,
    CheckResultHourly,
    Deployment,
    Environment,
    HealthCheck,
    HealthSnapshot,
    HealthStatus,
    MaintenanceWindow,
)
from deployments.selectors import open_at

hex_prefix = RegexValidator(r"^[0-9a-fA-F]{1,64}$", "Enter 1 to 64 hex digits.")


def time_filter(field_name: str, lookup_expr: str, description: str) -> BoundedIsoDateTimeFilter:
    """A time bound from 1970; its schema states the years it takes, as far as a pattern can."""
    time = BoundedIsoDateTimeFilter(
        field_name=field_name, lookup_expr=lookup_expr, earliest=EARLIEST
    )
    schema = {"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}
    # drf-spectacular types its decorators for classes and functions; a filter instance works too.
    return extend_schema_field({**schema, "description": description})(time)  # type: ignore[type-var]


class HexPrefixField(forms.CharField):
    default_validators = [hex_prefix]


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^[0-9a-fA-F]{1,64}$",
        "description": "Commits starting with these hex digits, in either case.",
    }
)
class CommitPrefixFilter(django_filters.CharFilter):
    """Commits starting with these hex digits, in either case."""

    field_class = HexPrefixField

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__startswith": value.lower()})


class EnvironmentFilter(UpdatedAfterFilterSet):
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    name = django_filters.CharFilter()
    kind = django_filters.ChoiceFilter(choices=Environment.Kind.choices)

    class Meta:
        model = Environment
        form = NoEmptyTypedValuesForm
        fields = ["service", "name", "kind"]


class DeploymentFilter(UpdatedAfterFilterSet):
    service = django_filters.CharFilter(
        field_name="environment__service__slug", help_text="The service's slug."
    )
    environment = django_filters.CharFilter(
        field_name="environment__name", help_text="The environment's name."
    )
    status = django_filters.ChoiceFilter(choices=Deployment.Status.choices)
    external_id = django_filters.CharFilter()
    commit = CommitPrefixFilter(field_name="commit_sha")
    started_after = time_filter(
        "started_at", "gte", "Started at or after this time (ISO 8601, 1970 to 9999)."
    )
    started_before = time_filter(
        "started_at", "lt", "Started before this time (ISO 8601, 1970 to 9999)."
    )

    class Meta:
        model = Deployment
        form = NoEmptyTypedValuesForm
        fields = [
            "service",
            "environment",
            "status",
            "external_id",
            "commit",
            "started_after",
            "started_before",
        ]


class HealthCheckFilter(UpdatedAfterFilterSet):
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    environment = django_filters.CharFilter(
        field_name="environment__name", help_text="The environment's name."
    )
    enabled = StrictBooleanFilter()

    class Meta:
        model = HealthCheck
        form = NoEmptyTypedValuesForm
        fields = ["service", "environment", "enabled"]


class HealthSnapshotFilter(UpdatedAfterFilterSet):
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    status = django_filters.ChoiceFilter(choices=HealthStatus.choices)
    taken_after = time_filter(
        "taken_at", "gte", "Taken at or after this time (ISO 8601, 1970 to 9999)."
    )
    taken_before = time_filter("taken_at", "lt", "Taken before this time (ISO 8601, 1970 to 9999).")

    class Meta:
        model = HealthSnapshot
        form = NoEmptyTypedValuesForm
        fields = ["service", "status", "taken_after", "taken_before"]


class HealthHourFilter(UpdatedAfterFilterSet):
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    health_check = django_filters.NumberFilter(
        field_name="health_check_id", help_text="The check's id."
    )
    hour_after = time_filter("hour", "gte", "Hours starting at or after this time (ISO 8601).")
    hour_before = time_filter("hour", "lt", "Hours starting before this time (ISO 8601).")

    class Meta:
        model = CheckResultHourly
        form = NoEmptyTypedValuesForm
        fields = ["service", "health_check", "hour_after", "hour_before"]


class ChangeFilter(UpdatedAfterFilterSet):
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    environment = django_filters.CharFilter(
        field_name="environment__name",
        help_text="The environment's name; changes to the whole service name none.",
    )
    kind = django_filters.ChoiceFilter(choices=Change.Kind.choices)
    after = time_filter("at", "gte", "Took effect at or after this time (ISO 8601, 1970 to 9999).")
    before = time_filter("at", "lt", "Took effect before this time (ISO 8601, 1970 to 9999).")

    class Meta:
        model = Change
        form = NoEmptyTypedValuesForm
        fields = ["service", "environment", "kind", "after", "before"]


class MaintenanceWindowFilter(UpdatedAfterFilterSet):
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    environment = django_filters.CharFilter(
        field_name="environment__name",
        help_text="The environment's name; windows of the whole service name none.",
    )
    external_id = django_filters.CharFilter()
    open = StrictBooleanFilter(
        method="filter_open",
        help_text="true: the windows open now; false: those ended or run out (or not begun).",
    )

    class Meta:
        model = MaintenanceWindow
        form = NoEmptyTypedValuesForm
        fields = ["service", "environment", "external_id", "open"]

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        is_open = open_at(timezone.now())
        return queryset.filter(is_open) if value else queryset.exclude(is_open)
