"""The charts' SVG and tables, drawn from figures alone (no database)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from incidents.insights.metrics.charts import Chart, Kind, Series, format_figure, share
from incidents.insights.metrics.percentiles import percentile_cont
from incidents.insights.metrics.svg import chart_svg, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def chart(kind: Kind = Kind.BARS, **kwargs) -> Chart:
    fields = {
        "name": "sample",
        "title": "Sample <chart>",
        "description": "What it means & why",
        "kind": kind,
        "category_label": "Month",
        "value_label": "Incidents",
        "categories": ["2026-01", "2026-02", "2026-03"],
        "series": [Series("First", [1, 4, 0]), Series("Second", [2, None, 3])],
    }
    return Chart(**{**fields, **kwargs})


def parsed(c: Chart) -> ET.Element:
    return ET.fromstring(str(chart_svg(c)))


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_of_chart_is_well_formed_svg_that_names_itself(kind):
    root = parsed(chart(kind))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None
    assert title.text == "Sample <chart>"
    assert desc is not None
    assert desc.text == "What it means & why"
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("aria-describedby") == desc.get("id")


@pytest.mark.parametrize("kind", list(Kind))
def test_no_chart_carries_a_style_attribute_or_a_script(kind):
    markup = str(chart_svg(chart(kind)))
    assert "style=" not in markup
    assert "<script" not in markup
    assert "on" not in re.findall(r"\s(on)\w+=", markup)


def test_labels_are_escaped_not_markup():
    markup = str(chart_svg(chart(categories=["<b>x</b>", "b", "c"])))
    assert "<b>" not in markup
    assert "&lt;b&gt;x&lt;/b&gt;" in markup


def test_both_axes_are_labelled():
    texts = [t.text for t in parsed(chart()).iter(f"{SVG}text")]
    assert "Month" in texts
    assert "Incidents" in texts
    assert "2026-02" in texts


def test_grouped_bars_draw_one_bar_per_nonzero_figure_with_its_value_in_a_tooltip():
    rects = list(parsed(chart(Kind.BARS)).iter(f"{SVG}rect"))
    tips = [r.find(f"{SVG}title").text for r in rects]  # type: ignore[union-attr]
    assert tips == [
        "2026-01, First: 1",
        "2026-01, Second: 2",
        "2026-02, First: 4",
        "2026-03, Second: 3",
    ]


def test_stacked_bars_sit_on_each_other():
    c = chart(Kind.STACKED, series=[Series("A", [2, 0, 0]), Series("B", [3, 0, 0])])
    a, b = list(parsed(c).iter(f"{SVG}rect"))

    def at(rect: ET.Element, name: str) -> float:
        return float(rect.get(name, "nan"))

    assert at(b, "y") + at(b, "height") == pytest.approx(at(a, "y"))
    assert at(a, "height") / at(b, "height") == pytest.approx(2 / 3)


def test_a_missing_figure_breaks_the_line_instead_of_joining_across_it():
    lines = list(parsed(chart(Kind.LINES)).iter(f"{SVG}polyline"))
    # First: one run of three points; Second: two runs of one point each.
    assert [len(line.get("points", "").split()) for line in lines] == [3, 1, 1]


def test_series_not_drawn_are_in_the_table_and_csv_only():
    c = chart(
        series=[Series("Rate (%)", [50.0, None, 25.5]), Series("Count", [2, 0, 4], drawn=False)]
    )
    assert [r.find(f"{SVG}title").text for r in parsed(c).iter(f"{SVG}rect")] == [  # type: ignore[union-attr]
        "2026-01, Rate (%): 50",
        "2026-03, Rate (%): 25.5",
    ]
    assert c.header == ["Month", "Rate (%)", "Count"]
    assert c.rows == [["2026-01", "50", "2"], ["2026-02", "", "0"], ["2026-03", "25.5", "4"]]
    assert c.csv() == "Month,Rate (%),Count\r\n2026-01,50,2\r\n2026-02,,0\r\n2026-03,25.5,4\r\n"


def test_a_ranked_chart_grows_a_row_per_category():
    short = parsed(chart(Kind.RANKED, categories=["a"], series=[Series("n", [3])]))
    tall = parsed(
        chart(Kind.RANKED, categories=list("abcde"), series=[Series("n", [5, 4, 3, 2, 1])])
    )
    height = lambda root: float(root.get("viewBox").split()[3])  # noqa: E731
    assert height(tall) > height(short)


def test_an_empty_chart_says_so():
    assert chart(series=[Series("A", [0, None, 0])]).is_empty
    assert not chart().is_empty


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (0.4, 1), (3, 5), (7, 10), (10, 10), (11, 20), (230, 500)]
)
def test_the_value_axis_ends_at_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_figures_and_shares_read_plainly():
    assert format_figure(None) == ""
    assert format_figure(3) == "3"
    assert format_figure(3.0) == "3"
    assert format_figure(2.345) == "2.3"
    assert share(1, 3) == 33.3
    assert share(0, 0) is None


def test_percentiles_interpolate_as_postgresql_percentile_cont_does():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7.0], 0.9) == 7.0
    assert percentile_cont([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    # p90 of 1..10: position 8.1 between 9 and 10.
    assert percentile_cont([float(v) for v in range(10, 0, -1)], 0.9) == pytest.approx(9.1)
