"""The SVG building blocks: escaping, number labels, scales, and what each element holds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from evaluator.report import svg

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script>&'


def fragment(*parts: str) -> ET.Element:
    """Parse pieces of a chart inside an <svg> root (raises when not well-formed)."""
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_long_category_names_wrap_onto_lines() -> None:
    assert svg.wrap_label("expected action missing", 12) == ["expected", "action", "missing"]
    assert svg.wrap_label("averyveryverylongword", 5) is None


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]), (0, 10, [0, 2, 4, 6, 8, 10]), (0, 2703, None)],
)
def test_nice_ticks(low: float, high: float, expected: list[float] | None) -> None:
    ticks = svg.nice_ticks(low, high, 5)
    if expected is not None:
        assert ticks == pytest.approx(expected)
    assert ticks[0] <= low
    assert ticks[-1] >= high
    assert len(ticks) <= 8


def test_escaping_covers_markup_and_quotes() -> None:
    assert svg.esc(EVIL) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"
    assert svg.esc(3) == "3"


def test_colours_are_distinct_and_repeat_after_the_palette() -> None:
    n = len(svg.PALETTE)
    assert len({svg.colour(i) for i in range(n)}) == n
    assert svg.colour(n) == svg.colour(0)
    assert svg.colour(n + 2) == svg.colour(2)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0, "0"),
        (0.0, "0"),
        (1, "1"),
        (3.0, "3"),
        (2.5, "2.5"),
        (12.3456, "12.346"),
        (150.4, "150"),
        (0.12345, "0.123"),
        (-0.5, "-0.5"),
    ],
)
def test_value_labels_have_no_trailing_zeros(value: float, label: str) -> None:
    assert svg.fmt(value) == label


def test_ticks_of_an_empty_range_still_cover_it() -> None:
    ticks = svg.nice_ticks(5, 5)
    assert ticks[0] <= 5
    assert ticks[-1] >= 6
    assert ticks == sorted(ticks)
    assert len(ticks) >= 2


def test_the_y_scale_maps_the_range_onto_the_plot_and_clamps() -> None:
    frame = svg.Frame()
    assert frame.plot_width == frame.width - frame.left - frame.right
    assert frame.plot_height == frame.height - frame.top - frame.bottom
    assert frame.y(frame.y_min) == frame.baseline
    assert frame.y(frame.y_max) == frame.top
    assert frame.y(0.5) == pytest.approx(frame.top + frame.plot_height / 2)
    assert frame.y(7.0) == frame.top
    assert frame.y(-3.0) == frame.baseline
    flat = svg.Frame(y_min=2.0, y_max=2.0)
    assert flat.y(2.0) == flat.baseline  # an empty range does not divide by zero


def test_a_chart_opens_with_its_name_and_an_escaped_title() -> None:
    frame = svg.Frame(width=300, height=200)
    text = "".join(svg.open_svg(frame, 'c"1', EVIL)) + "</svg>"
    root = ET.fromstring(text)
    assert root.get("data-chart") == 'c"1'
    assert root.get("aria-label") == EVIL
    assert root.get("viewBox") == "0 0 300 200"
    assert root.findtext(f"{SVG}title") == EVIL
    assert texts(root) == [EVIL]
    assert "<script>" not in text


def test_the_y_axis_has_a_gridline_and_label_per_tick() -> None:
    frame = svg.Frame()
    root = fragment(*svg.y_axis(frame, [0.0, 0.5, 1.0], "share", percent=True))
    assert texts(root) == ["0%", "50%", "100%", "share"]
    lines = root.findall(f"{SVG}line")
    assert len(lines) == 4  # three gridlines and the baseline
    assert [float(line.get("y1", "nan")) for line in lines[:3]] == pytest.approx(
        [frame.baseline, frame.y(0.5), frame.top], abs=0.05
    )
    plain = fragment(*svg.y_axis(frame, [0.0, 2.5], "ms"))
    assert texts(plain) == ["0", "2.5", "ms"]


def test_the_x_label_is_centred_under_the_plot() -> None:
    frame = svg.Frame()
    (label,) = fragment(svg.x_label(frame, EVIL)).iter(f"{SVG}text")
    assert "".join(label.itertext()) == EVIL
    assert float(label.get("x", "nan")) == pytest.approx(frame.left + frame.plot_width / 2, 0.01)


def test_a_category_label_that_fits_is_written_on_lines() -> None:
    root = fragment(svg.x_tick(100.0, svg.Frame(), "user gave up", room=60))
    (label,) = root.iter(f"{SVG}text")
    assert [t.text for t in label.iter(f"{SVG}tspan")] == [
        "user gave",
        "up",
    ]  # greedy: nine characters fit in 60px
    assert label.get("transform") is None


def test_a_category_label_that_does_not_fit_is_slanted_and_shortened() -> None:
    long = "retail_task_with_a_very_long_identifier"
    root = fragment(svg.x_tick(100.0, svg.Frame(), long, room=30))
    (label,) = root.iter(f"{SVG}text")
    assert (label.get("transform") or "").startswith("rotate(-30")
    assert label.findtext(f"{SVG}title") == long  # the whole name on hover
    shown = "".join(label.itertext()).removeprefix(long)
    assert shown == long[:17] + "…"


def test_fits_asks_for_at_most_two_lines_per_label() -> None:
    assert svg.fits(["pass", "fail"], room=64)
    assert not svg.fits(["one two three"], room=32)  # three lines of five characters
    assert not svg.fits(["unbreakablelabel"], room=32)


def test_the_legend_has_a_swatch_per_name_in_palette_order() -> None:
    root = fragment(*svg.legend(svg.Frame(), ["oracle", EVIL]))
    (group,) = root.iter(f"{SVG}g")
    assert group.get("class") == "legend"
    assert [r.get("fill") for r in group.iter(f"{SVG}rect")] == [svg.colour(0), svg.colour(1)]
    assert texts(root) == ["oracle", EVIL]
    xs = [float(r.get("x", "nan")) for r in group.iter(f"{SVG}rect")]
    assert xs[1] > xs[0] + 14 + 7 * len("oracle")  # the second swatch clears the first name


def test_an_empty_chart_says_why() -> None:
    root = ET.fromstring(svg.empty(svg.Frame(), "latency", "Latency", "no traced exchanges"))
    assert root.get("data-chart") == "latency"
    assert texts(root) == ["Latency", "no traced exchanges"]
