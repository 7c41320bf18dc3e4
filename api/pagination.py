from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.paginator import Paginator
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.lists import CappedList, LeanList, TailPaginator

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


class KeysetCursorPagination(CursorPagination):
    """Cursor pages in the list's own order, for PagePagination's `cursor=` (no `count`)."""

    cursor_query_param = "cursor"


class PagePagination(StrictPageSizeMixin, PageNumberPagination):
    """Numbered pages; with `cursor` (empty for the first page), keyset pages instead.

    A numbered page deep in a long list makes the database walk every row before it (OFFSET);
    a cursor page starts where the last one ended, so page 400 costs what page 1 costs, and
    rows arriving meanwhile neither repeat nor skip a row. Views whose order is a plain column
    with an index behind it say so with `keyset_pages = True`. Numbered pages in the back half
    (`page=last` above all) are read from the other end (core.lists.TailPaginator).
    """

    django_paginator_class = TailPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_param = "cursor"

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        self.keyset: KeysetCursorPagination | None = None
        if self.cursor_query_param in request.query_params:
            if not getattr(view, "keyset_pages", False):
                # Answering page 1 instead would look like the page the cursor pointed at.
                raise ValidationError(
                    {self.cursor_query_param: ["This list has numbered pages only: use page."]}
                )
            if self.page_query_param in request.query_params:
                raise ValidationError(
                    {self.cursor_query_param: ["Send either page or cursor, not both."]}
                )
            self.keyset = KeysetCursorPagination()
            self.keyset.page_size = self.get_page_size(request)
            self.keyset.ordering = getattr(view, "ordering", None) or "-id"
            rows = queryset.rows if isinstance(queryset, LeanList | CappedList) else queryset
            return self.keyset.paginate_queryset(rows, request, view)
        if isinstance(queryset, CappedList):
            queryset.reach_to(self._page_end(request))
        return super().paginate_queryset(queryset, request, view)

    def _page_end(self, request: Request) -> int | None:
        """How far a capped list must count to answer the page asked for; None: to its end."""
        raw = request.query_params.get(self.page_query_param, "1")
        if raw in self.last_page_strings:
            return None
        size = self.get_page_size(request) or 1
        # A garbled number is refused by get_page_number, after the count.
        return int(raw) * size if raw.isdigit() else size

    def get_paginated_response(self, data: Any) -> Response:
        if getattr(self, "keyset", None) is not None:
            assert self.keyset is not None
            return self.keyset.get_paginated_response(data)
        response = super().get_paginated_response(data)
        assert self.page is not None  # paginate_queryset ran
        rows = self.page.paginator.object_list
        if isinstance(rows, CappedList) and not rows.count_exact:
            # Only a floor was counted: a number that looks exact would be a wrong answer.
            del response.data["count"]
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        # Keyset pages have no count: counting would walk the whole list they avoid.
        paginated["required"] = [name for name in paginated["required"] if name != "count"]
        paginated["properties"]["count"]["description"] = (
            "Absent from keyset (cursor) pages, and from lists that count only so far (a search "
            "with `q` that matches more incidents than it counts): then `next` says whether "
            "there are more."
        )
        return paginated

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        # DRF reads an empty or garbled ?page= as page 1; a client should learn it sent nonsense.
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            # DRF's own reading turns "last" into the number; returned as text, the paginator
            # took it for a garbled number and the page was a 404.
            return paginator.num_pages
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_query_param: ["Must be a whole number from 1."]})
        return raw

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {
                    "oneOf": [
                        {"type": "integer", "minimum": 1},
                        {"type": "string", "enum": list(self.last_page_strings)},
                    ]
                }
                parameter["description"] = "A page number, or `last` for the last page."
        if getattr(view, "keyset_pages", False):
            parameters.append(
                {
                    "name": self.cursor_query_param,
                    "required": False,
                    "in": "query",
                    "description": (
                        "Keyset pages instead of numbered ones: send it empty for the first "
                        "page, then follow `next` and `previous`. Each page costs the same "
                        "however deep; the answer has no `count`. Not with `page`."
                    ),
                    "schema": {"type": "string"},
                }
            )
        return parameters


class TimeCursorPagination(StrictPageSizeMixin, CursorPagination):
    """For tables that grow without bound: stable pages however many rows arrive meanwhile."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering: tuple[str, ...] = ("-id",)
