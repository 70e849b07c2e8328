"""Fitting the reasoning-length ratio on a user's own paired logs.

Pairs are responses of two models to the same prompt (several samples per prompt are
averaged first). The ratio is A's reasoning tokens per B's, each in its own tokenizer.
It is fitted as the Huber M-estimate of the location of log(A) - log(B) (a Huber
regression on a constant): the slope on log tokens is fixed at 1 because the ratio is,
by definition, proportional, and the Huber loss keeps a few runaway pairs (a looping
trace) from dragging the estimate as a plain mean of logs would. A bootstrap over pairs
(fixed seed) gives the 95 % interval.

NOTE: the estimate is written here (iteratively reweighted least squares, scale from the
median absolute deviation, k = 1.345) rather than taken from scikit-learn's
`HuberRegressor`, because it runs over all bootstrap draws at once as one numpy array:
500 draws of 300 pairs in milliseconds, where 500 `HuberRegressor` fits took 10-160 s
(on identical pairs its optimiser crawls). `compare` fits each group and, once, the
whole (the same fit when there are no groups, so it is not bootstrapped twice).

`pair` pairs two whole traces tables; `side_sums` reduces one result of a side to its
sums per prompt key (and group), `merge_sides` merges them in input order and
`pair_sides` pairs two sides so reduced: the same pairs, without the traces tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from traceviz.schema import COST_TOTAL, CUSTOM_ID, MODEL, PROMPT, REASONING_TOKENS

BOOTSTRAP = 500
SEED = 0
KEYS = {"custom_id": CUSTOM_ID, "prompt": PROMPT}
# the columns of `pair`: each side's mean reasoning tokens and cost per prompt
REASONING_A, REASONING_B = "reasoning_a", "reasoning_b"
COST_A, COST_B = "cost_a", "cost_b"


@dataclass(frozen=True, slots=True)
class Fit:
    """A fitted ratio with its 95 % bootstrap interval and the number of pairs."""

    ratio: float
    low: float
    high: float
    pairs: int


HUBER_K = 1.345  # 95 % efficiency at the normal
MAD_SCALE = 1.4826  # the median absolute deviation of a normal sample, as its sigma


def locations(samples: np.ndarray) -> np.ndarray:
    """The Huber location of each row of `samples` (rows of under three: the median)."""
    centre = np.median(samples, axis=1)
    if samples.shape[1] < 3:
        return centre
    scale = MAD_SCALE * np.median(np.abs(samples - centre[:, None]), axis=1)
    scale = np.where(scale > 0, scale, 1.0)  # all (or most) equal: the median stands
    for _ in range(100):
        residual = np.abs(samples - centre[:, None]) / scale[:, None]
        weight = np.minimum(1.0, HUBER_K / np.maximum(residual, 1e-12))
        moved = (weight * samples).sum(axis=1) / weight.sum(axis=1)
        if np.max(np.abs(moved - centre)) < 1e-12:
            return moved
        centre = moved
    return centre


def fit_ratio(a: np.ndarray, b: np.ndarray) -> Fit:
    """The ratio a/b of paired token counts (both positive)."""
    logs = np.log(a) - np.log(b)
    centre = float(locations(logs[None, :])[0])
    rng = np.random.default_rng(SEED)
    draws = locations(logs[rng.integers(0, len(logs), (BOOTSTRAP, len(logs)))])
    low, high = np.percentile(draws, [2.5, 97.5]) if len(logs) > 1 else (centre, centre)
    return Fit(math.exp(centre), math.exp(float(low)), math.exp(float(high)), len(logs))


def pair(a: pl.DataFrame, b: pl.DataFrame, on: str, by: list[str]) -> pl.DataFrame:
    """Mean reasoning tokens and cost per prompt of each side (whole traces tables),
    joined on the prompt key, sorted by group and key: `pair_sides` of each side's one
    `side_sums`, so a whole table and a run reduced result by result pair alike."""
    return pair_sides(side_sums(a, on, by), side_sums(b, on, by), on, by)


SUMS = ("_reasoning_s", "_cost_s", "_cost_n", "_samples")  # per prompt key: merged by sum
MODEL_FIRST = "_model"


def side_sums(frame: pl.DataFrame, on: str, by: list[str]) -> pl.DataFrame:
    """One result of a side (traces with the `by` columns) as sums per prompt key and
    group, in first-appearance order: reasoning tokens, cost and its count, samples,
    and the first model."""
    key = KEYS[on]
    rt_s, cost_s, cost_n, samples = SUMS
    return (
        frame.filter(pl.col(key).is_not_null() & (pl.col(REASONING_TOKENS) > 0))
        .group_by([key, *by], maintain_order=True)
        .agg(
            pl.col(REASONING_TOKENS).cast(pl.Int64).sum().alias(rt_s),
            pl.col(COST_TOTAL).cast(pl.Float64).sum().alias(cost_s),
            pl.col(COST_TOTAL).count().cast(pl.Int64).alias(cost_n),
            pl.len().cast(pl.Int64).alias(samples),
            pl.col(MODEL).first().alias(MODEL_FIRST),
        )
    )


def merge_sides(parts: list[pl.DataFrame], on: str, by: list[str]) -> pl.DataFrame | None:
    """The sums of a side's results (in input order) as one (None: no result)."""
    if not parts:
        return None
    both = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
    return both.group_by([KEYS[on], *by], maintain_order=True).agg(
        *(pl.col(c).sum() for c in SUMS), pl.col(MODEL_FIRST).first()
    )


