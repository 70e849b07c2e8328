"""The batch report as mergeable partials: each priced result reduced to a few small
tables, merged in input order, and finished into the report's figures.

A `Partial` holds, per group (and overall): counts, exact integer and Decimal(38, 12)
sums, maxima and first values; per group, exact histograms (value -> traces) of the
integer token counts; the few traces the outliers need (top 5 by cost and by output,
the first 5 looping and truncated); a deterministic sample of the scatter points;
spend per model; and the price notes' figures. None of these grows with the number of
traces, only with the number of groups and of distinct token counts; but for one: the
responses logged more than once (`repeats.py`) are found from a 64-bit key per distinct
logged response id, 8 bytes a response (a run's first partial, `Partial.empty(opens=True)`,
keeps nothing else per response).

Invariants (tests/test_report_partials.py builds reports both ways and compares):

- Merging is `a.merge(b)` with `a` before `b` in the input; any split of a run into
  results gives the same figures as the whole table in one frame.
- Token quantiles are exact, not sketched: token counts are integers, so value -> count
  histograms merge without loss and give the same `linear` quantiles as polars over the
  whole column (the same formula, `lower + (upper - lower) * fraction`, in f64); the
  `--cap pNN` percentile is the same `nearest` rank. Integer means are exact sums over
  counts (what polars computes for integer columns).
- Logged costs are money: each trace's logged float taken to the catalog's 12 decimals
  (`MONEY`), summed exactly, and `cost_logged_diff` summed as our price minus that, so
  the figures do not depend on how the table was cut (a float sum would print
  0.11959607000000001 for logged costs whose decimal sum is 0.11959607).
- The float a figure averages (`first_answer_share`): polars sums floats in blocks whose
  boundaries depend on the table's chunks, so its figure is polars' over the same
  chunks the whole table had. Ungrouped, each chunk's
  sum and count of values is all that is kept (`float_figures`); grouped, the per-trace
  column is (8 bytes a trace, plus the group keys as categoricals; a result where the
  column is all null keeps only its length).
- Step-kind shares sum per-trace float probabilities per result, then the results'
  sums: equal to the whole table's to float rounding (about 1e-15 relative), which the
  outputs that show them (percentages, JSON to 6 decimals) cannot tell apart.
- Scatter points: the traces with the 2,000 smallest hashes of (trace id, source, line),
  in input order; all traces when there are no more than 2,000.

NOTE: past 400 lines, of which this docstring, the imports and the column lists are
over 150: the rest is one job (a result reduced to a `Partial`, and partials merged),
kept together so that each reduction sits beside its merge. Histograms are in
`histograms.py`, the figures finished from a partial in `partial_figures.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from traceviz.price.cost import MONEY
from traceviz.price.notes import Figures as NoteFigures
from traceviz.price.notes import figures as note_figures
from traceviz.report.groups import TOKEN_PARTS, columns, group_columns, metadata_keys
from traceviz.report.groups import column as group_column
from traceviz.report.histograms import COUNT, has, hists, merge_hist
from traceviz.report.repeats import Repeats
from traceviz.report.repeats import combine as combine_repeats
from traceviz.response_keys import first_choice
from traceviz.schema import (
    ANSWER_CHANGED_AFTER_FIRST,
    CORRECT,
    COST_AFTER_FIRST_ANSWER,
    COST_CACHE_SAVED,
    COST_CACHE_WRITE,
    COST_CACHED_INPUT,
    COST_INPUT,
    COST_LOGGED,
    COST_LOGGED_DIFF,
    COST_LOGGED_UNPRICED,
    COST_OUTPUT,
    COST_REASONING,
    COST_TOTAL,
    EMPTY_REASONING,
    EXPECTED_STEPS_PREFIX,
    FIRST_ANSWER_SHARE,
    KIND,
    KIND_STEPS_PREFIX,
    LINE,
    LOOPING,
    MODEL,
    OUTPUT_TOKENS,
    REASONING,
    REASONING_TOKENS,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED,
    REASONING_VISIBLE,
    REFLECTION_WORDS,
    REFUSAL,
    SOURCE,
    STEPS,
    THOUGHTS,
    TRACE_ID,
    TRUNCATED,
    USAGE_DRIFT,
    USAGE_SOURCE,
    WHATIF_COST_HIGH,
    WHATIF_COST_LOW,
    WHATIF_COST_TOTAL,
    WHATIF_MODEL,
    WHATIF_PROMPT_LOGGED,
    WHATIF_RATIO,
    WHATIF_RATIO_SOURCE,
    WHATIF_REASONING_TOKENS,
)

OUTLIER_COUNT = 5


POINTS = 2000


UNKNOWN_MODEL = "(unknown)"
PRICED = "priced"  # the logged-cost table's key: whether traceviz priced the traces


HASH = "_hash"


PRICED_RESPONSES = "priced_responses"  # priced traces that are a response's first choice


# the columns whose sum and count of values the figures use
SUMMED = (
    *TOKEN_PARTS.values(),
    OUTPUT_TOKENS,
    USAGE_DRIFT,
    COST_TOTAL,
    COST_INPUT,
    COST_CACHED_INPUT,
    COST_CACHE_WRITE,
    COST_REASONING,
    COST_OUTPUT,
    COST_CACHE_SAVED,
    WHATIF_REASONING_TOKENS,
    WHATIF_PROMPT_LOGGED,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED,
    COST_AFTER_FIRST_ANSWER,
    ANSWER_CHANGED_AFTER_FIRST,
    STEPS,
    THOUGHTS,
    REFLECTION_WORDS,
    LOOPING,
    TRUNCATED,
    EMPTY_REASONING,
    REFUSAL,
    CORRECT,
)


FLOATS = (FIRST_ANSWER_SHARE,)  # summed by polars, see above


# A logged cost as money: the logged float taken to the catalog's 12 decimals, so that
# sums are exact and equal prices give a difference of exactly zero, not float noise
LOGGED = pl.col(COST_LOGGED).cast(MONEY)


PAIRED = (COST_TOTAL, WHATIF_COST_TOTAL, WHATIF_COST_LOW, WHATIF_COST_HIGH)


SPEND_PARTS = (COST_INPUT, COST_CACHED_INPUT, COST_CACHE_WRITE, COST_REASONING)


OUTLIER_COLUMNS = (TRACE_ID, SOURCE, LINE, MODEL, OUTPUT_TOKENS, COST_TOTAL)


RANKED = {"most_expensive": COST_TOTAL, "longest": OUTPUT_TOKENS}


FLAGGED = (LOOPING, TRUNCATED)


POINT_COLUMNS = (MODEL, REASONING_TOKENS, FIRST_ANSWER_SHARE, COST_AFTER_FIRST_ANSWER, COST_TOTAL)


def s(column: str) -> str:
    """The name of a column's sum in a partial."""
    return f"{column}:s"


