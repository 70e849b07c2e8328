"""The cost of every response, at the price in force at the minute it was made.

Billing follows the normalised usage: uncached input at the input rate, cache reads at
the cache rate, cache writes at the write rate (the input rate where none is billed),
and all output, reasoning included, at the output rate; `cost_reasoning` is the part
of that output which was reasoning, a breakdown and never added twice. Batch lines
take batch rates, `service_tier` flex takes flex rates, `tier` overrides both.
Amounts are exact: Decimal(38, 12) US dollars.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import polars as pl

from traceviz.price.catalog import BATCH_RULE, Catalog, Price
from traceviz.schema import (
    BATCH,
    CACHED_INPUT_TOKENS,
    COST_LOGGED,
    CREATED,
    INPUT_TOKENS,
    MODEL,
    OUTPUT_TOKENS,
    REASONING_TOKENS,
    SERVICE_TIER,
    USAGE_CACHE_WRITE,
    USAGE_CACHED_INPUT,
    USAGE_INPUT,
    USAGE_OUTPUT,
    USAGE_REASONING,
    USAGE_SOURCE,
)

Tier = Literal["standard", "batch", "flex"]
MONEY = pl.Decimal(38, 12)
MILLION = Decimal(1_000_000)
COST_COLUMNS = (
    "cost_input", "cost_cached_input", "cost_cache_write",
    "cost_output", "cost_reasoning", "cost_total",
)  # fmt: skip


def per_token(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else rate / MILLION


def tier_rates(price: Price, tier: Tier) -> tuple[dict[str, Decimal | None], str]:
    """Input, cached input, cache write and output rates (per million) for a tier."""
    base = {
        "input": price.rate("input"),
        "cached_input": price.rate("cached_input") or price.rate("input"),
        "cache_write": price.rate("cache_write") or price.rate("input"),
        "output": price.rate("output"),
    }
    if tier == "batch" and price.rate("batch_input") is not None:
        cached = price.rate("cached_input")
        return {
            "input": price.rate("batch_input"),
            # cache discounts stack on batch rates (LiteLLM PR #38341)
            "cached_input": cached * BATCH_RULE
            if cached is not None
            else price.rate("batch_input"),
            "cache_write": price.rate("batch_input"),
            "output": price.rate("batch_output"),
        }, "batch"
    if tier == "flex" and price.rate("flex_input") is not None:
        return {
            "input": price.rate("flex_input"),
            "cached_input": price.rate("flex_cached_input") or price.rate("flex_input"),
            "cache_write": price.rate("flex_input"),
            "output": price.rate("flex_output"),
        }, "flex"
    note = "" if tier == "standard" else f"no {tier} rate, standard"
    return base, note


def _token_columns(traces: pl.DataFrame) -> list[pl.Expr]:
    """The best available counts: the tokens stage's, else the logged usage."""
    if INPUT_TOKENS in traces.columns:
        return [
            pl.col(c) for c in (INPUT_TOKENS, CACHED_INPUT_TOKENS, OUTPUT_TOKENS, REASONING_TOKENS)
        ]
    return [
        pl.col(USAGE_INPUT),
        pl.col(USAGE_CACHED_INPUT).fill_null(0),
        pl.col(USAGE_OUTPUT),
        pl.col(USAGE_REASONING),
    ]


