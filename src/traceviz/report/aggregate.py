"""The batch report's figures, per group and overall, built one priced result at a time.

`collect` reduces each result of `pipeline.analyze_results` to a mergeable partial
(`report/partials.py`: counts, exact sums, exact token histograms, the few outlier
traces, a sample of points) and merges them, so the driver never holds the traces
table; `finish` turns the merged partial into the `Report`. `build` does both over a
whole traces table. A section whose stage did not run (its columns are missing) is
left out and listed in `Report.missing`, never a crash. Estimates are labelled in
`Report.estimates`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from traceviz.price import overthinking
from traceviz.report import partial_figures, partials
from traceviz.report.groups import TIME_KEYS, TOKEN_PARTS, group_columns, shown
from traceviz.report.groups import columns as groups_columns
from traceviz.report.partials import OUTLIER_COUNT, POINTS, SPEND_PARTS, Partial
from traceviz.report.repeats import Repeated
from traceviz.schema import (
    ANSWER_CHANGED_AFTER_FIRST,
    COST_TOTAL,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    STEPS,
    TOKENS_ANSWER,
    WHATIF_COST_TOTAL,
    WHATIF_MODEL,
    WHATIF_PROMPT_LOGGED,
    WHATIF_RATIO,
    IngestStats,
)
from traceviz.segment.evaluation import shipped_note
from traceviz.wording import count_of

ALL = "(all)"
# the data table's column that marks its overall row (a group column never takes its name)
OVERALL_ROW = "overall"
MERGE_EVERY = 16  # results reduced before their partials are merged into one
SECTIONS = (
    ("tokens", TOKENS_ANSWER),
    ("money", COST_TOTAL),
    ("what-if", WHATIF_COST_TOTAL),
    ("reasoning behaviour", STEPS),
    ("overthinking bill", REASONING_TOKENS_AFTER_FIRST_ANSWER),
    ("answer changes", ANSWER_CHANGED_AFTER_FIRST),
)

__all__ = [
    "ALL",
    "OUTLIER_COUNT",
    "OVERALL_ROW",
    "POINTS",
    "SPEND_PARTS",
    "TIME_KEYS",
    "TOKEN_PARTS",
    "Partial",
    "Report",
    "build",
    "collect",
    "finish",
    "group_columns",
    "unknown_keys",
]


@dataclass(frozen=True)
class Report:
    """A whole report: one row per group (and one overall), kinds, outliers, notes.

    `by` holds the keys as given and `keys` their columns in `groups` and `kinds`, in the
    same order: the key itself, or `by:<key>` where that frame has a figure of the name
    (`--by traces`)."""

    by: list[str]
    keys: list[str]
    overall: pl.DataFrame
    groups: pl.DataFrame
    kinds: pl.DataFrame
    outliers: dict[str, pl.DataFrame]
    stats: IngestStats
    estimates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    vs: str | None = None
    kinds_note: str = ""  # the kind model's accuracy, shown beside every kind table and chart
    points: pl.DataFrame = field(default_factory=pl.DataFrame)
    logged: pl.DataFrame = field(default_factory=pl.DataFrame)
    models: pl.DataFrame = field(default_factory=pl.DataFrame)
    cap: overthinking.Cap | None = None
    full: bool = False
    repeats: Repeated = field(default_factory=Repeated)  # responses logged more than once


def unknown_keys(traces: pl.DataFrame, by: list[str]) -> list[str]:
    """The `--by` keys that no trace has, as a column, a time bucket or a metadata key."""
    return Partial.of(traces, None, by).unknown_keys()


class Result(Protocol):
    """A priced result of a run (`pipeline.ShardResult`): its traces, and steps if kept."""

    @property
    def traces(self) -> pl.DataFrame: ...

    @property
    def steps(self) -> pl.DataFrame | None: ...


def logged_prompts(row: dict[str, Any]) -> str:
    """What the what-if note says of the traces whose log holds no prompt text."""
    logged = row.get(WHATIF_PROMPT_LOGGED)
    if not logged:
        return ""
    return (
        f"; {count_of(logged, 'trace')} without prompt text: billed"
        " prompt tokens used (whatif_prompt_logged)"
    )


def collect(
    results: Iterable[Result],
    by: list[str] | None = None,
    cap: overthinking.CapSpec | None = None,
) -> Partial:
    """The report's partial of a whole run, one result at a time, in input order.

    Each result is reduced as it arrives and dropped; partials are merged every
    MERGE_EVERY results, so what is held grows with the groups, not the traces.
    """
    keys = list(by or [])
    held = [Partial.empty(keys, cap is not None, opens=True)]
    for result in results:
        held.append(Partial.of(result.traces, result.steps, keys, cap is not None))
        if len(held) > MERGE_EVERY:
            held = [partials.combine(held)]
    return partials.combine(held)


def build(
    traces: pl.DataFrame,
    steps: pl.DataFrame | None,
    stats: IngestStats,
    by: list[str] | None = None,
    kinds_note: str | None = None,
    cap: overthinking.CapSpec | None = None,
    full: bool = False,
) -> Report:
    """The report of a run: `traces` and `steps` as `pipeline.analyze` collects them.

    `kinds_note` states the step-kind model's accuracy (default: the shipped model's);
    `cap` adds what a cap on reasoning tokens would have saved; `full` asks the human
    formats for every group rather than the top ones.
    """
    partial = Partial.of(traces, steps, list(by or []), cap is not None)
    return finish(partial, stats, kinds_note, cap=cap, full=full)


def finish(
    partial: Partial,
    stats: IngestStats,
    kinds_note: str | None = None,
    cap: overthinking.CapSpec | None = None,
    full: bool = False,
) -> Report:
    """The report from the merged partial of a run (see `build` for the options)."""
    by = list(partial.by)
    keys = groups_columns(by)
    resolved = partial_figures.resolve_cap(partial, cap) if cap else None
    if partial.columns:
        overall = partial_figures.figures(partial, [], resolved)
        groups = partial_figures.figures(partial, keys, resolved) if by else overall
    else:
        overall = groups = pl.DataFrame({"traces": [0]})
    missing = [name for name, column in SECTIONS if column not in partial.columns]
    if cap is not None and resolved is None:
        missing.append(f"reasoning cap {cap.text} (no trace has reasoning tokens)")
    kinds, summed = partial_figures.kinds(partial, keys)
    names = shown(by, [groups, kinds], reserved=(OVERALL_ROW,))
    groups = groups.rename(names, strict=False)
    kinds = kinds.rename(names, strict=False)
    if kinds.height:
        kinds_note = (kinds_note or shipped_note()) + (
            "; shares are summed step probabilities" if summed else "; shares are argmax counts"
        )
    return Report(
        by=by,
        keys=list(names.values()),
        overall=overall,
        groups=groups,
        kinds=kinds,
        outliers=partial_figures.outliers(partial),
        stats=stats,
        estimates=_estimates(overall, resolved)
        + partial_figures.notes(partial)
        + ([kinds_note] if kinds.height and kinds_note else []),
        kinds_note=kinds_note or "",
        missing=missing,
        vs=overall[WHATIF_MODEL][0] if WHATIF_MODEL in overall.columns else None,
        points=_named_points(partial_figures.points(partial), names),
        logged=partial_figures.logged(partial),
        models=partial_figures.models(partial),
        cap=resolved,
        full=full,
        repeats=partial.repeats.figures(),
    )


def _named_points(points: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """The scatter sample with its key columns named as the report's; a key named like a
    point column of its own (`--by model` beside `model`) is dropped there, as the same
    values or a key the charts do not use."""
    free = {c: name for c, name in names.items() if c in points.columns}
    clash = [c for c, name in free.items() if name in points.columns]
    return points.drop(clash).rename({c: n for c, n in free.items() if c not in clash})


def _estimates(overall: pl.DataFrame, cap: overthinking.Cap | None) -> list[str]:
    notes = []
    row = overall.row(0, named=True)
    if "overthinking_tokens" in row:
        notes.append("the overthinking bill is a proxy (its rule and accuracy under its table)")
    if cap is not None:
        notes.append("the reasoning cap's savings and risk are estimates (rule under its table)")
    if row.get("traces_counted"):
        notes.append(
            f"{row['traces_counted']:,} traces carry no usage: their tokens are counted,"
            " and priced as counted"
        )
    if row.get("traces_hidden_reasoning"):
        notes.append("hidden reasoning is taken from billed usage (reasoning_tokens), not counted")
    if row.get("traces_unpriced"):
        notes.append(
            f"{row['traces_unpriced']:,} traces have no price in the catalog"
            " and are left out of costs"
        )
    if row.get(WHATIF_MODEL):
        notes.append(
            f"what-if costs on {row[WHATIF_MODEL]} are estimates: prompt and answer"
            " re-counted with its tokenizer, reasoning scaled by a ratio of"
            f" {row.get(WHATIF_RATIO)} (low-high from its range)" + logged_prompts(row)
        )
    return notes
