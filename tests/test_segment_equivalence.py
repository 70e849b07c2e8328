"""The segment stage gives exactly what it gave before issue 18's rewrite: the steps
table (kinds, confidences, tokens) and every metric column, compared with the
reference copy kept in `tests/segment_reference/` on the samples, a generated R1/o1 log,
the labelled traces and hostile text (non-ASCII words against cue words, empty and
white-space reasoning, hidden reasoning).

Kinds, tokens, markers and every count are compared exactly; probabilities, confidences
and the float metrics to 1e-12. NOTE: not bit for bit, because the reference is not
reproducible in the last bits itself: polars' parallel group-by hands the TF-IDF terms
of a step over in a varying order, so its sums differ by up to ~4e-16 from run to run.
The shipped code orders them first, and gives the same bits every run (tested)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import segment_reference as reference
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from traceviz import segment, tokens
from traceviz.load import read_batches
from traceviz.schema import ANSWER, PROMPT, REASONING, TRACE_ID, TRACE_SCHEMA

SAMPLES = Path(__file__).parent.parent / "samples"
LABELS = Path(__file__).parent / "data" / "labelled-sample.jsonl"
SHARED = Path("/work/shared/data/thought-anchors/labelled-traces.jsonl")
BENCH = Path(__file__).parent.parent / "bench"
TOLERANCE = 1e-12
CLOSE: dict[str, Any] = {"check_exact": False, "rel_tol": 0.0, "abs_tol": TOLERANCE}  # floats only


def _measure(traces: pl.DataFrame, stage: object) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """The tokens and segment stages as `pipeline.measure` runs them, with `stage`'s
    classify and metrics (the shipped package or the reference)."""
    cuts = segment.cut(traces)
    counted = tokens.count(traces, None, segment.part_starts(cuts))
    steps, probabilities = stage.classify(counted, None, cuts)  # type: ignore[attr-defined]
    measured = stage.metrics(  # type: ignore[attr-defined]
        counted.drop(tokens.REASONING_PART_TOKENS), steps, probabilities
    )
    return steps, measured, probabilities


def assert_same(traces: pl.DataFrame) -> None:
    steps, measured, probabilities = _measure(traces, segment)
    old_steps, old_measured, old_probabilities = _measure(traces, reference)
    assert_frame_equal(steps, old_steps, **CLOSE)
    assert_frame_equal(measured, old_measured, **CLOSE)
    assert probabilities.shape == old_probabilities.shape
    np.testing.assert_allclose(probabilities, old_probabilities, rtol=0, atol=TOLERANCE)
    # the steps table without the pipeline's counted parts: the stage counts them itself
    alone, again = segment.classify(traces, None, segment.cut(traces))
    assert_frame_equal(alone, steps, check_exact=True)
    assert np.array_equal(again, probabilities)  # the same bits every run
    # as the pipeline runs it: the steps' words, read once, make the metrics too
    cuts = segment.cut(traces)
    counted = tokens.count(traces, None, segment.part_starts(cuts))
    shared_steps, shared = segment.measure(counted, None, cuts)
    assert_frame_equal(shared_steps, steps, check_exact=True)
    assert_frame_equal(shared, measured, check_exact=True)


def _traces(rows: list[dict[str, object]]) -> pl.DataFrame:
    base = dict.fromkeys(TRACE_SCHEMA)
    full = [base | {TRACE_ID: f"t{i}"} | row for i, row in enumerate(rows)]
    return pl.DataFrame(full, schema=TRACE_SCHEMA)


def _frames(paths: list[Path]) -> list[pl.DataFrame]:
    return list(read_batches([str(p) for p in paths]))


def test_samples_give_what_they_gave() -> None:
    frames = _frames(sorted(p for p in SAMPLES.iterdir() if p.is_file()))
    assert sum(f.height for f in frames) > 20
    for frame in frames:
        assert_same(frame)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small log from the benchmark's generator: R1 responses with visible reasoning
    (English, arithmetic, LaTeX, code, Chinese) and o1 responses with hidden reasoning."""
    sys.path.insert(0, str(BENCH))
    try:
        from generate import generate  # noqa: PLC0415 (a benchmark script, not a package)
    finally:
        sys.path.remove(str(BENCH))
    path = tmp_path_factory.mktemp("generated") / "r1.jsonl"
    generate(path, 600_000, seed=3)
    return path


