"""SVG chart primitives for the HTML report: bars stacked by part, log-scale strips,
bars with a low-high band, and scatter plots, with legends and tooltips.

Every label is escaped (`html_text`) and shortened with an ellipsis, the whole text in
an SVG `<title>`; zero values sit in a "0" slot at the start of a log axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from traceviz.report.interface import money
from traceviz.report.text import html_text, shorten

PALETTE = ("#3b6fd4", "#d0453a", "#2e8b3a", "#b58900", "#a63db8", "#1f9aa8", "#555555", "#e67e22")
W = 640
LABEL = 26  # characters of a name shown beside a bar; the whole name is in its tooltip
CHART_ROWS = 12  # models or groups a chart draws; the rest are counted under it
NOT_PRICED = "not priced"


def figure(height: int, body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" role="img" aria-label="{html_text(label)}">{body}</svg>'
    )


def svg_text(x: float, y: float, text: str, anchor: str = "start", size: int = 11) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">{html_text(text)}</text>'


def _name(x: float, y: float, name: str, anchor: str = "end") -> str:
    """A row's name, shortened with an ellipsis, whole in its tooltip."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" text-anchor="{anchor}">'
        f"<title>{html_text(name)}</title>{html_text(shorten(name, LABEL))}</text>"
    )


def _legend(x: float, y: float, entries: Sequence[tuple[str, str]], shape: str = "rect") -> str:
    """Swatches and names in a row, wrapping to a new line at the chart's edge."""
    body, start = [], x
    for name, colour in entries:
        width = 14 + 6.5 * len(name) + 14
        if x + width > W and x > start:
            x, y = start, y + 16
        if shape == "circle":
            body.append(f'<circle cx="{x + 5:.1f}" cy="{y - 4}" r="4" fill="{colour}"/>')
        elif shape == "line":
            body.append(
                f'<line x1="{x:.1f}" x2="{x + 10:.1f}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" stroke-width="2"/>'
            )
        else:
            body.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        body.append(svg_text(x + 14, y, name))
        x += width
    return "".join(body)


def _legend_height(entries: Sequence[tuple[str, str]], x: float) -> int:
    lines, at = 1, x
    for name, _ in entries:
        width = 14 + 6.5 * len(name) + 14
        if at + width > W and at > x:
            lines, at = lines + 1, x
        at += width
    return 16 * lines


def usd_tick(value: float) -> str:
    """A power of ten in dollars, with as many decimals as it needs: `$0.0000001`, `$10`."""
    if value >= 1:
        return f"${value:,.0f}"
    return f"${value:.{-math.floor(math.log10(value))}f}"


class LogAxis:
    """A log scale from `left` to `right` with a "0" slot before it for zero values."""

    SLOT = 40

    def __init__(self, values: Sequence[float], left: float, right: float) -> None:
        positive = [v for v in values if v > 0] or [1.0]
        self.low = math.floor(math.log10(min(positive)))
        self.high = max(math.ceil(math.log10(max(positive))), self.low + 1)
        self.zero = any(v <= 0 for v in values)
        self.left, self.right = left, right
        self.start = left + (self.SLOT if self.zero else 0)

    def x(self, value: float) -> float:
        if value <= 0:
            return self.left + 4
        share = (math.log10(value) - self.low) / (self.high - self.low)
        return self.start + (self.right - self.start) * share

    def ticks(self, y: float, fmt: Any) -> str:
        body = [f'<line x1="{self.left}" x2="{self.right}" y1="{y}" y2="{y}" stroke="#999"/>']
        if self.zero:
            body.append(svg_text(self.left + 4, y + 14, "0", "middle"))
            body.append(
                f'<line x1="{self.start - 12:.1f}" x2="{self.start - 12:.1f}" y1="{y - 4}" y2="{y + 4}" stroke="#999"/>'
            )
        step = max(1, (self.high - self.low + 5) // 6)  # at most ~6 labels
        for p in range(self.low, self.high + 1, step):
            body.append(svg_text(self.x(10.0**p), y + 14, fmt(10.0**p), "middle"))
        return "".join(body)


def stacked_bars(
    rows: Sequence[tuple[str, list[float] | None]],
    colours: Sequence[str],
    names: Sequence[str],
    label: str,
    fmt: Any,
) -> str:
    """Horizontal stacked bars, one per row, with a legend; a row of None is "not priced"."""
    top, bar, left = 24, 22, 190
    total = max((sum(v) for _, v in rows if v), default=0) or 1
    body = []
    for i, (name, values) in enumerate(rows):
        y = top + i * (bar + 8)
        body.append(_name(left - 6, y + bar * 0.7, name))
        if values is None:
            body.append(
                f'<rect x="{left}" y="{y}" width="{W - left - 90}" height="{bar}" fill="none"'
                ' stroke="#bbb" stroke-dasharray="4 3"/>'
            )
            body.append(svg_text(left + 8, y + bar * 0.7, NOT_PRICED))
            continue
        x = float(left)
        for value, colour in zip(values, colours, strict=True):
            width = (W - left - 90) * value / total
            if width > 0:
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{bar}" fill="{colour}"/>'
                )
            x += width
        body.append(svg_text(x + 4, y + bar * 0.7, fmt(sum(values))))
    legend_y = top + len(rows) * (bar + 8) + 14
    entries = list(zip(names, colours, strict=True))
    body.append(_legend(20, legend_y, entries))
    return figure(legend_y + _legend_height(entries, 20), "".join(body), label)


