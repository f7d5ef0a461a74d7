"""SVG building blocks for the report's charts: a frame with axes, ticks and a legend.

Everything is text built in Python (no JavaScript, no network), and every piece of text
goes through :func:`esc`: agent names and task ids come from untrusted input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Colour-blind-safe (Okabe-Ito), in the order agents appear.
PALETTE: tuple[str, ...] = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#8c8c8c",
    "#000000",
)
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def fmt(value: float) -> str:
    """A tick or value label: no trailing zeros, at most three significant decimals."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.3f}".rstrip("0").rstrip(".")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low..high`` (1, 2, 2.5 or 5 times a power of ten)."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value < high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high - step * 1e-9:
        ticks.append(round(value, 10))
    return ticks


@dataclass(frozen=True)
class Frame:
    """The plot area of a chart: pixel geometry and the y range."""

    width: int = 480
    height: int = 300
    left: int = 58
    right: int = 16
    top: int = 40
    bottom: int = 62
    y_min: float = 0.0
    y_max: float = 1.0

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        clamped = min(max(value, self.y_min), self.y_max)
        return self.top + self.plot_height * (1 - (clamped - self.y_min) / span)

    @property
    def baseline(self) -> float:
        return self.top + self.plot_height


def open_svg(frame: Frame, chart: str, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{esc(chart)}" '
        f'role="img" aria-label="{esc(title)}" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width}" height="{frame.height}" style="{FONT}">',
        f"<title>{esc(title)}</title>",
        f'<text x="{frame.left}" y="16" font-size="13" font-weight="600" '
        f'fill="#1f2933">{esc(title)}</text>',
    ]


def y_axis(frame: Frame, ticks: Sequence[float], label: str, percent: bool = False) -> list[str]:
    parts = []
    for tick in ticks:
        y = frame.y(tick)
        text = f"{tick * 100:.0f}%" if percent else fmt(tick)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="#e4e7eb" stroke-width="1"/>'
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" font-size="11" fill="#52606d" '
            f'text-anchor="end">{esc(text)}</text>'
        )
    mid = frame.top + frame.plot_height / 2
    parts.append(
        f'<text x="14" y="{mid:.1f}" font-size="11" fill="#323f4b" text-anchor="middle" '
        f'transform="rotate(-90 14 {mid:.1f})">{esc(label)}</text>'
    )
    parts.append(
        f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{frame.baseline:.1f}" '
        f'y2="{frame.baseline:.1f}" stroke="#9aa5b1" stroke-width="1"/>'
    )
    return parts


def x_label(frame: Frame, label: str) -> str:
    x = frame.left + frame.plot_width / 2
    return (
        f'<text x="{x:.1f}" y="{frame.height - 6}" font-size="11" fill="#323f4b" '
        f'text-anchor="middle">{esc(label)}</text>'
    )


def wrap_label(text: str, max_chars: int, max_lines: int = 3) -> list[str] | None:
    """``text`` in lines of at most ``max_chars`` (split at spaces); None when it won't fit."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if not lines or len(lines) > max_lines or max(len(line) for line in lines) > max_chars:
        return None
    return lines


def x_tick(x: float, frame: Frame, text: str, room: float) -> str:
    """A category label under the axis: on one line, wrapped, or slanted when nothing fits."""
    y = frame.baseline + 15
    lines = wrap_label(text, max(int(room / 6.4), 1))
    if lines is None:
        short = text if len(text) <= 18 else text[:17] + "…"
        return (
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="10.5" fill="#52606d" text-anchor="end" '
            f'transform="rotate(-30 {x:.1f} {y:.1f})"><title>{esc(text)}</title>'
            f"{esc(short)}</text>"
        )
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 13}">{esc(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" fill="#52606d" '
        f'text-anchor="middle">{spans}</text>'
    )


def fits(labels: Sequence[str], room: float) -> bool:
    """Whether every label fits under its group in at most two lines (else: no axis title)."""
    return all((wrap_label(c, max(int(room / 6.4), 1), 2) is not None) for c in labels)


def legend(frame: Frame, names: Sequence[str]) -> list[str]:
    """One row of swatches under the title, right-aligned within the chart."""
    parts = ['<g class="legend">']
    x = float(frame.left)
    for i, name in enumerate(names):
        parts.append(
            f'<rect x="{x:.1f}" y="24" width="10" height="10" rx="2" fill="{colour(i)}"/>'
            f'<text x="{x + 14:.1f}" y="33" font-size="11" fill="#323f4b">{esc(name)}</text>'
        )
        x += 14 + 7 * len(name) + 16
    parts.append("</g>")
    return parts


def empty(frame: Frame, chart: str, title: str, message: str) -> str:
    parts = open_svg(frame, chart, title)
    parts.append(
        f'<text x="{frame.width / 2:.1f}" y="{frame.height / 2:.1f}" font-size="12" '
        f'fill="#7b8794" text-anchor="middle">{esc(message)}</text></svg>'
    )
    return "".join(parts)