def test_generated_log_gives_what_it_gave(generated: Path) -> None:
    frames = _frames([generated])
    whole = pl.concat(frames)
    assert whole[REASONING].is_null().sum() > 10  # hidden o1 reasoning is in it
    assert whole[REASONING].is_not_null().sum() > 50
    assert whole[REASONING].str.contains(r"[\p{Han}]").any()  # and non-ASCII words
    for frame in frames:
        assert_same(frame)


def _labelled(path: Path) -> pl.DataFrame:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        output = record.get("reasoning_and_answer") or " ".join(c["text"] for c in record["chunks"])
        reasoning, _, answer = output.partition("</think>")
        rows.append(
            {
                REASONING: reasoning,
                ANSWER: answer or None,
                PROMPT: record.get("prompt") or record.get("problem"),
                "model": "deepseek-reasoner",
            }
        )
    return _traces(rows)


def test_labelled_traces_give_what_they_gave() -> None:
    assert_same(_labelled(LABELS))


@pytest.mark.skipif(not SHARED.exists(), reason="the shared labelled set is not on this machine")
def test_shared_labelled_traces_give_what_they_gave() -> None:
    traces = _labelled(SHARED)
    assert traces.height == 28
    assert_same(traces)


HOSTILE = [
    "",
    "   \n\n  ",
    "Wait",
    "éapproach the idea. Éidea here? Approaché, recallé, maybeé and computeé.",
    "Let me check: ﬁrst, the ΚΕΛΒΙΝ \u212a and ſince we need to ﬁnd x. Hmm, maybe.",
    "Okay, so the problem asks for 2+3. Since 2 + 3 = 5, the answer is 5.\n\nWait, check: 5.",
    "日本語のテキスト。Wait, 所以 answer是 \\boxed{5}. Alternatively, 再考虑 approach.",
    "Σίγμα ΣΟΦΟΣ. Ο λόγος είναι σωστός? Perhaps. Да, проверим: 2*3 = 6.",
    "ΟΔΟΣ.\n\nΣ. ΑΣ ΣΑ. İstanbul İİ. x\u00a0y\u3000z\x1cw\u2028v. ΣΟΦΟΣ\u0301 again here.",
    "x_1 = 3. __init__ calls recall_all. 3.5 × 2 = 7. $\\frac{a}{b}$ is it.",
]


def test_hostile_text_gives_what_it_gave() -> None:
    rows: list[dict[str, object]] = [
        {REASONING: text, ANSWER: "The answer is 5.", PROMPT: "What is 2+3?"} for text in HOSTILE
    ]
    rows += [
        {REASONING: None, ANSWER: "5", PROMPT: "2+3?", "model": "o1"},
        {REASONING: None, ANSWER: None, PROMPT: None},
        {REASONING: "Only one step here, no answer.", ANSWER: None, PROMPT: "Σ?"},
    ]
    assert_same(_traces(rows))


WORDS = st.sampled_from(
    [
        "wait", "Wait", "approach", "recall", "maybe", "compute", "check", "so", "answer",
        "é", "É", "日本", "Σ", "ς", "\u212a", "ſ", "x_1", "2", "3.5", "=", "+", "$", "\\boxed",
        "?", ".", ",", ":", "\n", "\n\n", " ", "-", "Let me", "first,", "Hmm", "the problem",
        "ΟΔΟΣ", "İ", "\u00a0", "\u0301", "\x1c",
    ]
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(WORDS, max_size=60).map("".join), min_size=1, max_size=6))
@example(["Wait. " * 30 + "\n\n" + "The answer is 5. " * 5])
def test_any_text_gives_what_it_gave(reasonings: list[str]) -> None:
    assert_same(_traces([{REASONING: r, ANSWER: "5", PROMPT: "p"} for r in reasonings]))
