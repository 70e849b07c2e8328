"""The report as one self-contained HTML page with inline SVG charts.

No script, no external resource: a Content-Security-Policy forbids both, so the page
opens offline and nothing in it can run. Every string from the logs is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from traceviz.report.aggregate import Report
from traceviz.report.interface import group_label, money
from traceviz.report.sections import sections
from traceviz.report.text import html_text
from traceviz.report.trace_view import KIND_COLOURS
from traceviz.segment.kinds import KINDS

PARTS = (
    ("cost_input", "input", "#3b6fd4"),
    ("cost_cached_input", "cached input", "#8fb0ea"),
    ("cost_cache_write", "cache write", "#a63db8"),
    ("cost_reasoning", "reasoning", "#d0453a"),
    ("cost_answer", "answer", "#2e8b3a"),
)
PALETTE = ("#3b6fd4", "#d0453a", "#2e8b3a", "#b58900", "#a63db8", "#1f9aa8", "#555555", "#e67e22")
W = 640


def _svg(height: int, body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" role="img" aria-label="{html_text(label)}">{body}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">{html_text(text)}</text>'


def _rows(report: Report) -> list[tuple[str, dict[str, Any]]]:
    rows = (
        [(group_label(r, report.by), r) for r in report.groups.iter_rows(named=True)]
        if report.by
        else []
    )
    return rows or [("all", report.overall.row(0, named=True))]


def stacked_bars(
    rows: Sequence[tuple[str, list[float]]],
    colours: Sequence[str],
    names: Sequence[str],
    label: str,
    fmt: Any,
) -> str:
    """Horizontal stacked bars, one per row, with a legend."""
    top, bar, left = 24, 22, 190
    total = max((sum(v) for _, v in rows), default=0) or 1
    body = []
    for i, (name, values) in enumerate(rows):
        y = top + i * (bar + 8)
        body.append(_text(left - 6, y + bar * 0.7, name[:28], "end"))
        x = float(left)
        for value, colour in zip(values, colours, strict=True):
            width = (W - left - 90) * value / total
            if width > 0:
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{bar}" fill="{colour}"/>'
                )
            x += width
        body.append(_text(x + 4, y + bar * 0.7, fmt(sum(values))))
    legend_y = top + len(rows) * (bar + 8) + 14
    x = float(left)
    for name, colour in zip(names, colours, strict=True):
        body.append(
            f'<rect x="{x:.1f}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
        )
        body.append(_text(x + 14, legend_y, name))
        x += 14 + 7 * len(name) + 12
    return _svg(legend_y + 12, "".join(body), label)


def log_strip(groups: dict[str, list[float]], label: str) -> str:
    """Reasoning tokens per model on a log scale: one row of dots per model, median marked."""
    top, row, left = 20, 26, 190
    values = [v for vs in groups.values() for v in vs if v > 0]
    if not values:
        return _svg(40, _text(left, 24, "no reasoning tokens"), label)
    low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    high = max(high, low + 1)

    def x(v: float) -> float:
        return left + (W - left - 20) * (math.log10(max(v, 1)) - low) / (high - low)

    body = []
    for i, (name, vs) in enumerate(groups.items()):
        y = top + i * row + row / 2
        body.append(_text(left - 6, y + 4, name[:28], "end"))
        for v in vs:
            body.append(
                f'<circle cx="{x(v):.1f}" cy="{y:.1f}" r="2.5" fill="{PALETTE[i % len(PALETTE)]}" fill-opacity="0.5"/>'
            )
        if vs:
            median = sorted(vs)[len(vs) // 2]
            body.append(
                f'<line x1="{x(median):.1f}" x2="{x(median):.1f}" y1="{y - 9:.1f}" y2="{y + 9:.1f}" stroke="#000"/>'
            )
    axis = top + len(groups) * row + 6
    body.append(f'<line x1="{left}" x2="{W - 20}" y1="{axis}" y2="{axis}" stroke="#999"/>')
    for p in range(low, high + 1):
        body.append(_text(x(10**p), axis + 14, f"{10**p:,}", "middle"))
    return _svg(axis + 22, "".join(body), label)


def band_bars(rows: Sequence[tuple[str, float, float, float, float]], label: str) -> str:
    """Actual cost against the what-if cost, with the what-if's low-high band."""
    top, bar, left = 20, 12, 190
    scale_max = max((max(r[1], r[4]) for r in rows), default=0) or 1
    body = []

    def x(v: float) -> float:
        return left + (W - left - 230) * v / scale_max  # room for the label

    for i, (name, actual, what, low, high) in enumerate(rows):
        y = top + i * (2 * bar + 14)
        body.append(_text(left - 6, y + bar + 4, name[:28], "end"))
        body.append(
            f'<rect x="{left}" y="{y}" width="{x(actual) - left:.1f}" height="{bar}" fill="#3b6fd4"/>'
        )
        body.append(_text(x(actual) + 4, y + bar - 2, f"actual {money(actual)}"))
        body.append(
            f'<rect x="{left}" y="{y + bar + 2}" width="{x(what) - left:.1f}" height="{bar}" fill="#d0453a"/>'
        )
        body.append(
            f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{y + 1.5 * bar + 2:.1f}" y2="{y + 1.5 * bar + 2:.1f}" stroke="#000" stroke-width="2"/>'
        )
        body.append(
            _text(x(high) + 4, y + 2 * bar, f"what-if {money(what)} ({money(low)}-{money(high)})")
        )
    return _svg(top + len(rows) * (2 * bar + 14) + 8, "".join(body), label)


