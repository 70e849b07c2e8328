"""The report laid out as titled tables of text, shared by the terminal and Markdown."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traceviz.report.aggregate import TOKEN_PARTS, Report
from traceviz.report.interface import group_label, money, number, share
from traceviz.segment.kinds import KINDS
from traceviz.stats import STATISTICS

SHORT_KINDS = ("setup", "plan", "facts", "compute", "consol.", "uncert.", "check", "final")


@dataclass(frozen=True)
class Section:
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    numeric_from: int = 1  # columns from here on are right-aligned


def _rows(report: Report) -> list[dict[str, Any]]:
    rows = list(report.groups.iter_rows(named=True)) if report.by else []
    return [*rows, report.overall.row(0, named=True) | dict.fromkeys(report.by)]


def _label(report: Report, row: dict[str, Any], last: bool) -> str:
    return "all" if last else group_label(row, report.by)


def sections(report: Report) -> Iterator[Section]:
    rows = _rows(report)
    labels = [_label(report, r, i == len(rows) - 1) for i, r in enumerate(rows)]
    group = " / ".join(report.by) or "group"
    yield _records(report)
    overall = rows[-1]
    if "tokens_answer_sum" in overall:
        body = []
        for label, row in zip(labels, rows, strict=True):
            for index, part in enumerate(TOKEN_PARTS):
                cells = [number(row[f"tokens_{part}_{s}"]) for s in STATISTICS]
                body.append([label if index == 0 else "", part.replace("_", " "), *cells])
        notes = [
            f"reasoning is {share(overall['reasoning_share_of_output'])} of output tokens",
            "usage drift (counted minus billed output):"
            f" mean {number(overall['usage_drift_mean'])} tokens,"
            f" non-zero in {share(overall['usage_drift_share'])} of traces with usage",
        ]
        yield Section("Tokens", [group, "part", *STATISTICS], body, notes, numeric_from=2)
    if "cost_total" in overall:
        body = [
            [
                label,
                money(r["cost_total"]),
                money(r["cost_per_response"], 4),
                money(r["cost_per_1k_answer_tokens"], 4),
                share(r["cache_hit_ratio"]),
                money(r["cost_cache_saved"]),
            ]
            for label, r in zip(labels, rows, strict=True)
        ]
        notes = []
        if overall.get("cost_logged") is not None:
            notes.append(
                f"logged cost {money(overall['cost_logged'], 6)}; ours minus logged"
                f" {money(overall['cost_logged_diff'], 6)}"
            )
        yield Section(
            "Money",
            [group, "total", "per response", "per 1k answer tok", "cache hits", "cache saved"],
            body,
            notes,
        )
        body = [
            [
                label,
                money(r["cost_input"]),
                money(r["cost_cached_input"]),
                money(r["cost_cache_write"]),
                money(r["cost_reasoning"]),
                money(r["cost_answer"]),
            ]
            for label, r in zip(labels, rows, strict=True)
        ]
        if report.logged.height:
            yield _logged(report)
        yield Section(
            "Cost by part",
            [group, "input", "cached input", "cache write", "reasoning", "answer"],
            body,
        )
    if "whatif_cost_total" in overall:
        body = [
            [
                label,
                money(r["whatif_actual"]),
                money(r["whatif_cost_total"]),
                money(r["whatif_cost_low"]),
                money(r["whatif_cost_high"]),
            ]
            for label, r in zip(labels, rows, strict=True)
        ]
        notes = [
            f"over the {overall['whatif_traces']:,} traces priced both ways",
            f"estimate: ratio {overall['whatif_ratio']} from {overall['whatif_ratio_source']}",
        ]
        yield Section(
            f"What if on {overall['whatif_model']} (estimate)",
            [group, "actual", "what-if", "low", "high"],
            body,
            notes,
        )
    if "steps_mean" in overall:
        body = [
            [
                label,
                number(r["steps_mean"]),
                number(r["thoughts_mean"]),
                number(r["reflection_words_mean"]),
                share(r["looping_share"]),
                share(r["truncated_share"]),
                share(r["empty_reasoning_share"]),
                share(r["refusal_share"]),
                share(r["first_answer_share_mean"]),
            ]
            for label, r in zip(labels, rows, strict=True)
        ]
        notes = [
            "first answer: mean share of reasoning tokens before the final answer"
            " first appears (a proxy)"
        ]
        header = [group, "steps", "thought", "refl", "loop", "trunc", "empty", "refuse", "1st ans"]
        yield Section("Reasoning behaviour (means over visible reasoning)", header, body, notes)
    if report.kinds.height:
        yield _kinds(report, group)
    for name, frame in report.outliers.items():
        if frame.height:
            body = [
                [
                    r["trace_id"],
                    f"{Path(r['source']).name}:{r['line']}",
                    str(r.get("model") or ""),
                    _cell(r.get("output_tokens")),
                    _cell(r.get("cost_total")),
                ]
                for r in frame.iter_rows(named=True)
            ]
            header = ["trace id", "where", "model", "output tok", "cost"]
            yield Section(f"Outliers: {name.replace('_', ' ')}", header, body, numeric_from=3)
    if report.estimates or report.missing:
        notes = [*report.estimates] + [f"not computed: {m}" for m in report.missing]
        yield Section("Estimates", [], [], notes)


def _logged(report: Report) -> Section:
    body = [
        [
            str(r["model"]),
            f"{r['traces']:,}",
            _dollars(r["cost_logged"]),
            _dollars(r["cost_traceviz"]),
            _dollars(r["difference"]),
            share(r["difference_share"]),
        ]
        for r in report.logged.iter_rows(named=True)
    ]
    notes = [
        "logged: the log store's own cost figure (cost_logged); traceviz: the dated catalog"
        " price of the same traces; difference = traceviz minus logged"
    ]
    header = ["model", "traces", "logged", "traceviz", "difference", "diff %"]
    return Section("Logged cost vs traceviz price", header, body, notes)


def _dollars(value: Any) -> str:
    """Dollars to the millionth under $1, so small per-call differences stay visible."""
    if value is None or abs(float(value)) >= 1:
        return money(value)
    return f"${float(value):,.6f}".replace("$-", "-$")


def _records(report: Report) -> Section:
    stats = report.stats
    formats = ", ".join(
        f"{k} {v:,}" for k, v in sorted(stats.by_format.items(), key=lambda kv: -kv[1])
    )
    body = [
        ["files", f"{stats.files:,}"],
        ["records read", f"{stats.read:,}"],
        ["traces", f"{stats.traces:,}"],
        ["quarantined", f"{stats.quarantined:,}"],
        ["skipped", f"{stats.skipped:,}"],
    ]
    notes = [f"formats: {formats}"] if formats else []
    notes += [f"quarantined: {k} {v:,}" for k, v in sorted(stats.quarantine_reasons.items())]
    notes += [f"skipped: {k} {v:,}" for k, v in sorted(stats.skip_reasons.items())]
    notes += [f"left out: {k} {v:,}" for k, v in sorted(stats.filtered.items())]
    return Section("Records", ["", "count"], body, notes)


def _kinds(report: Report, group: str) -> Section:
    keys = report.by
    shares: dict[tuple[Any, ...], dict[str, float]] = {}
    for row in report.kinds.iter_rows(named=True):
        shares.setdefault(tuple(row[k] for k in keys), {})[row["kind"]] = row["share"]
    body = [
        [
            group_label(dict(zip(keys, key, strict=True)), keys),
            *[share(values.get(k, 0.0)) for k in KINDS],
        ]
        for key, values in shares.items()
    ]
    notes = [", ".join(f"{s}: {k}" for s, k in zip(SHORT_KINDS, KINDS, strict=True))]
    notes += [report.kinds_note] if report.kinds_note else []
    return Section("Step kinds (estimated share of steps)", [group, *SHORT_KINDS], body, notes)


def _cell(value: Any) -> str:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return money(value, 4)
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)
