"""The report as one self-contained HTML page: the headline as cards, then charts that
answer the questions in order, then the tables.

Charts: where the money went (by model and part), what the thinking after the first
answer cost (per model), the what-if with its band, reasoning length against the
first-answer position, then reasoning tokens per model and step kinds. Every chart has
a complete legend; long names are shortened with an ellipsis and shown whole in an SVG
`<title>` tooltip; an unpriced group is drawn as "not priced", never "$0.00"; zero
values sit in a "0" slot at the start of a log axis rather than off it.

No script, no external resource: a Content-Security-Policy forbids both, so the page
opens offline and nothing in it can run. Every string from the logs is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from traceviz.report import headline
from traceviz.report.aggregate import Report
from traceviz.report.interface import group_label, money
from traceviz.report.sections import PAGE_TOP, ordered, sections
from traceviz.report.text import html_text, shorten
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
LABEL = 26  # characters of a name shown beside a bar; the whole name is in its tooltip
CHART_ROWS = 12  # models or groups a chart draws; the rest are counted under it
NOT_PRICED = "not priced"


def _svg(height: int, body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" role="img" aria-label="{html_text(label)}">{body}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11) -> str:
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
        body.append(_text(x + 14, y, name))
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
            body.append(_text(self.left + 4, y + 14, "0", "middle"))
            body.append(
                f'<line x1="{self.start - 12:.1f}" x2="{self.start - 12:.1f}" y1="{y - 4}" y2="{y + 4}" stroke="#999"/>'
            )
        step = max(1, (self.high - self.low + 5) // 6)  # at most ~6 labels
        for p in range(self.low, self.high + 1, step):
            body.append(_text(self.x(10.0**p), y + 14, fmt(10.0**p), "middle"))
        return "".join(body)


def _rows(report: Report) -> list[tuple[str, dict[str, Any]]]:
    rows = (
        [(group_label(r, report.by), r) for r in ordered(report).iter_rows(named=True)]
        if report.by
        else []
    )
    return rows or [("all", report.overall.row(0, named=True))]


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
            body.append(_text(left + 8, y + bar * 0.7, NOT_PRICED))
            continue
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
    entries = list(zip(names, colours, strict=True))
    body.append(_legend(20, legend_y, entries))
    return _svg(legend_y + _legend_height(entries, 20), "".join(body), label)


def log_strip(groups: dict[str, list[float]], label: str, fmt: Any = None, unit: str = "") -> str:
    """Values per row (model) on a log axis, one dot per trace, the median marked; zeros
    sit in the axis's "0" slot."""
    top, row, left = 20, 26, 190
    fmt = fmt or (lambda v: f"{v:,.0f}")
    values = [v for vs in groups.values() for v in vs]
    if not values:
        return _svg(40, _text(left, 24, f"no {unit or 'values'}"), label)
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
    return _svg(bottom + 46, "".join(body), label)


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
            body.append(_text(left + 4, y + bar + 4, NOT_PRICED))
            continue
        name, actual, what, low, high = entry  # type: ignore[misc]
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
            _text(x(high) + 4, y + 2 * bar, f"what-if {money(what)} ({money(low)}–{money(high)})")
        )
    bottom = top + len(rows) * (2 * bar + 14) + 14
    body.append(_legend(20, bottom, [("actual", "#3b6fd4"), ("what-if (estimate)", "#d0453a")]))
    body.append(_legend(260, bottom, [("low–high band", "#000")], "line"))
    return _svg(bottom + 10, "".join(body), label)


