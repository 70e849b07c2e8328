"""What-ifs: what the same work would have cost on another model, on the same date.

The prompt and answer are re-counted with the target's tokenizer; a prompt the log does
not hold (API response logs keep only the response) is its billed count instead, the
source tokenizer's (`whatif_prompt_logged`), never 0. The reasoning is
estimated through a reasoning-length ratio, R1 reasoning tokens per o1 reasoning
token: visible R1 reasoning re-counted with the target's tokenizer and divided by the
ratio ("this R1 workload on o1"), or o1's billed hidden reasoning multiplied by it
("these o1 calls on R1"). The ratio's range gives a low-high band. Every figure here
is an estimate, and `whatif_ratio_source` says from what.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib.resources import files

import polars as pl

from traceviz import tokens
from traceviz.errors import ConfigError
from traceviz.price.catalog import Catalog, Price
from traceviz.price.cost import (
    MONEY,
    Tier,
    choose,
    free_of_charge,
    logged_times,
    per_token,
    tier_rates,
)
from traceviz.schema import (
    ANSWER,
    BATCH,
    CACHED_INPUT_TOKENS,
    COST_HIGH,
    COST_LOW,
    COST_TOTAL,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    PRICE_ID,
    PROMPT,
    REASONING,
    REASONING_TOKENS,
    WHATIF_ANSWER_TOKENS,
    WHATIF_COST_HIGH,
    WHATIF_COST_LOW,
    WHATIF_COST_TOTAL,
    WHATIF_MODEL,
    WHATIF_OUTPUT_TOKENS,
    WHATIF_PROMPT_LOGGED,
    WHATIF_PROMPT_TOKENS,
    WHATIF_RATIO,
    WHATIF_RATIO_SOURCE,
    WHATIF_REASONING_TOKENS,
    WHATIF_RECOUNTED_REASONING,
)
from traceviz.timestamps import whole_day

HIDING_PREFIXES = ("o1", "o3", "o4", "gpt-", "claude")


@dataclass(frozen=True, slots=True)
class Ratio:
    """R1 reasoning tokens per o1 reasoning token, with a plausible range and its source."""

    value: float
    low: float
    high: float
    source: str


def _presets() -> dict[str, Ratio]:
    document = tomllib.loads((files("traceviz") / "data" / "ratios.toml").read_text())
    return {
        name: Ratio(float(e["ratio"]), float(e["low"]), float(e["high"]), f"{name}: {e['source']}")
        for name, e in document.items()
    }


RATIO_PRESETS = _presets()
DEFAULT_PRESET = "epoch-2025"


def ratio_preset(name: str) -> Ratio:
    if name not in RATIO_PRESETS:
        msg = f"unknown ratio preset {name!r}"
        raise ConfigError(msg, hint=f"Use one of: {', '.join(RATIO_PRESETS)}, or --ratio X.")
    return RATIO_PRESETS[name]


def hides_reasoning(model: str) -> bool:
    """Whether a model bills reasoning it does not show (o-series, GPT-5, Claude 4)."""
    return model.lower().startswith(HIDING_PREFIXES)


RECOUNTED = (WHATIF_PROMPT_TOKENS, WHATIF_ANSWER_TOKENS, WHATIF_RECOUNTED_REASONING)


def recount(traces: pl.DataFrame, target: str) -> pl.DataFrame:
    """The traces' prompt, answer and visible reasoning counted with `target`'s tokenizer
    (the part of a what-if that needs the text; run where the text is)."""
    counter = tokens.counter(target)
    return traces.with_columns(
        pl.Series(name, counter.count_batch(traces[column].to_list()), dtype=pl.Int64)
        for name, column in zip(RECOUNTED, (PROMPT, ANSWER, REASONING), strict=True)
    )


def target_key(target: str, catalog: Catalog) -> str:
    """The catalog entry of a what-if model, or a clear error."""
    key = catalog.key(target)
    if key is None:
        msg = f"no price for what-if model {target!r}"
        raise ConfigError(
            msg, hint="Name a model in the catalog (`traceviz prices`), or add one with --catalog."
        )
    return key


def whatif(
    traces: pl.DataFrame,
    target: str,
    ratio: Ratio,
    catalog: Catalog,
    at: datetime | None = None,
) -> pl.DataFrame:
    """The traces with `whatif_*` columns: the cost of the same work on `target`.

    Each trace is priced on `target` as of the time its actual cost was (`price.cost.choose`):
    its minute, else `at`, else the latest entry; where the time of day is unknown the
    low-high band also spans the target's prices over the day. Needs the tokens stage's
    columns, and the text columns unless `recount` ran first.
    """
    key = target_key(target, catalog)
    target_hides = hides_reasoning(key)
    if RECOUNTED[0] not in traces.columns:
        traces = recount(traces, target)
    prompts, answers, recounted = (traces[name].to_list() for name in RECOUNTED)
    traces = traces.drop(RECOUNTED)
    rows: list[tuple[object, ...]] = []
    bands: list[Band] = []
    # keyed by whether the time is a `Day` too: a Day equals its midnight
    rate_cache: dict[tuple[datetime | None, bool, bool], tuple[Rates, Band]] = {}
    empty: tuple[Rates, Band] = (NO_RATES, (NO_RATES,))
    for index, (created, batch, billed) in enumerate(
        zip(
            logged_times(traces),
            traces[BATCH].to_list(),
            traces[REASONING_TOKENS].to_list(),
            strict=True,
        )
    ):
        visible = recounted[index] is not None
        if visible and target_hides:
            middle, low, high = (recounted[index] / r for r in (ratio.value, ratio.high, ratio.low))  # type: ignore[operator]
            source = ratio.source
        elif not visible and not target_hides and billed is not None:
            middle, low, high = (billed * r for r in (ratio.value, ratio.low, ratio.high))
            source = ratio.source
        else:
            same = recounted[index] if visible else billed
            middle = low = high = same  # type: ignore[assignment]
            source = "same kind of model: reasoning carried over, no ratio"
        minute = created.replace(second=0, microsecond=0) if created else None
        when = (minute, whole_day(minute), bool(batch))
        if when not in rate_cache:
            rate_cache[when] = _rates(catalog, key, minute, at, bool(batch)) or empty
        rates, band = rate_cache[when]
        rows.append((middle, low, high, source, prompts[index], answers[index], *rates))
        bands.append(band)
    # each trace's band entries side by side, the shorter bands padded with their first
    entries = max(map(len, bands), default=1)
    sides = ("", *(f"_e{n}" for n in range(entries)))
    for row, band in enumerate(bands):
        rows[row] += tuple(r for n in range(entries) for r in band[n if n < len(band) else 0])
    frame = pl.DataFrame(
        rows,
        schema={
            "_mid": pl.Float64,
            "_low": pl.Float64,
            "_high": pl.Float64,
            WHATIF_RATIO_SOURCE: pl.String,
            "_prompt": pl.Int64,
            "_answer": pl.Int64,
        }  # fmt: skip
        | {f"_{part}{side}": MONEY for side in sides for part in RATE_PARTS},
        orient="row",
    )
    out = pl.concat([traces, frame], how="horizontal")
    share = (
        (pl.col(CACHED_INPUT_TOKENS).fill_null(0) / pl.col(INPUT_TOKENS)).fill_nan(0).fill_null(0)
    )
    logged_prompt = pl.col("_prompt").is_null() & pl.col(INPUT_TOKENS).is_not_null()
    prompt = pl.coalesce("_prompt", INPUT_TOKENS).fill_null(0)
    cached = (prompt * share).round(0).cast(pl.Int64)
    uncached = prompt - cached
    answer = pl.col("_answer").fill_null(0)

    def cost(reasoning: str, side: str = "") -> pl.Expr:
        output = pl.col(reasoning).round(0).cast(pl.Int64).fill_null(0) + answer
        return (
            uncached.cast(pl.Decimal(38, 0)) * pl.col(f"_in{side}")
            + cached.cast(pl.Decimal(38, 0)) * pl.col(f"_cached{side}")
            + output.cast(pl.Decimal(38, 0)) * pl.col(f"_out{side}")
        )

    # the band: the ratio's range at each of the target's prices that may have applied,
    # entry by entry (never one entry's input rate with another's output rate)
    bounds = [cost(r, side) for r in ("_low", "_high") for side in sides[1:]]
    return out.with_columns(
        pl.lit(key).alias(WHATIF_MODEL),
        logged_prompt.alias(WHATIF_PROMPT_LOGGED),
        pl.col("_mid").round(0).cast(pl.Int64).alias(WHATIF_REASONING_TOKENS),
        (pl.col("_mid").round(0).cast(pl.Int64).fill_null(0) + answer).alias(
            WHATIF_OUTPUT_TOKENS
        ),
        cost("_mid").alias(WHATIF_COST_TOTAL),
        pl.min_horizontal(bounds).alias(WHATIF_COST_LOW),
        pl.max_horizontal(bounds).alias(WHATIF_COST_HIGH),
        pl.when(pl.col(WHATIF_RATIO_SOURCE).str.starts_with("same kind"))
        .then(None)
        .otherwise(pl.lit(ratio.value))
        .alias(WHATIF_RATIO),
    ).drop(
        "_mid", "_low", "_high", "_prompt", "_answer",
        *(f"_{part}{side}" for side in sides for part in RATE_PARTS),
    ).pipe(_actual_where_same_model, key).pipe(_unbilled)  # fmt: skip


def _unbilled(traces: pl.DataFrame) -> pl.DataFrame:
    """A response the logging proxy answered from its own cache costs nothing on the
    target either: the same request would have been answered from the same cache."""
    return traces.with_columns(
        free_of_charge(traces, (WHATIF_COST_TOTAL, WHATIF_COST_LOW, WHATIF_COST_HIGH))
    )


SAME_MODEL = "the same model: the actual cost"


def _actual_where_same_model(traces: pl.DataFrame, key: str) -> pl.DataFrame:
    """A trace already on the target (its price entry is the target's) costs on the target
    exactly what it cost: the billed tokens and the actual cost, not a recount.

    NOTE: without this, `--vs o1` over o1 traces re-priced their recounted visible text
    (a short logged prompt, an answer without its template tokens) and reported o1 on o1
    as 15 % cheaper than o1 itself.
    """
    if PRICE_ID not in traces.columns:
        return traces
    same = pl.col(PRICE_ID).str.split("/").list.first() == key
    actual = {
        WHATIF_COST_TOTAL: pl.col(COST_TOTAL),
        WHATIF_COST_LOW: pl.col(COST_LOW) if COST_LOW in traces.columns else pl.col(COST_TOTAL),
        WHATIF_COST_HIGH: pl.col(COST_HIGH) if COST_HIGH in traces.columns else pl.col(COST_TOTAL),
        WHATIF_REASONING_TOKENS: pl.col(REASONING_TOKENS),
        WHATIF_OUTPUT_TOKENS: pl.col(OUTPUT_TOKENS),
        WHATIF_RATIO_SOURCE: pl.lit(SAME_MODEL),
        WHATIF_RATIO: pl.lit(None, pl.Float64),
        WHATIF_PROMPT_LOGGED: pl.lit(False),
    }
    return traces.with_columns(
        pl.when(same).then(value).otherwise(pl.col(name)).alias(name)
        for name, value in actual.items()
    )


RATE_PARTS = ("in", "cached", "out")
Rates = tuple[Decimal | None, Decimal | None, Decimal | None]  # per token, as RATE_PARTS
Band = tuple[Rates, ...]  # the rates of each entry that may have applied
NO_RATES: Rates = (None, None, None)


def _rates(
    catalog: Catalog, key: str, minute: datetime | None, at: datetime | None, batch: bool
) -> tuple[Rates, Band] | None:
    """Input, cached input and output rates per token on the target, and those of each
    price that may have applied (the one when the time is known); no band (`NO_RATES`)
    where an entry lacks one of the rates, as no bound can then be given."""
    choice = choose(catalog, key, minute, at, nearest=True)
    if choice.price is None:
        return None
    tier: Tier = "batch" if batch else "standard"

    def of(price: Price) -> Rates:
        rates = tier_rates(price, tier)[0]
        return (
            per_token(rates["input"]),
            per_token(rates["cached_input"]),
            per_token(rates["output"]),
        )

    band = tuple(of(p) for p in choice.band)
    return of(choice.price), (band if band and all(None not in r for r in band) else (NO_RATES,))
