"""The SVG charts: well-formed, accessible, escaped, proportional and deterministic."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jikimi.console.charts import (
    PALETTE,
    Bar,
    Category,
    Series,
    Slice,
    Strip,
    Swatch,
    donut,
    nice_ticks,
    stacked_bars,
    stacked_columns,
    strip_plot,
    text_width,
)

NS = "{http://www.w3.org/2000/svg}"
DAYS = [Category(f"2026-03-0{d}", f"{d} Mar") for d in range(1, 6)]
HOSTILE = '<script>alert("x")</script> & "quotes"'


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # fails on anything not well-formed
    assert root.tag == f"{NS}svg"
    return root


def _marks(root: ET.Element, tag: str = "rect") -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}{tag}") if "data-series" in e.attrib]


def _columns(**kw: object) -> str:
    args: dict[str, object] = {
        "title": "Notices per day",
        "desc": "Notices received: 9.",
        "categories": DAYS,
        "series": [
            Series("a", "Takedowns", (1, 0, 2, 0, 4), PALETTE["blue"]),
            Series("b", "Orders", (0, 0, 1, 0, 1), PALETTE["green"]),
        ],
        "value_label": "Number per day",
        "category_label": "Day (UTC)",
    }
    args.update(kw)
    return stacked_columns("chart-test", **args)  # type: ignore[arg-type]


def test_every_chart_is_an_image_named_by_its_title_and_desc() -> None:
    root = _parse(_columns())
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-test-title chart-test-desc"
    assert root.find(f"{NS}title").text == "Notices per day"  # type: ignore[union-attr]
    assert root.find(f"{NS}desc").text == "Notices received: 9."  # type: ignore[union-attr]
    assert root.get("viewBox") == "0 0 480 240"


def test_stacked_columns_are_proportional_and_stacked() -> None:
    root = _parse(_columns())
    bars = {(e.get("data-category"), e.get("data-series")): e for e in _marks(root)}
    assert len(bars) == 5  # zero values draw nothing
    day3_a = bars[("2026-03-03", "a")]
    day3_b = bars[("2026-03-03", "b")]
    day5_a = bars[("2026-03-05", "a")]
    assert day3_a.get("data-value") == "2"
    # Heights follow the values; the second series sits on top of the first.
    assert float(day5_a.get("height", 0)) == pytest.approx(
        2 * float(day3_a.get("height", 0)), abs=0.02
    )
    assert float(day3_b.get("y", 0)) + float(day3_b.get("height", 0)) == pytest.approx(
        float(day3_a.get("y", 0)), abs=0.02
    )
    assert day3_a.find(f"{NS}title").text == "3 Mar · Takedowns · 2"  # type: ignore[union-attr]
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "Takedowns" in texts and "Orders" in texts  # the legend
    assert "Number per day" in texts and "Day (UTC)" in texts


def test_day_labels_are_thinned_but_today_is_always_labelled() -> None:
    days = [Category(f"d{i}", f"day {i}") for i in range(90)]
    markup = _columns(categories=days, series=[Series("a", "A", (1,) * 90, PALETTE["blue"])])
    labels = [t.text for t in _parse(markup).iter(f"{NS}text") if (t.text or "").startswith("day")]
    assert "day 89" in labels and 6 <= len(labels) <= 9


def test_text_is_escaped_everywhere() -> None:
    markup = _columns(
        title=HOSTILE,
        desc=HOSTILE,
        series=[Series('k"', HOSTILE, (1, 1, 1, 1, 1), PALETTE["blue"])],
    )
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    root = _parse(markup)
    assert root.find(f"{NS}title").text == HOSTILE  # type: ignore[union-attr]
    bars = stacked_bars(
        "chart-bars",
        title=HOSTILE,
        desc=HOSTILE,
        bars=[Bar("q", HOSTILE, (1, 2))],
        legend=[Swatch("x", HOSTILE, "#000"), Swatch("y", "y", "#fff")],
        value_label=HOSTILE,
    )
    assert "<script>" not in bars
    _parse(bars)
    with pytest.raises(ValueError, match="chart id"):
        stacked_columns(
            'x" onload="alert(1)',
            title="t",
            desc="d",
            categories=[],
            series=[],
            value_label="v",
        )


def test_no_inline_style_or_script_in_any_chart() -> None:
    markups = [
        _columns(),
        stacked_bars(
            "chart-bars",
            title="t",
            desc="d",
            bars=[Bar("q", "Queue", (1, 2))],
            legend=[Swatch("x", "X", "#000"), Swatch("y", "Y", "#fff")],
            value_label="v",
        ),
        strip_plot(
            "chart-strip",
            title="t",
            desc="d",
            strips=[Strip("s", "24 h", (24.0,), ((3.0, True), (30.0, False)))],
            value_label="hours",
            point_text="{value} h",
            within=Swatch("met", "In time", PALETTE["green"]),
            beyond=Swatch("missed", "Late", PALETTE["vermillion"]),
            mark_label="Deadline",
        ),
        donut(
            "chart-donut",
            title="t",
            desc="d",
            slices=[Slice("a", "A", 3, "#000")],
            centre="100%",
        ),
    ]
    for markup in markups:
        root = _parse(markup)
        assert all("style" not in e.attrib for e in root.iter())
        assert not list(root.iter(f"{NS}script")) and "<style" not in markup
        assert " on" not in markup.split(">", 1)[0]  # no event handler on the root


def test_charts_are_deterministic() -> None:
    assert _columns() == _columns()
    one = donut("chart-d", title="t", desc="d", slices=[Slice("a", "A", 1, "#000")], centre="x")
    two = donut("chart-d", title="t", desc="d", slices=[Slice("a", "A", 1, "#000")], centre="x")
    assert one == two


def test_no_data_still_draws_a_valid_chart() -> None:
    empty = _columns(series=[Series("a", "A", (0,) * 5, "#000")])
    assert _marks(_parse(empty)) == []
    _parse(donut("chart-d", title="t", desc="d", slices=[Slice("a", "A", 0, "#000")], centre="-"))
    _parse(stacked_bars("chart-b", title="t", desc="d", bars=[], legend=[], value_label="v"))
    with pytest.raises(ValueError, match="values"):
        _columns(series=[Series("a", "A", (1,), "#000")])


def test_horizontal_bars_with_parts_and_long_labels() -> None:
    long = "a-bank-with-a-very-long-name-that-would-not-fit-beside-its-bar-at-all"
    markup = stacked_bars(
        "chart-queues",
        title="Open cases",
        desc="4 open",
        bars=[Bar("adult_ncii", "Adults", (1, 3), "4 (1 late)"), Bar("long", long, (0, 2))],
        legend=[Swatch("overdue", "Late", "#d55e00"), Swatch("in_time", "In time", "#0072b2")],
        value_label="Open cases",
    )
    root = _parse(markup)
    rects = {(e.get("data-category"), e.get("data-series")): e for e in _marks(root)}
    late, rest = rects[("adult_ncii", "overdue")], rects[("adult_ncii", "in_time")]
    assert float(rest.get("width", 0)) == pytest.approx(3 * float(late.get("width", 0)))
    assert float(rest.get("x", 0)) == pytest.approx(
        float(late.get("x", 0)) + float(late.get("width", 0))
    )
    assert ("long", "overdue") not in rects  # a zero part draws nothing
    texts = {t.text for t in root.iter(f"{NS}text")}
    assert "4 (1 late)" in texts and "2" in texts
    clipped = [t for t in texts if t and t.endswith("…")]
    assert clipped and long.startswith(clipped[0][:-1])
    # The whole name is still there, as the label's title.
    assert long in [t.text for t in root.iter(f"{NS}title")]


def test_strip_plot_marks_deadlines_and_puts_far_points_at_the_edge() -> None:
    markup = strip_plot(
        "chart-deadlines",
        title="Time to decision",
        desc="3 of 4 in time",
        strips=[
            Strip("c24", "24-hour deadline", (24.0,), ((6.0, True), (30.0, False))),
            Strip("c48", "48-hour deadline", (48.0,), ((10.0, True), (1000.0, False))),
        ],
        value_label="Hours",
        point_text="{value} hours",
        within=Swatch("met", "In time", PALETTE["green"]),
        beyond=Swatch("missed", "Late", PALETTE["vermillion"]),
        mark_label="Deadline",
    )
    root = _parse(markup)
    dots = _marks(root, "circle")
    assert sorted(d.get("data-value") for d in dots) == ["10", "30", "6"]
    assert {d.get("data-series") for d in dots} == {"met", "missed"}
    far = _marks(root, "path")  # 1000 hours is past 4 x the longest deadline
    assert [p.get("data-value") for p in far] == ["1000"]
    assert far[0].find(f"{NS}title").text == "Late · 1000 hours"  # type: ignore[union-attr]
    marks = [e for e in root.iter(f"{NS}line") if "data-mark" in e.attrib]
    assert [m.get("data-mark") for m in marks] == ["24", "48"]
    x = {d.get("data-value"): float(d.get("cx", 0)) for d in dots}
    deadline_24 = float(marks[0].get("x1", 0))
    assert x["6"] < deadline_24 < x["30"]


def test_donut_slices_add_up_to_the_ring() -> None:
    markup = donut(
        "chart-sources",
        title="Automated and human",
        desc="d",
        slices=[
            Slice("automated", "Automated", 3, "#e69f00"),
            Slice("reviewer", "People", 1, "#0072b2"),
        ],
        centre="75%",
        centre_note="automated",
    )
    root = _parse(markup)
    arcs = _marks(root, "circle")
    lengths = [float(a.get("stroke-dasharray", "0 0").split()[0]) for a in arcs]
    ring = float(arcs[0].get("stroke-dasharray", "0 0").split()[1])
    assert sum(lengths) == pytest.approx(ring, abs=0.02)
    assert lengths[0] == pytest.approx(3 * lengths[1], abs=0.02)
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "75%" in texts and "3 · 75%" in texts and "1 · 25%" in texts


def test_nice_ticks_and_text_widths() -> None:
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(9) == [0, 5, 10]
    assert nice_ticks(95) == [0, 25, 50, 75, 100]
    assert nice_ticks(2) == [0, 1, 2] and nice_ticks(0.3, whole=True) == [0, 1]
    assert nice_ticks(1.2, whole=False) == [0, 0.5, 1, 1.5]
    assert text_width("대기열") == 3 * 12 > text_width("abc")
