"""The report's float figures kept as chunk sums (`partials.Floats`, ungrouped) equal the
figures polars computes over the whole per-trace columns, bit for bit, however the run
is cut into results and batches (chunks), with nulls and all-null results."""

from __future__ import annotations

import random

import polars as pl
import pytest

from traceviz.report import partials
from traceviz.schema import COST_LOGGED, COST_LOGGED_DIFF, FIRST_ANSWER_SHARE

FLOATS = (FIRST_ANSWER_SHARE, COST_LOGGED, COST_LOGGED_DIFF)


def _batch(rng: random.Random, rows: int, nulls: float) -> pl.DataFrame:
    """One measured batch (one chunk a column): floats of many magnitudes, some null."""

    def value(scale: float, shift: float = 0.0) -> float | None:
        if rng.random() < nulls:
            return None
        return rng.random() * scale * 10 ** rng.randint(-6, 2) - shift

    return pl.DataFrame(
        {
            FIRST_ANSWER_SHARE: [value(1.0) for _ in range(rows)],
            COST_LOGGED: [value(0.01) for _ in range(rows)],
            COST_LOGGED_DIFF: [value(0.001, 0.0005) for _ in range(rows)],
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
    return table.select(
        pl.col(FIRST_ANSWER_SHARE).mean().alias("_share_mean"),
        *(pl.col(c).sum().alias(f"_{c}") for c in (COST_LOGGED, COST_LOGGED_DIFF)),
    ).row(0, named=True)


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


def test_a_sum_rounds_as_the_chunks_do() -> None:
    """Not a tautology: on these values the sum of one chunk and of the same values in
    several chunks differ in the last bit, and the partial gives the chunked one."""
    rng = random.Random(7)
    values = [rng.random() * 10 ** rng.randint(-8, 3) for _ in range(20_000)]
    pieces = [values[:7_001], values[7_001:12_345], values[12_345:]]
    frames = [pl.DataFrame({COST_LOGGED: p}, schema={COST_LOGGED: pl.Float64}) for p in pieces]
    chunked = pl.concat(frames, rechunk=False)[COST_LOGGED].sum()
    assert pl.Series(values).sum() != chunked  # the chunks matter
    merged = partials.combine([partials.Partial.of(f) for f in frames])
    assert partials.float_figures(merged.floats, [])[f"_{COST_LOGGED}"][0] == chunked