def pair_sides(
    a: pl.DataFrame | None, b: pl.DataFrame | None, on: str, by: list[str]
) -> pl.DataFrame:
    """Two sides reduced by `side_sums` and `merge_sides`: each side's mean reasoning
    tokens and cost per prompt, joined on the prompt key, sorted by group and key.

    NOTE: sorted because the bootstrap draws rows by position: in the order a hash
    join happens to give, the same logs gave another interval on every run."""
    key = KEYS[on]
    rt_s, cost_s, cost_n, samples = SUMS

    def side(sums: pl.DataFrame | None, suffix: str) -> pl.DataFrame:
        if sums is None:
            schema = {key: pl.String, **dict.fromkeys(by, pl.String)}
            sums = pl.DataFrame(schema={**schema, **dict.fromkeys(SUMS, pl.Int64)})
            sums = sums.with_columns(pl.lit(None, pl.String).alias(MODEL_FIRST))
        return sums.select(
            key,
            *by,
            (pl.col(rt_s) / pl.col(samples)).alias(f"reasoning_{suffix}"),
            pl.when(pl.col(cost_n) > 0)
            .then(pl.col(cost_s) / pl.col(cost_n))
            .alias(f"cost_{suffix}"),
            pl.col(MODEL_FIRST).alias(f"model_{suffix}"),
            pl.col(samples).cast(pl.UInt32).alias(f"samples_{suffix}"),
        )

    joined = side(a, "a").join(side(b, "b"), on=[key, *by], how="inner")
    return joined.sort([*by, key], nulls_last=True)


@dataclass(frozen=True, slots=True)
class GroupFit:
    """The fit of one group (`key`: its values of the `by` columns, () for all) and the
    mean cost ratio b/a of its priced pairs (None when none is priced)."""

    key: tuple[object, ...]
    fit: Fit
    cost_ratio: float | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """A fit per group, and the fit over every pair (what `--ratio` should be given)."""

    groups: list[GroupFit]
    overall: Fit


def fit_pairs(pairs: pl.DataFrame) -> Fit:
    """The ratio fitted on the pairs of `pair`."""
    return fit_ratio(pairs[REASONING_A].to_numpy(), pairs[REASONING_B].to_numpy())


def fit_groups(pairs: pl.DataFrame, by: list[str]) -> list[GroupFit]:
    """A fit per group (or one overall) and the mean cost ratio b/a of the pairs."""
    groups = pairs.partition_by(by, as_dict=True) if by else {(): pairs}
    out = []
    for key, frame in groups.items():
        if not frame.height:
            continue
        costs = frame.drop_nulls([COST_A, COST_B]).filter(pl.col(COST_A) > 0)
        cost_ratio = float((costs[COST_B] / costs[COST_A]).mean()) if costs.height else None  # type: ignore[arg-type]
        out.append(GroupFit(key, fit_pairs(frame), cost_ratio))
    return out


def compare(pairs: pl.DataFrame, by: list[str]) -> Comparison:
    """The fit of each group of `pairs` (from `pair`) and of all of them."""
    groups = fit_groups(pairs, by)
    whole = groups[0].fit if not by and groups else fit_pairs(pairs)
    return Comparison(groups, whole)
