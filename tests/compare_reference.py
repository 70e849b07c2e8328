"""`compare`'s pairs over whole traces tables, as `price/fit.py` built them before sides
were reduced one result at a time (kept as the reference `side_sums`, `merge_sides` and
`pair_sides` are held to: tests/test_compare_partials.py)."""

from __future__ import annotations

import polars as pl

from traceviz.price.fit import KEYS
from traceviz.schema import COST_TOTAL, MODEL, REASONING_TOKENS


def pair(a: pl.DataFrame, b: pl.DataFrame, on: str, by: list[str]) -> pl.DataFrame:
    """Mean reasoning tokens and cost per prompt of each side, joined on the prompt key,
    sorted by group and key.

    NOTE: sorted because the bootstrap draws rows by position: in the order a hash
    join happens to give, the same logs gave another interval on every run."""
    key = KEYS[on]

    def side(frame: pl.DataFrame, suffix: str) -> pl.DataFrame:
        return (
            frame.filter(pl.col(key).is_not_null() & (pl.col(REASONING_TOKENS) > 0))
            .group_by([key, *by])
            .agg(
                pl.col(REASONING_TOKENS).mean().alias(f"reasoning_{suffix}"),
                pl.col(COST_TOTAL).cast(pl.Float64).mean().alias(f"cost_{suffix}"),
                pl.col(MODEL).first().alias(f"model_{suffix}"),
                pl.len().alias(f"samples_{suffix}"),
            )
        )

    joined = side(a, "a").join(side(b, "b"), on=[key, *by], how="inner")
    return joined.sort([*by, key], nulls_last=True)
