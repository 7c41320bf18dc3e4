"""Query-string filters of the action items API. An invalid value is a 400, never ignored."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from api.filters import NoEmptyTypedValuesForm, StrictBooleanFilter, updated_after_filter
from core.http import request_user
from incidents.models import ActionItem, Horizon
from incidents.postmortem.api.filters import ReferenceFilter


class ActionItemFilter(django_filters.FilterSet):
    owner = django_filters.CharFilter(
        method="filter_owner", help_text="A username, or `me` for the caller's own items."
    )
    # No DISTINCT (django-filter's default for this filter): a test of the row's own column
    # cannot repeat a row, and DISTINCT over every column cost a hash of all open items for the
    # count and a sort of them all for the page.
    status = django_filters.MultipleChoiceFilter(
        choices=ActionItem.Status.choices,
        distinct=False,
        help_text="Repeat for several: status=open&status=done.",
    )
    overdue = StrictBooleanFilter(
        field_name="overdue", help_text="Open and due before today (true), or not (false)."
    )
    due_before = django_filters.DateFilter(
        field_name="due_date", lookup_expr="lt", help_text="Due before this date."
    )
    due_after = django_filters.DateFilter(
        field_name="due_date", lookup_expr="gte", help_text="Due on or after this date."
    )
    horizon = django_filters.ChoiceFilter(choices=Horizon.choices)
    blocks_deployments = StrictBooleanFilter(field_name="blocks_deployments")
    incident = ReferenceFilter(
        field_name="incident__number", help_text="An incident's reference, e.g. INC-12."
    )
    service = django_filters.CharFilter(
        field_name="incident__service__slug", help_text="The incident's service's slug."
    )
    updated_after = updated_after_filter()

    class Meta:
        model = ActionItem
        fields: list[str] = []
        form = NoEmptyTypedValuesForm

    def filter_owner(
        self, queryset: QuerySet[ActionItem], name: str, value: str
    ) -> QuerySet[ActionItem]:
        if value == "me":
            assert self.request is not None  # the API view passes its request
            return queryset.filter(owner=request_user(self.request))
        return queryset.filter(owner__username=value)
