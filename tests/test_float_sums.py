"""The report's float figure kept as chunk sums (`partials.Floats`, ungrouped: the mean
share of the reasoning before the first answer) equals the figure polars computes over
the whole per-trace column, bit for bit, however the run is cut into results and
batches (chunks), with nulls and all-null results. Logged costs are not floats in the
report: they are summed as money, exactly, whatever the cut."""

from __future__ import annotations

import random
from decimal import Decimal

import polars as pl
import pytest

from traceviz.report import partials
from traceviz.schema import COST_LOGGED, FIRST_ANSWER_SHARE

FLOATS = (FIRST_ANSWER_SHARE,)


def _batch(rng: random.Random, rows: int, nulls: float) -> pl.DataFrame:
    """One measured batch (one chunk a column): floats of many magnitudes, some null."""

    def value(scale: float) -> float | None:
        if rng.random() < nulls:
            return None
        return rng.random() * scale * 10 ** rng.randint(-6, 2)

    return pl.DataFrame(
        {
            FIRST_ANSWER_SHARE: [value(1.0) for _ in range(rows)],
        },
        schema=dict.fromkeys(FLOATS, pl.Float64),
    )


def _result(rng: random.Random) -> pl.DataFrame:
    """A result: a few batches concatenated without a rechunk, as a worker sends them."""
    nulls = rng.choice([0.0, 0.3, 1.0])
    batches = [_batch(rng, rng.randint(1, 3000), nulls) for _ in range(rng.randint(1, 4))]
    return pl.concat(batches, how="vertical", rechunk=False)


def _whole(results: list[pl.DataFrame]) -> dict[str, float | None]:
    """What polars gives over the whole table (every result's chunks kept)."""
    table = pl.concat(results, how="vertical", rechunk=False)
    return table.select(pl.col(FIRST_ANSWER_SHARE).mean().alias("_share_mean")).row(0, named=True)


@pytest.mark.parametrize("seed", range(12))
def test_chunk_sums_give_the_whole_tables_float_figures(seed: int) -> None:
    rng = random.Random(seed)
    results = [_result(rng) for _ in range(rng.randint(1, 8))]
    parts = [partials.Partial.of(r) for r in results]
    merged = partials.combine([partials.Partial.empty([]), *parts])
    ours = partials.float_figures(merged.floats, []).row(0, named=True)
    whole = _whole(results)
    for name, value in whole.items():
        theirs = ours[name]
        assert (theirs is None and value is None) or theirs == value, (name, theirs, value)
    # the reduction holds a few numbers per chunk, never the per-trace column
    assert all(f.values.get(c) is None for f in merged.floats for c in FLOATS)


def test_a_mean_rounds_as_the_chunks_do() -> None:
    """Not a tautology: on these values the mean of one chunk and of the same values in
    several chunks differ in the last bit, and the partial gives the chunked one."""
    rng = random.Random(7)
    values = [rng.random() * 10 ** rng.randint(-8, 3) for _ in range(20_000)]
    pieces = [values[:7_001], values[7_001:12_345], values[12_345:]]
    share = FIRST_ANSWER_SHARE
    frames = [pl.DataFrame({share: p}, schema={share: pl.Float64}) for p in pieces]
    chunked = pl.concat(frames, rechunk=False)[share].mean()
    assert pl.Series(values).mean() != chunked  # the chunks matter
    merged = partials.combine([partials.Partial.of(f) for f in frames])
    assert partials.float_figures(merged.floats, [])["_share_mean"][0] == chunked


def test_logged_costs_sum_as_money_whatever_the_cut() -> None:
    """Ten logged costs of 0.1: a float sum gives 0.9999999999999999, and another cut
    of the same values another float; the report's figure is 1 exactly either way."""
    logged = pl.DataFrame({COST_LOGGED: [0.1] * 10}, schema={COST_LOGGED: pl.Float64})
    assert logged[COST_LOGGED].sum() != 1.0
    for cut in ([10], [3, 7], [1] * 10):
        pieces, start = [], 0
        for size in cut:
            pieces.append(partials.Partial.of(logged.slice(start, size)))
            start += size
        overall = partials.combine(pieces).overall
        assert overall is not None
        assert overall[partials.s(COST_LOGGED)].to_list() == [Decimal("1.000000000000")]
