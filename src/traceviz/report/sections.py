"""The report laid out as titled tables of text, shared by the terminal, Markdown and HTML.

Per-group tables list the groups by spend, most first; given `top`, only that many,
with a "… N more" line (`--full` shows all), so a run over 100,000 models never builds
a 100,000-row table. Cells hold whole names; the terminal shortens them to fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from traceviz.price import overthinking
from traceviz.report.aggregate import TOKEN_PARTS, Report
from traceviz.report.interface import group_label, money, number, share
from traceviz.report.repeats import KEYED_BY, Repeated
from traceviz.schema import (
    COST_CACHE_SAVED,
    COST_CACHE_WRITE,
    COST_CACHED_INPUT,
    COST_INPUT,
    COST_LOGGED,
    COST_LOGGED_DIFF,
    COST_LOGGED_UNPRICED,
    COST_REASONING,
    COST_TOTAL,
    KINDS,
    LOOPING,
    MODEL,
    OUTPUT_TOKENS,
    STEPS,
    TRACE_ID,
    TRACES_LOGGED,
    TRACES_LOGGED_UNPRICED,
    TRUNCATED,
    WHATIF_COST_HIGH,
    WHATIF_COST_LOW,
    WHATIF_COST_TOTAL,
)
from traceviz.stats import STATISTICS
from traceviz.wording import count_of

SHORT_KINDS = ("setup", "plan", "facts", "compute", "consol.", "uncert.", "check", "final")


@dataclass(frozen=True)
class Section:
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    numeric_from: int = 1  # columns from here on are right-aligned
    more: str = ""  # the "… N more" line under a table cut to its top rows


TOP = 6  # groups a terminal table shows unless --full
NOTE_TOP = 3  # names a terminal's records notes list (formats, reasons) unless --full
PAGE_TOP = 40  # groups a Markdown or HTML table shows unless --full


def ordered(report: Report) -> pl.DataFrame:
    """The groups, most spent first (then by key), or by key when nothing is priced."""
    groups = report.groups
    if COST_TOTAL in groups.columns:
        label = pl.concat_str([pl.col(k).cast(pl.String) for k in report.keys], separator="/")
        return (
            groups.with_columns(label.alias("_key"))
            .sort([COST_TOTAL, "_key"], descending=[True, False], nulls_last=True)
            .drop("_key")
        )
    return groups


def _rows(report: Report, top: int | None) -> tuple[list[dict[str, Any]], int]:
    """The rows to show (top groups, then the overall row) and how many groups are left."""
    groups = ordered(report) if report.by else pl.DataFrame()
    shown = groups if top is None or report.full else groups.head(top)
    rows = list(shown.iter_rows(named=True))
    overall = report.overall.row(0, named=True) | dict.fromkeys(report.keys)
    return [*rows, overall], groups.height - shown.height


def terminal_cut(report: Report, top: int | None) -> bool:
    """Whether these sections are cut to a terminal's size (not --full, not a page)."""
    return top is not None and top <= TOP and not report.full


def more_line(hidden: int, noun: str = "groups") -> str:
    return f"… {hidden:,} more {noun} (--full shows all)" if hidden else ""


