"""Inline SVG charts of the measurement pages (no plotting library, no outside asset):
a quantity's distribution as a histogram, and per-lesion values over time points
(one line per tracked finding, TID 1500 Tracking Identifier, PS3.16).

Every text is escaped; marks carry ``data-*`` attributes with their numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["bars", "histogram", "lesion_lines"]

_COLOURS = ("#2f6fb5", "#b5432f", "#3a8f4b", "#8a5cb8", "#c98a1a", "#1f8f8f", "#a0466e")


def _nice(value: float) -> str:
    return f"{value:.4g}"


def bars(items: Sequence[tuple[str, float]], unit: str) -> str:
    """A horizontal bar chart: one labelled bar per item."""
    if not items:
        return ""
    top = max(v for _, v in items) or 1.0
    height = 22 * len(items) + 10
    out = []
    for i, (text, value) in enumerate(items):
        width = 380 * value / top
        y = 5 + 22 * i
        out.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(text[:40])}</text>'
            f'<rect x="260" y="{y}" width="{width:.1f}" height="16" fill="#4a7bb7"/>'
            f'<text x="{265 + width:.1f}" y="{y + 13}" font-size="11">'
            f"{value:g} {escape(unit)}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{height}" role="img">'
        f"{''.join(out)}</svg>"
    )


def histogram(values: Sequence[float], unit: str, title: str, bins: int | None = None) -> str:
    """The distribution of ``values`` as a histogram (Sturges' bin count by default)."""
    data = [v for v in values if math.isfinite(v)]
    if not data:
        return ""
    low, high = min(data), max(data)
    count = bins or max(1, min(30, math.ceil(math.log2(len(data)) + 1)))
    if high == low:
        count, high = 1, low + 1.0
    width = (high - low) / count
    counts = [0] * count
    for v in data:
        counts[min(count - 1, int((v - low) / width))] += 1
    w, h, left, bottom = 640, 260, 50, 40
    plot_w, plot_h = w - left - 10, h - bottom - 30
    top = max(counts)
    bar_w = plot_w / count
    marks = []
    for i, n in enumerate(counts):
        bh = plot_h * n / top
        x = left + i * bar_w
        lo, hi = low + i * width, low + (i + 1) * width
        marks.append(
            f'<rect class="bin" data-low="{lo:.6g}" data-high="{hi:.6g}" data-count="{n}" '
            f'x="{x + 1:.1f}" y="{30 + plot_h - bh:.1f}" width="{max(bar_w - 2, 1):.1f}" '
            f'height="{bh:.1f}" fill="#2f6fb5"><title>{_nice(lo)} to {_nice(hi)} '
            f"{escape(unit)}: {n}</title></rect>"
        )
    axis = (
        f'<line x1="{left}" y1="{30 + plot_h}" x2="{left + plot_w}" y2="{30 + plot_h}" '
        'stroke="#444"/>'
        f'<text x="{left}" y="{h - 22}" font-size="11">{_nice(low)}</text>'
        f'<text x="{left + plot_w}" y="{h - 22}" font-size="11" text-anchor="end">'
        f"{_nice(high)}</text>"
        f'<text x="{left + plot_w / 2}" y="{h - 6}" font-size="12" text-anchor="middle">'
        f"{escape(unit)}</text>"
        f'<text x="{left - 6}" y="36" font-size="11" text-anchor="end">{top}</text>'
        f'<text x="{left - 6}" y="{30 + plot_h}" font-size="11" text-anchor="end">0</text>'
        f'<text x="12" y="{30 + plot_h / 2}" font-size="12" '
        f'transform="rotate(-90 12 {30 + plot_h / 2})" text-anchor="middle">count</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" data-chart="histogram" '
        f'data-values="{len(data)}" width="{w}" height="{h}" role="img">'
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">{escape(title)} '
        f"({len(data)} values)</text>{axis}{''.join(marks)}</svg>"
    )


def lesion_lines(lesions: Mapping[str, Sequence[tuple[str, float]]], unit: str, title: str) -> str:
    """Values over time points: ``lesions`` maps a lesion's label to its
    ``(date YYYY-MM-DD, value)`` points; one line per lesion, never across lesions."""
    series = {k: sorted(v) for k, v in lesions.items() if v}
    if not series:
        return ""
    dates = sorted({d for points in series.values() for d, _ in points})
    values = [v for points in series.values() for _, v in points]
    low, high = min(0.0, min(values)), max(values) or 1.0
    w, left, plot_w, plot_h = 760, 60, 460, 240
    h = max(plot_h + 80, 40 + 16 * len(series))

    def x(date: str) -> float:
        if len(dates) == 1:
            return left + plot_w / 2
        return left + plot_w * dates.index(date) / (len(dates) - 1)

    def y(value: float) -> float:
        return 30 + plot_h - plot_h * (value - low) / ((high - low) or 1.0)

    marks = []
    for n, (name, points) in enumerate(series.items()):
        colour = _COLOURS[n % len(_COLOURS)]
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in points)
        dots = "".join(
            f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}" '
            f'data-date="{escape(d)}" data-value="{v:.6g}"><title>{escape(name)} '
            f"{escape(d)}: {_nice(v)} {escape(unit)}</title></circle>"
            for d, v in points
        )
        marks.append(
            f'<g class="lesion" data-lesion="{escape(name)}" data-points="{len(points)}">'
            + (
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
                if len(points) > 1
                else ""
            )
            + dots
            + f'<text x="{left + plot_w + 20}" y="{36 + 16 * n}" font-size="11" '
            f'fill="{colour}">{escape(name[:50])}</text></g>'
        )
    ticks = "".join(
        f'<text x="{x(d):.1f}" y="{30 + plot_h + 16}" font-size="10" text-anchor="middle">'
        f"{escape(d)}</text>"
        for d in (dates if len(dates) <= 8 else dates[:: max(1, len(dates) // 8)])
    )
    axis = (
        f'<line x1="{left}" y1="{30 + plot_h}" x2="{left + plot_w}" y2="{30 + plot_h}" '
        'stroke="#444"/>'
        f'<line x1="{left}" y1="30" x2="{left}" y2="{30 + plot_h}" stroke="#444"/>'
        f'<text x="{left - 6}" y="36" font-size="11" text-anchor="end">{_nice(high)}</text>'
        f'<text x="{left - 6}" y="{30 + plot_h}" font-size="11" text-anchor="end">'
        f"{_nice(low)}</text>"
        f'<text x="14" y="{30 + plot_h / 2}" font-size="12" '
        f'transform="rotate(-90 14 {30 + plot_h / 2})" text-anchor="middle">'
        f"{escape(unit)}</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" data-chart="lesions" '
        f'data-lesions="{len(series)}" width="{w}" height="{h}" role="img">'
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>'
        f"{axis}{ticks}{''.join(marks)}</svg>"
    )