def n(column: str) -> str:
    """The name of a column's count of values in a partial."""
    return f"{column}:n"


def _sum_terms(columns: list[str]) -> list[pl.Expr]:
    """Per group: the sums and counts the figures are finished from (all merge by sum)."""
    terms = [pl.len().cast(pl.Int64).alias(COUNT)]
    for column in SUMMED:
        if column in columns:
            terms += [
                pl.col(column).sum().alias(s(column)),
                pl.col(column).count().cast(pl.Int64).alias(n(column)),
            ]
    terms += [pl.col(c).count().cast(pl.Int64).alias(n(c)) for c in FLOATS if c in columns]
    if COST_LOGGED in columns:
        summed = {COST_LOGGED: LOGGED}
        if COST_TOTAL in columns:
            summed[COST_LOGGED_DIFF] = pl.col(COST_TOTAL) - LOGGED  # null unless both
            summed[COST_LOGGED_UNPRICED] = pl.when(pl.col(COST_TOTAL).is_null()).then(LOGGED)
        for name, value in summed.items():
            terms += [value.sum().alias(s(name)), value.count().cast(pl.Int64).alias(n(name))]
    if COST_TOTAL in columns:  # a response's choices are priced together, or none is
        priced = pl.col(COST_TOTAL).is_not_null() & first_choice(columns)
        terms.append(priced.sum().cast(pl.Int64).alias(PRICED_RESPONSES))
    if USAGE_DRIFT in columns:
        drifted = pl.col(USAGE_DRIFT) != 0
        terms += [
            drifted.sum().cast(pl.Int64).alias(s("drifted")),
            drifted.count().cast(pl.Int64).alias(n("drifted")),
        ]
    if USAGE_SOURCE in columns:
        terms.append((pl.col(USAGE_SOURCE) == "counted").sum().cast(pl.Int64).alias("counted"))
    if REASONING in columns:
        terms.append(pl.col(REASONING).is_null().sum().cast(pl.Int64).alias("hidden"))
    elif REASONING_VISIBLE in columns:
        terms.append((~pl.col(REASONING_VISIBLE)).sum().cast(pl.Int64).alias("hidden"))
    if has(columns, COST_TOTAL, WHATIF_COST_TOTAL):
        both = pl.col(COST_TOTAL).is_not_null() & pl.col(WHATIF_COST_TOTAL).is_not_null()
        terms.append(both.sum().cast(pl.Int64).alias("both"))
        terms += [pl.col(c).filter(both).sum().alias(f"paired:{c}") for c in PAIRED]
    if has(columns, REASONING_TOKENS_AFTER_FIRST_ANSWER, REASONING_TOKENS):
        after = pl.col(REASONING_TOKENS_AFTER_FIRST_ANSWER)
        terms.append(
            pl.when(after.is_not_null()).then(pl.col(REASONING_TOKENS)).sum().alias("rt|after")
        )
    if has(columns, COST_AFTER_FIRST_ANSWER, COST_REASONING):
        measured = pl.col(COST_AFTER_FIRST_ANSWER).is_not_null()
        terms += [
            measured.sum().cast(pl.Int64).alias("measured"),
            pl.col(COST_REASONING).filter(measured).sum().alias("cost_reasoning|measured"),
        ]
    return terms


