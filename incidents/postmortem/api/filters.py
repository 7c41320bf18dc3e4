"""Query-string filters of the incidents API. An invalid value is a 400, never ignored."""

from __future__ import annotations

import re
from datetime import MAXYEAR, UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from incidents.insights.selectors import SEARCH_MAX_TERMS
from incidents.models import Incident, Severity

# What the incident filter takes: the schema carries the same pattern.
REFERENCE_PATTERN = r"^([Ii][Nn][Cc]-)?[0-9]{1,9}$"
_REFERENCE_RE = re.compile(REFERENCE_PATTERN)
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(MAXYEAR, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


class StrictBooleanFormField(forms.Field):
    """`true` or `false`, as the schema says; anything else is an error, not "no filter"."""

    values = {"true": True, "false": False}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        try:
            return self.values[value]
        except KeyError:
            raise forms.ValidationError("Use true or false.", code="invalid") from None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanFormField  # type: ignore[assignment]  # the stubs want a NullBooleanField; any field works


class ClampedIsoDateTimeFormField(django_filters.fields.IsoDateTimeField):
    """Any ISO 8601 date-time. One that lies outside what UTC can hold (0001-01-01T00:00+01:00,
    9999-12-31T23:00-05:00) is before or after every stored time, and is compared as such."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            return LATEST if moment.year == MAXYEAR else EARLIEST


class ClampedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = ClampedIsoDateTimeFormField


class ReferenceFormField(forms.CharField):
    """An incident reference (INC-12, inc-12 or 12), cleaned to its number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, strip=False, **kwargs)

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]  # cleans to the number
        text = super().to_python(value)
        if text in (None, ""):
            return None
        match = _REFERENCE_RE.match(text)
        if not match:
            raise forms.ValidationError("Must be an incident reference such as INC-12.")
        return int(text.rsplit("-", 1)[-1])


class ReferenceFilter(django_filters.CharFilter):
    field_class = ReferenceFormField


class NoEmptyTypedValuesForm(forms.Form):
    """`?due_before=` is an error, not "no filter": an empty value is no date, choice, boolean
    or reference. Free text filters may be empty (and then filter nothing)."""

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        assert isinstance(self.data, QueryDict)  # django-filter binds the query string
        for name, field in self.fields.items():
            if type(field) is forms.CharField or name not in self.data:
                continue
            if all(value == "" for value in self.data.getlist(name)):
                self.add_error(name, "Must not be empty; leave the parameter out instead.")
        return cleaned


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    started_after = ClampedIsoDateTimeFilter(
        field_name="started_at",
        lookup_expr="gte",
        help_text="Started at or after this ISO 8601 date-time.",
    )
    started_before = ClampedIsoDateTimeFilter(
        field_name="started_at",
        lookup_expr="lt",
        help_text="Started before this ISO 8601 date-time.",
    )
    q = django_filters.CharFilter(
        method="filter_q",
        help_text=f"Words the title contains, all of them, any case (at most {SEARCH_MAX_TERMS}).",
    )

    class Meta:
        model = Incident
        fields: list[str] = []
        form = NoEmptyTypedValuesForm

    def filter_q(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        for term in value.split()[:SEARCH_MAX_TERMS]:
            queryset = queryset.filter(title__icontains=term)
        return queryset
