"""What the money figures of a run rest on, as sentences for the report's estimates section.

Each note counts the traces it is about and says what was done with them: traces without
a timestamp (and the price they got), prices whose time of day was unknown (with the
band), tiers asked for but not offered, billed reasoning whose logged split could not be
true, cache reads and writes logged above the whole prompt, and responses a logging proxy
answered from its own cache (priced at $0). A note appears only when
it has traces to count; columns a run lacks are skipped. The notes are written from
`Figures` (counts and exact sums), which merge across results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from traceviz.price.cost import unbilled
from traceviz.schema import (
    COST_HIGH,
    COST_LOW,
    COST_TOTAL,
    CREATED,
    LINE,
    MODEL,
    PRICE_BASIS,
    PRICE_ID,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED,
    REASONING_TOKENS_SOURCE,
    SERVED_FROM_CACHE,
    SOURCE,
    TOKENS_REASONING,
    USAGE_CACHE_WRITE,
    USAGE_CACHED_INPUT,
    USAGE_INPUT,
    USAGE_OUTPUT,
    USAGE_REASONING,
    USAGE_SPLIT,
)
from traceviz.wording import count_of

TIERS = ("batch", "flex", "priority")
MODELS_SHOWN = 5


def notes(traces: pl.DataFrame) -> list[str]:
    """The notes that apply to a run's traces (none on a run that was not priced)."""
    return render(figures(traces))


@dataclass(frozen=True, slots=True)
class Figures:
    """The counts and sums the notes are written from; `merge` adds two runs' figures (in
    input order), so a report built from one result at a time writes the same notes.
    A field is None when the run lacks its columns."""

    undated: pl.DataFrame | None = None  # basis, price_id, traces: undated priced traces
    band: tuple[int, Decimal, Decimal, Decimal] | None = None  # traces, low, high, total
    tiers: dict[str, tuple[int, frozenset[str]]] | None = None  # tier: traces, models
    # counted, clipped (no text), longer (visible reasoning over the billed output),
    # disagreed, capped (after-first-answer tokens over the billed reasoning)
    split: tuple[int, int, int, int, int] | None = None
    cache_over: int | None = None  # cache reads + writes logged above the whole prompt
    shared: tuple[int, int] | None = None  # responses, choices: usage split among choices
    from_cache: int | None = None  # priced traces the logging proxy answered from its cache

    def merge(self, other: Figures) -> Figures:
        def both(a: Any, b: Any, add: Callable[[Any, Any], Any]) -> Any:
            return b if a is None else a if b is None else add(a, b)

        return Figures(
            undated=both(self.undated, other.undated, _add_undated),
            band=both(self.band, other.band, _add_tuple),
            tiers=both(
                self.tiers,
                other.tiers,
                lambda a, b: {t: (a[t][0] + b[t][0], a[t][1] | b[t][1]) for t in TIERS},
            ),
            split=both(self.split, other.split, _add_tuple),
            cache_over=both(self.cache_over, other.cache_over, lambda a, b: a + b),
            shared=both(self.shared, other.shared, _add_tuple),
            from_cache=both(self.from_cache, other.from_cache, lambda a, b: a + b),
        )


def _add_tuple(a: tuple[Any, ...], b: tuple[Any, ...]) -> Any:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _add_undated(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    return (
        pl.concat([a, b])
        .group_by("basis", PRICE_ID, maintain_order=True)
        .agg(pl.col("traces").sum())
    )


def figures(traces: pl.DataFrame) -> Figures:
    """The figures of the notes over these traces."""
    columns = set(traces.columns)
    undated = band = tiers = split = cache_over = shared = from_cache = None
    if {CREATED, PRICE_ID, PRICE_BASIS} <= columns:
        undated = (
            traces.filter(pl.col(CREATED).is_null() & pl.col(PRICE_ID).is_not_null())
            .group_by(
                pl.col(PRICE_BASIS).str.split(";").list.first().alias("basis"),
                PRICE_ID,
                maintain_order=True,
            )
            .agg(pl.len().cast(pl.Int64).alias("traces"))
        )
    if {COST_LOW, COST_HIGH, COST_TOTAL} <= columns:
        varied = traces.filter(pl.col(COST_LOW) != pl.col(COST_HIGH))
        low, high, total = (
            Decimal(varied[c].sum() or 0) for c in (COST_LOW, COST_HIGH, COST_TOTAL)
        )
        band = (varied.height, low, high, total)
    if {PRICE_BASIS, MODEL} <= columns:
        tiers = {}
        for tier in TIERS:
            stayed = traces.filter(pl.col(PRICE_BASIS).str.contains(f"; no {tier} rate, standard"))
            tiers[tier] = (stayed.height, frozenset(str(m) for m in stayed[MODEL].unique()))
    if {REASONING_TOKENS_SOURCE, USAGE_REASONING, USAGE_OUTPUT, TOKENS_REASONING} <= columns:
        impossible = (pl.col(USAGE_REASONING) > pl.col(USAGE_OUTPUT)).fill_null(False)
        source = pl.col(REASONING_TOKENS_SOURCE)
        clipped = source == "clipped"
        text = pl.col(TOKENS_REASONING).is_not_null()
        # what `overthinking.apply` capped: its billed tokens below the counted ones
        capped = (
            pl.col(REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED)
            < pl.col(REASONING_TOKENS_AFTER_FIRST_ANSWER)
            if {REASONING_TOKENS_AFTER_FIRST_ANSWER, REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED}
            <= columns
            else pl.lit(False)
        )
        row = traces.select(
            (impossible & (source == "counted")).sum(),
            (impossible & clipped & ~text).sum().alias("clipped"),
            (clipped & text).sum().alias("longer"),
            (~impossible & (source == "counted") & pl.col(USAGE_REASONING).is_not_null())
            .sum()
            .alias("disagreed"),
            capped.fill_null(False).sum().alias("capped"),
        ).row(0)
        split = (int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))
    if {USAGE_INPUT, USAGE_CACHED_INPUT, USAGE_CACHE_WRITE} <= columns:
        cached = pl.col(USAGE_CACHED_INPUT).fill_null(0) + pl.col(USAGE_CACHE_WRITE).fill_null(0)
        cache_over = int(
            traces.select((cached > pl.col(USAGE_INPUT)).fill_null(False).sum()).item()
        )
    if {USAGE_SPLIT, SOURCE, LINE} <= columns:
        # a response's choices come from one record, which no cut of the input divides
        choices = traces.filter(pl.col(USAGE_SPLIT).fill_null(False))
        shared = (choices.select(SOURCE, LINE).n_unique() if choices.height else 0, choices.height)
    if {SERVED_FROM_CACHE, PRICE_ID} <= columns:
        served = unbilled(traces) & pl.col(PRICE_ID).is_not_null()
        from_cache = int(traces.select(served.sum()).item())
    return Figures(undated, band, tiers, split, cache_over, shared, from_cache)


