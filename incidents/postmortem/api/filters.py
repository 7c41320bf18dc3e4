"""Query-string filters of the incidents API. An invalid value is a 400, never ignored."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from api.filters import BoundedIsoDateTimeFilter, NoEmptyTypedValuesForm, updated_after_filter
from incidents.insights.search import SEARCH_MAX_TERMS, incident_search
from incidents.models import ExternalReference, Incident, IncidentLabel, Severity
from incidents.models.references import LABEL_PATTERN

# What the incident filter takes: the schema carries the same pattern.
REFERENCE_PATTERN = r"^([Ii][Nn][Cc]-)?[0-9]{1,9}$"
_REFERENCE_RE = re.compile(REFERENCE_PATTERN)


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


class Duplicates(models.TextChoices):
    EXCLUDE = "exclude", "Leave duplicates out"
    INCLUDE = "include", "List them too"
    ONLY = "only", "Only duplicates"


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices)
    duplicates = django_filters.ChoiceFilter(
        choices=Duplicates.choices,
        method="filter_duplicates",
        help_text=(
            "Incidents marked as a duplicate of another are left out unless this says "
            "`include` (list them too) or `only`."
        ),
    )
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    started_after = BoundedIsoDateTimeFilter(
        field_name="started_at",
        lookup_expr="gte",
        help_text="Started at or after this ISO 8601 date-time.",
    )
    started_before = BoundedIsoDateTimeFilter(
        field_name="started_at",
        lookup_expr="lt",
        help_text="Started before this ISO 8601 date-time.",
    )
    label = django_filters.CharFilter(
        method="filter_label",
        validators=[
            RegexValidator(LABEL_PATTERN, "Not a label: lower-case letters, digits, - _ . :")
        ],
        help_text="Incidents carrying this label; repeat it for incidents carrying all of them.",
    )
    external = django_filters.CharFilter(
        method="filter_external",
        max_length=241,
        help_text="The incident another system knows by this id: `source:key`, e.g. `pager:P1X2`.",
    )
    external_source = django_filters.CharFilter(
        field_name="external_references__source",
        method="filter_external_source",
        max_length=40,
        help_text="Incidents with a reference in this source, e.g. `tickets`.",
    )
    updated_after = updated_after_filter()
    q = django_filters.CharFilter(
        method="filter_q",
        help_text=(
            "Words to find anywhere in the post-mortem: title, summary, impact, timeline, "
            "causes, lessons, action items, criteria, status, path forward, notes and the "
            f"messages sent (at most {SEARCH_MAX_TERMS} words). On PostgreSQL, words match "
            'their other forms, and "a phrase", `or` and `-word` work. Rows then carry '
            "`rank` and `snippet`, and the best match comes first unless `ordering` says."
        ),
    )

    class Meta:
        model = Incident
        fields: list[str] = []
        form = NoEmptyTypedValuesForm

    def filter_duplicates(
        self, queryset: QuerySet[Incident], name: str, value: str
    ) -> QuerySet[Incident]:
        if value == Duplicates.INCLUDE:
            return queryset
        return queryset.filter(duplicate_of__isnull=value != Duplicates.ONLY)

    def filter_label(
        self, queryset: QuerySet[Incident], name: str, value: str
    ) -> QuerySet[Incident]:
        labels = self.data.getlist("label") if isinstance(self.data, QueryDict) else [value]
        pattern = RegexValidator(LABEL_PATTERN)
        for label in labels:
            try:
                pattern(label)
            except forms.ValidationError:
                raise ValidationError({"label": [f"Not a label: {label[:50]!r}."]}) from None
            queryset = queryset.filter(
                Exists(IncidentLabel.objects.filter(incident=OuterRef("pk"), name=label))
            )
        return queryset

    def filter_external(
        self, queryset: QuerySet[Incident], name: str, value: str
    ) -> QuerySet[Incident]:
        source, colon, key = value.partition(":")
        if not colon or not source or not key:
            raise ValidationError({"external": ["Must be source:key, e.g. pager:P1X2."]})
        references = ExternalReference.objects.filter(
            incident=OuterRef("pk"), source=source.lower(), key=key
        )
        return queryset.filter(Exists(references))

    def filter_external_source(
        self, queryset: QuerySet[Incident], name: str, value: str
    ) -> QuerySet[Incident]:
        references = ExternalReference.objects.filter(incident=OuterRef("pk"), source=value.lower())
        return queryset.filter(Exists(references))

    def filter_q(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        return incident_search(queryset, value)