def apply(
    traces: pl.DataFrame,
    catalog: Catalog,
    at: datetime | None = None,
    tier: Tier | None = None,
) -> pl.DataFrame:
    """The traces with cost columns, `price_id`, `price_basis` and `cost_logged_diff`."""
    keys = {m: catalog.key(m) for m in traces[MODEL].unique().to_list()}
    lookups: dict[tuple[str | None, datetime | None, str, str | None], tuple[object, ...]] = {}
    rows = []
    for model, created, batch, service_tier in zip(
        traces[MODEL].to_list(),
        traces[CREATED].to_list(),
        traces[BATCH].to_list(),
        traces[SERVICE_TIER].to_list(),
        strict=True,
    ):
        wanted: Tier = tier or (
            "batch" if batch else "flex" if service_tier == "flex" else "standard"
        )
        minute = created.replace(second=0, microsecond=0) if created else None
        lookup = (keys[model], minute, wanted, model)
        if lookup not in lookups:
            lookups[lookup] = _price_row(catalog, keys[model], model, minute, at, wanted)
        rows.append(lookups[lookup])
    rates = pl.DataFrame(
        rows,
        schema={
            "price_id": pl.String,
            "_basis": pl.String,
            "_in": MONEY,
            "_cached": MONEY,
            "_write": MONEY,
            "_out": MONEY,
        },  # fmt: skip
        orient="row",
    )
    priced = pl.concat([traces, rates], how="horizontal")
    inp, cached, out, reasoning = _token_columns(traces)
    write = pl.col(USAGE_CACHE_WRITE).fill_null(0)
    # a prompt neither logged nor known (a stream cut before its usage) costs nothing here,
    # and the basis says so
    uncached = (inp - cached.fill_null(0) - write).clip(lower_bound=0).fill_null(0)

    def money(tokens: pl.Expr, rate: str) -> pl.Expr:
        return tokens.cast(pl.Decimal(38, 0)) * pl.col(rate)

    counted = (
        pl.when(pl.col(USAGE_SOURCE) == "counted")
        .then(pl.lit("; counted tokens"))
        .otherwise(pl.lit(""))
        if USAGE_SOURCE in traces.columns
        else pl.lit("")
    )
    priced = priced.with_columns(
        money(uncached, "_in").alias("cost_input"),
        money(cached.fill_null(0), "_cached").alias("cost_cached_input"),
        money(write, "_write").alias("cost_cache_write"),
        money(out, "_out").alias("cost_output"),
        money(reasoning, "_out").alias("cost_reasoning"),
        # what the cache saved: the cache reads at the full input rate, less what they cost
        (money(cached.fill_null(0), "_in") - money(cached.fill_null(0), "_cached")).alias(
            "cost_cache_saved"
        ),
        (
            pl.col("_basis")
            + pl.when(pl.col("price_id").is_not_null()).then(counted).otherwise(pl.lit(""))
            + pl.when(pl.col("price_id").is_not_null() & inp.is_null())
            .then(pl.lit("; prompt not logged"))
            .otherwise(pl.lit(""))
        ).alias("price_basis"),
    )
    total = (
        pl.col("cost_input")
        + pl.col("cost_cached_input")
        + pl.col("cost_cache_write")
        + pl.col("cost_output")
    )
    return priced.with_columns(
        total.alias("cost_total"),
        (total.cast(pl.Float64) - pl.col(COST_LOGGED)).alias("cost_logged_diff"),
    ).drop("_basis", "_in", "_cached", "_write", "_out")


def _price_row(
    catalog: Catalog,
    key: str | None,
    model: str | None,
    minute: datetime | None,
    at: datetime | None,
    tier: Tier,
) -> tuple[object, ...]:
    if key is None:
        return (
            None,
            f"no price for {model!r}" if model else "no model named",
            None,
            None,
            None,
            None,
        )
    when = minute or at
    if when is not None:
        price = catalog.in_force(key, when)
        basis = "created" if minute else f"--at {at:%Y-%m-%d %H:%M}"  # type: ignore[operator]
    else:
        price = catalog.latest(key)
        basis = "latest (no timestamp)"
    if price is None:
        stamp = f"{when:%Y-%m-%d %H:%M}" if when else "any time"
        return (None, f"no price for {key} at {stamp}", None, None, None, None)
    rates, note = tier_rates(price, tier)
    if note:
        basis = f"{basis}; {note}"
    return (
        price.id,
        basis,
        per_token(rates["input"]),
        per_token(rates["cached_input"]),
        per_token(rates["cache_write"]),
        per_token(rates["output"]),
    )


def parse_at(value: str) -> datetime:
    """A `--at` date or time (ISO 8601), taken as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
