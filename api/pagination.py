from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.paginator import Paginator
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView

if TYPE_CHECKING:
    # What the mixin is mixed into, for the type checker; at run time it stays a plain mixin.
    _PaginationBase = BasePagination
else:
    _PaginationBase = object


class StrictPageSizeMixin(_PaginationBase):
    """A bad page_size is an error, not a quiet fallback to the default: a client that asked
    for 500 rows and got 50 would think it had them all."""

    # Set by every class that mixes this in.
    page_size: int | None
    page_size_query_param: str
    max_page_size: int

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Must be a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters


class PagePagination(StrictPageSizeMixin, PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        # DRF reads an empty or garbled ?page= as page 1; a client should learn it sent nonsense.
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return raw
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_query_param: ["Must be a whole number from 1."]})
        return raw

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


class TimeCursorPagination(StrictPageSizeMixin, CursorPagination):
    """For tables that grow without bound: stable pages however many rows arrive meanwhile."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering: tuple[str, ...] = ("-id",)