def _max_terms(columns: list[str]) -> list[pl.Expr]:
    return [pl.col(c).max().alias(f"{c}:max") for c in TOKEN_PARTS.values() if c in columns]


def _first_terms(columns: list[str]) -> list[pl.Expr]:
    """First values in input order: the first trace's, or the first that has one."""
    terms = []
    if WHATIF_MODEL in columns:
        terms.append(pl.col(WHATIF_MODEL).first())
    terms += [
        pl.col(c).drop_nulls().first() for c in (WHATIF_RATIO, WHATIF_RATIO_SOURCE) if c in columns
    ]
    return terms


def _level(frame: pl.DataFrame, keys: list[str], columns: list[str]) -> pl.DataFrame:
    terms = [*_sum_terms(columns), *_max_terms(columns), *_first_terms(columns)]
    if keys:
        return frame.group_by(keys, maintain_order=True).agg(terms)
    return frame.select(terms)


def _merge_level(parts: list[pl.DataFrame], keys: list[str], columns: list[str]) -> pl.DataFrame:
    """Two levels' partials merged: sums added, maxima taken, first values kept in order."""
    both = pl.concat(parts, how="vertical_relaxed")
    firsts = {WHATIF_MODEL}
    terms = []
    for name in both.columns:
        if name in keys:
            continue
        if name.endswith(":max"):
            terms.append(pl.col(name).max())
        elif name in firsts:
            terms.append(pl.col(name).first())
        elif name in (WHATIF_RATIO, WHATIF_RATIO_SOURCE):
            terms.append(pl.col(name).drop_nulls().first())
        else:
            terms.append(pl.col(name).sum())
    if keys:
        return both.group_by(keys, maintain_order=True).agg(terms)
    return both.select(terms)


@dataclass(frozen=True)
class Floats:
    """One result's float columns (None: all null). Grouped: the values, with their
    chunks, and the group keys as categoricals. Ungrouped: per column, the sum of each
    chunk (as polars sums it) and the count of values, 8 bytes a chunk, not a trace."""

    rows: int
    keys: pl.DataFrame  # the group keys as categoricals (no columns when not grouped)
    values: dict[str, pl.Series | None]  # grouped: the column (None: all null)
    sums: dict[str, tuple[float, ...] | None] = field(default_factory=dict)  # ungrouped
    counts: dict[str, int] = field(default_factory=dict)  # ungrouped: values in the column


