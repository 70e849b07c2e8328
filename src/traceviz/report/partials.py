"""The batch report as mergeable partials: each priced result reduced to a few small
tables, merged in input order, and finished into the report's figures.

A `Partial` holds, per group (and overall): counts, exact integer and Decimal(38, 12)
sums, maxima and first values; per group, exact histograms (value -> traces) of the
integer token counts; the few traces the outliers need (top 5 by cost and by output,
the first 5 looping and truncated); a deterministic sample of the scatter points;
spend per model; and the price notes' figures. None of these grows with the number of
traces, only with the number of groups and of distinct token counts.

Invariants (tests/test_report_partials.py builds reports both ways and compares):

- Merging is `a.merge(b)` with `a` before `b` in the input; any split of a run into
  results gives the same figures as the whole table in one frame.
- Token quantiles are exact, not sketched: token counts are integers, so value -> count
  histograms merge without loss and give the same `linear` quantiles as polars over the
  whole column (the same formula, `lower + (upper - lower) * fraction`, in f64); the
  `--cap pNN` percentile is the same `nearest` rank. Integer means are exact sums over
  counts (what polars computes for integer columns).
- The per-trace floats some figures sum (`first_answer_share`, `cost_logged`,
  `cost_logged_diff`) are the one per-trace column kept: polars sums floats in blocks
  whose boundaries depend on the table's chunks, so their figures are computed by polars
  over the same chunks the whole table had (8 bytes a trace; a result where the column
  is all null keeps only its length, plus the group keys as categoricals when grouped).
- Step-kind shares sum per-trace float probabilities per result, then the results'
  sums: equal to the whole table's to float rounding (about 1e-15 relative), which the
  outputs that show them (percentages, JSON to 6 decimals) cannot tell apart.
- Scatter points: the traces with the 2,000 smallest hashes of (trace id, source, line),
  in input order; all traces when there are no more than 2,000.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from traceviz.price.notes import Figures as NoteFigures
from traceviz.price.notes import figures as note_figures
from traceviz.price.notes import render as render_notes
from traceviz.price.overthinking import Cap, CapSpec
from traceviz.report.groups import TOKEN_PARTS, group_columns, metadata_keys
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
    OUTPUT_RATE,
    OUTPUT_TOKENS,
    REASONING,
    REASONING_TOKENS,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    REASONING_VISIBLE,
    REFLECTION_WORDS,
    REFUSAL,
    SOURCE,
    STEPS,
    THOUGHTS,
    TOKENS_ANSWER,
    TOKENS_REASONING,
    TRACE_ID,
    TRUNCATED,
    USAGE_DRIFT,
    USAGE_SOURCE,
    WHATIF_COST_HIGH,
    WHATIF_COST_LOW,
    WHATIF_COST_TOTAL,
    WHATIF_MODEL,
    WHATIF_RATIO,
    WHATIF_RATIO_SOURCE,
    WHATIF_REASONING_TOKENS,
)

OUTLIER_COUNT = 5
POINTS = 2000
UNKNOWN_MODEL = "(unknown)"
COUNT = "count"
HASH = "_hash"

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
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
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
FLOATS = (FIRST_ANSWER_SHARE, COST_LOGGED, COST_LOGGED_DIFF)  # summed by polars, see above
PAIRED = (COST_TOTAL, WHATIF_COST_TOTAL, WHATIF_COST_LOW, WHATIF_COST_HIGH)
SPEND_PARTS = (COST_INPUT, COST_CACHED_INPUT, COST_CACHE_WRITE, COST_REASONING)
OUTLIER_COLUMNS = (TRACE_ID, SOURCE, LINE, MODEL, OUTPUT_TOKENS, COST_TOTAL)
RANKED = {"most_expensive": COST_TOTAL, "longest": OUTPUT_TOKENS}
FLAGGED = (LOOPING, TRUNCATED)
POINT_COLUMNS = (MODEL, REASONING_TOKENS, FIRST_ANSWER_SHARE, COST_AFTER_FIRST_ANSWER, COST_TOTAL)
# cap histograms: reasoning tokens with the output rate; the first answer's position
# against the cap (min of the reasoning and the tokens before the first answer); the
# reasoning tokens of traces whose first answer is unknown
CAP_RATE, CAP_RISK, CAP_UNKNOWN, CAP_FIRST = "_cap_rate", "_cap_risk", "_cap_unknown", "_first"


def s(column: str) -> str:
    """The name of a column's sum in a partial."""
    return f"{column}:s"


