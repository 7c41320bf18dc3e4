"""A chart drawn as an accessible SVG, on the server: no script, no library, no inline style.

The SVG names itself (role="img", <title>, <desc>) and labels both axes; colours come from
classes in static/css/metrics.css (the CSP refuses style attributes), geometry from attributes.
The figures themselves are also in the table the page puts beside each chart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from incidents.insights.metrics.charts import Chart, Figure, Kind, format_figure

WIDTH = 640
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 52
# Ranked charts: a row per category, the label left of its bar.
ROW = 22
LABEL_WIDTH = 200
# At most this many category labels along the x axis; the others are in the table.
MAX_X_LABELS = 12


def _number(value: object) -> object:
    # format_html escapes its arguments into strings first, so numbers are formatted here.
    return f"{value:.1f}" if isinstance(value, float) else value


def _svg(template: str, *args: object, **kwargs: object) -> SafeString:
    return format_html(template, *map(_number, args), **{k: _number(v) for k, v in kwargs.items()})


def _svg_join(template: str, rows: Iterable[Sequence[object]]) -> SafeString:
    return format_html_join("", template, ([_number(v) for v in row] for row in rows))


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop's last step always holds


def _series_class(chart: Chart, index: int) -> str:
    series = chart.drawn[index]
    return series.css or f"series-{index}"


def _top(chart: Chart) -> float:
    drawn = chart.drawn
    if chart.kind == Kind.STACKED:
        totals = [
            sum(v or 0 for v in (s.values[i] for s in drawn)) for i in range(len(chart.categories))
        ]
        return max(totals, default=0)
    return max((v for s in drawn for v in s.values if v is not None), default=0)


def _frame(chart: Chart, height: int, body: SafeString) -> SafeString:
    title_id, desc_id = f"chart-{chart.name}-title", f"chart-{chart.name}-desc"
    return _svg(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        'viewBox="0 0 {w} {h}" aria-labelledby="{t}" aria-describedby="{d}">'
        '<title id="{t}">{title}</title><desc id="{d}">{desc}</desc>{body}</svg>',
        kind=chart.kind.value,
        w=WIDTH,
        h=height,
        t=title_id,
        d=desc_id,
        title=chart.title,
        desc=chart.description,
        body=body,
    )


def _y_axis(chart: Chart, top: float) -> SafeString:
    plot_h = HEIGHT - TOP - BOTTOM
    ticks = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        ticks.append((LEFT, y, WIDTH - RIGHT, y, LEFT - 6, y + 4, format_figure(round(value, 1))))
    lines = _svg_join(
        '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
        ticks,
    )
    label = _svg(
        '<text class="axis-label" x="14" y="{}" text-anchor="middle" '
        'transform="rotate(-90 14 {})">{}</text>',
        TOP + plot_h / 2,
        TOP + plot_h / 2,
        chart.value_label,
    )
    return _svg("{}{}", lines, label)


def _x_axis(chart: Chart) -> SafeString:
    count = len(chart.categories)
    band = (WIDTH - LEFT - RIGHT) / max(count, 1)
    # Long labels (weeks as dates) need more room each than months do.
    longest = max((len(c) for c in chart.categories), default=0)
    room = MAX_X_LABELS if longest <= 7 else MAX_X_LABELS * 2 // 3
    every = max(1, math.ceil(count / room))
    baseline = HEIGHT - BOTTOM
    labels = _svg_join(
        '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (LEFT + band * (i + 0.5), baseline + 16, category)
            for i, category in enumerate(chart.categories)
            if i % every == 0
        ),
    )
    return _svg(
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>{}'
        '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>',
        LEFT,
        baseline,
        WIDTH - RIGHT,
        baseline,
        labels,
        LEFT + (WIDTH - LEFT - RIGHT) / 2,
        HEIGHT - 8,
        chart.category_label,
    )


def _rect(css: str, x: float, y: float, w: float, h: float, tip: str) -> SafeString:
    return _svg(
        '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
        css,
        x,
        y,
        max(w, 0),
        max(h, 0),
        tip,
    )


def _bars(chart: Chart, top: float) -> Iterator[SafeString]:
    plot_h = HEIGHT - TOP - BOTTOM
    band = (WIDTH - LEFT - RIGHT) / max(len(chart.categories), 1)
    drawn = chart.drawn
    stacked = chart.kind == Kind.STACKED
    width = band * 0.8 if stacked else band * 0.8 / max(len(drawn), 1)
    for i, category in enumerate(chart.categories):
        base: float = HEIGHT - BOTTOM
        for j, series in enumerate(drawn):
            value = series.values[i]
            if not value:
                continue
            h = plot_h * value / top
            x = LEFT + band * i + band * 0.1 + (0 if stacked else width * j)
            y = base - h
            tip = f"{category}, {series.label}: {format_figure(value)}"
            yield _rect(_series_class(chart, j), x, y, width, h, tip)
            if stacked:
                base = y


def _segments(values: Sequence[Figure]) -> Iterator[list[tuple[int, float]]]:
    """Runs of consecutive figures: a month without one breaks the line rather than invent it."""
    run: list[tuple[int, float]] = []
    for i, value in enumerate(values):
        if value is None:
            if run:
                yield run
            run = []
        else:
            run.append((i, float(value)))
    if run:
        yield run


def _lines(chart: Chart, top: float) -> Iterator[SafeString]:
    plot_h = HEIGHT - TOP - BOTTOM
    band = (WIDTH - LEFT - RIGHT) / max(len(chart.categories), 1)
    for j, series in enumerate(chart.drawn):
        css = _series_class(chart, j)
        for run in _segments(series.values):
            points = [(LEFT + band * (i + 0.5), HEIGHT - BOTTOM - plot_h * v / top) for i, v in run]
            yield _svg(
                '<polyline class="line {}" points="{}"/>',
                css,
                " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
            )
            for (i, value), (x, y) in zip(run, points, strict=True):
                tip = f"{chart.categories[i]}, {series.label}: {format_figure(value)}"
                yield _svg(
                    '<circle class="point {}" cx="{}" cy="{}" r="3"><title>{}</title></circle>',
                    css,
                    x,
                    y,
                    tip,
                )


def _ranked(chart: Chart) -> SafeString:
    top = _top(chart) or 1
    series = chart.drawn[0]
    room = WIDTH - LABEL_WIDTH - RIGHT - 48
    parts = []
    for i, category in enumerate(chart.categories):
        value = series.values[i] or 0
        y = TOP + ROW * i
        parts.append(
            _svg(
                '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>{}'
                '<text class="value" x="{}" y="{}">{}</text>',
                LABEL_WIDTH - 8,
                y + ROW * 0.65,
                category,
                _rect(
                    _series_class(chart, 0),
                    LABEL_WIDTH,
                    y + 3,
                    room * value / top,
                    ROW - 6,
                    f"{category}: {format_figure(value)}",
                ),
                LABEL_WIDTH + room * value / top + 6,
                y + ROW * 0.65,
                format_figure(value),
            )
        )
    height = TOP + ROW * max(len(chart.categories), 1) + 28
    axis = _svg(
        '<text class="axis-label" x="{}" y="{}" text-anchor="start">{}</text>',
        LABEL_WIDTH,
        height - 8,
        chart.value_label,
    )
    return _frame(chart, height, _svg("{}{}", mark_safe("".join(parts)), axis))


def chart_svg(chart: Chart) -> SafeString:
    """The chart as an inline <svg> element, safe to put in a page as it is."""
    if chart.kind == Kind.RANKED:
        return _ranked(chart)
    top = nice_ceiling(_top(chart))
    marks = _lines(chart, top) if chart.kind == Kind.LINES else _bars(chart, top)
    body = _svg("{}{}{}", _y_axis(chart, top), mark_safe("".join(marks)), _x_axis(chart))
    return _frame(chart, HEIGHT, body)