def log_strip(groups: dict[str, list[float]], label: str, fmt: Any = None, unit: str = "") -> str:
    """Values per row (model) on a log axis, one dot per trace, the median marked; zeros
    sit in the axis's "0" slot."""
    top, row, left = 20, 26, 190
    fmt = fmt or (lambda v: f"{v:,.0f}")
    values = [v for vs in groups.values() for v in vs]
    if not values:
        return figure(40, svg_text(left, 24, f"no {unit or 'values'}"), label)
    axis = LogAxis(values, left, W - 40)  # room for the last tick's label
    body = []
    for i, (name, vs) in enumerate(groups.items()):
        y = top + i * row + row / 2
        body.append(_name(left - 6, y + 4, name))
        colour = PALETTE[i % len(PALETTE)]
        for v in vs:
            body.append(
                f'<circle cx="{axis.x(v):.1f}" cy="{y:.1f}" r="2.5" fill="{colour}" fill-opacity="0.5"/>'
            )
        if vs:
            median = sorted(vs)[len(vs) // 2]
            body.append(
                f'<line x1="{axis.x(median):.1f}" x2="{axis.x(median):.1f}" y1="{y - 9:.1f}" y2="{y + 9:.1f}" stroke="#000"/>'
            )
    bottom = top + len(groups) * row + 6
    body.append(axis.ticks(bottom, fmt))
    entries = [(f"one trace{f' ({unit})' if unit else ''}", "#3b6fd4")]
    body.append(_legend(20, bottom + 36, entries, "circle"))
    body.append(_legend(200, bottom + 36, [("median", "#000")], "line"))
    return figure(bottom + 46, "".join(body), label)


def band_bars(
    rows: Sequence[tuple[str, float, float, float, float] | tuple[str, None]], label: str
) -> str:
    """Actual cost against the what-if cost, with the what-if's low-high band."""
    top, bar, left = 20, 12, 190
    priced = [r for r in rows if len(r) == 5]
    scale_max = max((max(r[1], r[4]) for r in priced), default=0) or 1  # type: ignore[misc]
    body = []

    def x(v: float) -> float:
        return left + (W - left - 230) * v / scale_max  # room for the label

    for i, entry in enumerate(rows):
        y = top + i * (2 * bar + 14)
        body.append(_name(left - 6, y + bar + 4, entry[0]))
        if len(entry) != 5:
            body.append(svg_text(left + 4, y + bar + 4, NOT_PRICED))
            continue
        name, actual, what, low, high = entry  # type: ignore[misc]
        body.append(
            f'<rect x="{left}" y="{y}" width="{x(actual) - left:.1f}" height="{bar}" fill="#3b6fd4"/>'
        )
        body.append(svg_text(x(actual) + 4, y + bar - 2, f"actual {money(actual)}"))
        body.append(
            f'<rect x="{left}" y="{y + bar + 2}" width="{x(what) - left:.1f}" height="{bar}" fill="#d0453a"/>'
        )
        body.append(
            f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{y + 1.5 * bar + 2:.1f}" y2="{y + 1.5 * bar + 2:.1f}" stroke="#000" stroke-width="2"/>'
        )
        body.append(
            svg_text(
                x(high) + 4, y + 2 * bar, f"what-if {money(what)} ({money(low)}–{money(high)})"
            )
        )
    bottom = top + len(rows) * (2 * bar + 14) + 14
    body.append(_legend(20, bottom, [("actual", "#3b6fd4"), ("what-if (estimate)", "#d0453a")]))
    body.append(_legend(260, bottom, [("low–high band", "#000")], "line"))
    return figure(bottom + 10, "".join(body), label)


def scatter(points: Sequence[tuple[float, float, str]], label: str) -> str:
    """Reasoning length (log; zeros in the "0" slot) against where the final answer first
    appears, one dot per trace coloured by model."""
    left, top, height = 50, 10, 220
    shown = [(r, s, m) for r, s, m in points if r is not None and s is not None]
    if not shown:
        return figure(
            40, svg_text(left, 24, "no trace with a final answer found in its reasoning"), label
        )
    axis = LogAxis([r for r, _, _ in shown], left, W - 20)
    models = list(dict.fromkeys(m for _, _, m in shown))
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models[: len(PALETTE) - 1])}
    body = [
        f'<rect x="{left}" y="{top}" width="{W - left - 20}" height="{height}" fill="none" stroke="#999"/>'
    ]
    for r, s, m in shown:
        colour = colours.get(m, "#999999")
        body.append(
            f'<circle cx="{axis.x(r):.1f}" cy="{top + height * (1 - s):.1f}" r="3" fill="{colour}" fill-opacity="0.6"><title>{html_text(m)}</title></circle>'
        )
    body.append(axis.ticks(top + height, lambda v: f"{v:,.0f}"))
    body.append(svg_text(left - 6, top + 10, "100%", "end"))
    body.append(svg_text(left - 6, top + height, "0%", "end"))
    body.append(
        svg_text(
            W / 2,
            top + height + 30,
            "reasoning tokens (log) vs share of reasoning before the first answer",
            "middle",
        )
    )
    entries = [(shorten(m, LABEL), c) for m, c in colours.items()]
    if len(models) > len(colours):
        entries.append((f"{len(models) - len(colours):,} other models", "#999999"))
    legend_top = top + height + 50
    body.append(_legend(20, legend_top, entries, "circle"))
    return figure(legend_top + _legend_height(entries, 20), "".join(body), label)
