"""`traceviz compare` reduces each side one result at a time (`fit.side_sums`,
`merge_sides`, `pair_sides`): the same pairs and fits as the whole-table reference
(tests/compare_reference.py), however the sides are cut into results."""

from __future__ import annotations

import random

import compare_reference
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from traceviz.price import fit
from traceviz.schema import COST_TOTAL, CUSTOM_ID, MODEL, PROMPT, REASONING_TOKENS


def _side(rng: random.Random, model: str, prompts: int, scale: float) -> pl.DataFrame:
    """Several samples of most prompts, in shuffled order; some unpaired, unpriced,
    without reasoning or without a key, over two models."""
    rows = []
    for q in range(prompts):
        for _ in range(rng.randint(1, 4)):
            reasoning = rng.choice([None, 0, *[rng.randint(1, 30_000)] * 6])
            cost = None if rng.random() < 0.2 else rng.random() * scale * 10 ** rng.randint(-5, 0)
            rows.append(
                {
                    CUSTOM_ID: None if rng.random() < 0.05 else f"q{q}",
                    PROMPT: f"prompt {q}",
                    REASONING_TOKENS: reasoning,
                    COST_TOTAL: cost,
                    MODEL: rng.choice([model, f"{model}-mini"]),
                    "task": rng.choice(["math", "code", None]),
                    "region": "eu" if q % 3 else "us",
                }
            )
    rng.shuffle(rows)
    schema = {CUSTOM_ID: pl.String, PROMPT: pl.String, REASONING_TOKENS: pl.Int64,
              COST_TOTAL: pl.Float64, MODEL: pl.String, "task": pl.String,
              "region": pl.String}  # fmt: skip
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(pl.col(COST_TOTAL).cast(pl.Decimal(38, 12)))


def _cut(rng: random.Random, frame: pl.DataFrame) -> list[pl.DataFrame]:
    cuts = sorted({0, frame.height, *(rng.randrange(frame.height) for _ in range(6))})
    return [frame[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("on", ["custom_id", "prompt"])
@pytest.mark.parametrize("by", [[], ["task"], ["task", "region"]])
def test_the_streamed_pairs_are_the_whole_tables(seed: int, on: str, by: list[str]) -> None:
    rng = random.Random(seed)
    a, b = _side(rng, "deepseek-reasoner", 60, 1.0), _side(rng, "o1", 50, 3.0)
    expected = compare_reference.pair(a, b, on, by)
    assert expected.height
    sides = [
        fit.merge_sides([fit.side_sums(part, on, by) for part in _cut(rng, side)], on, by)
        for side in (a, b)
    ]
    got = fit.pair_sides(sides[0], sides[1], on, by)
    # NOTE: a prompt's mean cost is a float sum of its few samples, added result by
    # result: equal to float rounding (the table shows the cost ratio to 2 decimals);
    # every other column, and so every fit, is exact
    assert_frame_equal(got.drop("cost_a", "cost_b"), expected.drop("cost_a", "cost_b"))
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-12, abs_tol=0.0)
    ours, theirs = fit.compare(got, by), fit.compare(expected, by)
    assert ours.overall == theirs.overall
    assert [(g.key, g.fit) for g in ours.groups] == [(g.key, g.fit) for g in theirs.groups]


def test_a_side_with_no_trace_pairs_with_nothing() -> None:
    a = _side(random.Random(1), "o1", 5, 1.0)
    sums = fit.merge_sides([fit.side_sums(a, "custom_id", [])], "custom_id", [])
    assert fit.pair_sides(sums, None, "custom_id", []).height == 0
