"""Counted tokens against logged usage: the drift between them, and the figures a trace
is billed by (logged usage where the log has it, else the count).

The billed output (`usage_output`) is the billing truth and is never changed; only its
split into reasoning and answer may be, where the visible reasoning proves the logged
split wrong (`reasoning_split`). Expressions over the columns `tokens.count` adds.
"""

from __future__ import annotations

import polars as pl

from traceviz.schema import (
    CACHED_INPUT_TOKENS,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    REASONING_TOKENS,
    REASONING_TOKENS_SOURCE,
    TOKENIZER_EXACT,
    TOKENS_ANSWER,
    TOKENS_PROMPT,
    TOKENS_REASONING,
    TOKENS_TEMPLATE,
    USAGE_CACHED_INPUT,
    USAGE_DRIFT,
    USAGE_INPUT,
    USAGE_OUTPUT,
    USAGE_REASONING,
    USAGE_REASONING_DRIFT,
    USAGE_SOURCE,
    USAGE_SPLIT,
)


def reconcile(shared: bool = False) -> list[pl.Expr]:
    """Usage drift and the best available figures (logged usage, else counted tokens).

    `usage_drift` compares what the log shows with what was billed: counted reasoning
    + answer + template tokens minus `usage_output`. Where the reasoning is hidden it
    compares the answer with the billed output less the billed reasoning instead.

    The billed output (`usage_output`) is never changed; its split into reasoning and
    answer is (see `reasoning_split`). `shared`: the traces have a `usage_split` column;
    where it holds, a choice's share of its response's usage, there is no drift.
    """
    reasoning = pl.col(TOKENS_REASONING)
    counted_output = (
        pl.col(TOKENS_ANSWER).fill_null(0) + reasoning.fill_null(0) + pl.col(TOKENS_TEMPLATE)
    )
    hidden = reasoning.is_null()
    reasoning_drift = reasoning - pl.col(USAGE_REASONING)
    drift = (
        pl.when(hidden & pl.col(USAGE_REASONING).is_not_null())
        .then(counted_output - (pl.col(USAGE_OUTPUT) - pl.col(USAGE_REASONING)))
        .when(hidden)
        .then(None)
        .otherwise(counted_output - pl.col(USAGE_OUTPUT))
    )
    if shared:  # a choice's share of its response's usage is no bill to compare with
        drift = pl.when(pl.col(USAGE_SPLIT)).then(None).otherwise(drift)
        reasoning_drift = pl.when(pl.col(USAGE_SPLIT)).then(None).otherwise(reasoning_drift)
    logged = pl.col(USAGE_OUTPUT).is_not_null()
    output = pl.coalesce(pl.col(USAGE_OUTPUT), counted_output)
    split, source = reasoning_split(output, counted_output)
    return [
        pl.when(logged).then(pl.lit("logged")).otherwise(pl.lit("counted")).alias(USAGE_SOURCE),
        drift.cast(pl.Int64).alias(USAGE_DRIFT),
        reasoning_drift.alias(USAGE_REASONING_DRIFT),
        pl.coalesce(USAGE_INPUT, TOKENS_PROMPT).alias(INPUT_TOKENS),
        pl.when(pl.col(USAGE_INPUT).is_not_null())
        .then(pl.min_horizontal(pl.col(USAGE_CACHED_INPUT).fill_null(0), pl.col(USAGE_INPUT)))
        .otherwise(0)
        .cast(pl.Int64)
        .alias(CACHED_INPUT_TOKENS),
        output.alias(OUTPUT_TOKENS),
        split.cast(pl.Int64).alias(REASONING_TOKENS),
        source.alias(REASONING_TOKENS_SOURCE),
    ]


def reasoning_split(output: pl.Expr, counted_output: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The reasoning part of the output (`reasoning_tokens`) and where it comes from.

    The logged `usage_reasoning` is kept unless the visible reasoning proves it wrong:
    it exceeds the billed output (impossible), or, counted with the model's own
    tokenizer, the reasoning differs from it by more than the template's tokens while
    the counted reasoning + answer + template do account for the billed output. Then
    the exact count is the reasoning and the rest of the billed output the answer
    ("counted"). Reasoning above the output is cut to the output ("clipped"): logged
    reasoning with no text to count, or a visible reasoning that alone counts more tokens
    than the whole billed output. Reasoning never exceeds the output, so no part costs
    less than nothing.

    On R1 served through OpenRouter (30 real responses), logged reasoning differed from
    the count by -175…+1,091 tokens and exceeded the output in 3, while the counts
    matched the billed output to ±2.
    """
    counted = pl.col(TOKENS_REASONING)
    logged = pl.col(USAGE_REASONING)
    billed = pl.col(USAGE_OUTPUT)
    allowance = pl.col(TOKENS_TEMPLATE)
    impossible = (logged > billed).fill_null(False)
    accounted = ((counted_output - billed).abs() <= allowance).fill_null(False)
    disagrees = ((counted - logged).abs() > allowance).fill_null(False)
    proven_wrong = (
        counted.is_not_null()
        & logged.is_not_null()
        & (impossible | (pl.col(TOKENIZER_EXACT) & disagrees & accounted))
    )
    chosen = pl.when(proven_wrong).then(counted).otherwise(pl.coalesce(logged, counted))
    source = (
        pl.when(chosen.is_null())
        .then(None)
        .when(chosen > output)
        .then(pl.lit("clipped"))
        .when(proven_wrong | logged.is_null())
        .then(pl.lit("counted"))
        .otherwise(pl.lit("logged"))
    )
    return pl.when(chosen.is_not_null()).then(pl.min_horizontal(chosen, output)), source