def render(found: Figures) -> list[str]:
    """The notes' sentences from their figures."""
    lines: list[str] = []
    if found.undated is not None:
        lines += _undated(found.undated)
    if found.band is not None:
        lines += _band(*found.band)
    if found.tiers is not None:
        lines += _tiers(found.tiers)
    if found.split is not None:
        lines += _reasoning_split(*found.split)
    if found.cache_over:
        lines.append(
            f"more cached and cache-write tokens than prompt tokens logged (impossible) on"
            f" {count_of(found.cache_over, 'trace')}: the logged prompt billed once, cache reads"
            " first (usage_input, usage_cached_input, usage_cache_write)"
        )
    if found.shared and found.shared[0]:
        responses, choices = found.shared
        lines.append(
            f"the usage of {count_of(responses, 'response')} with several"
            f" choices split among their {choices:,} choices (the prompt on the first, the"
            " reasoning and the answers in proportion to each choice's text): per-choice"
            " tokens and costs are estimates, their sums the logged bill (usage_split)"
        )
    if found.from_cache:
        lines.append(
            f"{count_of(found.from_cache, 'trace')} answered by the logging proxy from its own"
            " response cache (LiteLLM's cache_hit, Helicone's cache_reference_id): no call"
            " reached the provider, so each is"
            " priced at $0 and on the what-if too, its tokens still counted (served_from_cache)"
        )
    return lines


def _undated(undated: pl.DataFrame) -> list[str]:
    if not undated.height:
        return []
    by_basis = (
        undated.group_by("basis")
        .agg(pl.col("traces").sum(), pl.col(PRICE_ID).unique().sort().alias("ids"))
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
            f"no timestamp on {count_of(count, 'trace')}: priced {when}, actual and what-if alike"
            f" ({', '.join(ids)})"
        )
    return found


def _band(varied: int, low: Decimal, high: Decimal, total: Decimal) -> list[str]:
    if not varied:
        return []
    return [
        f"time of day unknown on {count_of(varied, 'trace')} whose price changes within the"
        f" day: priced at the standard price, {_usd(total)}; at any minute of the day"
        f" {_usd(low)} to {_usd(high)} (cost_low, cost_high)"
    ]


def _tiers(tiers: dict[str, tuple[int, frozenset[str]]]) -> list[str]:
    found = []
    for tier in TIERS:
        count, names = tiers[tier]
        if count:
            models = sorted(names)
            if len(models) > MODELS_SHOWN:
                models = [*models[:MODELS_SHOWN], f"{len(models) - MODELS_SHOWN} more"]
            found.append(
                f"{tier} tier asked for on {count_of(count, 'trace')} of models without a"
                f" {tier} rate ({', '.join(models)}): priced at standard rates (price_basis)"
            )
    return found


def _reasoning_split(
    counted: int, clipped: int, longer: int, disagreed: int, capped: int
) -> list[str]:
    found = []
    if counted or clipped:
        n = counted + clipped
        found.append(
            f"more reasoning than output tokens logged (impossible) on {count_of(n, 'trace')}:"
            f" {counted:,} split by the exact count of the visible reasoning,"
            f" {clipped:,} with no text cut to the output; billed output kept"
        )
    if disagreed:
        found.append(
            f"logged reasoning off the exact count of the visible reasoning by more than the"
            f" template's tokens on {count_of(disagreed, 'trace')}, whose counts match the"
            " billed output: split by the count (reasoning_tokens_source)"
        )
    if longer:
        found.append(
            f"the visible reasoning alone counts more tokens than the whole billed output"
            f" on {count_of(longer, 'trace')} (usage of a truncated or another response?):"
            " reasoning taken as the billed output (reasoning_tokens_source clipped)"
        )
    if capped:
        found.append(
            "more tokens after the first answer than billed reasoning on"
            f" {count_of(capped, 'trace')}: capped at the billed reasoning"
            " (reasoning_tokens_after_first_answer_billed)"
        )
    return found


def _usd(amount: object) -> str:
    value = Decimal(str(amount or 0))
    return f"${value:,.6f}"
