"""Long lists paged at the cost of the page: what Django's Paginator takes in place of a queryset."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


class LeanList(Sequence[Any]):
    """The rows of a list, counted (and, with `keys`, ordered) by plainer querysets of them.

    A page's rows join what they show (a service's slug, an incident's owner), and Django's COUNT
    keeps every join a `.values()` or `select_related()` made. `count` is the same filters without
    them, so the paginator's COUNT reads one table where it can.

    `keys`, the same filters and order without the joins, is for lists whose order no index
    holds: the database then sorts every matching row to find a page, and sorting narrow rows
    of one table is several times cheaper than sorting them joined. The page's ids come from
    `keys`, and `rows` fetches those rows only, in its own (equal) order.

    Django's Paginator and DRF's take any sequence with `count()`; they only slice it.
    """

    def __init__(
        self, rows: QuerySet[Any], *, count: QuerySet[Any], keys: QuerySet[Any] | None = None
    ) -> None:
        self.rows = rows
        self._count = count
        self._keys = keys

    @property
    def ordered(self) -> bool:
        return self.rows.ordered

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, int):
            return self[index : index + 1][0]
        if self._keys is None:
            return list(self.rows[index])
        return list(self.rows.filter(pk__in=self._keys.values("pk")[index]))

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Any]:
        # Sequence's own would ask for one row at a time, a query each.
        return iter(self.rows)

    def count(self) -> int:  # type: ignore[override]  # the paginators' count(), not Sequence's
        return self._count.order_by().count()

    def reverse(self) -> LeanList:
        """The same rows in the opposite order, as QuerySet.reverse() gives them."""
        keys = self._keys.reverse() if self._keys is not None else None
        return LeanList(self.rows.reverse(), count=self._count, keys=keys)


class TailPaginator(Paginator):
    """Django's Paginator, reading a page in the back half of an ordered list from the other end.

    Page 400 of 400 is an OFFSET past 9,975 rows, which the database walks; read from the end
    it is the first 25 rows of the opposite order, which an index gives as cheaply as page 1.
    The order must be total (a tiebreak last, as the API's lists have), so that both ends agree
    on which rows a page holds.
    """

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        rows = self.object_list
        if bottom <= self.count // 2 or not getattr(rows, "ordered", False):
            return super().page(number)
        assert isinstance(rows, QuerySet | LeanList)  # ordered, so reversible
        tail = list(rows.reverse()[self.count - top : self.count - bottom])
        tail.reverse()
        return Page(tail, number, self)
