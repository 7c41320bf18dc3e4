from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class TimeCursorPagination(CursorPagination):
    """For tables that grow without bound: stable pages however many rows arrive meanwhile."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-id",)