def sections(report: Report, top: int | None = None) -> Iterator[Section]:
    """The report's tables after the headline; per-group tables cut to `top` groups."""
    rows, hidden = _rows(report, top)
    labels = [
        "all" if i == len(rows) - 1 else group_label(r, report.keys) for i, r in enumerate(rows)
    ]
    more = more_line(hidden)
    group = " / ".join(report.by) or "group"
    yield _records(report, top)
    overall = rows[-1]
    if "tokens_answer_sum" in overall:
        body = []
        for label, row in zip(labels, rows, strict=True):
            for index, part in enumerate(TOKEN_PARTS):
                cells = [number(row[f"tokens_{part}_{s}"]) for s in STATISTICS]
                body.append([label if index == 0 else "", part.replace("_", " "), *cells])
        notes = [
            f"reasoning is {share(overall['reasoning_share_of_output'])} of output tokens",
            "usage drift (counted minus billed):"
            f" mean {number(overall['usage_drift_mean'])} tokens;"
            f" {share(overall['usage_drift_share'])} of traces drift",
        ]
        yield Section("Tokens", [group, "part", *STATISTICS], body, notes, 2, more)
    if COST_TOTAL in overall:
        body = [
            [
                label,
                priced(r, COST_TOTAL),
                priced(r, "cost_per_response", 4),
                money(r["cost_per_1k_answer_tokens"], 4),
                share(r["cache_hit_ratio"]),
                money(r[COST_CACHE_SAVED]),
            ]
            for label, r in zip(labels, rows, strict=True)
        ]
        notes = []
        if overall.get(COST_LOGGED) is not None:
            notes.append(_logged_note(overall))
        yield Section(
            "Money",
            [group, "total", "per response", "per 1k answer tok", "cache hits", "cache saved"],
            body,
            notes,
            more=more,
        )
        body = [
            [
                label,
                money(r[COST_INPUT]),
                money(r[COST_CACHED_INPUT]),
                money(r[COST_CACHE_WRITE]),
                money(r[COST_REASONING]),
                money(r["cost_answer"]),
            ]
            for label, r in zip(labels, rows, strict=True)
        ]
        yield Section(
            "Cost by part",
            [group, "input", "cached input", "cache write", "reasoning", "answer"],
            body,
            more=more,
        )
        # a terminal has the total in the Money note; the per-model table with --full
        if report.logged.height and not terminal_cut(report, top):
            yield _logged(report, top)
    yield from _bill(report, group, labels, rows, more)
    if WHATIF_COST_TOTAL in overall:
        body = [
            [
                label,
                money(r["whatif_actual"]),
                money(r[WHATIF_COST_TOTAL]),
                money(r[WHATIF_COST_LOW]),
                money(r[WHATIF_COST_HIGH]),
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
            more=more,
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
        notes = ["1st ans: mean share of reasoning before the final answer first appears (proxy)"]
        header = [group, STEPS, "thought", "refl", "loop", "trunc", "empty", "refuse", "1st ans"]
        title = "Reasoning behaviour (means over visible reasoning)"
        yield Section(title, header, body, notes, more=more)
    if report.kinds.height:
        yield _kinds(report, group, labels[:-1] if report.by else None, more)
    outliers = _outliers(report)
    if outliers is not None:
        yield outliers
    if report.estimates or report.missing:
        # a terminal does not repeat an estimate already printed under its table
        shown = report.kinds_note if terminal_cut(report, top) else None
        notes = [e for e in report.estimates if e != shown]
        if report.missing:
            notes.append(f"not computed: {', '.join(report.missing)}")
        yield Section("Estimates", [], [], notes)


def _logged_note(overall: dict[str, Any]) -> str:
    """`logged cost $X over N traces (M also priced by traceviz: ours minus logged $Y);
    K logged but not priced: $Z`: each figure with the traces it covers."""
    logged, unpriced = overall[TRACES_LOGGED], overall[TRACES_LOGGED_UNPRICED]
    both = logged - unpriced
    note = f"logged cost {_dollars(overall[COST_LOGGED])} over {count_of(logged, 'trace')}"
    if both:
        priced = "all" if not unpriced else f"{both:,}"
        diff = _dollars(overall[COST_LOGGED_DIFF])
        note += f" ({priced} also priced by traceviz: ours minus logged {diff})"
    if unpriced:
        note += f"; {unpriced:,} logged but not priced: {_dollars(overall[COST_LOGGED_UNPRICED])}"
    return note


def _logged(report: Report, top: int | None) -> Section:
    logged = report.logged.sort(["cost_traceviz", MODEL], descending=[True, False], nulls_last=True)
    shown = logged if top is None or report.full else logged.head(top)
    body = [
        [
            str(r[MODEL]),
            f"{r['traces']:,}",
            _dollars(r[COST_LOGGED]),
            "not priced" if r["cost_traceviz"] is None else _dollars(r["cost_traceviz"]),
            _dollars(r["difference"]),
            share(r["difference_share"]),
        ]
        for r in shown.iter_rows(named=True)
    ]
    notes = [
        "logged: the store's own cost (cost_logged); traceviz: the dated catalog price;"
        " difference = traceviz minus logged; a model's logged traces traceviz could not"
        " price are a row of their own"
    ]
    header = [MODEL, "traces", "logged", "traceviz", "difference", "diff %"]
    more = more_line(logged.height - shown.height, "models")
    return Section("Logged cost vs traceviz price", header, body, notes, more=more)


def _dollars(value: Any) -> str:
    """Dollars to the millionth under $1, so small per-call differences stay visible."""
    if value is None or abs(float(value)) >= 1:
        return money(value)
    return f"${float(value):,.6f}".replace("$-", "-$")


def _counts(counts: dict[str, int], top: int | None = None) -> str:
    """`a 3, b 2, c 1`, most first; cut to `top` names with "… N more"."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ranked if top is None else ranked[:top]
    text = ", ".join(f"{k} {v:,}" for k, v in shown)
    return text + (f", … {len(ranked) - len(shown):,} more" if len(shown) < len(ranked) else "")


def _records(report: Report, top: int | None) -> Section:
    stats = report.stats
    # the terminal's cut (top <= TOP) lists few names; a page lists them all
    cut = NOTE_TOP if top is not None and top <= TOP and not report.full else None
    # the responses are said where some have several choices (a trace each)
    responses = f" ({count_of(stats.responses, 'response')})"
    notes = [
        f"{stats.read:,} records read from {stats.files:,} files: {stats.traces:,} traces"
        f"{responses if stats.responses != stats.traces else ''},"
        f" {stats.quarantined:,} quarantined, {stats.skipped:,} skipped"
    ]
    for name, counts in (
        ("formats", stats.by_format),
        ("quarantined", stats.quarantine_reasons),
        ("skipped", stats.skip_reasons),
        ("left out", stats.filtered),
    ):
        if counts:
            notes.append(f"{name}: {_counts(counts, cut)}")
    repeated = repeats_note(report.repeats, bool(report.by))
    if repeated and cut is None:  # NOTE: a terminal's cut has the headline's line alone
        notes.append(repeated)
    return Section("Records", [], [], notes)


def repeats_note(found: Repeated, grouped: bool = False) -> str:
    """What the report says of the responses logged more than once ("" when none is):
    counts and sums only, never an id (ids are logged text; `traceviz ingest` has them)."""
    if not found.repeats:
        return ""
    unpriced = found.repeats - found.priced
    text = (
        f"{count_of(found.responses, 'response')} logged more than once by their"
        f" {KEYED_BY}, in {found.records:,} records: the {count_of(found.repeats, 'repeat')}"
        f" (every copy after the first, choices too) hold {money(found.cost)} of the"
        f" {money(found.cost_total)} total cost ({share(found.cost_share)}) and"
        f" {found.tokens:,} of {found.tokens_total:,} billed tokens"
        f" ({share(found.tokens_share)}), counted each time in every figure here"
    )
    if unpriced:
        text += f" ({unpriced:,} of the repeats not priced)"
    if grouped:
        text += "; stated for the whole run, and each group's figures count its repeats too"
    missing = found.traces - found.keyed
    if missing:
        text += (
            f"; {count_of(missing, 'trace')} of {found.traces:,} log no response id"
            " and could not be checked"
        )
    return text


def _kinds(report: Report, group: str, shown: list[str] | None, more: str) -> Section:
    keys = report.keys
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
    if shown is not None:  # layout: the groups of the other tables, in their order
        by_label = {row[0]: row for row in body}
        kept = [by_label[label] for label in shown if label in by_label]
        more = more_line(len(body) - len(kept)) if not report.full else ""
        body = kept
    notes = [", ".join(f"{s}: {k}" for s, k in zip(SHORT_KINDS, KINDS, strict=True))]
    notes += [report.kinds_note] if report.kinds_note else []
    title = "Step kinds (estimated share of steps)"
    return Section(title, [group, *SHORT_KINDS], body, notes, more=more)


def priced(row: dict[str, Any], column: str, digits: int = 2) -> str:
    """An amount, or "not priced" for a group none of whose traces has a price."""
    if row.get(column) is None and row.get("traces_unpriced") == row.get("traces"):
        return "not priced"
    return money(row.get(column), digits)


def _bill(
    report: Report, group: str, labels: list[str], rows: list[dict[str, Any]], more: str
) -> Iterator[Section]:
    """The overthinking bill per group, and the reasoning cap's savings and risk."""
    overall = rows[-1]
    if "overthinking_tokens" in overall:
        body = []
        for label, r in zip(labels, rows, strict=True):
            changed = (
                f"{r['answer_changed']:,} ({share(r['answer_changed_share'])})"
                if r.get("answer_changed_known")
                else "–"
            )
            body.append(
                [
                    label,
                    f"{r['overthinking_traces']:,}",
                    number(r["overthinking_tokens"]),
                    share(r["overthinking_token_share"]),
                    priced(r, "overthinking_cost", 4),
                    share(r.get("overthinking_share")),
                    changed,
                ]
            )
        notes = [
            "tokens after the reasoning first reaches its final answer, at the output rate;"
            f" {overthinking.AGREEMENT} (docs/first-answer.md)",
            "measured: visible reasoning with a final answer found (hidden: not computed);"
            " % tok, % $: of their reasoning; changed: committed to another answer first",
        ]
        header = [group, "measured", "tokens", "% tok", "cost", "% $", "changed"]
        yield Section("After the first answer (proxy)", header, body, notes, more=more)
    if report.cap is not None and "cap_tokens_saved" in overall:
        body = [
            [
                label,
                f"{r['cap_traces_over']:,}",
                number(r["cap_tokens_saved"]),
                money(r.get("cap_saved"), 4),
                number(r.get("cap_at_risk")),
                number(r.get("cap_risk_unknown")),
            ]
            for label, r in zip(labels, rows, strict=True)
        ]
        notes = [
            f"cap: {report.cap.rule}; {overthinking.CAP_RULE}",
            "unknown: cut, but the reasoning is hidden or has no answer found in it",
        ]
        header = [group, "cut", "tokens removed", "saved", "at risk", "unknown"]
        title = f"Reasoning cap at {report.cap.tokens:,} tokens (estimate)"
        yield Section(title, header, body, notes, more=more)


WHY = {"most_expensive": "cost", "longest": "long", LOOPING: "loop", TRUNCATED: "trunc"}


def _outliers(report: Report) -> Section | None:
    """The traces worth opening, once each, with why: most expensive, longest, looping,
    truncated."""
    found: dict[tuple[Any, ...], tuple[list[str], dict[str, Any]]] = {}
    for name, frame in report.outliers.items():
        for r in frame.iter_rows(named=True):
            key = (r[TRACE_ID], r["source"], r["line"])
            found.setdefault(key, ([], r))[0].append(WHY.get(name, name))
    if not found:
        return None
    body = [
        [
            " ".join(why),
            str(r[TRACE_ID]),
            f"{Path(r['source']).name}:{r['line']}",
            str(r.get(MODEL) or ""),
            _cell(r.get(OUTPUT_TOKENS)),
            _cell(r.get(COST_TOTAL)),
        ]
        for why, r in found.values()
    ]
    notes = ["cost: most expensive, long: most output; open one: traceviz show ID PATHS"]
    header = ["why", "trace id", "where", MODEL, "out tok", "cost"]
    return Section("Traces worth opening", header, body, notes, numeric_from=4)


def _cell(value: Any) -> str:
    if isinstance(value, Decimal):
        return money(value, 4)
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)
