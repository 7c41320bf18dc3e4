"""What a chart is, whatever draws it: categories along one axis and named series of figures.

The same object gives the SVG (svg.py), the text table beside it and the CSV download, so the
three never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

Figure = float | int | None


class Kind(StrEnum):
    BARS = "bars"  # one bar per series side by side in each category
    STACKED = "stacked"  # the series stacked in one bar per category
    LINES = "lines"  # a line per series; a missing figure breaks the line
    RANKED = "ranked"  # horizontal bars, one row per category, largest first


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Figure]
    # False: a column of the table and the CSV only (a count behind a drawn share, say).
    drawn: bool = True
    # Sets the colour class: severities keep their colours across charts.
    css: str = ""


@dataclass(frozen=True)
class Chart:
    name: str  # in the CSV link and the element ids
    title: str
    description: str  # what the chart means, said once for everyone (also the SVG's <desc>)
    kind: Kind
    category_label: str  # the x axis (for RANKED: the rows)
    value_label: str  # the y axis, with its unit
    categories: Sequence[str]
    series: Sequence[Series]
    note: str = ""  # what the filters do not apply to, and the like
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def drawn(self) -> list[Series]:
        return [s for s in self.series if s.drawn]

    @property
    def is_empty(self) -> bool:
        return all(v in (None, 0) for s in self.series for v in s.values)

    @property
    def header(self) -> list[str]:
        return [self.category_label, *(s.label for s in self.series)]

    @property
    def rows(self) -> list[list[str]]:
        return [
            [category, *(format_figure(s.values[i]) for s in self.series)]
            for i, category in enumerate(self.categories)
        ]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue()


@dataclass(frozen=True)
class Column:
    """A series of a monthly chart before its figures: what monthly_chart makes a Series of."""

    label: str
    drawn: bool = True
    css: str = ""


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def monthly_chart(
    *,
    months: Sequence[date],
    columns: Sequence[Column],
    row: Callable[[date], Sequence[Figure]],
    name: str,
    title: str,
    description: str,
    kind: Kind,
    value_label: str,
    category_label: str = "Month",
    note: str = "",
) -> Chart:
    """A chart with a category per month: `row(month)` gives that month's figure of each
    column, in the columns' order (a month the query returned nothing for included)."""
    rows = [row(month) for month in months]
    return Chart(
        name=name,
        title=title,
        description=description,
        kind=kind,
        category_label=category_label,
        value_label=value_label,
        categories=[month_label(month) for month in months],
        series=[
            Series(column.label, [r[i] for r in rows], drawn=column.drawn, css=column.css)
            for i, column in enumerate(columns)
        ],
        note=note,
    )


def format_figure(value: Figure) -> str:
    """A figure as the table and CSV show it: whole numbers bare, others to one decimal."""
    if value is None:
        return ""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def share(part: int, whole: int) -> float | None:
    """Percent, or None when there is nothing to take a share of (not 0%: nothing happened)."""
    return None if not whole else round(100 * part / whole, 1)
