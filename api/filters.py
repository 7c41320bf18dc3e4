"""Filter backends every list endpoint shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.views import APIView


class StableOrderingFilter(OrderingFilter):
    """The client's ordering, then a tiebreak, so pages never overlap or shuffle rows that tie.

    The tiebreak is the view's `ordering_tiebreak`, or the id in the direction of the first term.
    """

    def get_ordering(
        self, request: Request, queryset: QuerySet[Any], view: APIView
    ) -> Sequence[str] | None:
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
    plain list (the common case for dashboards and scripts) gives it nothing to do. Parameters
    the filterset does not know are ignored either way, so the answer is the same.
    """

    def filter_queryset(  # type: ignore[override]  # types-django-filter say HttpRequest; DRF passes its Request
        self, request: Request, queryset: QuerySet[Any], view: APIView
    ) -> QuerySet[Any]:
        if not set(request.query_params).difference(NOT_FILTERS):
            return queryset
        return super().filter_queryset(request, queryset, view)