@dataclass(frozen=True)
class Partial:
    """The report's mergeable aggregates over some results of a run (see the module)."""

    by: tuple[str, ...]
    cap: bool
    columns: tuple[str, ...] = ()  # the traces' columns (none before the first trace)
    overall: pl.DataFrame | None = None
    groups: pl.DataFrame | None = None
    hists: dict[str, pl.DataFrame] = field(default_factory=dict)
    floats: tuple[Floats, ...] = ()
    kinds_expected: pl.DataFrame | None = None  # per group: summed kind probabilities
    kinds_counted: pl.DataFrame | None = None  # per group: argmax counts (or steps rows)
    expected_seen: bool = False  # some trace has a kind probability
    outliers: dict[str, pl.DataFrame] = field(default_factory=dict)
    points: pl.DataFrame | None = None
    models: pl.DataFrame | None = None
    logged: pl.DataFrame | None = None
    notes: NoteFigures = field(default_factory=NoteFigures)
    keyed: dict[str, bool] = field(default_factory=dict)  # metadata key: some trace has it
    repeats: Repeats = field(default_factory=Repeats)  # responses logged more than once

    @classmethod
    def empty(
        cls, by: list[str] | tuple[str, ...], cap: bool = False, opens: bool = False
    ) -> Partial:
        """A partial of no result; `opens`: the one a run starts from (nothing comes before
        it, so what is merged into it keeps only what later results need: `repeats.py`)."""
        return cls(by=tuple(by), cap=cap, repeats=Repeats.opening() if opens else Repeats())

    @classmethod
    def of(
        cls,
        traces: pl.DataFrame,
        steps: pl.DataFrame | None = None,
        by: list[str] | tuple[str, ...] = (),
        cap: bool = False,
    ) -> Partial:
        """The partial of one result: its priced traces (and steps, if kept)."""
        if not traces.height:
            return cls(by=tuple(by), cap=cap)
        traced = list(traces.columns)
        keyed = group_columns(traces, list(by))
        keys = columns(by)  # the group columns: never named like a column of `keyed`
        metadata = metadata_keys(traced, list(by))
        return cls(
            by=tuple(by),
            cap=cap,
            columns=tuple(traced),
            overall=_level(keyed, [], traced),
            groups=_level(keyed, keys, traced) if keys else None,
            hists=hists(keyed, keys, traced, cap),
            floats=(_floats(keyed, keys, traced),),
            **_kinds(keyed, steps, keys),
            outliers=_outliers(traces),
            points=_points(keyed, keys),
            models=_models(traces),
            logged=_logged(traces),
            notes=note_figures(traces),
            keyed={k: bool(keyed[group_column(k)].null_count() < keyed.height) for k in metadata},
            repeats=Repeats.of(traces),
        )

    def merge(self, *later: Partial) -> Partial:
        """This partial and those of results that came after it (in input order), as one."""
        return combine([self, *later])

    def unknown_keys(self) -> list[str]:
        """The metadata `--by` keys that no trace has."""
        return [key for key, seen in self.keyed.items() if not seen]


def combine(partials: list[Partial]) -> Partial:
    """Partials (in input order) merged into one."""
    repeats = combine_repeats([p.repeats for p in partials])  # a run's opening one has none
    parts = [p for p in partials if p.columns]
    if len(parts) <= 1:
        return dataclasses.replace(parts[0] if parts else partials[0], repeats=repeats)
    first = parts[0]
    traced = list(first.columns)
    keys = columns(first.by)
    hists = {
        name: merge_hist([p.hists[name] for p in parts if name in p.hists])
        for name in dict.fromkeys(name for p in parts for name in p.hists)
    }
    notes = first.notes
    for p in parts[1:]:
        notes = notes.merge(p.notes)
    keyed = dict(first.keyed)
    for p in parts[1:]:
        for key, seen in p.keyed.items():
            keyed[key] = keyed.get(key, False) or seen
    return Partial(
        by=first.by,
        cap=first.cap,
        columns=first.columns,
        overall=_merge_level([p.overall for p in parts if p.overall is not None], [], traced),
        groups=_merge_level([p.groups for p in parts if p.groups is not None], keys, traced)
        if keys
        else None,
        hists=hists,
        floats=tuple(f for p in parts for f in p.floats),
        kinds_expected=_merge_frames([p.kinds_expected for p in parts], keys, "sum"),
        kinds_counted=_merge_frames([p.kinds_counted for p in parts], [*keys, KIND], "sum"),
        expected_seen=any(p.expected_seen for p in parts),
        outliers=_merge_outliers([p.outliers for p in parts]),
        points=_keep_points([p.points for p in parts if p.points is not None]),
        models=_merge_frames([p.models for p in parts], [MODEL], "sum"),
        logged=_merge_frames([p.logged for p in parts], [MODEL, PRICED], "sum"),
        notes=notes,
        keyed=keyed,
        repeats=repeats,
    )


def _merge_frames(
    frames: list[pl.DataFrame | None], keys: list[str], how: str
) -> pl.DataFrame | None:
    found = [f for f in frames if f is not None]
    if not found:
        return None
    both = pl.concat(found, how="vertical_relaxed")
    values = [pl.col(c).sum() for c in both.columns if c not in keys]
    if not keys:
        return both.select(values)
    return both.group_by(keys, maintain_order=True).agg(values)


