"""The incident list's filters: what the query string may ask for, validated like a form."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from deployments.models import Service
from incidents.insights import search
from incidents.models import Incident, Severity


def _day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the current time zone, as people read the dates."""
    return timezone.make_aware(datetime.combine(day, time.min))


class IncidentFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("started_from"), cleaned.get("started_to")
        if start and end and end < start:
            self.add_error("started_to", "This date is before the “from” date.")
        return cleaned


class IncidentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Words from any section…"}),
    )
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices, empty_label="Any")
    severity = django_filters.ChoiceFilter(choices=Severity.choices, empty_label="Any")
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.order_by("name"), to_field_name="slug", empty_label="Any"
    )
    # Whole days: "to" includes its own day. Compared against started_at itself (not its
    # __date), so the (service, -started_at) index still applies.
    started_from = django_filters.DateFilter(
        label="Started from",
        method="filter_started_from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    started_to = django_filters.DateFilter(
        label="Started to",
        method="filter_started_to",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    class Meta:
        model = Incident
        fields: list[str] = []
        form = IncidentFilterForm

    def filter_search(
        self, queryset: QuerySet[Incident], name: str, value: str
    ) -> QuerySet[Incident]:
        return search.incident_search(queryset, value)

    def filter_started_from(
        self, queryset: QuerySet[Incident], name: str, value: date
    ) -> QuerySet[Incident]:
        return queryset.filter(started_at__gte=_day_start(value))

    def filter_started_to(
        self, queryset: QuerySet[Incident], name: str, value: date
    ) -> QuerySet[Incident]:
        return queryset.filter(started_at__lt=_day_start(value + timedelta(days=1)))

    @property
    def active_params(self) -> QueryDict:
        """The filters the request asked for, as typed, without empty ones or the page number.

        Page links carry these, so moving through pages keeps the filters.
        """
        params = QueryDict(mutable=True)
        assert self.data is not None  # bound to the query string
        for name in self.filters:
            value = self.data.get(name, "")
            if value.strip():
                params[name] = value
        return params
