"""The cost of every response, at the price in force at the minute it was made.

Billing follows the normalised usage: uncached input at the input rate, cache reads at
the cache rate, cache writes at the write rate (the input rate where none is billed;
Anthropic's 1-hour writes at the 1-hour rate; under batch, cache rates halved),
and all output, reasoning included, at the output rate; `cost_reasoning` is the part
of that output which was reasoning, a breakdown and never added twice. Batch lines
take batch rates, `service_tier` flex or priority (any case) the tier's rates (standard
rates, said in `price_basis`, where the catalog has none), `tier` overrides both.
Amounts are exact: Decimal(38, 12) US dollars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import polars as pl

from traceviz import timestamps
from traceviz.price.catalog import BATCH_RULE, Catalog, Price
from traceviz.schema import (
    BATCH,
    CACHED_INPUT_TOKENS,
    COST_CACHE_SAVED,
    COST_CACHE_WRITE,
    COST_CACHED_INPUT,
    COST_HIGH,
    COST_INPUT,
    COST_LOGGED,
    COST_LOGGED_DIFF,
    COST_LOW,
    COST_OUTPUT,
    COST_REASONING,
    COST_TOTAL,
    CREATED,
    CREATED_WHOLE_DAY,
    INPUT_TOKENS,
    MODEL,
    OUTPUT_TOKENS,
    PRICE_BASIS,
    PRICE_ID,
    REASONING_TOKENS,
    SERVED_FROM_CACHE,
    SERVICE_TIER,
    USAGE_CACHE_WRITE,
    USAGE_CACHE_WRITE_1H,
    USAGE_CACHED_INPUT,
    USAGE_INPUT,
    USAGE_OUTPUT,
    USAGE_REASONING,
    USAGE_SOURCE,
)
from traceviz.timestamps import Day, whole_day

Tier = Literal["standard", "batch", "flex", "priority"]
# a response's `service_tier` that is billed at rates of its own (any case: "Flex" too);
# every other value ("default", "auto", "scale", "standard") is the standard tier
LOGGED_TIERS: dict[str, Tier] = {"flex": "flex", "priority": "priority"}
MONEY = pl.Decimal(38, 12)
MILLION = Decimal(1_000_000)
PER_MILLION = pl.Decimal(38, 0)
COST_COLUMNS = (
    COST_INPUT, COST_CACHED_INPUT, COST_CACHE_WRITE,
    COST_OUTPUT, COST_REASONING, COST_TOTAL, COST_LOW, COST_HIGH,
)  # fmt: skip


def per_token(rate: Decimal | None) -> Decimal | None:
    """A rate per million as a rate per token (what-ifs multiply tokens by it)."""
    return None if rate is None else rate / MILLION


def first_rate(*rates: Decimal | None) -> Decimal | None:
    """The first rate the catalog lists, in order of preference.

    NOTE: not `a or b`: a rate of 0 (a free cache) is a rate, and Decimal 0 is falsy.
    """
    return next((r for r in rates if r is not None), None)


def tier_rates(price: Price, tier: Tier) -> tuple[dict[str, Decimal | None], str]:
    """Input, cached input, cache write (5-minute and 1-hour) and output rates (per million)
    for a tier; a 1-hour write without a rate of its own takes the write rate."""
    write = first_rate(price.rate("cache_write"), price.rate("input"))
    base = {
        "input": price.rate("input"),
        "cached_input": first_rate(price.rate("cached_input"), price.rate("input")),
        "cache_write": write,
        "cache_write_1h": first_rate(price.rate("cache_write_1h"), write),
        "output": price.rate("output"),
    }
    if tier == "batch" and price.rate("batch_input") is not None:
        batch_input = price.rate("batch_input")
        batch_write = _batch(price.rate("cache_write"), batch_input)
        return {
            "input": batch_input,
            # cache prices stack on batch rates (LiteLLM PR #38341; Anthropic's pricing)
            "cached_input": _batch(price.rate("cached_input"), batch_input),
            "cache_write": batch_write,
            "cache_write_1h": _batch(price.rate("cache_write_1h"), batch_write),
            "output": price.rate("batch_output"),
        }, "batch"
    if tier in ("flex", "priority") and price.rate(f"{tier}_input") is not None:
        tier_input = price.rate(f"{tier}_input")
        return {
            "input": tier_input,
            "cached_input": first_rate(price.rate(f"{tier}_cached_input"), tier_input),
            "cache_write": tier_input,
            "cache_write_1h": tier_input,
            "output": price.rate(f"{tier}_output"),
        }, tier
    note = "" if tier == "standard" else f"no {tier} rate, standard"
    return base, note


def _batch(rate: Decimal | None, otherwise: Decimal | None) -> Decimal | None:
    """A cache rate under batch: the standard one halved, else `otherwise`."""
    return otherwise if rate is None else rate * BATCH_RULE


def logged_tier(batch: bool | None, service_tier: str | None) -> Tier:
    """The tier a response was billed at: a batch line's, else the one its `service_tier`
    names (compared without case), else standard."""
    if batch:
        return "batch"
    return LOGGED_TIERS.get((service_tier or "").strip().lower(), "standard")


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


@dataclass(frozen=True, slots=True)
class Choice:
    """The entry a trace is priced at, the basis said in `price_basis`, and `band`: the
    entries it may have been billed at when its time of day is unknown (else just the one)."""

    price: Price | None
    basis: str
    band: tuple[Price, ...] = ()


TIME_OF_DAY_UNKNOWN = (
    "time of day unknown: standard price, cost_low-cost_high span the day's prices"
)


def choose(
    catalog: Catalog,
    key: str,
    minute: datetime | None,
    at: datetime | None,
    nearest: bool = False,
) -> Choice:
    """The price of one trace: at its minute, else at `--at`, else the latest entry.

    Where the time of day is not known (no timestamp, and `--at` a bare date or not
    given) the standard (not time-windowed) price is used, and `band` holds every price
    that may have applied. `nearest` (what-ifs) falls back to the entry closest in time
    when none is in force.
    """
    if minute is not None and whole_day(minute):  # logged as a date alone
        return _whole_day(
            catalog, key, minute, f"created {minute:%Y-%m-%d} (a date alone)", nearest
        )
    if minute is not None or (at is not None and not whole_day(at)):
        when = minute or at
        assert when is not None
        found = catalog.in_force(key, when)
        if found is None and nearest:
            found = catalog.nearest(key, when)
        basis = "created" if minute else f"--at {when:%Y-%m-%d %H:%M}"
        return Choice(found, basis, (found,) if found else ())
    if at is not None:
        return _whole_day(catalog, key, at, f"--at {at:%Y-%m-%d} (whole day)", nearest)
    found = catalog.latest(key)
    return _banded(found, catalog.alongside(found) if found else (), "latest (no timestamp)")


def _whole_day(catalog: Catalog, key: str, day: datetime, basis: str, nearest: bool) -> Choice:
    """The standard price on a day whose time is unknown, and every price of that day."""
    start = day.start() if isinstance(day, Day) else day
    found = catalog.standard_on(key, start)
    if found is None and nearest:
        found = catalog.nearest(key, start)
    return _banded(found, catalog.on_day(key, start), basis)


def _banded(found: Price | None, band: tuple[Price, ...], basis: str) -> Choice:
    if found is None:
        return Choice(None, basis, ())
    band = tuple({p.id: p for p in (found, *band)}.values())
    if len(band) > 1:
        basis = f"{basis}; {TIME_OF_DAY_UNKNOWN}"
    return Choice(found, basis, band)


RATE_NAMES = ("input", "cached_input", "cache_write", "cache_write_1h", "output")


def apply(
    traces: pl.DataFrame,
    catalog: Catalog,
    at: datetime | None = None,
    tier: Tier | None = None,
) -> pl.DataFrame:
    """The traces with cost columns, `price_id`, `price_basis` and `cost_logged_diff`.

    `cost_low` and `cost_high` bound `cost_total` where the time of day is unknown
    (no timestamp, `at` a whole day) and the model's price depends on it; they equal
    `cost_total` everywhere else.
    """
    keys = {m: catalog.key(m) for m in traces[MODEL].unique().to_list()}
    lookups: dict[
        tuple[str | None, datetime | None, bool, str, str | None], tuple[object, ...]
    ] = {}
    rows = []
    for model, created, batch, service_tier in zip(
        traces[MODEL].to_list(),
        logged_times(traces),
        traces[BATCH].to_list(),
        traces[SERVICE_TIER].to_list(),
        strict=True,
    ):
        wanted = tier or logged_tier(batch, service_tier)
        minute = created.replace(second=0, microsecond=0) if created else None
        # NOTE: a `Day` equals its midnight, so whether it is one is part of the key
        lookup = (keys[model], minute, whole_day(minute), wanted, model)
        if lookup not in lookups:
            lookups[lookup] = _price_row(catalog, keys[model], model, minute, at, wanted)
        rows.append(lookups[lookup])
    # NOTE: the band is taken entry by entry (each entry's whole cost), never rate by rate:
    # on a day the price changes, the highest input rate of one entry and the highest
    # output rate of another make a cost no minute of the day was billed at
    width = max((len(row) - 2 for row in lookups.values()), default=0) // len(RATE_PARTS)
    sides = ["", *(f"_b{n}" for n in range(width - 1))]
    rates = pl.DataFrame(
        [_padded(row, len(sides)) for row in rows],
        schema={PRICE_ID: pl.String, "_basis": pl.String}
        | {f"_{part}{side}": MONEY for side in sides for part in RATE_PARTS},
        orient="row",
    )
    priced = pl.concat([traces, rates], how="horizontal")
    inp, logged_cached, out, reasoning = _token_columns(traces)
    # a split that cannot be true (more cache reads and writes than the whole prompt):
    # the prompt is billed once at most, reads first, and the notes count the traces
    cached = pl.min_horizontal(logged_cached.fill_null(0), inp.fill_null(0))
    logged_write = pl.col(USAGE_CACHE_WRITE).fill_null(0)
    write = (
        pl.when(inp.is_not_null())
        .then(pl.min_horizontal(logged_write, inp - cached))
        .otherwise(logged_write)
    )
    # the hour-long part of the writes, at most all of them
    write_1h = (
        pl.min_horizontal(pl.col(USAGE_CACHE_WRITE_1H).fill_null(0), write)
        if USAGE_CACHE_WRITE_1H in traces.columns
        else pl.lit(0)
    )
    # a prompt neither logged nor known (a stream cut before its usage) costs nothing here,
    # and the basis says so
    uncached = (inp - cached - write).clip(lower_bound=0).fill_null(0)

    def money(tokens: pl.Expr, rate: str) -> pl.Expr:
        # NOTE: tokens times the rate per million, exact, then divided by a million once
        # (rounded half to even at 12 decimals): a per-token rate of 12 decimals would
        # already have cut a $0.00000049-per-million rate to 0
        return tokens.cast(pl.Decimal(38, 0)) * pl.col(rate) / pl.lit(MILLION, PER_MILLION)

    def total(side: str) -> pl.Expr:
        return (
            money(uncached, f"_in{side}")
            + money(cached, f"_cached{side}")
            + money(write - write_1h, f"_write{side}")
            + money(write_1h, f"_write_1h{side}")
            + money(out, f"_out{side}")
        )

    counted = (
        pl.when(pl.col(USAGE_SOURCE) == "counted")
        .then(pl.lit("; counted tokens"))
        .otherwise(pl.lit(""))
        if USAGE_SOURCE in traces.columns
        else pl.lit("")
    )
    priced = priced.with_columns(
        money(uncached, "_in").alias(COST_INPUT),
        money(cached, "_cached").alias(COST_CACHED_INPUT),
        (money(write - write_1h, "_write") + money(write_1h, "_write_1h")).alias(COST_CACHE_WRITE),
        money(out, "_out").alias(COST_OUTPUT),
        # never more reasoning than output (the tokens stage keeps it so; logged usage
        # read without it may not)
        money(
            pl.when(reasoning.is_not_null()).then(pl.min_horizontal(reasoning, out)), "_out"
        ).alias(COST_REASONING),
        # what the cache saved: the cache reads at the full input rate, less what they cost
        (money(cached, "_in") - money(cached, "_cached")).alias(COST_CACHE_SAVED),
        (
            pl.col("_basis")
            + pl.when(pl.col(PRICE_ID).is_not_null()).then(counted).otherwise(pl.lit(""))
            + pl.when(pl.col(PRICE_ID).is_not_null() & inp.is_null())
            .then(pl.lit("; prompt not logged"))
            .otherwise(pl.lit(""))
        ).alias(PRICE_BASIS),
        _over_band([total(side) for side in sides[1:] or [""]], pl.min_horizontal).alias(COST_LOW),
        _over_band([total(side) for side in sides[1:] or [""]], pl.max_horizontal).alias(COST_HIGH),
    )
    priced = _unbilled(priced)
    summed = (
        pl.col(COST_INPUT)
        + pl.col(COST_CACHED_INPUT)
        + pl.col(COST_CACHE_WRITE)
        + pl.col(COST_OUTPUT)
    )
    return priced.with_columns(
        summed.alias(COST_TOTAL),
        (summed.cast(pl.Float64) - pl.col(COST_LOGGED)).alias(COST_LOGGED_DIFF),
    ).drop("_basis", *(f"_{p}{s}" for s in sides for p in RATE_PARTS))


RATE_PARTS = ("in", "cached", "write", "write_1h", "out")

SERVED_FROM_CACHE_BASIS = "; served from the proxy's response cache: no provider call, $0"
_BILLED_PARTS = (COST_INPUT, COST_CACHED_INPUT, COST_CACHE_WRITE, COST_OUTPUT, COST_REASONING)


def unbilled(traces: pl.DataFrame) -> pl.Expr:
    """Whether each trace was answered by the logging proxy's own cache (nothing billed)."""
    if SERVED_FROM_CACHE not in traces.columns:
        return pl.lit(False)
    return pl.col(SERVED_FROM_CACHE).fill_null(False)


