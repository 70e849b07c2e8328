"""Exact histograms of integer token counts (value -> traces, per group), as the report's
partials keep them, and the figures read off them: `linear` quantiles equal to polars'
over the whole column (nulls keep a row, since polars counts them in the rank), the
`nearest` rank a `--cap pNN` resolves to, and what a cap would cut (`cap_figures`).

Token counts are integers, so these histograms merge without loss: any split of a run
into results gives the same figures as the whole table (tests/test_report_partials.py).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from traceviz.report.groups import TOKEN_PARTS
from traceviz.schema import (
    OUTPUT_RATE,
    REASONING_TOKENS,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    TOKENS_REASONING,
)

COUNT = "count"


# cap histograms: reasoning tokens with the output rate; the first answer's position
# against the cap (min of the reasoning and the tokens before the first answer); the
# reasoning tokens of traces whose first answer is unknown
CAP_RATE, CAP_RISK, CAP_UNKNOWN, CAP_FIRST = "_cap_rate", "_cap_risk", "_cap_unknown", "_first"


def has(columns: Iterable[str], *wanted: str) -> bool:
    have = set(columns)
    return all(c in have for c in wanted)


def grouped_by(frame: pl.DataFrame, keys: list[str], exprs: list[pl.Expr]) -> pl.DataFrame:
    return frame.group_by(keys).agg(exprs) if keys else frame.select(exprs)


def joined(frames: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
    """Per-group frames side by side (a group missing from one gets nulls)."""
    if not keys:
        return pl.concat(frames, how="horizontal")
    out = frames[0]
    for frame in frames[1:]:
        out = out.join(frame, on=keys, how="full", coalesce=True, nulls_equal=True)
    return out


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


def merge_hist(parts: list[pl.DataFrame]) -> pl.DataFrame:
    both = pl.concat(parts, how="vertical_relaxed")
    return both.group_by([c for c in both.columns if c != COUNT]).agg(pl.col(COUNT).sum())


def hists(
    keyed: pl.DataFrame, keys: list[str], columns: list[str], cap: bool
) -> dict[str, pl.DataFrame]:
    found = {}
    parts = list(TOKEN_PARTS.values())
    wanted = parts if has(columns, *parts) else []
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


def cap_figures(hists: dict[str, pl.DataFrame], keys: list[str], tokens: int) -> pl.DataFrame:
    """Per group: traces cut, tokens removed, dollars saved, traces at risk and unknown."""
    rt = pl.col(REASONING_TOKENS)
    some = pl.col(COUNT).filter(rt.is_not_null()).sum() > 0  # a sum of no value is null
    over = pl.col(COUNT).filter(rt > tokens).sum()
    removed = pl.when(some).then(((rt - tokens).clip(lower_bound=0) * pl.col(COUNT)).sum())
    frames = [
        grouped_by(hists[REASONING_TOKENS], keys, [over.alias("_over"), removed.alias("_removed")])
    ]
    if CAP_RATE in hists:
        saved = (rt - tokens).clip(lower_bound=0).cast(pl.Decimal(38, 0)) * pl.col(OUTPUT_RATE)
        total = pl.when(some).then((saved * pl.col(COUNT).cast(pl.Decimal(38, 0))).sum())
        frames.append(grouped_by(hists[CAP_RATE], keys, [total.alias("_saved")]))
    if CAP_RISK in hists:
        risk = pl.col(COUNT).filter(pl.col(CAP_FIRST) > tokens).sum().alias("_at_risk")
        frames.append(grouped_by(hists[CAP_RISK], keys, [risk]))
        frames.append(grouped_by(hists[CAP_UNKNOWN], keys, [over.alias("_unknown")]))
    return joined(frames, keys)


def collapse(hist: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """A per-group histogram as one over all groups."""
    values = [c for c in hist.columns if c not in keys and c != COUNT]
    return hist.group_by(values).agg(pl.col(COUNT).sum())