def _floats(keyed: pl.DataFrame, keys: list[str], columns: list[str]) -> Floats:
    values: dict[str, pl.Series | None] = {}
    for column in FLOATS:
        if column in columns:
            series = keyed[column]
            values[column] = series if series.null_count() < series.len() else None
    if not keys:  # NOTE: the chunks' sums are all an ungrouped figure needs (see float_figures)
        sums = {
            c: None if v is None else tuple(float(chunk.sum()) for chunk in v.get_chunks())
            for c, v in values.items()
        }
        counts = {c: 0 if v is None else v.len() - v.null_count() for c, v in values.items()}
        return Floats(keyed.height, pl.DataFrame(), dict.fromkeys(values), sums, counts)
    codes = keyed.select(pl.col(k).cast(pl.Categorical) for k in keys)
    return Floats(keyed.height, codes, values)


def float_figures(floats: tuple[Floats, ...], keys: list[str]) -> pl.DataFrame:
    """The float figure (`_share_mean`) per group
    of `keys`, as polars computes them over the per-trace columns of every result
    concatenated with their chunks (no columns when no result has a float column)."""
    if not keys and all(not f.keys.width for f in floats):
        return _folded_figures(floats)
    return _float_figures(_float_frame(floats, keys), keys)


def _folded_figures(floats: tuple[Floats, ...]) -> pl.DataFrame:
    """The ungrouped float figures from the chunks' sums.

    NOTE: exact, not an estimate: polars sums a float column chunk by chunk and adds the
    chunks' sums in order (a mean is that sum over the count of values), so the sums
    folded left to right give the very float the whole column gives (test_float_sums)."""
    columns = list(dict.fromkeys(c for f in floats for c in f.values))
    totals = dict.fromkeys(columns, 0.0)
    counts = dict.fromkeys(columns, 0)
    for f in floats:
        if all(f.sums.get(c) is None for c in columns):
            continue  # an all-null chunk adds nothing to a sum
        for c in columns:
            chunks = f.sums.get(c)
            for value in chunks if chunks is not None else (0.0,):  # nulls: a chunk of 0.0
                totals[c] += value
            counts[c] += f.counts.get(c, 0)
    out: dict[str, float | None] = {}
    if FIRST_ANSWER_SHARE in columns:
        share = FIRST_ANSWER_SHARE
        out["_share_mean"] = totals[share] / counts[share] if counts[share] else None
    if not out:
        return pl.DataFrame()
    return pl.DataFrame({k: [v] for k, v in out.items()}, schema=dict.fromkeys(out, pl.Float64))


def _float_frame(floats: tuple[Floats, ...], keys: list[str]) -> pl.DataFrame:
    """The float columns of every result, with their chunks (nulls rebuilt where dropped)."""
    columns = list(dict.fromkeys(c for f in floats for c in f.values))
    frames = []
    for f in floats:
        if not keys and all(f.values.get(c) is None for c in columns):
            continue  # ungrouped, an all-null chunk adds nothing to a sum
        parts: list[pl.Series] = [f.keys[k].cast(pl.String) for k in keys]
        for c in columns:
            value = f.values.get(c)
            parts.append(
                value
                if value is not None
                else pl.repeat(None, f.rows, dtype=pl.Float64, eager=True).alias(c)
            )
        frames.append(pl.DataFrame(parts))
    if not frames:
        return pl.DataFrame(
            schema={**dict.fromkeys(keys, pl.String), **dict.fromkeys(columns, pl.Float64)}
        )
    return pl.concat(frames, rechunk=False)