def free_of_charge(traces: pl.DataFrame, columns: tuple[str, ...]) -> list[pl.Expr]:
    """`columns` (money) at $0 where the logging proxy answered from its cache, where
    they hold a price (an unpriced trace stays unpriced)."""
    free = unbilled(traces)
    return [
        pl.when(free & pl.col(c).is_not_null()).then(pl.lit(0, MONEY)).otherwise(pl.col(c)).alias(c)
        for c in columns
    ]


def _unbilled(priced: pl.DataFrame) -> pl.DataFrame:
    """A priced trace the proxy answered from its cache (`served_from_cache`) at $0: every
    part, the cache's saving and the band, its basis saying why (the catalog entry is
    kept: the price that would have applied)."""
    return priced.with_columns(
        *free_of_charge(priced, (*_BILLED_PARTS, COST_CACHE_SAVED, COST_LOW, COST_HIGH)),
        pl.when(unbilled(priced) & pl.col(PRICE_ID).is_not_null())
        .then(pl.col(PRICE_BASIS) + pl.lit(SERVED_FROM_CACHE_BASIS))
        .otherwise(pl.col(PRICE_BASIS))
        .alias(PRICE_BASIS),
    )


def logged_times(traces: pl.DataFrame) -> list[datetime | None]:
    """Each trace's `created`, a `Day` where it was logged as a date alone."""
    created = traces[CREATED].to_list()
    if CREATED_WHOLE_DAY not in traces.columns:
        return created
    days = traces[CREATED_WHOLE_DAY].fill_null(False).to_list()
    return [
        Day.of(c.date()) if c is not None and d else c for c, d in zip(created, days, strict=True)
    ]


