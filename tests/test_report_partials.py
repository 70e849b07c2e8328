"""The report built one result at a time equals the report of the whole table.

Every run is split several ways (the whole table as one result, the pipeline's own
results, uneven slices merged in a tree), built from partials, and compared with the
whole-table reference (`tests/report_reference.py`, the code the partials replaced):
figures, outliers, notes and every rendered format, byte for byte.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import polars as pl
import pytest
import report_reference as reference
from generated_logs import mixed_log
from polars.testing import assert_frame_equal

from traceviz import report as reports
from traceviz.load import Ingest
from traceviz.pipeline import PRICE_ROWS, AnalysisOptions, RunOptions, analyze, analyze_results
from traceviz.price import overthinking
from traceviz.report import histograms, partials, terminal
from traceviz.report.partials import Partial
from traceviz.schema import IngestStats
from traceviz.shards import MIN_SHARD_BYTES

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[list[pl.DataFrame], IngestStats]]:
    """Per run, its priced results' traces (in input order) and its totals."""
    log = tmp_path_factory.mktemp("partials") / "mixed.jsonl"
    mixed_log(log, 600_000, seed=5)
    found = {}
    for name, paths, vs in (("samples", [SAMPLES], "o1"), ("generated", [log], None)):
        ingest = Ingest()
        options = AnalysisOptions(keep_steps=False, vs=vs)
        run = RunOptions(shard_bytes=MIN_SHARD_BYTES)
        results = [r.traces for r in analyze_results(paths, options, ingest, run)]
        found[name] = ([r for r in results if r.height], ingest.stats)
    return found


