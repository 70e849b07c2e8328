"""A merged `Partial` finished into the report's figures: per group and overall, the
distributions, exact money, what-if, overthinking and cap figures (`figures`), and the
step-kind shares, outliers, scatter points, spend by model, logged-vs-price table and
price notes that `aggregate.finish` puts into the `Report`.

Each figure is computed as the whole-table code computed it (the same formulas, on
exact sums and histograms), so the report is byte-identical however the run was split.
"""

from __future__ import annotations

import polars as pl

from traceviz.price.cost import MONEY
from traceviz.price.notes import render as render_notes
from traceviz.price.overthinking import Cap, CapSpec
from traceviz.report.groups import TOKEN_PARTS, columns
from traceviz.report.histograms import COUNT, cap_figures, collapse, has, nearest, quantiles
from traceviz.report.partials import (
    HASH,
    PRICED,
    PRICED_RESPONSES,
    SPEND_PARTS,
    Partial,
    float_figures,
    n,
    s,
)
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
    KIND,
    LOOPING,
    MODEL,
    OUTPUT_RATE,
    OUTPUT_TOKENS,
    REASONING_TOKENS,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED,
    REFLECTION_WORDS,
    REFUSAL,
    STEPS,
    THOUGHTS,
    TOKENS_ANSWER,
    TRACES_LOGGED,
    TRACES_LOGGED_UNPRICED,
    TRUNCATED,
    USAGE_DRIFT,
    WHATIF_COST_HIGH,
    WHATIF_COST_LOW,
    WHATIF_COST_TOTAL,
    WHATIF_MODEL,
    WHATIF_PROMPT_LOGGED,
    WHATIF_RATIO,
    WHATIF_RATIO_SOURCE,
    WHATIF_REASONING_TOKENS,
)


def _when(column: str) -> pl.Expr:
    """A column's sum, null (not zero) when the group has no value in it."""
    return pl.when(pl.col(n(column)) > 0).then(pl.col(s(column)))


def _mean(column: str) -> pl.Expr:
    return pl.when(pl.col(n(column)) > 0).then(pl.col(s(column)) / pl.col(n(column)))


def _u32(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.UInt32)


def figures(partial: Partial, keys: list[str], cap: Cap | None) -> pl.DataFrame:
    """The report's figures per group of `keys` (group columns, `groups.columns`; one
    row overall when `keys` is empty)."""
    traced = list(partial.columns)
    merged = partial.groups if keys else partial.overall
    assert merged is not None
    hists = (
        partial.hists
        if keys or not partial.by
        else {k: collapse(v, columns(partial.by)) for k, v in partial.hists.items()}
    )
    extra = []
    if has(traced, *TOKEN_PARTS.values()):
        extra += [quantiles(hists[c], keys, c, f"tokens_{p}") for p, c in TOKEN_PARTS.items()]
    capped = cap is not None and REASONING_TOKENS in traced
    floats = float_figures(partial.floats, keys)
    if floats.width:
        extra.append(floats)
    if cap is not None and capped:
        extra.append(cap_figures(hists, keys, cap.tokens))
    if not keys:
        return pl.concat([merged, *extra], how="horizontal").select(_figure_exprs(traced, capped))
    for frame in extra:
        merged = merged.join(frame, on=keys, how="left", nulls_equal=True)
    return merged.select(*keys, *_figure_exprs(traced, capped)).sort(keys, nulls_last=True)


def _figure_exprs(columns: list[str], capped: bool) -> list[pl.Expr]:
    """Every figure, in the report's column order, from a merged partial's columns."""
    exprs: list[pl.Expr] = [_u32(COUNT).alias("traces")]
    if has(columns, *TOKEN_PARTS.values()):
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
            # a response's cost is its choices' (`n > 1`: a trace each) together
            pl.when(pl.col(PRICED_RESPONSES) > 0)
            .then(
                total
                / pl.max_horizontal(pl.col(PRICED_RESPONSES).cast(pl.UInt32), 1).cast(
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
            *(
                (_when(c) if COST_LOGGED in columns else pl.lit(None, MONEY)).alias(c)
                for c in (COST_LOGGED, COST_LOGGED_DIFF)  # summed as money by the partials
            ),
            *_logged_unpriced(COST_LOGGED in columns),
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
            (
                _u32(s(WHATIF_PROMPT_LOGGED))
                if WHATIF_PROMPT_LOGGED in columns
                else pl.lit(None, pl.UInt32)
            ).alias(WHATIF_PROMPT_LOGGED),
            pl.col(WHATIF_RATIO),
            pl.col(WHATIF_RATIO_SOURCE),
        ]
    if has(columns, REASONING_TOKENS_AFTER_FIRST_ANSWER, REASONING_TOKENS):
        # the billed tokens where priced: never more than the reasoning they are part of
        after = (
            REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED
            if REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED in columns
            else REASONING_TOKENS_AFTER_FIRST_ANSWER
        )
        exprs += [
            _u32(n(after)).alias("overthinking_traces"),
            _when(after).alias("overthinking_tokens"),
            (pl.col(s(after)) / pl.col("rt|after"))
            .fill_nan(None)
            .alias("overthinking_token_share"),
        ]
    if has(columns, COST_AFTER_FIRST_ANSWER, COST_REASONING):
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


def _logged_unpriced(logged: bool) -> list[pl.Expr]:
    """How many traces have a logged cost, how many of them traceviz did not price, and
    their logged cost (null without a logged cost)."""
    if not logged:
        return [
            pl.lit(None, pl.UInt32).alias(TRACES_LOGGED),
            pl.lit(None, pl.UInt32).alias(TRACES_LOGGED_UNPRICED),
            pl.lit(None, MONEY).alias(COST_LOGGED_UNPRICED),
        ]
    return [
        _u32(n(COST_LOGGED)).alias(TRACES_LOGGED),
        _u32(n(COST_LOGGED_UNPRICED)).alias(TRACES_LOGGED_UNPRICED),
        _when(COST_LOGGED_UNPRICED).alias(COST_LOGGED_UNPRICED),
    ]


def logged(partial: Partial) -> pl.DataFrame:
    """Per model, a store's own logged cost beside traceviz's dated price of the same
    traces, and a row of its logged traces traceviz did not price (`cost_traceviz` null)."""
    if partial.logged is None or not partial.logged.height:
        return pl.DataFrame()
    return (
        partial.logged.select(
            MODEL,
            _u32(COUNT).alias("traces"),
            pl.col(COST_LOGGED),
            pl.when(pl.col(PRICED)).then(pl.col("cost_traceviz")).alias("cost_traceviz"),
        )
        .with_columns((pl.col("cost_traceviz") - pl.col(COST_LOGGED)).alias("difference"))
        .with_columns(
            pl.when(pl.col(COST_LOGGED) != 0)
            .then(pl.col("difference").cast(pl.Float64) / pl.col(COST_LOGGED).cast(pl.Float64))
            .alias("difference_share")
        )
        .sort(MODEL, pl.col("cost_traceviz").is_null())
    )


def notes(partial: Partial) -> list[str]:
    return render_notes(partial.notes)


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
