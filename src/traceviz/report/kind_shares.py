"""The estimated share of steps of each kind, per group: what `traceviz steps --kinds`
prints, composed the way the report's step-kind section composes it.

A trace's steps of each kind are taken from its summed kind probabilities
(`expected_steps_<kind>`: the expected number of its steps of that kind, an estimate),
else from its argmax counts (`steps_<kind>`; no join, so traces sharing an id count once
each), else from the steps table (one per step). Counts add up: the `KindCounts` of
batches are combined (`combine`) and only then turned into shares, so a command that
streams batches keeps (group, kind, steps) rows, never the traces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from traceviz.schema import EXPECTED_STEPS_PREFIX, KIND, KIND_STEPS_PREFIX, STEPS, TRACE_ID

SHARE = "share"
# the kinds in four letters, for tables as narrow as a terminal (in `KINDS` order)
SHORT_NAMES = ("set", "plan", "fact", "comp", "cons", "unc", "chk", "fin")


@dataclass(frozen=True, slots=True)
class KindCounts:
    """Steps of each kind per group (`frame`: the group columns, `kind`, `steps` as
    Float64), and whether they are summed probabilities (else argmax or table counts)."""

    frame: pl.DataFrame
    summed: bool


def count(traces: pl.DataFrame, steps: pl.DataFrame | None, by: list[str]) -> KindCounts:
    """The steps of each kind in each group of `traces` (`by` columns: present in it)."""
    expected = [c for c in traces.columns if c.startswith(EXPECTED_STEPS_PREFIX)]
    if not expected or traces.select(pl.all_horizontal(pl.col(expected).is_null().all())).item():
        expected = []
    prefix = EXPECTED_STEPS_PREFIX if expected else KIND_STEPS_PREFIX
    columns = expected or [c for c in traces.columns if c.startswith(KIND_STEPS_PREFIX)]
    if columns:
        per_kind = (
            traces.select(*by, *columns)
            .unpivot(columns, index=by, variable_name=KIND, value_name=STEPS)
            .with_columns(pl.col(KIND).str.strip_prefix(prefix))
        )
    elif steps is not None:
        per_kind = steps.join(traces.select(TRACE_ID, *by), on=TRACE_ID, how="left").select(
            *by, KIND, pl.lit(1).alias(STEPS)
        )
    else:
        per_kind = pl.DataFrame(
            schema={**dict.fromkeys(by, pl.String), KIND: pl.String, STEPS: pl.Int64}
        )
    frame = per_kind.group_by([*by, KIND]).agg(pl.col(STEPS).cast(pl.Float64).sum())
    return KindCounts(frame, bool(expected))


def combine(parts: Iterable[KindCounts], by: list[str]) -> KindCounts | None:
    """The counts of several batches as one (None for no batch); summed probabilities
    only if every batch's were."""
    parts = list(parts)
    if not parts:
        return None
    frame = pl.concat([p.frame for p in parts]).group_by([*by, KIND]).agg(pl.col(STEPS).sum())
    return KindCounts(frame, all(p.summed for p in parts))


def shares(counts: KindCounts, by: list[str]) -> pl.DataFrame:
    """Each kind's `share` of its group's steps (kinds with none left out), sorted by
    group and kind; `steps` keeps the (estimated) number of steps of that kind."""
    kept = counts.frame.group_by([*by, KIND]).agg(pl.col(STEPS).sum()).filter(pl.col(STEPS) > 0)
    total = pl.col(STEPS).sum().over(by) if by else pl.col(STEPS).sum()
    return kept.with_columns((pl.col(STEPS) / total).alias(SHARE)).sort(
        [*by, KIND], nulls_last=True
    )
