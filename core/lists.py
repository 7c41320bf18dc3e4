"""Long lists paged at the cost of the page: what Django's Paginator takes in place of a queryset."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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


class CappedList(Sequence[Any]):
    """Rows counted only as far as the pages people look at: up to `cap`, or to the end of the
    page asked for when that is further.

    A search for a word in a third of all incidents matches tens of thousands of them; counting
    them all would cost what the history holds on every page, where the first `cap` cost the
    same whatever its size. count() then gives `reach` + 1, which is enough for the paginators
    to know that a next page exists, and `count_exact` says it is a floor, not the number.

    `count` is the rows' filters and order without their joins (as for LeanList), walked in that
    order so that the database stops at the cap. `page`, given, fetches rows [start, stop) in
    place of slicing `rows` (the search ranks candidates for the page only).
    """

    def __init__(
        self,
        rows: QuerySet[Any],
        *,
        count: QuerySet[Any],
        cap: int,
        page: Callable[[int, int], list[Any]] | None = None,
    ) -> None:
        self.rows = rows
        self._count = count
        self.cap = cap
        self._page = page
        # None counts every row (the last page must know where the list ends).
        self.reach: int | None = cap
        self.count_exact = True

    def reach_to(self, end: int | None) -> None:
        """Count at least as far as row `end`, the last of the page asked for; None: every row."""
        self.reach = None if end is None else max(self.cap, end)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, int):
            return self[index : index + 1][0]
        if self._page is None or index.step is not None:
            return list(self.rows[index])
        start, stop = index.start or 0, index.stop
        assert stop is not None  # the paginators always slice to a page's end
        return self._page(start, stop)

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def count(self) -> int:  # type: ignore[override]  # the paginators' count(), not Sequence's
        if self.reach is None:
            self.count_exact = True
            return self._count.count()
        found = self._count[: self.reach + 1].count()
        self.count_exact = found <= self.reach
        return found


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
