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

from typing import Any

import polars as pl

from traceviz.escape import html_text
from traceviz.report import headline
from traceviz.report.aggregate import Report
from traceviz.report.interface import group_label, money
from traceviz.report.sections import PAGE_TOP, ordered, sections
from traceviz.report.svg import (
    CHART_ROWS,
    W,
    band_bars,
    figure,
    log_strip,
    scatter,
    stacked_bars,
    svg_text,
    usd_tick,
)
from traceviz.report.trace_view import KIND_COLOURS
from traceviz.schema import (
    COST_AFTER_FIRST_ANSWER,
    COST_CACHE_WRITE,
    COST_CACHED_INPUT,
    COST_INPUT,
    COST_REASONING,
    COST_TOTAL,
    FIRST_ANSWER_SHARE,
    KINDS,
    MODEL,
    REASONING_TOKENS,
    WHATIF_COST_HIGH,
    WHATIF_COST_LOW,
    WHATIF_COST_TOTAL,
)

PARTS = (
    (COST_INPUT, "input", "#3b6fd4"),
    (COST_CACHED_INPUT, "cached input", "#8fb0ea"),
    (COST_CACHE_WRITE, "cache write", "#a63db8"),
    (COST_REASONING, "reasoning", "#d0453a"),
    ("cost_answer", "answer", "#2e8b3a"),
)


def _rows(report: Report) -> list[tuple[str, dict[str, Any]]]:
    rows = (
        [(group_label(r, report.keys), r) for r in ordered(report).iter_rows(named=True)]
        if report.by
        else []
    )
    return rows or [("all", report.overall.row(0, named=True))]


def _models(report: Report) -> tuple[list[str], int]:
    """The models the per-model charts draw (most spent first) and how many are left."""
    if report.models.height:
        names = [str(m) for m in report.models[MODEL].to_list()]
    elif report.points.height and MODEL in report.points.columns:
        names = sorted({str(m) for m in report.points[MODEL].fill_null("(unknown)")})
    else:
        names = []
    return names[:CHART_ROWS], max(0, len(names) - CHART_ROWS)


def _per_model(report: Report, column: str, shown: list[str]) -> dict[str, list[float]]:
    points = report.points
    groups: dict[str, list[float]] = {m: [] for m in shown}
    if column not in points.columns or MODEL not in points.columns:
        return {}
    for model, value in points.select(pl.col(MODEL).fill_null("(unknown)"), column).iter_rows():
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
        by_name = {str(r[MODEL]): r for r in report.models.iter_rows(named=True)}
        for name in shown:
            r = by_name[name]
            rows.append(
                (name, None if r[COST_TOTAL] is None else [float(r[c] or 0) for c, _, _ in PARTS])
            )
        svg = stacked_bars(
            rows,
            [c for _, _, c in PARTS],
            [n for _, n, _ in PARTS],
            "cost by model and part",
            money,
        )
        out.append(("Where the money went (by model and part)", svg, _more(left, "models")))
    if COST_AFTER_FIRST_ANSWER in report.points.columns:
        groups = _per_model(report, COST_AFTER_FIRST_ANSWER, shown)
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
                figure(
                    44,
                    '<rect x="0" y="0" width="640" height="44" fill="#f6f6f6"/>'
                    + svg_text(
                        12, 26, "not computed: the segment stage gave no first-answer positions"
                    ),
                    "not computed",
                ),
                "",
            )
        )
    if WHATIF_COST_TOTAL in report.overall.columns:
        band: list[Any] = []
        for name, r in _rows(report):
            if r["whatif_actual"] is None or r[WHATIF_COST_TOTAL] is None:
                band.append((name, None))
            else:
                band.append(
                    (
                        name,
                        float(r["whatif_actual"]),
                        float(r[WHATIF_COST_TOTAL]),
                        float(r[WHATIF_COST_LOW] or 0),
                        float(r[WHATIF_COST_HIGH] or 0),
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
    if points.height and FIRST_ANSWER_SHARE in points.columns:
        models = (
            points[MODEL].fill_null("(unknown)").cast(pl.String).to_list()
            if MODEL in points.columns
            else ["all"] * points.height
        )
        pairs = [
            (float(r) if r is not None else None, s, m)
            for (r, s), m in zip(
                points.select(REASONING_TOKENS, FIRST_ANSWER_SHARE).iter_rows(),
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
    if points.height and MODEL in points.columns:
        out.append(
            (
                "Reasoning tokens per model (log scale)",
                log_strip(
                    _per_model(report, REASONING_TOKENS, shown), "reasoning tokens per model"
                ),
                _more(left, "models"),
            )
        )
    if report.kinds.height:
        shares: dict[str, dict[str, float]] = {}
        for row in report.kinds.iter_rows(named=True):
            shares.setdefault(group_label(row, report.keys), {})[row["kind"]] = row["share"]
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