def _float_figures(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    if FIRST_ANSWER_SHARE not in frame.columns:
        return pl.DataFrame()
    exprs = [pl.col(FIRST_ANSWER_SHARE).mean().alias("_share_mean")]
    if keys:
        return frame.group_by(keys).agg(exprs)
    return frame.select(exprs)


def _kinds(keyed: pl.DataFrame, steps: pl.DataFrame | None, keys: list[str]) -> dict[str, Any]:
    expected = [c for c in keyed.columns if c.startswith(EXPECTED_STEPS_PREFIX)]
    counted = [c for c in keyed.columns if c.startswith(KIND_STEPS_PREFIX)]
    found: dict[str, Any] = {}
    if expected:
        sums = [pl.col(c).cast(pl.Float64).sum() for c in expected]
        found["kinds_expected"] = (
            keyed.group_by(keys, maintain_order=True).agg(sums) if keys else keyed.select(sums)
        )
        found["expected_seen"] = bool(
            keyed.select(pl.any_horizontal(pl.col(expected).is_not_null().any())).item()
        )
    if counted:
        long = (
            keyed.select(*keys, *counted)
            .unpivot(counted, index=keys, variable_name=KIND, value_name=STEPS)
            .with_columns(pl.col(KIND).str.strip_prefix(KIND_STEPS_PREFIX))
        )
    elif steps is not None:
        long = steps.join(keyed.select(TRACE_ID, *keys), on=TRACE_ID, how="left").select(
            *keys, KIND, pl.lit(1).alias(STEPS)
        )
    else:
        return found
    found["kinds_counted"] = long.group_by([*keys, KIND], maintain_order=True).agg(
        pl.col(STEPS).cast(pl.Int64).sum()
    )
    return found


def _outliers(traces: pl.DataFrame) -> dict[str, pl.DataFrame]:
    shown = [c for c in OUTLIER_COLUMNS if c in traces.columns]
    found: dict[str, pl.DataFrame] = {}
    for name, column in RANKED.items():
        if column in traces.columns:  # a stable sort of the few columns shown
            found[name] = (
                traces.select(shown)
                .drop_nulls(column)
                .sort(column, descending=True, maintain_order=True)
                .head(OUTLIER_COUNT)
            )
    for flag in FLAGGED:
        if flag in traces.columns:
            found[flag] = traces.filter(pl.col(flag).fill_null(False)).head(OUTLIER_COUNT)
    return {name: frame.select(shown) for name, frame in found.items()}


def _merge_outliers(parts: list[dict[str, pl.DataFrame]]) -> dict[str, pl.DataFrame]:
    found: dict[str, pl.DataFrame] = {}
    for name in dict.fromkeys(name for p in parts for name in p):
        both = pl.concat([p[name] for p in parts if name in p])
        if name in RANKED:
            both = both.sort(RANKED[name], descending=True, maintain_order=True)
        found[name] = both.head(OUTLIER_COUNT)
    return found


def _points(keyed: pl.DataFrame, keys: list[str]) -> pl.DataFrame | None:
    wanted = [c for c in (*POINT_COLUMNS, *keys) if c in keyed.columns]
    if REASONING_TOKENS not in wanted:
        return None
    ids = [c for c in (TRACE_ID, SOURCE, LINE) if c in keyed.columns]
    sample = keyed.select(
        *dict.fromkeys(wanted), pl.struct(ids).hash(seed=0).alias(HASH)
    ).drop_nulls(REASONING_TOKENS)
    return _keep_points([sample])


def _keep_points(parts: list[pl.DataFrame]) -> pl.DataFrame | None:
    """The POINTS rows with the smallest hashes, in input order (all, if no more)."""
    if not parts:
        return None
    both = pl.concat(parts) if len(parts) > 1 else parts[0]
    if both.height <= POINTS:
        return both
    return both.filter(pl.col(HASH).rank("ordinal") <= POINTS)


def _models(traces: pl.DataFrame) -> pl.DataFrame | None:
    """Per model, the spend's sums and counts."""
    if not has(traces.columns, COST_TOTAL, MODEL):
        return None
    summed = [COST_TOTAL, *SPEND_PARTS, COST_OUTPUT]
    if COST_AFTER_FIRST_ANSWER in traces.columns:
        summed.append(COST_AFTER_FIRST_ANSWER)
    terms = [pl.len().cast(pl.Int64).alias(COUNT)]
    for c in summed:
        terms += [pl.col(c).sum().alias(s(c)), pl.col(c).count().cast(pl.Int64).alias(n(c))]
    return traces.group_by(pl.col(MODEL).fill_null(UNKNOWN_MODEL), maintain_order=True).agg(terms)


def _logged(traces: pl.DataFrame) -> pl.DataFrame | None:
    """Per model and whether traceviz priced them, the logged cost and the dated price
    (zero where not priced) of the traces with a logged cost."""
    if not has(traces.columns, COST_LOGGED, COST_TOTAL, MODEL):
        return None
    with_logged = traces.filter(pl.col(COST_LOGGED).is_not_null())
    keys = [pl.col(MODEL).fill_null(UNKNOWN_MODEL), pl.col(COST_TOTAL).is_not_null().alias(PRICED)]
    return with_logged.group_by(keys, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias(COUNT),
        LOGGED.sum().alias(COST_LOGGED),
        pl.col(COST_TOTAL).sum().alias("cost_traceviz"),
    )