def _price_row(
    catalog: Catalog,
    key: str | None,
    model: str | None,
    minute: datetime | None,
    at: datetime | None,
    tier: Tier,
) -> tuple[object, ...]:
    empty = (None,) * (2 * len(RATE_PARTS))
    if key is None:
        return (None, f"no price for {model!r}" if model else "no model named", *empty)
    choice = choose(catalog, key, minute, at)
    if choice.price is None:
        when = minute or at
        stamp = f"{when:%Y-%m-%d %H:%M}" if when else "any time"
        return (None, f"no price for {key} at {stamp}", *empty)
    rates, note = tier_rates(choice.price, tier)
    basis = f"{choice.basis}; {note}" if note else choice.basis
    band = [tier_rates(entry, tier)[0] for entry in choice.band]
    return (
        choice.price.id,
        basis,
        *(r[name] for r in (rates, *band) for name in RATE_NAMES),
    )


def _padded(row: tuple[object, ...], sides: int) -> tuple[object, ...]:
    """A price row with its band's rates repeated up to `sides` sets (repeats change no
    lowest or highest)."""
    parts = len(RATE_PARTS)
    band = row[2 + parts :] or (None,) * parts
    while len(band) < (sides - 1) * parts:
        band += band[:parts]
    return (*row[: 2 + parts], *band[: (sides - 1) * parts])


def _over_band(totals: list[pl.Expr], pick: Callable[..., pl.Expr]) -> pl.Expr:
    """The lowest or highest of the band's costs, null where one of them is unknown."""
    return (
        pl.when(pl.any_horizontal([t.is_null() for t in totals])).then(None).otherwise(pick(totals))
    )


def parse_at(value: str) -> datetime:
    """A `--at` date or time (ISO 8601), as UTC: see `traceviz.timestamps.parse_at`."""
    return timestamps.parse_at(value)