def scatter(points: Sequence[tuple[float, float, str]], label: str) -> str:
    """Reasoning length (log; zeros in the "0" slot) against where the final answer first
    appears, one dot per trace coloured by model."""
    left, top, height = 50, 10, 220
    shown = [(r, s, m) for r, s, m in points if r is not None and s is not None]
    if not shown:
        return _svg(
            40, _text(left, 24, "no trace with a final answer found in its reasoning"), label
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
    entries = [(shorten(m, LABEL), c) for m, c in colours.items()]
    if len(models) > len(colours):
        entries.append((f"{len(models) - len(colours):,} other models", "#999999"))
    legend_top = top + height + 50
    body.append(_legend(20, legend_top, entries, "circle"))
    return _svg(legend_top + _legend_height(entries, 20), "".join(body), label)


def _models(report: Report) -> tuple[list[str], int]:
    """The models the per-model charts draw (most spent first) and how many are left."""
    if report.models.height:
        names = [str(m) for m in report.models["model"].to_list()]
    elif report.points.height and "model" in report.points.columns:
        names = sorted({str(m) for m in report.points["model"].fill_null("(unknown)")})
    else:
        names = []
    return names[:CHART_ROWS], max(0, len(names) - CHART_ROWS)


def _per_model(report: Report, column: str, shown: list[str]) -> dict[str, list[float]]:
    points = report.points
    groups: dict[str, list[float]] = {m: [] for m in shown}
    if column not in points.columns or "model" not in points.columns:
        return {}
    for model, value in points.select(pl.col("model").fill_null("(unknown)"), column).iter_rows():
        if value is not None and str(model) in groups:
            groups[str(model)].append(float(value))
    return {m: vs for m, vs in groups.items() if vs}


def _more(count: int, noun: str) -> str:
    return f"… {count:,} more {noun} not drawn (the tables list them)" if count else ""


def charts(report: Report) -> list[tuple[str, str, str]]:
    """The charts in reading order: (caption, svg, note under it)."""
    out = []
    shown, left = _models(report)
    if report.models.height:
        rows: list[tuple[str, list[float] | None]] = []
        by_name = {str(r["model"]): r for r in report.models.iter_rows(named=True)}
        for name in shown:
            r = by_name[name]
            rows.append(
                (name, None if r["cost_total"] is None else [float(r[c] or 0) for c, _, _ in PARTS])
            )
        svg = stacked_bars(
            rows,
            [c for _, _, c in PARTS],
            [n for _, n, _ in PARTS],
            "cost by model and part",
            money,
        )
        out.append(("Where the money went (by model and part)", svg, _more(left, "models")))
    if "cost_after_first_answer" in report.points.columns:
        groups = _per_model(report, "cost_after_first_answer", shown)
        note = (
            "a proxy: reasoning after the first point where it reaches its final answer, at"
            " the output rate (docs/first-answer.md); hidden reasoning is not computed"
        )
        out.append(
            (
                "What the thinking after the first answer cost (per trace, log scale; proxy)",
                log_strip(groups, "cost after the first answer per model", usd_tick, "USD"),
                note + ("; " + _more(left, "models") if left else ""),
            )
        )
    else:
        out.append(
            (
                "What the thinking after the first answer cost",
                _svg(
                    44,
                    '<rect x="0" y="0" width="640" height="44" fill="#f6f6f6"/>'
                    + _text(
                        12, 26, "not computed: the segment stage gave no first-answer positions"
                    ),
                    "not computed",
                ),
                "",
            )
        )
    if "whatif_cost_total" in report.overall.columns:
        band: list[Any] = []
        for name, r in _rows(report):
            if r["whatif_actual"] is None or r["whatif_cost_total"] is None:
                band.append((name, None))
            else:
                band.append(
                    (
                        name,
                        float(r["whatif_actual"]),
                        float(r["whatif_cost_total"]),
                        float(r["whatif_cost_low"] or 0),
                        float(r["whatif_cost_high"] or 0),
                    )
                )
        out.append(
            (
                f"What if on {report.vs} (estimate, with its low–high band)",
                band_bars(band[:CHART_ROWS], "actual against what-if"),
                _more(max(0, len(band) - CHART_ROWS), "groups"),
            )
        )
    points = report.points
    if points.height and "first_answer_share" in points.columns:
        models = (
            points["model"].fill_null("(unknown)").cast(pl.String).to_list()
            if "model" in points.columns
            else ["all"] * points.height
        )
        pairs = [
            (float(r) if r is not None else None, s, m)
            for (r, s), m in zip(
                points.select("reasoning_tokens", "first_answer_share").iter_rows(),
                models,
                strict=True,
            )
        ]
        out.append(
            (
                "Reasoning length against first-answer position (proxy)",
                scatter(pairs, "first answer position"),  # type: ignore[arg-type]
                "",
            )
        )
    if points.height and "model" in points.columns:
        out.append(
            (
                "Reasoning tokens per model (log scale)",
                log_strip(
                    _per_model(report, "reasoning_tokens", shown), "reasoning tokens per model"
                ),
                _more(left, "models"),
            )
        )
    if report.kinds.height:
        shares: dict[str, dict[str, float]] = {}
        for row in report.kinds.iter_rows(named=True):
            shares.setdefault(group_label(row, report.by), {})[row["kind"]] = row["share"]
        bars: list[tuple[str, list[float] | None]] = [
            (name, [v.get(k, 0.0) for k in KINDS]) for name, v in shares.items()
        ]
        colours = [KIND_COLOURS[k][1] for k in KINDS]
        out.append(
            (
                f"Step-kind composition ({report.kinds_note})",
                stacked_bars(bars[:CHART_ROWS], colours, list(KINDS), "step kinds", lambda v: ""),
                _more(max(0, len(bars) - CHART_ROWS), "groups"),
            )
        )
    return out


def cards(report: Report) -> str:
    """The headline as cards: label, value, what the value covers."""
    return "".join(
        f'<div class="card" id="h-{item.key}"><div class="label">{html_text(item.label)}</div>'
        f'<div class="value">{html_text(item.value)}</div>'
        f'<div class="detail">{html_text(item.detail)}</div></div>'
        for item in headline.items(report)
    )


def render(report: Report) -> str:
    parts = []
    for section in sections(report, PAGE_TOP):
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
            parts.append(
                f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>"
            )
        if section.more:
            parts.append(f'<p class="more">{html_text(section.more)}</p>')
        parts += [f'<p class="note">{html_text(n)}</p>' for n in section.notes]
    figures = "".join(
        f'<figure><figcaption>{html_text(t)}</figcaption><div class="chart">{svg}</div>'
        + (f'<p class="note">{html_text(note)}</p>' if note else "")
        + "</figure>"
        for t, svg, note in charts(report)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>traceviz report</title>
<style>body{{font:14px/1.45 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;margin:.5rem 0}}td,th{{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}}.note{{color:#666;margin:.2rem 0}}
figure{{margin:1.5rem 0}}figcaption{{font-weight:600;margin-bottom:.4rem}}svg text{{fill:#333;font-family:system-ui,sans-serif}}
figure .chart{{overflow-x:auto}}figure svg{{width:100%;min-width:34rem;max-width:{W}px;height:auto}}.scroll{{overflow-x:auto}}.more{{font-style:italic;color:#555}}
.cards{{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.75rem;margin:1rem 0 2rem}}
.card{{border:1px solid #ddd;border-radius:.5rem;padding:.7rem .9rem;background:#fafafa}}
.card .label{{font-size:.8rem;color:#555;text-transform:uppercase;letter-spacing:.03em}}
.card .value{{font-size:1.5rem;font-weight:600;margin:.15rem 0;overflow-wrap:anywhere}}.card .detail{{font-size:.85rem;color:#444}}</style>
</head><body><h1>traceviz report</h1>
<section class="cards">{cards(report)}</section>
<section class="charts">{figures}</section>
{"".join(parts)}
</body></html>
"""
