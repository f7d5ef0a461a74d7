"""The report's chart types, one function each, returning an inline ``<svg>`` string.

- :func:`line_chart`: one line per series over numeric x (pass^k against k);
- :func:`bar_chart`: grouped bars, one group per category, one bar per series;
- :func:`box_plot`: distributions (min, quartiles, median, max) per category and series.

Series are keyed by agent label; an agent's colour is its position in ``series``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from evaluator.report import svg
from evaluator.report.analysis import percentile
from evaluator.report.svg import Frame, colour, esc

DODGE_PX = 9.0  # sideways shift between the series of a line chart


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    chart: str,
    title: str,
    x_label: str,
    y_label: str,
    percent: bool = True,
) -> str:
    """Lines with markers; x values are shown as integer ticks (k).

    Each series is shifted sideways by a few pixels (x is a count, so this misleads no
    one), so that equal values of different series stay visible side by side; a series
    of one point (one trial per task) gets its value written beside its marker."""
    points = [p for line in series.values() for p in line]
    if not points:
        return svg.empty(Frame(), chart, title, "no data")
    xs = sorted({x for x, _ in points})
    y_top = 1.0 if percent else max(y for _, y in points) * 1.1 or 1.0
    frame = Frame(y_max=y_top)
    x_low, x_high = xs[0], xs[-1]
    pad = frame.plot_width * 0.08

    def x_pos(x: float) -> float:
        if x_high == x_low:
            return frame.left + frame.plot_width / 2
        return frame.left + pad + (frame.plot_width - 2 * pad) * (x - x_low) / (x_high - x_low)

    parts = svg.open_svg(frame, chart, title)
    parts += svg.legend(frame, list(series))
    parts += svg.y_axis(frame, svg.nice_ticks(0.0, y_top, 5), y_label, percent)
    parts += [svg.x_tick(x_pos(x), frame, svg.fmt(x), room=80.0) for x in xs]
    parts.append(svg.x_label(frame, x_label))
    step = DODGE_PX if len(series) > 1 else 0.0
    for i, (name, line) in enumerate(series.items()):
        shift = step * (i - (len(series) - 1) / 2)
        ordered = sorted(line)
        path = " ".join(f"{x_pos(x) + shift:.1f},{frame.y(y):.1f}" for x, y in ordered)
        parts.append(
            f'<g class="series" data-series="{esc(name)}">'
            f'<polyline points="{path}" fill="none" stroke="{colour(i)}" stroke-width="2.5"/>'
        )
        for x, y in ordered:
            value = f"{y * 100:.0f}%" if percent else svg.fmt(y)
            cx, cy = x_pos(x) + shift, frame.y(y)
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{colour(i)}" '
                f'stroke="#fff" stroke-width="1.5">'
                f"<title>{esc(name)}: {esc(value)} at {esc(svg.fmt(x))}</title></circle>"
            )
            if len(ordered) == 1:  # under the marker (over it near 0), away from the others
                side, anchor = (-2, "end") if i % 2 == 0 else (2, "start")
                below = cy + 17 if y > 0.15 * y_top else cy - 8
                parts.append(
                    f'<text x="{cx + side:.1f}" y="{below:.1f}" font-size="11" '
                    f'fill="{colour(i)}" text-anchor="{anchor}">{esc(value)}</text>'
                )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Mapping[str, float]],
    *,
    chart: str,
    title: str,
    x_label: str,
    y_label: str,
    percent: bool = False,
) -> str:
    """Grouped bars; a category missing from a series draws no bar for it."""
    values = [v for s in series.values() for c, v in s.items() if c in categories]
    if not categories or not values:
        return svg.empty(Frame(), chart, title, "nothing to show")
    top = 1.0 if percent else max(max(values), 1.0)
    ticks = svg.nice_ticks(0.0, top, 4 if percent else min(5, max(int(top), 1)))
    group = Frame().plot_width / len(categories)
    crowded = not svg.fits(categories, group)
    frame = Frame(y_max=ticks[-1], bottom=84 if crowded else Frame.bottom)
    bar = min(28.0, group * 0.8 / max(len(series), 1))
    parts = svg.open_svg(frame, chart, title)
    parts += svg.legend(frame, list(series))
    parts += svg.y_axis(frame, ticks, y_label, percent)
    for ci, category in enumerate(categories):
        centre = frame.left + group * (ci + 0.5)
        start = centre - bar * len(series) / 2
        for si, (name, data) in enumerate(series.items()):
            if category not in data:
                continue
            value = data[category]
            y = frame.y(value)
            height = max(frame.baseline - y, 0.0 if value <= 0 else 1.5)
            shown = f"{value * 100:.0f}%" if percent else svg.fmt(value)
            if value <= 0:  # a zero is a result, not a missing bar: say so
                middle = start + bar * si + (bar - 2) / 2
                parts.append(
                    f'<text x="{middle:.1f}" y="{frame.baseline - 3:.1f}" '
                    f'font-size="10" fill="{colour(si)}" text-anchor="middle">{esc(shown)}</text>'
                )
            parts.append(
                f'<rect class="bar" x="{start + bar * si:.1f}" y="{frame.baseline - height:.1f}" '
                f'width="{bar - 2:.1f}" height="{height:.1f}" fill="{colour(si)}" rx="1.5">'
                f"<title>{esc(name)} · {esc(category)}: {esc(shown)}</title></rect>"
            )
        parts.append(svg.x_tick(centre, frame, category, group))
    if not crowded:
        parts.append(svg.x_label(frame, x_label))
    parts.append("</svg>")
    return "".join(parts)


def box_plot(
    categories: Sequence[str],
    series: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    chart: str,
    title: str,
    x_label: str,
    y_label: str,
    scale: float = 1000.0,
) -> str:
    """Box (quartiles), median line and whiskers (min to max); values times ``scale``."""
    values = [v * scale for s in series.values() for c, vs in s.items() for v in vs]
    if not categories or not values:
        return svg.empty(Frame(), chart, title, "no traced exchanges")
    ticks = svg.nice_ticks(0.0, max(values), 5)
    group = Frame().plot_width / len(categories)
    crowded = not svg.fits(categories, group)
    frame = Frame(y_max=ticks[-1], bottom=84 if crowded else Frame.bottom)
    width = min(34.0, group * 0.8 / max(len(series), 1))
    parts = svg.open_svg(frame, chart, title)
    parts += svg.legend(frame, list(series))
    parts += svg.y_axis(frame, ticks, y_label)
    for ci, category in enumerate(categories):
        centre = frame.left + group * (ci + 0.5)
        start = centre - width * len(series) / 2
        for si, (name, data) in enumerate(series.items()):
            sample = [v * scale for v in data.get(category, ())]
            if not sample:
                continue
            q = [percentile(sample, p) or 0.0 for p in (0, 25, 50, 75, 100)]
            x = start + width * si
            mid = x + (width - 3) / 2
            c = colour(si)
            parts.append(
                f'<g class="box" data-series="{esc(name)}">'
                f"<title>{esc(name)} · {esc(category)}: n={len(sample)}, "
                f"min {q[0]:.1f}, median {q[2]:.1f}, max {q[4]:.1f}</title>"
                f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="{frame.y(q[4]):.1f}" '
                f'y2="{frame.y(q[0]):.1f}" stroke="{c}" stroke-width="1.2"/>'
                f'<rect x="{x:.1f}" y="{frame.y(q[3]):.1f}" width="{width - 3:.1f}" '
                f'height="{max(frame.y(q[1]) - frame.y(q[3]), 1.0):.1f}" fill="{c}" '
                f'fill-opacity="0.25" stroke="{c}" stroke-width="1.2"/>'
                f'<line x1="{x:.1f}" x2="{x + width - 3:.1f}" y1="{frame.y(q[2]):.1f}" '
                f'y2="{frame.y(q[2]):.1f}" stroke="{c}" stroke-width="2.5"/></g>'
            )
        parts.append(svg.x_tick(centre, frame, category, group))
    if not crowded:
        parts.append(svg.x_label(frame, x_label))
    parts.append("</svg>")
    return "".join(parts)