def _slices(whole: pl.DataFrame) -> list[pl.DataFrame]:
    """Uneven slices: one trace, three, seven, and the rest in about ten pieces."""
    step = max(5, whole.height // 10)
    cuts = [0, 1, 4, 11, *range(11 + step, whole.height, step), whole.height]
    return [whole[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _tree(parts: list[Partial]) -> Partial:
    """Merged pairwise, as a tree, never left to right: merging is associative."""
    while len(parts) > 1:
        parts = [
            parts[i].merge(parts[i + 1]) if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    return parts[0]


CAPS = {None: None, "p90": overthinking.parse_cap("p90"), "100": overthinking.parse_cap("100")}


FLOAT_SUMS = ("first_answer_share_mean",)


def _same(new: reports.Report, old: reports.Report, capped: bool = False) -> None:
    """Equal figures and outputs; `capped`: the float mean to its last bit only.

    NOTE: the whole-table code's float sums depend on polars' chunking of its select,
    which its cap columns change with the cap's value (over the same traces `--by model
    --cap p90` and `--cap 100` once gave logged costs 0.08002139 and 0.08002139000000001,
    before they were summed as money). Without a cap the partials give the float's bits
    exactly; with one, to 1e-15 (the JSON, Markdown, HTML and terminal reports are still
    equal byte for byte)."""
    for name in ("points", "logged", "models"):
        assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True)
    for name in ("overall", "groups"):
        ours, theirs = getattr(new, name), getattr(old, name)
        floats = [c for c in FLOAT_SUMS if c in theirs.columns] if capped else []
        assert_frame_equal(ours.drop(floats), theirs.drop(floats), check_exact=True)
        assert_frame_equal(ours.select(floats), theirs.select(floats), rel_tol=1e-15)
    # NOTE: kind shares sum float probabilities per result first: equal to rounding
    assert_frame_equal(new.kinds, old.kinds, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
    assert list(new.outliers) == list(old.outliers)
    for name, frame in old.outliers.items():
        assert_frame_equal(new.outliers[name], frame)
    assert (new.estimates, new.missing, new.cap, new.vs, new.by, new.kinds_note) == (
        old.estimates,
        old.missing,
        old.cap,
        old.vs,
        old.by,
        old.kinds_note,
    )
    for fmt, render in reports.FORMATS.items():
        if not (capped and fmt in ("csv", "parquet")):  # these write the float sums whole
            assert render(new) == render(old), fmt
    assert terminal.render(new, 160) == terminal.render(old, 160)


@pytest.mark.parametrize("run", ["samples", "generated"])
@pytest.mark.parametrize("by", [[], ["model"], ["day"]])
@pytest.mark.parametrize("cap", list(CAPS))
def test_partials_equal_the_whole_table(
    runs: dict[str, tuple[list[pl.DataFrame], IngestStats]],
    run: str,
    by: list[str],
    cap: str | None,
) -> None:
    results, stats = runs[run]
    spec = CAPS[cap]
    whole = pl.concat(results)  # the table `analyze` collects: the results, in order
    splits = {
        "one result": [whole],
        "the pipeline's results": results,
        "uneven slices": _slices(whole),
    }
    assert len(splits["uneven slices"]) > 4  # (the pipeline prices 5,000 traces at once)
    for name, pieces in splits.items():
        old = reference.build(pl.concat(pieces), None, stats, by, cap=spec)
        partial = _tree([Partial.of(p, None, by, spec is not None) for p in pieces])
        built = reports.finish(partial, stats, cap=spec)
        try:
            _same(built, old, spec is not None)
        except AssertionError as error:
            msg = f"{run}, split as {name}: {error}"
            raise AssertionError(msg) from error
        if name == "the pipeline's results":  # the command's own way: one at a time
            collected = reports.collect(_Results(pieces), by, spec)
            _same(reports.finish(collected, stats, cap=spec), old, spec is not None)


class _Results(list["_Result"]):
    """Traces frames seen as `pipeline.ShardResult`s."""

    def __init__(self, frames: list[pl.DataFrame]) -> None:
        super().__init__(_Result(f) for f in frames)


class _Result:
    def __init__(self, traces: pl.DataFrame) -> None:
        self.traces = traces
        self.steps = None


def test_an_empty_run_reports_nothing_computed() -> None:
    """As the whole-table report did; and with `--by`, where it failed (no metadata column)."""
    stats = IngestStats()
    built = reports.finish(reports.collect([]), stats)
    _same(built, reference.build(pl.DataFrame(), None, stats))
    grouped = reports.finish(reports.collect([], ["model"]), stats)
    assert grouped.overall.row(0, named=True) == {"traces": 0}
    assert grouped.missing == built.missing
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        reference.build(pl.DataFrame(), None, stats, ["model"])


def test_quantiles_from_histograms_are_polars_own() -> None:
    """The linear quantiles of value -> count histograms equal polars' over the column,
    to the bit, with nulls in the groups (they shift polars' rank and its rounding)."""
    rng = random.Random(7)
    for _ in range(40):
        rows = rng.randint(1, 300)
        top = rng.choice([3, 50, 5_000, 2_000_000])
        frame = pl.DataFrame(
            {
                "g": [rng.choice("abcde") for _ in range(rows)],
                "t": [rng.randint(0, top) if rng.random() > 0.2 else None for _ in range(rows)],
            },
            schema={"g": pl.String, "t": pl.Int64},
        )
        hist = frame.group_by("g", "t").agg(pl.len().cast(pl.Int64).alias(histograms.COUNT))
        mine = histograms.quantiles(hist, ["g"], "t", "x").sort("g")
        polars = (
            frame.group_by("g")
            .agg(
                pl.col("t").quantile(0.5, "linear").alias("x_p50"),
                pl.col("t").quantile(0.9, "linear").alias("x_p90"),
                pl.col("t").quantile(0.99, "linear").alias("x_p99"),
            )
            .sort("g")
        )
        assert_frame_equal(mine, polars, check_exact=True)
        whole = histograms.quantiles(hist.drop("g"), [], "t", "x")
        assert whole.row(0) == tuple(frame["t"].quantile(q, "linear") for q in (0.5, 0.9, 0.99))
        cap = histograms.nearest(hist, "t", 0.9)
        measured = frame["t"].drop_nulls()
        if measured.len():
            expected = measured.quantile(0.9, "nearest")
            assert expected is not None
            assert cap == (int(expected), measured.len())
        else:
            assert cap is None


def test_what_is_held_does_not_grow_with_the_traces(
    runs: dict[str, tuple[list[pl.DataFrame], IngestStats]],
) -> None:
    """The same traces twice: every table of the partial keeps its size (the histograms
    count twice as many traces in the same rows); only the float column's chunks add up."""
    results, _ = runs["generated"]
    once = reports.collect(_Results(results), ["model"], CAPS["p90"])
    twice = reports.collect(_Results(results + results), ["model"], CAPS["p90"])
    assert once.groups is not None
    assert twice.groups is not None
    assert twice.groups.height == once.groups.height
    assert {k: v.height for k, v in twice.hists.items()} == {
        k: v.height for k, v in once.hists.items()
    }
    assert twice.points is not None
    assert twice.points.height <= partials.POINTS
    assert all(frame.height <= partials.OUTLIER_COUNT for frame in twice.outliers.values())
    held = sum(f.rows for f in twice.floats)
    assert held == 2 * sum(r.height for r in results)
    assert int(twice.overall["count"][0]) == 2 * int(once.overall["count"][0])  # type: ignore[index]


def test_a_big_result_is_handed_on_in_pieces(tmp_path: Path) -> None:
    """The driver never holds a big file priced whole: its traces come PRICE_ROWS at a
    time, and together they are the table `analyze` collects."""
    log = tmp_path / "tiny.jsonl"
    with log.open("wb") as out:
        for i in range(PRICE_ROWS + 500):
            out.write(
                orjson.dumps(
                    {
                        "id": f"c{i:06d}",
                        "model": "o1-2024-12-17",
                        "choices": [{"message": {"content": f"ok {i}"}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 12, "completion_tokens": 30 + i % 7},
                    }
                )
                + b"\n"
            )
    options = AnalysisOptions(keep_steps=False, steps=False)
    pieces = [r.traces for r in analyze_results([log], options, Ingest())]
    assert [p.height for p in pieces] == [PRICE_ROWS, 500]
    assert_frame_equal(pl.concat(pieces), analyze([log], options).traces)
