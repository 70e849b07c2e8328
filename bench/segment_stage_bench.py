"""The measure stage (`pipeline.measure`: tokens, steps, kinds, metrics) part by part,
the code before issue 18 (the reference kept in `tests/segment_reference/`) against
the shipped code, in one run.

    python bench/segment_stage_bench.py --log /work/before/r1small.jsonl
    python bench/segment_stage_bench.py --size 8MB --repeat 3   # a generated R1/o1 log

The log is read into batches first (not timed). Each repeat runs the reference and then
the shipped code over every batch (alternating, so that a busy machine slows both
alike), and each part's best time over the repeats is printed, in CPU seconds of the
process (all its threads: the work done, which a shared machine's load does not
inflate as it does wall time) and in wall seconds:

- cut: the step splitter (`segment.cut`, the same code for both);
- tokenizer: `tokens.count` with the steps' parts (the same code for both);
- kinds features / kinds prediction: `KindModel.design`, and the rest of `classify`
  (the products, softmax, choice and the steps table);
- metrics text (polars): `text_metrics`; metrics per trace (Python): `trace_metrics`
  and `answer_metrics` of hidden traces; metrics frame work: the rest of `metrics`.

The shipped code reads the steps' words once, in `classify` (`word_runs`, timed with
the kinds features), for the features and `text_metrics` both, as `segment.measure`
does.

Also checks that both give the same steps and traces tables (kinds exactly,
probabilities to 1e-12).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl
from generate import generate, parse_size
from polars.testing import assert_frame_equal

from traceviz import segment, tokens
from traceviz.load import read_batches

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import segment_reference as reference  # noqa: E402 (the tests folder is put on the path)

PARTS = (
    "cut",
    "tokenizer",
    "kinds features",
    "kinds prediction",
    "metrics text (polars)",
    "metrics per trace (Python)",
    "metrics frame work",
)


class Clock:
    """CPU and wall seconds spent in named parts, summed over calls."""

    def __init__(self) -> None:
        self.spent: dict[str, np.ndarray] = {part: np.zeros(2) for part in PARTS}

    @staticmethod
    def now() -> np.ndarray:
        return np.array([time.process_time(), time.perf_counter()])

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            started = self.now()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[name] += self.now() - started

        return run


def _instrument(stage: ModuleType, clock: Clock) -> Callable[[], None]:
    """Times the inner parts of `stage` (the package or the reference); returns undo."""
    kinds = stage.kinds_module
    saved = [
        (kinds.KindModel, "design", kinds.KindModel.design),
        (stage, "text_metrics", stage.text_metrics),
        (stage, "trace_metrics", stage.trace_metrics),
        (stage, "answer_metrics", stage.answer_metrics),
    ]
    kinds.KindModel.design = clock.timed("kinds features", kinds.KindModel.design)
    if hasattr(stage, "word_runs"):  # the steps' words, read for the features and metrics
        saved.append((stage, "word_runs", stage.word_runs))
        stage.word_runs = clock.timed("kinds features", stage.word_runs)
    stage.text_metrics = clock.timed("metrics text (polars)", stage.text_metrics)
    stage.trace_metrics = clock.timed("metrics per trace (Python)", stage.trace_metrics)
    stage.answer_metrics = clock.timed("metrics per trace (Python)", stage.answer_metrics)

    def undo() -> None:
        for owner, name, value in saved:
            setattr(owner, name, value)

    return undo


def measure(stage: ModuleType, frames: list[pl.DataFrame]) -> tuple[dict[str, np.ndarray], list]:
    """One pass of the measure stage over every batch, timed part by part."""
    clock = Clock()
    spent = clock.spent
    undo = _instrument(stage, clock)
    out = []
    try:
        for frame in frames:
            started = clock.now()
            cuts = segment.cut(frame)
            spent["cut"] += clock.now() - started
            started = clock.now()
            counted = tokens.count(frame, None, segment.part_starts(cuts))
            spent["tokenizer"] += clock.now() - started
            before = spent["kinds features"].copy()
            started = clock.now()
            if hasattr(stage, "_classify"):  # the shipped code, as `segment.measure` runs it
                steps, probabilities, words = stage._classify(counted, None, cuts)
            else:
                (steps, probabilities), words = stage.classify(counted, None, cuts), None
            spent["kinds prediction"] += clock.now() - started - (spent["kinds features"] - before)
            inner = spent["metrics text (polars)"] + spent["metrics per trace (Python)"]
            started = clock.now()
            traces = stage.metrics(
                counted.drop(tokens.REASONING_PART_TOKENS),
                steps,
                probabilities,
                *([] if words is None else [words]),
            )
            after = spent["metrics text (polars)"] + spent["metrics per trace (Python)"]
            spent["metrics frame work"] += clock.now() - started - (after - inner)
            out.append((steps, traces, probabilities))
    finally:
        undo()
    return spent, out


def _same(old: list, new: list) -> None:
    for (old_steps, old_traces, old_p), (steps, traces, p) in zip(old, new, strict=True):
        close = {"check_exact": False, "rel_tol": 0.0, "abs_tol": 1e-12}
        assert_frame_equal(steps, old_steps, **close)
        assert_frame_equal(traces, old_traces, **close)
        assert np.abs(p - old_p).max(initial=0.0) < 1e-12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, help="a log to measure (default: generate one)")
    parser.add_argument("--size", type=parse_size, default=parse_size("8MB"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        log = args.log
        if log is None:
            log = Path(work) / "log.jsonl"
            generate(log, args.size)
        frames = list(read_batches([str(log)]))
    steps = sum(len(c) for f in frames for c in segment.cut(f))
    traces = sum(f.height for f in frames)
    print(f"log: {log}, {traces:,} traces, {steps:,} steps, {len(frames)} batches")
    shipped = importlib.import_module("traceviz.segment.stage")
    measure(shipped, frames[:1])  # loads the tokenizers and the models once, untimed
    measure(reference, frames[:1])
    best: dict[str, dict[str, np.ndarray]] = {"before": {}, "after": {}}
    for _ in range(args.repeat):
        for label, stage in (("before", reference), ("after", shipped)):
            spent, out = measure(stage, frames)
            for part, seconds in spent.items():
                best[label][part] = np.minimum(best[label].get(part, seconds), seconds)
            if label == "before":
                old = out
            else:
                _same(old, out)
    print(
        f"best of {args.repeat}, seconds   {'CPU before':>11s} {'after':>7s}"
        f"  {'wall before':>12s} {'after':>7s}"
    )
    rows = [(part, best["before"][part], best["after"][part]) for part in PARTS]
    mine = PARTS[2:]
    rows.append(
        (
            "kinds + metrics",
            sum(best["before"][p] for p in mine),
            sum(best["after"][p] for p in mine),
        )
    )
    rows.append(("whole stage", sum(best["before"].values()), sum(best["after"].values())))
    for part, before, after in rows:
        print(f"{part:28s} {before[0]:11.3f} {after[0]:7.3f}  {before[1]:12.3f} {after[1]:7.3f}")
    _, before, after = rows[-2]
    print(
        f"kinds + metrics: {before[0] / after[0]:.2f}x less CPU,"
        f" {before[1] / after[1]:.2f}x less wall"
    )
    print("same steps and traces tables: yes (kinds exact, probabilities to 1e-12)")


if __name__ == "__main__":
    main()
