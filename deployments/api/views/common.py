"""What every deployments viewset shares: schema pieces, lookups, the base viewset."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.serializers import Serializer

from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import KEY_RE
from api.problems import PROBLEM_CONTENT_TYPE, Problem
from core.lists import LeanList
from deployments import services
from deployments.api.serializers import (
    RowSerializer,
)
from deployments.models import (
    Environment,
    Service,
)

ID_REGEX = "[0-9]{1,18}"  # fits a bigint; longer is a 404 at the URL, not an overflow

# --- Schema helpers -------------------------------------------------------------------------------
# api.schema adds the problem answers every operation can give (400, 401, 403, 404, ...); these
# are the ones particular to an operation, or described more precisely for it.

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problems(**descriptions: str) -> dict[Any, OpenApiResponse]:
    """Problem+json responses for the schema, as problems(_409="Why.")."""
    return {
        (int(code.lstrip("_")), PROBLEM_CONTENT_TYPE): OpenApiResponse(
            PROBLEM_REF, description=description
        )
        for code, description in descriptions.items()
    }


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    pattern=KEY_RE.pattern,
    description="Makes the POST safe to retry: a retry with the same key and body (within "
    "48 hours; a JSON body compared as its value) replays the first answer and creates nothing. "
    "The same key with another body answers 422; while the first request still runs, 409. A "
    "refused request (4xx) is not kept, so its corrected retry may reuse the key.",
)
IDEMPOTENCY_PROBLEMS = problems(
    _400="Invalid input (`errors` says what, by field), or a malformed Idempotency-Key.",
    _409="The first request with this Idempotency-Key is still running.",
    _422="This Idempotency-Key was used with a different request.",
)
LOCATION_HEADER = OpenApiParameter(
    "Location",
    type=OpenApiTypes.URI,
    location=OpenApiParameter.HEADER,
    response=[201],
    description="The new object's URL.",
)


def _merge(*parts: Mapping[Any, Any]) -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


CONFLICT_PROBLEMS = problems(
    _409="Another row already has this name or slug (type `already-exists`; `errors` says "
    "which field)."
)
CREATE_PROBLEMS = _merge(
    CONFLICT_PROBLEMS, problems(_404="No service has this slug (type `unknown-service`).")
)


_ViewSet = TypeVar("_ViewSet", bound=type[viewsets.GenericViewSet])


def crud_schema(
    *,
    noun: str,
    read: type[Serializer],
    create: type[Serializer],
    update: type[Serializer],
    ordering: str,
    create_summary: str,
    create_problems: dict[Any, Any],
    retrieve_summary: str = "",
    destroy_summary: str = "",
) -> Callable[[_ViewSet], _ViewSet]:
    """The schema of a catalogue viewset (list, retrieve, create, update, partial update and,
    given a summary, destroy): the same answers for services, environments and checks."""
    a = "an" if noun[0] in "aeiou" else "a"
    views = {
        "list": extend_schema(
            summary=f"List {noun}s",
            description=ordering,
            responses={200: read(many=True)},
        ),
        "retrieve": extend_schema(
            summary=retrieve_summary or f"{a.capitalize()} {noun}", responses={200: read}
        ),
        "create": extend_schema(
            summary=create_summary,
            request=create,
            responses=_merge({201: read}, create_problems),
            parameters=[LOCATION_HEADER],
        ),
        "update": extend_schema(
            summary=f"Replace {a} {noun}'s fields (admins)",
            request=update,
            responses=_merge({200: read}, CONFLICT_PROBLEMS),
        ),
        "partial_update": extend_schema(
            summary=f"Change some of {a} {noun}'s fields (admins)",
            request=update,
            responses=_merge({200: read}, CONFLICT_PROBLEMS),
        ),
    }
    if destroy_summary:
        views["destroy"] = extend_schema(summary=destroy_summary, responses={204: None})
    return extend_schema_view(**views)


# --- Base -----------------------------------------------------------------------------------------


@contextmanager
def clashes_as_409() -> Iterator[None]:
    """A write that would duplicate a unique name is a conflict with what exists, not a typo."""
    try:
        yield
    except services.AlreadyExists as exc:
        raise Problem(
            "Another row already has this; see `errors`.",
            status_code=409,
            problem_type="already-exists",
            errors=exc.message_dict,
        ) from exc


def service_by_slug(slug: str) -> Service:
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        raise Problem(
            f"No service has the slug {slug!r}.", status_code=404, problem_type="unknown-service"
        )
    return service


def environment_named(service: Service, name: str | None) -> Environment | None:
    """The service's environment of this name, for a field that refers to it."""
    if name is None:
        return None
    environment = Environment.objects.filter(service=service, name=name).first()
    if environment is None:
        raise ValidationError({"environment": [f"{service.slug} has no environment {name!r}."]})
    return environment


class RowViewSet(viewsets.GenericViewSet):
    """Reads `.values()` rows shaped by `row_serializer`; subclasses write through services."""

    model: type[Model]
    row_serializer: type[RowSerializer]
    base_ordering: tuple[str, ...]

    def get_queryset(self) -> QuerySet:
        return self.model._default_manager.order_by(*self.base_ordering).values(
            *self.row_serializer.values()
        )

    def get_serializer_class(self) -> type[RowSerializer]:
        return self.row_serializer

    def shape(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return self.row_serializer.shape(rows)

    def row(self, **lookup: Any) -> dict[str, Any]:
        row = self.get_queryset().filter(**lookup).first()
        if row is None:
            raise NotFound()
        return self.row_serializer().to_representation(row)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = self.filter_queryset(self.get_queryset())
        if issubclass(self.pagination_class or object, CursorPagination):
            # A cursor's pages have no count, and it orders the queryset itself.
            page = self.paginate_queryset(rows)
        else:
            # Counted without the joins its `.values()` made: the filters' own joins stay.
            plain = self.filter_queryset(self.model._default_manager.all())
            page = self.paginate_queryset(LeanList(rows, count=plain))
        assert page is not None  # every list of this API is paginated
        return self.get_paginated_response(self.shape(page))

    def created(self, data: dict[str, Any], *, name: str, key: Any) -> Response:
        url = reverse(f"{name}-detail", args=[key], request=self.request)
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": url})

    def recorded(self, data: dict[str, Any], *, created: bool, name: str, key: Any) -> Response:
        """What CI's records answer: 201 with a Location for a new row, 200 with the first one
        when its external id was recorded already."""
        if created:
            return self.created(data, name=name, key=key)
        return Response(data, status=status.HTTP_200_OK)

    def validated(
        self, serializer_class: type[Serializer], *, partial: bool = False
    ) -> dict[str, Any]:
        serializer = serializer_class(
            data=self.request.data, partial=partial, context={"request": self.request}
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
