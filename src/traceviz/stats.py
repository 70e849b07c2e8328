"""Distribution summaries as polars expressions, shared by `count` and the reports."""

from __future__ import annotations

import polars as pl

STATISTICS = ("sum", "mean", "p50", "p90", "p99", "max")


def distribution(column: str, prefix: str | None = None) -> list[pl.Expr]:
    """sum, mean, p50, p90, p99 and max of a column, named `<prefix>_<statistic>`."""
    col = pl.col(column)
    name = prefix or column
    return [
        pl.when(col.count() > 0).then(col.sum()).alias(f"{name}_sum"),
        col.mean().alias(f"{name}_mean"),
        col.quantile(0.5, "linear").alias(f"{name}_p50"),
        col.quantile(0.9, "linear").alias(f"{name}_p90"),
        col.quantile(0.99, "linear").alias(f"{name}_p99"),
        col.max().alias(f"{name}_max"),
    ]


def grouped(frame: pl.DataFrame, by: list[str], exprs: list[pl.Expr]) -> pl.DataFrame:
    """`exprs` per group of `by` (sorted), or over the whole frame when `by` is empty."""
    if not by:
        return frame.select(exprs)
    return frame.group_by(by).agg(exprs).sort(by, nulls_last=True)
