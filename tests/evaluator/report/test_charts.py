"""The SVG charts: well-formed, labelled, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from evaluator.report import charts

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # raises on anything that is not well-formed XML


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_line_chart_draws_one_line_per_series_with_axes_and_legend() -> None:
    root = parse(
        charts.line_chart(
            {"oracle": [(1, 1.0), (2, 1.0)], "flawed": [(1, 0.6), (2, 0.4)]},
            chart="pass-hat-k",
            title="pass^k",
            x_label="k",
            y_label="pass^k",
        )
    )
    assert root.get("data-chart") == "pass-hat-k"
    assert len(root.findall(".//s:polyline", NS)) == 2
    assert len(root.findall(".//s:circle", NS)) == 4
    labels = texts(root)
    assert {"oracle", "flawed", "k", "pass^k", "0%", "100%", "1", "2"} <= set(labels)


def test_bar_heights_follow_the_values() -> None:
    root = parse(
        charts.bar_chart(
            ["a", "b"],
            {"x": {"a": 1.0, "b": 0.5}},
            chart="c",
            title="t",
            x_label="task",
            y_label="share",
            percent=True,
        )
    )
    bars = root.findall(".//s:rect[@class='bar']", NS)
    heights = [float(b.get("height", "0")) for b in bars]
    assert len(heights) == 2
    assert heights[0] == pytest.approx(2 * heights[1], rel=0.02)


def test_a_zero_is_labelled_not_left_blank() -> None:
    root = parse(
        charts.bar_chart(["a"], {"x": {"a": 0.0}}, chart="c", title="t", x_label="", y_label="")
    )
    assert "0" in texts(root)


def test_untrusted_names_are_escaped() -> None:
    evil = '<script>alert("x")</script>'
    text = charts.bar_chart(
        [evil], {evil: {evil: 1.0}}, chart="c", title=evil, x_label="x", y_label="y"
    )
    assert "<script>" not in text
    root = parse(text)
    assert evil in texts(root)


def test_box_plot_in_milliseconds() -> None:
    root = parse(
        charts.box_plot(
            ["SendMessage"],
            {"oracle": {"SendMessage": [0.010, 0.020, 0.030]}},
            chart="latency",
            title="latency",
            x_label="method",
            y_label="ms",
        )
    )
    (box,) = root.findall(".//s:g[@class='box']", NS)
    assert "median 20.0" in "".join(box.itertext())


def test_no_data_says_so() -> None:
    root = parse(charts.box_plot([], {}, chart="l", title="t", x_label="x", y_label="y"))
    assert "no traced exchanges" in texts(root)


def test_equal_points_of_two_series_stay_visible_side_by_side() -> None:
    root = parse(
        charts.line_chart(
            {"run a": [(1, 0.5)], "run b": [(1, 0.5), (2, 0.25)]},
            chart="pass-hat-k",
            title="pass^k",
            x_label="k",
            y_label="pass^k",
        )
    )
    circles = root.findall(".//s:circle", NS)
    at_k1 = [c for c in circles if "at 1" in "".join(c.itertext())]
    assert len(at_k1) == 2
    assert at_k1[0].get("cy") == at_k1[1].get("cy")
    assert abs(float(at_k1[0].get("cx", 0)) - float(at_k1[1].get("cx", 0))) >= 2 * 4.5
    assert "50%" in texts(root)  # a one-point series has its value written beside it
