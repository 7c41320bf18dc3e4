"""Filter backends every list endpoint shares, and the query-string pieces both apps' filtersets
are built from. An invalid value is a 400, never ignored and never a 500."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import MAXYEAR, UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.views import APIView


class StableOrderingFilter(OrderingFilter):
    """The client's ordering, then a tiebreak, so pages never overlap or shuffle rows that tie.

    The tiebreak is the view's `ordering_tiebreak`, or the id in the direction of the first term.
    An ordering the view does not offer is a 400 naming the ones it does, never quietly the
    default (`?ordering=password` must not look like it worked).
    """

    def get_ordering(
        self, request: Request, queryset: QuerySet[Any], view: APIView
    ) -> Sequence[str] | None:
        raw = request.query_params.get(self.ordering_param)
        if raw is not None:
            terms = [term.strip() for term in raw.split(",")]
            context = {"request": request}
            valid = {name for name, _label in self.get_valid_fields(queryset, view, context)}
            wrong = [term for term in terms if term.lstrip("-") not in valid]
            if wrong:
                allowed = ", ".join(sorted(valid))
                detail = f"Unknown ordering {', '.join(wrong)}. Allowed: {allowed} (- reverses)."
                raise ValidationError({self.ordering_param: [detail]})
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return ordering
        tiebreak = getattr(view, "ordering_tiebreak", None)
        if tiebreak is None:
            tiebreak = "-id" if ordering[0].startswith("-") else "id"
        bare = {term.lstrip("-") for term in ordering}
        return [*ordering, tiebreak] if tiebreak.lstrip("-") not in bare else list(ordering)


# Query parameters that belong to pagination and ordering, never to a filterset.
NOT_FILTERS = frozenset({"page", "page_size", "cursor", "ordering"})


class QueryFilterBackend(DjangoFilterBackend):
    """django-filter, skipped when the request has no parameter but pagination and ordering.

    Building and validating a FilterSet costs about as much as shaping a page of rows, and a
    plain list (the common case for dashboards and scripts) gives it nothing to do. A parameter
    neither the filterset, the pagination nor the view (`query_parameters`) knows is a 400
    naming the allowed ones: `?updated_after=` ignored would answer with every row.
    """

    def filter_queryset(  # type: ignore[override]  # types-django-filter say HttpRequest; DRF passes its Request
        self, request: Request, queryset: QuerySet[Any], view: APIView
    ) -> QuerySet[Any]:
        # `ordering` only where a list can be ordered; elsewhere it would be silently ignored.
        ordered = any(
            issubclass(backend, OrderingFilter) for backend in getattr(view, "filter_backends", ())
        )
        not_filters = NOT_FILTERS if ordered else NOT_FILTERS - {"ordering"}
        if not set(request.query_params).difference(not_filters):
            return queryset
        filterset_class = self.get_filterset_class(view, queryset)
        allowed = (
            not_filters
            | set(getattr(view, "query_parameters", ()))
            | set(filterset_class.base_filters if filterset_class else ())
        )
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            names = ", ".join(sorted(allowed))
            raise ValidationError(
                {name: [f"Unknown parameter. Allowed: {names}."] for name in unknown}
            )
        return super().filter_queryset(request, queryset, view)


# --- Filterset pieces ------------------------------------------------------------------------------


class NoEmptyTypedValuesForm(forms.Form):
    """`?due_before=` is an error, not "no filter": an empty value is no date, time, choice,
    boolean or reference, and the client meant something by sending it. Free text filters may be
    empty (and then filter nothing). Every filterset with a typed filter uses this form."""

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


class StrictBooleanFormField(forms.Field):
    """`true` or `false`, as the schema says; anything else is an error, where Django's
    NullBooleanField would read it as "no filter". Empty is NoEmptyTypedValuesForm's to refuse."""

    values = {"true": True, "false": False}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        try:
            return self.values[value]
        except KeyError:
            raise forms.ValidationError("Enter true or false.", code="invalid") from None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanFormField  # type: ignore[assignment]  # the stubs want a NullBooleanField; any field works


# Where a time that UTC cannot hold is put: before or after every stored time.
FAR_PAST = datetime.min.replace(tzinfo=UTC)
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


class BoundedIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, compared in UTC: PostgreSQL refuses offsets beyond about 16 hours,
    Python allows 24. One that UTC cannot hold (0001-01-01T00:00+01:00, 9999-12-31T23:00-05:00)
    lies before or after every stored time, and is compared as such.

    With `earliest`, for a filter whose schema states a first year, a time before it is refused
    as the schema says, not compared.
    """

    def __init__(self, *args: Any, earliest: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.earliest = earliest

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            moment = FAR_FUTURE if moment.year == MAXYEAR else FAR_PAST
        if self.earliest is not None and moment < self.earliest:
            raise forms.ValidationError(
                f"Enter a time between {self.earliest:%Y-%m-%d} and 9999-12-31 (UTC).",
                code="out_of_range",
            )
        return moment


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Takes `earliest=` as BoundedIsoDateTimeField does."""

    field_class = BoundedIsoDateTimeField


def updated_after_filter() -> BoundedIsoDateTimeFilter:
    """`updated_after`, on every list whose rows have an `updated_at`. Inclusive: a sync job
    that passes the newest updated_at it saw gets that row again, rather than miss another row
    changed in the same instant."""
    return BoundedIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Changed at or after this ISO 8601 date-time (inclusive).",
    )


class UpdatedAfterFilterSet(django_filters.FilterSet):
    """`updated_after`, for every list of rows with an `updated_at`: lists with filters of their
    own build on it, lists without use it as it is."""

    updated_after = updated_after_filter()

    class Meta:
        form = NoEmptyTypedValuesForm