def n(column: str) -> str:
    """The name of a column's count of values in a partial."""
    return f"{column}:n"


def _has(columns: Iterable[str], *wanted: str) -> bool:
    have = set(columns)
    return all(c in have for c in wanted)


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
    if _has(columns, COST_TOTAL, WHATIF_COST_TOTAL):
        both = pl.col(COST_TOTAL).is_not_null() & pl.col(WHATIF_COST_TOTAL).is_not_null()
        terms.append(both.sum().cast(pl.Int64).alias("both"))
        terms += [pl.col(c).filter(both).sum().alias(f"paired:{c}") for c in PAIRED]
    if _has(columns, REASONING_TOKENS_AFTER_FIRST_ANSWER, REASONING_TOKENS):
        after = pl.col(REASONING_TOKENS_AFTER_FIRST_ANSWER)
        terms.append(
            pl.when(after.is_not_null()).then(pl.col(REASONING_TOKENS)).sum().alias("rt|after")
        )
    if _has(columns, COST_AFTER_FIRST_ANSWER, COST_REASONING):
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


def _hist(
    frame: pl.DataFrame, keys: list[str], values: list[pl.Expr], nulls: bool = False
) -> pl.DataFrame:
    """Traces per distinct value (tuple) per group; the nulls left out, or (`nulls`)
    counted in a row of their own."""
    names = [v.meta.output_name() for v in values]
    picked = frame.select(*keys, *values)
    if not nulls:
        picked = picked.drop_nulls(names)
    return picked.group_by([*keys, *names]).agg(pl.len().cast(pl.Int64).alias(COUNT))


def _merge_hist(parts: list[pl.DataFrame]) -> pl.DataFrame:
    both = pl.concat(parts, how="vertical_relaxed")
    return both.group_by([c for c in both.columns if c != COUNT]).agg(pl.col(COUNT).sum())


@dataclass(frozen=True)
class Floats:
    """One result's float columns, with its chunks; an all-null column is its length."""

    rows: int
    keys: pl.DataFrame  # the group keys as categoricals (no columns when not grouped)
    values: dict[str, pl.Series | None]  # None: all null


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

    @classmethod
    def empty(cls, by: list[str] | tuple[str, ...], cap: bool = False) -> Partial:
        return cls(by=tuple(by), cap=cap)

    @classmethod
    def of(
        cls,
        traces: pl.DataFrame,
        steps: pl.DataFrame | None = None,
        by: list[str] | tuple[str, ...] = (),
        cap: bool = False,
    ) -> Partial:
        """The partial of one result: its priced traces (and steps, if kept)."""
        keys = list(by)
        if not traces.height:
            return cls(by=tuple(keys), cap=cap)
        columns = list(traces.columns)
        keyed = group_columns(traces, keys)
        metadata = metadata_keys(columns, keys)
        return cls(
            by=tuple(keys),
            cap=cap,
            columns=tuple(columns),
            overall=_level(keyed, [], columns),
            groups=_level(keyed, keys, columns) if keys else None,
            hists=_hists(keyed, keys, columns, cap),
            floats=(_floats(keyed, keys, columns),),
            **_kinds(keyed, steps, keys),
            outliers=_outliers(traces),
            points=_points(keyed, keys),
            models=_models(traces),
            logged=_logged(traces),
            notes=note_figures(traces),
            keyed={k: bool(keyed[k].null_count() < keyed.height) for k in metadata},
        )

    def merge(self, *later: Partial) -> Partial:
        """This partial and those of results that came after it (in input order), as one."""
        return combine([self, *later])

    def unknown_keys(self) -> list[str]:
        """The metadata `--by` keys that no trace has."""
        return [key for key, seen in self.keyed.items() if not seen]


