"""`traceviz audit` one result at a time (`audit.collect` + `AuditPartial.check`) gives
the outcome the whole-table reference (tests/audit_reference.py) gives: the same violations,
values, worst traces and JSON, however the run is cut into results."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import audit_reference
import polars as pl
import pytest
from generated_logs import mixed_log

from traceviz.load import Ingest
from traceviz.pipeline import AnalysisOptions, RunOptions, analyze_results
from traceviz.report import audit
from traceviz.shards import MIN_SHARD_BYTES

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

STRICT = {  # low enough that every rule fails somewhere
    "max_reasoning_tokens": 50,
    "max_cost_per_response": 0.0001,
    "budget": 0.001,
    "max_looping_share": 0.0,
    "max_overthinking_share": 0.0,
    "max_quarantined_share": 0.0,
}
LAX = {"max_reasoning_tokens": 10**9, "budget": 10**6, "max_looping_share": 1.0}


class _Result(NamedTuple):
    traces: pl.DataFrame
    steps: pl.DataFrame | None = None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[pl.DataFrame]]:
    """Per run, the traces of its priced results, in input order."""
    log = tmp_path_factory.mktemp("audit") / "mixed.jsonl"
    mixed_log(log, 400_000, seed=3)
    found = {}
    for name, paths in (("samples", [SAMPLES]), ("mixed", [log])):
        options = AnalysisOptions(keep_steps=False)
        run = RunOptions(shard_bytes=MIN_SHARD_BYTES)
        results = analyze_results(paths, options, Ingest(), run)
        found[name] = [r.traces for r in results]
    return found


def _splits(whole: pl.DataFrame, results: list[pl.DataFrame]) -> dict[str, list[pl.DataFrame]]:
    step = max(3, whole.height // 7)
    cuts = [0, 1, 2, *range(2 + step, whole.height, step), whole.height]
    uneven = [whole[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    return {"whole": [whole], "pipeline": results, "uneven": uneven}


@pytest.mark.parametrize("run", ["samples", "mixed"])
@pytest.mark.parametrize("by", [[], ["model"], ["provider", "format"], ["day"], ["task"]])
@pytest.mark.parametrize("rules", [STRICT, LAX], ids=["strict", "lax"])
def test_the_streamed_audit_is_the_whole_tables(
    runs: dict[str, list[pl.DataFrame]], run: str, by: list[str], rules: dict[str, float]
) -> None:
    results = runs[run]
    whole = pl.concat([r for r in results if r.height], how="vertical")
    expected = audit_reference.evaluate(whole, rules, by, quarantined=2, read=whole.height + 5)
    assert expected.violations or rules is LAX
    for name, parts in _splits(whole, results).items():
        partial = audit.collect([_Result(p) for p in parts], by)
        got = partial.check(rules, quarantined=2, read=whole.height + 5)
        assert got.lines() == expected.lines(), name
        assert got.json() == expected.json(), name
        assert got.summary() == expected.summary(), name
        # what is held: a few rows per group, never the traces
        groups = partial.groups.height if partial.groups is not None else 0
        assert all(f.height <= audit.WORST * max(groups, 1) for f in partial.worst.values())


def test_nothing_read_and_a_rule_without_its_column() -> None:
    empty = audit.collect([], []).check({"budget": 1.0}, 0, 0)
    assert empty == audit_reference.evaluate(pl.DataFrame(), {"budget": 1.0}, [], 0, 0)
    assert empty.not_evaluated == {"budget": "no trace to check"}
    assert audit.collect([], ["model"]).check({"budget": 1.0}, 0, 0) == empty
    unpriced = pl.DataFrame({"trace_id": ["a", "b"], "model": ["x", None]})
    rules = {"budget": 1.0, "max_reasoning_tokens": 3.0}
    got = audit.collect([_Result(unpriced)], ["model"]).check(rules, 0, 2)
    assert got == audit_reference.evaluate(unpriced, rules, ["model"], 0, 2)
    assert got.not_evaluated == {
        "budget": "no trace could be priced",
        "max_reasoning_tokens": "reasoning tokens were not counted",
    }
