"""The overthinking bill: what the reasoning after the first answer cost, and what a cap
on reasoning tokens would have saved.

`apply` adds, per trace, `output_rate` (USD per output token, the rate the price stage
billed), `reasoning_tokens_after_first_answer_billed` and `cost_after_first_answer`: those
billed tokens times that rate, exact in Decimal(38, 12). The billed tokens are the ones
the segment stage counted after the first answer, capped at the trace's billed
`reasoning_tokens`: where a log bills less than its visible reasoning counts (usage of
a truncated or another response), the part after the first answer cannot cost more than
the whole reasoning. The notes (`notes.py`) count the capped traces. The rate is recovered
from the price stage's own figures, never looked up twice: the price stage bills
`cost_reasoning = reasoning tokens × rate` (and `cost_output` likewise), so the quotient
is the rate itself; it is kept only when multiplying back gives the cost to the last
of its 12 decimals, else the trace is left without a rate and says so.

Where the bill cannot be computed it is null and `cost_after_first_answer_reason` says
why: hidden reasoning (o-series bills it but shows nothing to search), no final answer
found, or no price. Where the segment stage did not produce the first-answer column the
traces pass through unchanged and the report lists the section as not computed.

The bill is a proxy: it is only as good as the first-answer detector (see
docs/first-answer.md for its measured agreement with hand labels).
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from traceviz.errors import ConfigError
from traceviz.normalize import fields
from traceviz.normalize.fields import ShapeError
from traceviz.price.cost import MONEY
from traceviz.schema import (
    COST_AFTER_FIRST_ANSWER,
    COST_AFTER_FIRST_ANSWER_REASON,
    COST_OUTPUT,
    COST_REASONING,
    COST_TOTAL,
    FINAL_ANSWER_MISSING_REASON,
    INPUT_TOKENS,
    OUTPUT_RATE,
    OUTPUT_TOKENS,
    REASONING_TOKENS,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED,
    REASONING_VISIBLE,
    TOKENS_REASONING,
    USAGE_OUTPUT,
    USAGE_REASONING,
)

HIDDEN = "hidden reasoning: billed but not shown, so not computed"
NO_ANSWER = "no final answer found in the reasoning"
UNPRICED = "not priced"
NO_RATE = "output rate not recoverable from the price stage's costs"
# NOTE: the detector's figures as docs/first-answer.md measures them (a test keeps the two
# equal); update both when the detector changes
AGREEMENT = "first position within one step 43/48, same step 41/48"
PROXY = (
    "proxy: reasoning tokens after the first point where the reasoning reaches its final"
    " answer, at the trace's output rate; as good as the first-answer detector"
    f" (hand-labelled: {AGREEMENT}; docs/first-answer.md)"
)
CAP_RULE = (
    "estimate: tokens above the cap removed at the output rate; a trace is at risk when"
    " its first answer comes after the cap"
)
_SCALE = Decimal(1).scaleb(-12)


def output_rates(traces: pl.DataFrame) -> pl.Series:
    """The per-token output rate the price stage billed each trace at (null if unpriced).

    Examples
    --------
    >>> frame = pl.DataFrame({"cost_reasoning": [Decimal("0.24")], "reasoning_tokens": [4000],
    ...     "cost_output": [Decimal("0.2412")], "output_tokens": [4020], "input_tokens": [9]},
    ...     schema_overrides={"cost_reasoning": MONEY, "cost_output": MONEY})
    >>> output_rates(frame).to_list()
    [Decimal('0.000060000000')]
    """
    counted = INPUT_TOKENS in traces.columns  # the counts the price stage billed
    pairs = (
        (COST_REASONING, REASONING_TOKENS if counted else USAGE_REASONING),
        (COST_OUTPUT, OUTPUT_TOKENS if counted else USAGE_OUTPUT),
    )
    columns = [
        (traces[cost].to_list(), traces[tokens].to_list())
        for cost, tokens in pairs
        if cost in traces.columns and tokens in traces.columns
    ]
    rates: list[Decimal | None] = []
    for index in range(traces.height):
        rates.append(None)
        for costs, counts in columns:
            rate = _rate(costs[index], counts[index])
            if rate is not None:
                rates[-1] = rate
                break
    return pl.Series(OUTPUT_RATE, rates, dtype=MONEY)


def _rate(cost: Decimal | None, tokens: int | None) -> Decimal | None:
    if cost is None or not tokens:
        return None
    try:
        rate = (cost / tokens).quantize(_SCALE)
    except InvalidOperation:
        return None
    # NOTE: kept only if exact, so every figure built on it is as exact as the bill
    return rate if rate * tokens == cost else None


def apply(traces: pl.DataFrame) -> pl.DataFrame:
    """The priced traces with `output_rate`, `cost_after_first_answer` and its reason."""
    if COST_TOTAL not in traces.columns:
        return traces
    traces = traces.with_columns(output_rates(traces))
    if REASONING_TOKENS_AFTER_FIRST_ANSWER not in traces.columns:
        return traces
    after = pl.col(REASONING_TOKENS_AFTER_FIRST_ANSWER)
    billed = pl.when(after.is_not_null()).then(pl.min_horizontal(after, REASONING_TOKENS))
    hidden = (
        ~pl.col(REASONING_VISIBLE).fill_null(False)
        if REASONING_VISIBLE in traces.columns
        else pl.lit(False)
    )
    missing = (
        pl.col(FINAL_ANSWER_MISSING_REASON).fill_null(pl.lit(NO_ANSWER))
        if FINAL_ANSWER_MISSING_REASON in traces.columns
        else pl.lit(NO_ANSWER)
    )
    reason = (
        pl.when(hidden)
        .then(pl.lit(HIDDEN))
        .when(after.is_null())
        .then(missing)
        .when(pl.col(COST_TOTAL).is_null())
        .then(pl.lit(UNPRICED))
        .when(pl.col(OUTPUT_RATE).is_null() & (after > 0))
        .then(pl.lit(NO_RATE))
    )
    cost = (
        pl.when(reason.is_null())
        .then(billed.cast(pl.Decimal(38, 0)) * pl.col(OUTPUT_RATE).fill_null(Decimal(0)))
        .cast(MONEY)
    )
    return traces.with_columns(
        billed.cast(pl.Int64).alias(REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED),
        cost.alias(COST_AFTER_FIRST_ANSWER),
        reason.alias(COST_AFTER_FIRST_ANSWER_REASON),
    )


@dataclass(frozen=True, slots=True)
class CapSpec:
    """A `--cap`: a number of reasoning tokens, or a percentile of the measured traces."""

    tokens: int | None = None
    percentile: float | None = None

    @property
    def text(self) -> str:
        return f"p{self.percentile:g}" if self.percentile is not None else f"{self.tokens:,}"


_PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)", re.IGNORECASE)


def parse_cap(text: str) -> CapSpec:
    """`--cap 2000` or `--cap p90` (any percentile from p1 to p100).

    >>> parse_cap("p90"), parse_cap("2,000")
    (CapSpec(tokens=None, percentile=90.0), CapSpec(tokens=2000, percentile=None))
    """
    value = text.strip().replace(",", "").replace("_", "")
    if value.isdigit():  # read as a logged count is: ASCII digits, at most MAX_TOKENS
        with suppress(ShapeError):
            return CapSpec(tokens=fields.tokens(value, "--cap"))
    match = _PERCENTILE.fullmatch(value)
    if match and 0 < float(match.group(1)) <= 100:
        return CapSpec(percentile=float(match.group(1)))
    msg = f"--cap {text!r} is neither a number of reasoning tokens nor a percentile"
    raise ConfigError(msg, hint="Use --cap 2000 or --cap p90.")


@dataclass(frozen=True, slots=True)
class Cap:
    """A resolved cap: its tokens and how they were chosen."""

    tokens: int
    rule: str


def resolve_cap(traces: pl.DataFrame, spec: CapSpec) -> Cap | None:
    """The cap in tokens; a percentile is taken (nearest rank) over the traces' reasoning
    tokens. None when a percentile is asked of traces without reasoning tokens."""
    if spec.tokens is not None:
        return Cap(spec.tokens, f"{spec.tokens:,} reasoning tokens")
    if REASONING_TOKENS not in traces.columns:
        return None
    measured = traces[REASONING_TOKENS].drop_nulls()
    if not measured.len():
        return None
    value: Any = measured.quantile((spec.percentile or 0) / 100, "nearest")
    tokens = int(value)
    return Cap(
        tokens,
        f"{tokens:,} reasoning tokens, the p{spec.percentile:g} of {measured.len():,} traces",
    )


CAP_COLUMNS = ("_cap_over", "_cap_tokens_saved", "_cap_saved", "_cap_at_risk")


def cap_columns(traces: pl.DataFrame, tokens: int) -> list[pl.Expr]:
    """Per trace, what a cap of `tokens` reasoning tokens would have cut and saved.

    `_cap_tokens_saved`: reasoning tokens above the cap; `_cap_saved`: those at the
    output rate (null when unpriced); `_cap_at_risk`: the first answer comes after the
    cap (null when unknown: hidden reasoning or no answer found; false when not cut).
    """
    if REASONING_TOKENS not in traces.columns:
        return []
    over = (pl.col(REASONING_TOKENS) - tokens).clip(lower_bound=0)
    exprs = [
        (pl.col(REASONING_TOKENS) > tokens).alias("_cap_over"),
        over.alias("_cap_tokens_saved"),
    ]
    if OUTPUT_RATE in traces.columns:
        exprs.append((over.cast(pl.Decimal(38, 0)) * pl.col(OUTPUT_RATE)).alias("_cap_saved"))
    if REASONING_TOKENS_AFTER_FIRST_ANSWER in traces.columns:
        total = (
            pl.coalesce(pl.col(TOKENS_REASONING), pl.col(REASONING_TOKENS))
            if TOKENS_REASONING in traces.columns
            else pl.col(REASONING_TOKENS)
        )
        first = total - pl.col(REASONING_TOKENS_AFTER_FIRST_ANSWER)
        exprs.append(
            pl.when(pl.col(REASONING_TOKENS) <= tokens)
            .then(pl.lit(False))
            .otherwise(first > tokens)
            .alias("_cap_at_risk")
        )
    return exprs