def combine(partials: list[Partial]) -> Partial:
    """Partials (in input order) merged into one."""
    parts = [p for p in partials if p.columns]
    if len(parts) <= 1:
        return parts[0] if parts else partials[0]
    first = parts[0]
    columns = list(first.columns)
    keys = list(first.by)
    hists = {
        name: _merge_hist([p.hists[name] for p in parts if name in p.hists])
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
        overall=_merge_level([p.overall for p in parts if p.overall is not None], [], columns),
        groups=_merge_level([p.groups for p in parts if p.groups is not None], keys, columns)
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
        logged=_merge_frames([p.logged for p in parts], [MODEL], "sum"),
        notes=notes,
        keyed=keyed,
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


def _hists(
    keyed: pl.DataFrame, keys: list[str], columns: list[str], cap: bool
) -> dict[str, pl.DataFrame]:
    found = {}
    parts = list(TOKEN_PARTS.values())
    wanted = parts if _has(columns, *parts) else []
    if cap and REASONING_TOKENS in columns and REASONING_TOKENS not in wanted:
        wanted.append(REASONING_TOKENS)
    for column in wanted:
        found[column] = _hist(keyed, keys, [pl.col(column)], nulls=True)
    if not (cap and REASONING_TOKENS in columns):
        return found
    rt = pl.col(REASONING_TOKENS)
    if OUTPUT_RATE in columns:
        found[CAP_RATE] = _hist(keyed, keys, [rt, pl.col(OUTPUT_RATE)])
    if REASONING_TOKENS_AFTER_FIRST_ANSWER in columns:
        total = pl.coalesce(pl.col(TOKENS_REASONING), rt) if TOKENS_REASONING in columns else rt
        first = total - pl.col(REASONING_TOKENS_AFTER_FIRST_ANSWER)
        # at risk: reasoning over the cap and first answer after it, so min(both) > cap;
        # without reasoning tokens the old rule compares the first answer alone
        risk = (
            pl.when(first.is_null())
            .then(None)
            .when(rt.is_null())
            .then(first)
            .otherwise(pl.min_horizontal(rt, first))
            .alias(CAP_FIRST)
        )
        found[CAP_RISK] = _hist(keyed, keys, [risk])
        unknown = pl.when(first.is_null()).then(rt).alias(REASONING_TOKENS)
        found[CAP_UNKNOWN] = _hist(keyed, keys, [unknown])
    return found


def _floats(keyed: pl.DataFrame, keys: list[str], columns: list[str]) -> Floats:
    values: dict[str, pl.Series | None] = {}
    for column in FLOATS:
        if column in columns:
            series = keyed[column]
            values[column] = series if series.null_count() < series.len() else None
    codes = keyed.select(pl.col(k).cast(pl.Categorical) for k in keys) if keys else pl.DataFrame()
    return Floats(keyed.height, codes, values)


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
    if not _has(traces.columns, COST_TOTAL, MODEL):
        return None
    summed = [COST_TOTAL, *SPEND_PARTS, COST_OUTPUT]
    if COST_AFTER_FIRST_ANSWER in traces.columns:
        summed.append(COST_AFTER_FIRST_ANSWER)
    terms = [pl.len().cast(pl.Int64).alias(COUNT)]
    for c in summed:
        terms += [pl.col(c).sum().alias(s(c)), pl.col(c).count().cast(pl.Int64).alias(n(c))]
    return traces.group_by(pl.col(MODEL).fill_null(UNKNOWN_MODEL), maintain_order=True).agg(terms)


def _logged(traces: pl.DataFrame) -> pl.DataFrame | None:
    """Per model, the logged cost and the dated price of the traces that have both."""
    if not _has(traces.columns, COST_LOGGED, COST_TOTAL, MODEL):
        return None
    both = traces.filter(pl.col(COST_LOGGED).is_not_null() & pl.col(COST_TOTAL).is_not_null())
    # NOTE: the logged float is taken to the catalog's 12 decimals, so that equal prices
    # give a difference of exactly zero rather than float noise
    logged = pl.col(COST_LOGGED).cast(pl.Decimal(38, 12))
    return both.group_by(pl.col(MODEL).fill_null(UNKNOWN_MODEL), maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias(COUNT),
        logged.sum().alias(COST_LOGGED),
        pl.col(COST_TOTAL).sum().alias("cost_traceviz"),
    )


# finishing: the figures of a merged partial


def _when(column: str) -> pl.Expr:
    """A column's sum, null (not zero) when the group has no value in it."""
    return pl.when(pl.col(n(column)) > 0).then(pl.col(s(column)))


def _mean(column: str) -> pl.Expr:
    return pl.when(pl.col(n(column)) > 0).then(pl.col(s(column)) / pl.col(n(column)))


def _u32(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.UInt32)


def quantiles(hist: pl.DataFrame, keys: list[str], column: str, prefix: str) -> pl.DataFrame:
    """p50, p90 and p99 per group from a histogram (its null row counts the nulls), as
    polars' `linear` quantiles: nulls sort first and are in the rank, so the fraction
    between two values is `rank - floor(rank)` with `rank = (values - 1) * q + nulls`."""
    values = hist.filter(pl.col(column).is_not_null()).sort([*keys, column])
    nulls = hist.filter(pl.col(column).is_null()).select(*keys, pl.col(COUNT).alias("_nulls"))
    ends = pl.col(COUNT).cum_sum()
    total = pl.col(COUNT).sum()
    values = values.with_columns(
        (ends.over(keys) if keys else ends).alias("_end"),
        (total.over(keys) if keys else total).alias("_n"),
    ).with_columns((pl.col("_end") - pl.col(COUNT)).alias("_start"))
    if keys:
        values = values.join(nulls, on=keys, how="left", nulls_equal=True)
    else:
        values = values.with_columns(
            pl.lit(nulls["_nulls"].sum() if nulls.height else 0).alias("_nulls")
        )
    offset = pl.col("_nulls").fill_null(0).cast(pl.Float64)
    exprs = []
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        rank = (pl.col("_n") - 1).cast(pl.Float64) * q + offset
        low, high = rank.floor(), rank.ceil()

        def at(r: pl.Expr) -> pl.Expr:
            r = r - offset  # the rank among the values
            inside = (pl.col("_start").cast(pl.Float64) <= r) & (r < pl.col("_end"))
            return pl.col(column).filter(inside).first().cast(pl.Float64)

        lower, upper = at(low), at(high)
        fraction = (rank - low).first()
        exprs.append(
            pl.when(low.first() == high.first())
            .then(lower)
            .otherwise(fraction * (upper - lower) + lower)
            .alias(f"{prefix}_{name}")
        )
    if keys:
        return values.group_by(keys).agg(exprs)
    return values.select(exprs)


def nearest(hist: pl.DataFrame, column: str, q: float) -> tuple[int, int] | None:
    """The `nearest` quantile of a histogram over all groups, and its traces (None: empty)."""
    counts = hist.drop_nulls(column).group_by(column).agg(pl.col(COUNT).sum()).sort(column)
    size = int(counts[COUNT].sum()) if counts.height else 0
    if not size:
        return None
    rank = int((size - 1) * q + 0.5)  # polars rounds half away from zero
    ends = counts[COUNT].cum_sum().to_list()
    values = counts[column].to_list()
    for value, end in zip(values, ends, strict=True):
        if rank < end:
            return int(value), size
    return int(values[-1]), size


def resolve_cap(partial: Partial, spec: CapSpec) -> Cap | None:
    """The cap in tokens, as `overthinking.resolve_cap` takes it over the whole table."""
    if spec.tokens is not None:
        return Cap(spec.tokens, f"{spec.tokens:,} reasoning tokens")
    if REASONING_TOKENS not in partial.columns or REASONING_TOKENS not in partial.hists:
        return None
    found = nearest(partial.hists[REASONING_TOKENS], REASONING_TOKENS, (spec.percentile or 0) / 100)
    if found is None:
        return None
    tokens, size = found
    return Cap(tokens, f"{tokens:,} reasoning tokens, the p{spec.percentile:g} of {size:,} traces")


def _cap_figures(hists: dict[str, pl.DataFrame], keys: list[str], tokens: int) -> pl.DataFrame:
    """Per group: traces cut, tokens removed, dollars saved, traces at risk and unknown."""
    rt = pl.col(REASONING_TOKENS)
    some = pl.col(COUNT).filter(rt.is_not_null()).sum() > 0  # a sum of no value is null
    over = pl.col(COUNT).filter(rt > tokens).sum()
    removed = pl.when(some).then(((rt - tokens).clip(lower_bound=0) * pl.col(COUNT)).sum())
    frames = [_by(hists[REASONING_TOKENS], keys, [over.alias("_over"), removed.alias("_removed")])]
    if CAP_RATE in hists:
        saved = (rt - tokens).clip(lower_bound=0).cast(pl.Decimal(38, 0)) * pl.col(OUTPUT_RATE)
        total = pl.when(some).then((saved * pl.col(COUNT).cast(pl.Decimal(38, 0))).sum())
        frames.append(_by(hists[CAP_RATE], keys, [total.alias("_saved")]))
    if CAP_RISK in hists:
        risk = pl.col(COUNT).filter(pl.col(CAP_FIRST) > tokens).sum().alias("_at_risk")
        frames.append(_by(hists[CAP_RISK], keys, [risk]))
        frames.append(_by(hists[CAP_UNKNOWN], keys, [over.alias("_unknown")]))
    return _joined(frames, keys)


def _by(frame: pl.DataFrame, keys: list[str], exprs: list[pl.Expr]) -> pl.DataFrame:
    return frame.group_by(keys).agg(exprs) if keys else frame.select(exprs)


def _joined(frames: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
    """Per-group frames side by side (a group missing from one gets nulls)."""
    if not keys:
        return pl.concat(frames, how="horizontal")
    out = frames[0]
    for frame in frames[1:]:
        out = out.join(frame, on=keys, how="full", coalesce=True, nulls_equal=True)
    return out


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
    exprs = []
    if FIRST_ANSWER_SHARE in frame.columns:
        exprs.append(pl.col(FIRST_ANSWER_SHARE).mean().alias("_share_mean"))
    exprs += [
        pl.col(c).sum().alias(f"_{c}")
        for c in (COST_LOGGED, COST_LOGGED_DIFF)
        if c in frame.columns
    ]
    if not exprs:
        return pl.DataFrame()
    if keys:
        return frame.group_by(keys).agg(exprs)
    return frame.select(exprs)


def figures(partial: Partial, keys: list[str], cap: Cap | None) -> pl.DataFrame:
    """The report's figures per group of `keys` (one row overall when `keys` is empty)."""
    columns = list(partial.columns)
    merged = partial.groups if keys else partial.overall
    assert merged is not None
    hists = (
        partial.hists
        if keys or not partial.by
        else {k: _collapse(v, list(partial.by)) for k, v in partial.hists.items()}
    )
    extra = []
    if _has(columns, *TOKEN_PARTS.values()):
        extra += [quantiles(hists[c], keys, c, f"tokens_{p}") for p, c in TOKEN_PARTS.items()]
    capped = cap is not None and REASONING_TOKENS in columns
    floats = _float_figures(_float_frame(partial.floats, keys), keys)
    if floats.width:
        extra.append(floats)
    if cap is not None and capped:
        extra.append(_cap_figures(hists, keys, cap.tokens))
    if not keys:
        return pl.concat([merged, *extra], how="horizontal").select(_figure_exprs(columns, capped))
    for frame in extra:
        merged = merged.join(frame, on=keys, how="left", nulls_equal=True)
    return merged.select(*keys, *_figure_exprs(columns, capped)).sort(keys, nulls_last=True)


def _collapse(hist: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """A per-group histogram as one over all groups."""
    values = [c for c in hist.columns if c not in keys and c != COUNT]
    return hist.group_by(values).agg(pl.col(COUNT).sum())


def _figure_exprs(columns: list[str], capped: bool) -> list[pl.Expr]:
    """Every figure, in the report's column order, from a merged partial's columns."""
    exprs: list[pl.Expr] = [_u32(COUNT).alias("traces")]
    if _has(columns, *TOKEN_PARTS.values()):
        for part, column in TOKEN_PARTS.items():
            name = f"tokens_{part}"
            exprs += [
                _when(column).alias(f"{name}_sum"),
                _mean(column).alias(f"{name}_mean"),
                pl.col(f"{name}_p50"),
                pl.col(f"{name}_p90"),
                pl.col(f"{name}_p99"),
                pl.col(f"{column}:max").alias(f"{name}_max"),
            ]
        exprs += [
            (_when(REASONING_TOKENS) / _when(OUTPUT_TOKENS)).alias("reasoning_share_of_output"),
            _mean(USAGE_DRIFT).alias("usage_drift_mean"),
            _mean("drifted").alias("usage_drift_share"),
            _u32("counted").alias("traces_counted"),
            _u32("hidden").alias("traces_hidden_reasoning"),
        ]
    if COST_TOTAL in columns:
        total = _when(COST_TOTAL)
        exprs += [
            total.alias(COST_TOTAL),
            pl.when(pl.col(n(COST_TOTAL)) > 0)
            .then(
                total
                / pl.max_horizontal(pl.col(n(COST_TOTAL)).cast(pl.UInt32), 1).cast(
                    pl.Decimal(38, 0)
                )
            )
            .alias("cost_per_response"),
            (total.cast(pl.Float64) * 1000 / _when(TOKENS_ANSWER)).alias(
                "cost_per_1k_answer_tokens"
            ),
            *(_when(c).alias(c) for c in (COST_INPUT, COST_CACHED_INPUT, COST_CACHE_WRITE)),
            _when(COST_REASONING).alias(COST_REASONING),
            (_when(COST_OUTPUT) - pl.col(s(COST_REASONING))).alias("cost_answer"),
            _when(COST_CACHE_SAVED).alias(COST_CACHE_SAVED),
            (_when(CACHED_INPUT) / _when(INPUT)).alias("cache_hit_ratio"),
            (pl.col(COUNT) - pl.col(n(COST_TOTAL))).cast(pl.UInt32).alias("traces_unpriced"),
            _float_sum(COST_LOGGED, columns).alias(COST_LOGGED),
            _float_sum(COST_LOGGED_DIFF, columns).alias(COST_LOGGED_DIFF),
        ]
    if WHATIF_COST_TOTAL in columns:

        def paired(column: str) -> pl.Expr:
            return pl.when(pl.col("both") > 0).then(pl.col(f"paired:{column}"))

        exprs += [
            pl.col(WHATIF_MODEL),
            _u32("both").alias("whatif_traces"),
            paired(COST_TOTAL).alias("whatif_actual"),
            paired(WHATIF_COST_TOTAL).alias(WHATIF_COST_TOTAL),
            paired(WHATIF_COST_LOW).alias(WHATIF_COST_LOW),
            paired(WHATIF_COST_HIGH).alias(WHATIF_COST_HIGH),
            _when(WHATIF_REASONING_TOKENS).alias(WHATIF_REASONING_TOKENS),
            pl.col(WHATIF_RATIO),
            pl.col(WHATIF_RATIO_SOURCE),
        ]
    if _has(columns, REASONING_TOKENS_AFTER_FIRST_ANSWER, REASONING_TOKENS):
        after = REASONING_TOKENS_AFTER_FIRST_ANSWER
        exprs += [
            _u32(n(after)).alias("overthinking_traces"),
            _when(after).alias("overthinking_tokens"),
            (pl.col(s(after)) / pl.col("rt|after"))
            .fill_nan(None)
            .alias("overthinking_token_share"),
        ]
    if _has(columns, COST_AFTER_FIRST_ANSWER, COST_REASONING):
        reasoning = pl.when(pl.col("measured") > 0).then(pl.col("cost_reasoning|measured"))
        exprs += [
            _u32("measured").alias("overthinking_priced_traces"),
            _when(COST_AFTER_FIRST_ANSWER).alias("overthinking_cost"),
            reasoning.alias("overthinking_reasoning_cost"),
            (_when(COST_AFTER_FIRST_ANSWER).cast(pl.Float64) / reasoning.cast(pl.Float64)).alias(
                "overthinking_share"
            ),
        ]
    if ANSWER_CHANGED_AFTER_FIRST in columns:
        changed = ANSWER_CHANGED_AFTER_FIRST
        exprs += [
            _u32(s(changed)).alias("answer_changed"),
            _u32(n(changed)).alias("answer_changed_known"),
            _mean(changed).alias("answer_changed_share"),
        ]
    if capped:
        exprs += [
            pl.col("_over").fill_null(0).cast(pl.UInt32).alias("cap_traces_over"),
            pl.col("_removed").alias("cap_tokens_saved"),
        ]
        if OUTPUT_RATE in columns:
            exprs.append(pl.col("_saved").cast(pl.Decimal(38, 12)).alias("cap_saved"))
        if REASONING_TOKENS_AFTER_FIRST_ANSWER in columns:
            exprs += [
                pl.col("_at_risk").fill_null(0).cast(pl.UInt32).alias("cap_at_risk"),
                pl.col("_unknown").fill_null(0).cast(pl.UInt32).alias("cap_risk_unknown"),
            ]
    if STEPS in columns:
        exprs += [
            _mean(STEPS).alias("steps_mean"),
            _mean(THOUGHTS).alias("thoughts_mean"),
            _mean(REFLECTION_WORDS).alias("reflection_words_mean"),
            _mean(LOOPING).alias("looping_share"),
            _mean(TRUNCATED).alias("truncated_share"),
            _mean(EMPTY_REASONING).alias("empty_reasoning_share"),
            _mean(REFUSAL).alias("refusal_share"),
            pl.col("_share_mean").alias("first_answer_share_mean"),
            _mean(CORRECT).alias("correct_share"),
        ]
    return exprs


def _float_sum(column: str, columns: list[str]) -> pl.Expr:
    if column not in columns:
        return pl.lit(None, pl.Float64)
    return pl.when(pl.col(n(column)) > 0).then(pl.col(f"_{column}"))


CACHED_INPUT = TOKEN_PARTS["cached_prompt"]
INPUT = TOKEN_PARTS["prompt"]


def kinds(partial: Partial, keys: list[str]) -> tuple[pl.DataFrame, bool]:
    """The estimated share of steps of each kind per group, and whether the shares are
    summed probabilities (else argmax counts)."""
    expected = partial.kinds_expected
    if expected is not None and partial.expected_seen:
        columns = [c for c in expected.columns if c not in keys]
        per_kind = expected.unpivot(
            columns, index=keys, variable_name=KIND, value_name=STEPS
        ).with_columns(pl.col(KIND).str.strip_prefix(EXPECTED_STEPS_PREFIX))
        summed = True
    elif partial.kinds_counted is not None:
        per_kind, summed = partial.kinds_counted, False
    else:
        schema = {**dict.fromkeys(keys, pl.String), KIND: pl.String, STEPS: pl.Int64}
        per_kind, summed = pl.DataFrame(schema=schema), False
    counts = (
        per_kind.group_by([*keys, KIND])
        .agg(pl.col(STEPS).cast(pl.Float64).sum())
        .filter(pl.col(STEPS) > 0)
    )
    total = pl.col(STEPS).sum().over(keys) if keys else pl.col(STEPS).sum()
    shares = counts.with_columns((pl.col(STEPS) / total).alias("share"))
    return shares.sort([*keys, KIND], nulls_last=True), summed


def outliers(partial: Partial) -> dict[str, pl.DataFrame]:
    return dict(partial.outliers)


def points(partial: Partial) -> pl.DataFrame:
    if partial.points is None:
        return pl.DataFrame()
    return partial.points.drop(HASH)


def models(partial: Partial) -> pl.DataFrame:
    """Per model, the spend and its parts, most spent first (unpriced models last)."""
    if partial.models is None:
        return pl.DataFrame()
    exprs = [
        _u32(COUNT).alias("traces"),
        _when(COST_TOTAL).alias(COST_TOTAL),
        *(_when(c).alias(c) for c in SPEND_PARTS),
        (_when(COST_OUTPUT) - pl.col(s(COST_REASONING))).alias("cost_answer"),
        (pl.col(COUNT) - pl.col(n(COST_TOTAL))).cast(pl.UInt32).alias("traces_unpriced"),
    ]
    if COST_AFTER_FIRST_ANSWER in partial.columns:
        exprs.append(_when(COST_AFTER_FIRST_ANSWER).alias("overthinking_cost"))
    return partial.models.select(MODEL, *exprs).sort(
        [COST_TOTAL, MODEL], descending=[True, False], nulls_last=True
    )


def logged(partial: Partial) -> pl.DataFrame:
    """Per model, a store's own logged cost beside traceviz's dated price of the same traces."""
    if partial.logged is None or not partial.logged.height:
        return pl.DataFrame()
    return (
        partial.logged.select(
            MODEL,
            _u32(COUNT).alias("traces"),
            pl.col(COST_LOGGED),
            pl.col("cost_traceviz"),
        )
        .with_columns((pl.col("cost_traceviz") - pl.col(COST_LOGGED)).alias("difference"))
        .with_columns(
            pl.when(pl.col(COST_LOGGED) != 0)
            .then(pl.col("difference").cast(pl.Float64) / pl.col(COST_LOGGED).cast(pl.Float64))
            .alias("difference_share")
        )
        .sort(MODEL)
    )


def notes(partial: Partial) -> list[str]:
    return render_notes(partial.notes)