def scatter(points: Sequence[tuple[float, float]], label: str) -> str:
    """Reasoning length (log) against where the final answer first appears."""
    left, top, height = 50, 10, 220
    shown = [(r, s) for r, s in points if r > 0 and s is not None]
    if not shown:
        return _svg(
            40, _text(left, 24, "no trace with a final answer found in its reasoning"), label
        )
    low = math.floor(math.log10(min(r for r, _ in shown)))
    high = max(math.ceil(math.log10(max(r for r, _ in shown))), low + 1)
    body = [
        f'<rect x="{left}" y="{top}" width="{W - left - 20}" height="{height}" fill="none" stroke="#999"/>'
    ]
    for r, s in shown:
        cx = left + (W - left - 20) * (math.log10(r) - low) / (high - low)
        cy = top + height * (1 - s)
        body.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="#3b6fd4" fill-opacity="0.6"/>'
        )
    for p in range(low, high + 1):
        body.append(
            _text(
                left + (W - left - 20) * (p - low) / (high - low),
                top + height + 14,
                f"{10**p:,}",
                "middle",
            )
        )
    body.append(_text(left - 6, top + 10, "100%", "end"))
    body.append(_text(left - 6, top + height, "0%", "end"))
    body.append(
        _text(
            W / 2,
            top + height + 30,
            "reasoning tokens (log) vs share of reasoning before the first answer",
            "middle",
        )
    )
    return _svg(top + height + 38, "".join(body), label)


def charts(report: Report) -> list[tuple[str, str]]:
    out = []
    points = report.points
    if points.height and "model" in points.columns:
        groups: dict[str, list[float]] = {}
        for model, tokens in points.select("model", "reasoning_tokens").iter_rows():
            groups.setdefault("(none)" if model is None else str(model), []).append(float(tokens))
        out.append(
            (
                "Reasoning tokens per model (log scale)",
                log_strip(groups, "reasoning tokens per model"),
            )
        )
    rows = _rows(report)
    if "cost_total" in report.overall.columns:
        bars = [(name, [float(r[c] or 0) for c, _, _ in PARTS]) for name, r in rows]
        out.append(
            (
                "Cost by part",
                stacked_bars(
                    bars, [c for _, _, c in PARTS], [n for _, n, _ in PARTS], "cost by part", money
                ),
            )
        )
    if "whatif_cost_total" in report.overall.columns:
        band = [
            (
                name,
                float(r["whatif_actual"] or 0),
                float(r["whatif_cost_total"] or 0),
                float(r["whatif_cost_low"] or 0),
                float(r["whatif_cost_high"] or 0),
            )
            for name, r in rows
        ]
        out.append(
            (
                f"Actual against what-if on {report.vs} (estimate)",
                band_bars(band, "actual against what-if"),
            )
        )
    if report.kinds.height:
        shares: dict[str, dict[str, float]] = {}
        for row in report.kinds.iter_rows(named=True):
            shares.setdefault(group_label(row, report.by), {})[row["kind"]] = row["share"]
        bars = [(name, [v.get(k, 0.0) for k in KINDS]) for name, v in shares.items()]
        colours = [KIND_COLOURS[k][1] for k in KINDS]
        out.append(
            (
                f"Step-kind composition ({report.kinds_note})",
                stacked_bars(bars, colours, list(KINDS), "step kinds", lambda v: ""),
            )
        )
    if points.height and "first_answer_share" in points.columns:
        pairs = [
            (float(r), s)
            for r, s in points.select("reasoning_tokens", "first_answer_share").iter_rows()
        ]
        out.append(
            (
                "Reasoning length against first-answer position",
                scatter(pairs, "first answer position"),
            )
        )
    return out


def render(report: Report) -> str:
    parts = []
    for section in sections(report):
        parts.append(f"<h2>{html_text(section.title)}</h2>")
        if section.header:
            head = "".join(f"<th>{html_text(h)}</th>" for h in section.header)
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td class="{"n" if i >= section.numeric_from else ""}">{html_text(c)}</td>'
                    for i, c in enumerate(row)
                )
                + "</tr>"
                for row in section.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        parts += [f'<p class="note">{html_text(n)}</p>' for n in section.notes]
    figures = "".join(
        f"<figure><figcaption>{html_text(t)}</figcaption>{svg}</figure>"
        for t, svg in charts(report)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>traceviz report</title>
<style>body{{font:14px/1.45 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;margin:.5rem 0}}td,th{{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}}.note{{color:#666;margin:.2rem 0}}
figure{{margin:1.5rem 0}}figcaption{{font-weight:600;margin-bottom:.4rem}}svg text{{fill:#333;font-family:system-ui,sans-serif}}</style>
</head><body><h1>traceviz report</h1>
<section class="charts">{figures}</section>
{"".join(parts)}
</body></html>
"""
