"""What the money figures of a run rest on, as sentences for the report's estimates section.

Each note counts the traces it is about and says what was done with them: traces without
a timestamp (and the price they got), prices whose time of day was unknown (with the
band), tiers asked for but not offered, and billed reasoning whose logged split could not
be true. A note appears only when it has traces to count; columns a run lacks are skipped.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from traceviz.schema import (
    COST_HIGH,
    COST_LOW,
    COST_TOTAL,
    CREATED,
    MODEL,
    PRICE_BASIS,
    PRICE_ID,
    REASONING_TOKENS_SOURCE,
    USAGE_OUTPUT,
    USAGE_REASONING,
)

TIERS = ("batch", "flex")
MODELS_SHOWN = 5


def notes(traces: pl.DataFrame) -> list[str]:
    """The notes that apply to a run's traces (none on a run that was not priced)."""
    found: list[str] = []
    columns = set(traces.columns)
    if {CREATED, PRICE_ID, PRICE_BASIS} <= columns:
        found += _undated(traces)
    if {COST_LOW, COST_HIGH, COST_TOTAL} <= columns:
        found += _band(traces)
    if {PRICE_BASIS, MODEL} <= columns:
        found += _tiers(traces)
    if {REASONING_TOKENS_SOURCE, USAGE_REASONING, USAGE_OUTPUT} <= columns:
        found += _reasoning_split(traces)
    return found


def _undated(traces: pl.DataFrame) -> list[str]:
    undated = traces.filter(pl.col(CREATED).is_null() & pl.col(PRICE_ID).is_not_null())
    if not undated.height:
        return []
    by_basis = (
        undated.group_by(pl.col(PRICE_BASIS).str.split(";").list.first().alias("basis"))
        .agg(pl.len().alias("traces"), pl.col(PRICE_ID).unique().sort().alias("ids"))
        .sort("basis")
    )
    found = []
    for basis, count, ids in by_basis.iter_rows():
        when = (
            "at the latest catalog entry"
            if basis.startswith("latest")
            else f"as of {basis.removesuffix(' (whole day)')}"
            + (", a whole day" if basis.endswith("(whole day)") else "")
        )
        found.append(
            f"no timestamp on {_traces(count)}: priced {when}, actual and what-if alike"
            f" ({', '.join(ids)})"
        )
    return found


def _band(traces: pl.DataFrame) -> list[str]:
    varied = traces.filter(pl.col(COST_LOW) != pl.col(COST_HIGH))
    if not varied.height:
        return []
    low, high, total = (varied[c].sum() for c in (COST_LOW, COST_HIGH, COST_TOTAL))
    return [
        f"time of day unknown on {_traces(varied.height)} whose price changes within the"
        f" day: priced at the standard price, {_usd(total)}; at any minute of the day"
        f" {_usd(low)} to {_usd(high)} (cost_low, cost_high)"
    ]


def _tiers(traces: pl.DataFrame) -> list[str]:
    found = []
    for tier in TIERS:
        stayed = traces.filter(pl.col(PRICE_BASIS).str.contains(f"; no {tier} rate, standard"))
        if stayed.height:
            models = sorted(str(m) for m in stayed[MODEL].unique().to_list())
            if len(models) > MODELS_SHOWN:
                models = [*models[:MODELS_SHOWN], f"{len(models) - MODELS_SHOWN} more"]
            found.append(
                f"{tier} tier asked for on {_traces(stayed.height)} of models without a"
                f" {tier} rate ({', '.join(models)}): priced at standard rates (price_basis)"
            )
    return found


def _reasoning_split(traces: pl.DataFrame) -> list[str]:
    impossible = (pl.col(USAGE_REASONING) > pl.col(USAGE_OUTPUT)).fill_null(False)
    source = pl.col(REASONING_TOKENS_SOURCE)
    counts = traces.select(
        (impossible & (source == "counted")).sum().alias("counted"),
        (impossible & (source != "counted")).sum().alias("clipped"),
        (~impossible & (source == "counted") & pl.col(USAGE_REASONING).is_not_null())
        .sum()
        .alias("disagreed"),
    ).row(0, named=True)
    found = []
    if counts["counted"] or counts["clipped"]:
        n = counts["counted"] + counts["clipped"]
        found.append(
            f"more reasoning than output tokens logged (impossible) on {_traces(n)}:"
            f" {counts['counted']:,} split by the exact count of the visible reasoning,"
            f" {counts['clipped']:,} with no text cut to the output; billed output kept"
        )
    if counts["disagreed"]:
        found.append(
            f"logged reasoning off the exact count of the visible reasoning by more than the"
            f" template's tokens on {_traces(counts['disagreed'])}, whose counts match the"
            " billed output: split by the count (reasoning_tokens_source)"
        )
    return found


def _traces(n: int) -> str:
    return f"{n:,} trace" if n == 1 else f"{n:,} traces"


def _usd(amount: object) -> str:
    value = Decimal(str(amount or 0))
    return f"${value:,.6f}"
