"""The step-kind classifier: plain-data model with its measured accuracy, probabilities
that compose, and the train/eval commands a team uses to ship its own."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from importlib.resources import files
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from traceviz import segment, tokens
from traceviz.cli import main
from traceviz.schema import KIND_CONFIDENCE, TRACE_SCHEMA
from traceviz.segment import features, kinds, training

LABELS = Path(__file__).parent / "data" / "labelled-sample.jsonl"
SHARED = Path("/work/shared/data/thought-anchors/labelled-traces.jsonl")
SAMPLES = Path(__file__).parent.parent / "samples"
# a small recipe so that tests train in seconds
QUICK = replace(training.RECIPE, c=0.5)


@pytest.fixture(scope="module")
def data() -> training.Labelled:
    return training.read_labels(LABELS)


@pytest.fixture(scope="module")
def model(data: training.Labelled) -> kinds.KindModel:
    return training.fit(data, QUICK)


def test_shipped_model_is_json_loads_fast_and_carries_its_accuracy() -> None:
    document = json.loads((files("traceviz") / "data" / "kinds-model.json").read_text())
    assert document["format"] == "traceviz-kinds"
    assert document["kinds"] == list(kinds.KINDS)
    started = time.perf_counter()
    shipped = kinds.load()
    assert time.perf_counter() - started < 1.0
    evaluation = shipped.evaluation
    assert evaluation is not None
    assert (evaluation.folds, evaluation.grouped_by) == (7, "problem")
    assert evaluation.data == "labelled-traces.jsonl"
    assert evaluation.steps == 3745
    assert evaluation.accuracy >= 0.60
    assert evaluation.macro_f1 >= 0.56
    # the composition from summed probabilities beat argmax counts on held-back problems
    assert evaluation.share_error_summed is not None
    assert evaluation.share_error_argmax is not None
    assert evaluation.share_error_summed < evaluation.share_error_argmax
    assert shipped.note == (
        f"step kinds are an estimate: cross-validated accuracy {evaluation.accuracy:.2f},"
        f" macro-F1 {evaluation.macro_f1:.2f} (7 folds grouped by problem)"
    )


def test_probabilities_sum_to_one_and_choose_the_kind(
    data: training.Labelled, model: kinds.KindModel
) -> None:
    p = model.probabilities(data.traces)
    assert p.shape == (sum(map(len, data.traces)), len(kinds.KINDS))
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p >= 0).all()
    assert model.predict(data.traces) == [kinds.KINDS[i] for i in model.choose(p)]
    assert model.probabilities([]).shape == (0, len(kinds.KINDS))


def test_tfidf_equals_scikit_learn(data: training.Labelled, model: kinds.KindModel) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = features.term_lists(data.traces)
    vectorizer = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True, min_df=2).fit(docs)
    assert model.vocabulary == vectorizer.vocabulary_
    assert np.allclose(
        model.design(data.traces).tfidf.toarray(), vectorizer.transform(docs).toarray()
    )


def test_folded_coefficients_give_scikit_learns_probabilities(
    data: training.Labelled, model: kinds.KindModel
) -> None:
    """Scaling, context weight and prior correction folded into the saved numbers give
    what the fitted scikit-learn model says, prior-corrected."""
    from sklearn.linear_model import LogisticRegression

    x = model.design(data.traces)
    mean, scale = x.dense.mean(axis=0), x.dense.std(axis=0)
    scale[scale < 1e-9] = 1.0
    labels = np.array([k for trace in data.kinds for k in trace])
    classifier = LogisticRegression(C=QUICK.c, max_iter=5000, random_state=training.SEED)
    matrix = training._matrix(x, QUICK, mean, scale)
    classifier.fit(matrix, labels, sample_weight=training._weights(labels, QUICK))
    present = [kinds.KINDS.index(k) for k in classifier.classes_]
    corrected = classifier.decision_function(matrix) - QUICK.balance * np.log(
        training._base_weights(labels)[present]
    )
    expected = np.exp(corrected - corrected.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(model.probabilities(data.traces)[:, present], expected, atol=1e-6)


def test_neighbours_count_but_only_within_a_trace(model: kinds.KindModel) -> None:
    a = ["Wait, let me check that again.", "So 3 * 4 = 12.", "Therefore the answer is 12."]
    b = ["The problem asks for the area of a circle.", "Area is pi r^2."]
    alone = model.probabilities([a])
    assert np.allclose(model.probabilities([b, a, b])[2:5], alone)
    changed = model.probabilities([[a[0], "Hmm, maybe I made a mistake.", a[2]]])
    assert not np.allclose(changed[0], alone[0])  # the next step's words matter
    assert not np.allclose(changed[2], alone[2])  # and the previous step's


def test_round_trip_keeps_predictions_and_evaluation(
    tmp_path: Path, data: training.Labelled, model: kinds.KindModel
) -> None:
    evaluation = kinds.Evaluation(0.5, 0.4, 2, "problem", 10, 2, "x.jsonl", "2026-01-01")
    path = tmp_path / "model.json"
    model.with_evaluation(evaluation).save(path)
    loaded = kinds.load(path)
    assert loaded.predict(data.traces) == model.predict(data.traces)
    assert np.allclose(
        loaded.probabilities(data.traces), model.probabilities(data.traces), atol=1e-4
    )
    assert loaded.evaluation == evaluation
    assert "pickle" not in path.read_text()[:100]


def test_bad_model_files_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("{}")
    with pytest.raises(kinds.ConfigError, match="cannot load the step-kind model"):
        kinds.load(path)
    path.write_text(json.dumps({"format": "traceviz-kinds", "version": 2}))
    with pytest.raises(kinds.ConfigError, match="format version 2, this traceviz reads 3"):
        kinds.load(path)


def test_bad_label_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(LABELS.read_text().splitlines()[0] + '\n{"trace_id": "x"}\n')
    with pytest.raises(kinds.ConfigError, match=r"labels.jsonl:2: not a labelled trace"):
        training.read_labels(path)


def _traces(rows: list[dict[str, object]]) -> pl.DataFrame:
    base = dict.fromkeys(TRACE_SCHEMA)
    full = [base | {"source": "t", "line": i + 1, "format": "x"} | r for i, r in enumerate(rows)]
    return tokens.count(pl.DataFrame(full, schema=TRACE_SCHEMA))


def test_steps_carry_confidence_and_traces_their_expected_kinds() -> None:
    traces = _traces(
        [
            {"trace_id": "a", "model": "deepseek-reasoner", "answer": "12",
             "reasoning": "We need 3 times 4.\n\nSo 3 * 4 = 12. Wait, let me check.\n\nYes, 12."},
            {"trace_id": "b", "model": "o1", "reasoning": None, "answer": "12"},
            {"trace_id": "c", "model": "deepseek-reasoner", "reasoning": "", "answer": "12"},
            {"trace_id": "a", "model": "deepseek-reasoner", "answer": "5",
             "reasoning": "Okay, the problem gives 2 and 3. Adding them gives 5."},
        ]
    )  # fmt: skip
    table, probabilities = segment.classify(traces)
    assert table[KIND_CONFIDENCE].is_between(0, 1).all()
    rows = np.arange(table.height)
    chosen = [kinds.KINDS.index(k) for k in table["kind"]]
    assert np.allclose(table[KIND_CONFIDENCE].to_numpy(), probabilities[rows, chosen])
    out = segment.metrics(traces, table, probabilities)
    expected = out.select(segment.KIND_EXPECTED)
    sums = expected.sum_horizontal().to_list()
    assert sums[0] == pytest.approx(out["steps"][0])
    assert sums[3] == pytest.approx(out["steps"][3])  # same id, own steps
    assert expected.row(1) == (None,) * len(kinds.KINDS)  # hidden reasoning: null
    assert expected.row(2) == (0.0,) * len(kinds.KINDS)  # visible but empty: no steps
    # the argmax counts are still there, and agree on the step count
    assert out.select(segment.KIND_STEPS).sum_horizontal()[0] == out["steps"][0]


def test_train_writes_a_model_that_kinds_model_uses(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "m.json"
    result = runner.invoke(main, ["kinds", "train", str(LABELS), "-o", str(out), "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert "trained on 581 steps of 4 traces" in result.stderr
    evaluation = json.loads(out.read_text())["evaluation"]
    assert (evaluation["folds"], evaluation["grouped_by"], evaluation["steps"]) == (
        2,
        "problem",
        581,
    )
    note = kinds.load(out).note
    assert "(2 folds grouped by problem)" in note
    result = runner.invoke(
        main,
        ["report", str(SAMPLES / "deepseek-reasoner.json"), "--format", "json", "--no-cache",
         "--kinds-model", str(out), "--quarantine", str(tmp_path / "q.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert f"{note}; shares are summed step probabilities" in report["estimates"]
    shares = [row["share"] for row in report["step_kinds"]]
    assert sum(shares) == pytest.approx(1.0)
    steps_out = tmp_path / "steps.parquet"
    result = runner.invoke(
        main,
        ["steps", str(SAMPLES / "deepseek-reasoner.json"), "-o", str(steps_out),
         "--kinds-model", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = pl.read_parquet(steps_out)
    assert written.height > 0
    ours = kinds.load(out)  # the steps were labelled by our model, not the shipped one
    p = ours.probabilities([_step_texts(written)])
    assert written["kind"].to_list() == [kinds.KINDS[i] for i in ours.choose(p)]
    confidence = p[np.arange(len(p)), ours.choose(p)]
    assert np.allclose(written[KIND_CONFIDENCE].to_numpy(), confidence)


def _step_texts(written: pl.DataFrame) -> list[str]:
    from traceviz import read

    traces = read([str(SAMPLES / "deepseek-reasoner.json")])
    reasoning = traces["reasoning"][0]
    return [reasoning[s:e] for s, e in written.select("start", "end").rows()]


def test_train_without_eval_says_accuracy_is_unmeasured(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    result = CliRunner().invoke(main, ["kinds", "train", str(LABELS), "-o", str(out), "--no-eval"])
    assert result.exit_code == 0, result.output
    assert kinds.load(out).note == kinds.UNMEASURED_NOTE
    assert kinds.UNMEASURED_NOTE in result.stderr


def test_eval_prints_cross_validation_per_kind_and_share_error() -> None:
    result = CliRunner().invoke(
        main, ["kinds", "eval", str(LABELS), "--folds", "2"], terminal_width=120
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "grouped 2-fold cross-validation by problem: 581 steps of 4 traces"
    assert lines[1].startswith("accuracy  0.")
    assert lines[2].startswith("macro-F1  0.")
    for kind in kinds.KINDS:
        assert any(line.startswith(kind + " ") for line in lines), kind
    assert any(
        line.startswith("kind-share error per trace (mean absolute, over kinds): argmax counts")
        for line in lines
    )
    assert "Confusion (rows: truth, columns: predicted)" in result.stdout


def test_eval_without_labels_prints_the_models_own_evaluation() -> None:
    result = CliRunner().invoke(main, ["kinds", "eval"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == kinds.load().note
    assert "trained on 3,745 steps of 28 traces (labelled-traces.jsonl)" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="the shared labelled set is not on this machine")
def test_shipped_recipe_meets_its_recorded_cross_validation() -> None:
    """Recomputes the 7-fold grouped cross-validation (about a minute on 2 cores)."""
    data = training.read_labels(SHARED)
    cv = training.cross_validate(data, 7)
    recorded = kinds.load().evaluation
    assert recorded is not None
    assert cv.accuracy == pytest.approx(recorded.accuracy, abs=0.002)
    assert cv.macro_f1 == pytest.approx(recorded.macro_f1, abs=0.002)
    assert cv.accuracy >= 0.60
    assert cv.macro_f1 >= 0.56


def test_train_into_a_missing_folder_fails_before_training(tmp_path: Path) -> None:
    out = tmp_path / "nowhere" / "m.json"
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["kinds", "train", str(LABELS), "-o", str(out)])
    assert result.exit_code == 1
    assert f"{out}: cannot write: the folder {out.parent} does not exist" in result.stderr
    assert time.perf_counter() - started < 2.0  # no model was trained first
    assert not out.exists()


@pytest.mark.parametrize(
    ("pattern", "wider"),
    [
        (r"(?i)\bhmm+\b", r"(?i)hmm+"),
        (r"(?i)^\W*(but\s+|oh\s+)?wait\b", r"(?i)^\W*(but\s+|oh\s+)?wait"),
        (r"(?i)\b(double[- ]?check|make sure)\b", r"(?i)(double[- ]?check|make sure)"),
        (r"\\boxed|(?i)\*\*final answer", None),  # a backslash and "boxed", no boundary
        (r"\\\bx", r"\\x"),
        (r"[\b]x\b", r"[\b]x"),  # inside brackets it is not a boundary
        (r"[]\b]\b", r"[]\b]"),
        (r"\b{start}word", None),
        (r"a\b+", None),
        (r"\d\s*=", None),
    ],
)
def test_loose_drops_only_word_boundaries(pattern: str, wider: str | None) -> None:
    assert features.loose(pattern) == wider


def test_cue_flags_are_the_patterns_own_matches_on_any_script() -> None:
    texts = pl.Series(
        [
            "Wait, let me check the approach.",
            "éapproach, Éidea, recallé, maybeé, computeé",  # word characters glued on
            "日本語 approach 日本語, perhaps 再 check",
            "ſince the \u212aelvin form is known, we can hold on",  # non-ASCII case folds
            "So the answer is \\boxed{5}. **Final answer** 5",
            "",
        ]
    )
    found = features.cue_flags(texts, features.CUES)
    for name, pattern in features.CUES:
        expected = texts.str.contains(pattern).cast(pl.Float64)
        assert found[name].to_list() == expected.to_list(), name
    assert found["approach"].to_list() == [1.0, 0.0, 1.0, 0.0, 0.0, 0.0]


def test_sparse_rows_multiply_and_shift_with_scipys_bits(
    data: training.Labelled, model: kinds.KindModel
) -> None:
    """Prediction uses numpy, not scipy.sparse, and gives the bits scipy's CSR product
    and shift matrix gave (each row's products summed in order from zero)."""
    from scipy import sparse

    x = model.design(data.traces)
    rows = x.tfidf
    csr = sparse.csr_matrix((rows.values, rows.columns, rows.indptr), shape=rows.shape)
    coefficients = np.random.default_rng(0).normal(size=(rows.shape[1], 24))
    coefficients[::7] = -0.0
    expected = np.asarray(csr @ coefficients)
    assert rows.dot(coefficients).tobytes() == expected.tobytes()
    assert rows.dot(coefficients, block=5).tobytes() == expected.tobytes()  # in blocks
    assert np.array_equal(rows.toarray(), csr.toarray())
    n = rows.shape[0]
    for by, edge in ((1, x.first), (-1, x.last)):
        keep = ~edge
        mover = sparse.csr_matrix(
            (np.ones(int(keep.sum())), (np.flatnonzero(keep), (np.arange(n) - by)[keep])),
            shape=(n, n),
        )
        assert features.shift(expected, x, by).tobytes() == (mover @ expected).tobytes()


def test_a_vocabulary_without_a_pair_table_finds_the_same_terms(
    data: training.Labelled, model: kinds.KindModel
) -> None:
    table = model.terms
    searched = features.vocabulary(model.vocabulary, model.idf, pair_table=0)
    assert table.pair is not None
    assert searched.pair is None
    by_table = features.design(data.traces, table, model.cues, model.novelty).tfidf
    by_search = features.design(data.traces, searched, model.cues, model.novelty).tfidf
    assert np.array_equal(by_table.indptr, by_search.indptr)
    assert np.array_equal(by_table.columns, by_search.columns)
    assert by_table.values.tobytes() == by_search.values.tobytes()
    assert by_table.indptr[-1] > 1000  # terms were found, pairs among them
    pairs = [t for t in model.vocabulary if " " in t]
    assert np.isin(by_table.columns, [model.vocabulary[t] for t in pairs]).any()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="12.٣٤x .\n", max_size=12), max_size=8))
@example(["1.2.3", "٣.٤", "1..2", ".5", "12.", "a1b2.3c", "", "...", "1.2.3.4.5"])
def test_numbers_and_digits_of_one_pass_are_the_regex_counts(texts: list[str]) -> None:
    series = pl.Series(texts, dtype=pl.String)
    numbers, digits = features._numbers(series)
    assert numbers.to_list() == series.str.count_matches(features.NUMBER_PATTERN).to_list()
    assert digits.to_list() == series.str.count_matches(r"\d").to_list()


def test_predicting_kinds_imports_neither_scipy_nor_scikit_learn() -> None:
    """Only training needs them: a command that classifies steps does not pay their
    import (about 0.1 s for scipy.sparse)."""
    import subprocess
    import sys

    code = (
        "import sys; from traceviz import segment;"
        " p = segment.default_model().probabilities([['Okay, so 2 + 2.', 'Wait, check it.']]);"
        " assert p.shape == (2, 8);"
        " print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'sklearn'}))"
    )
    src = Path(__file__).resolve().parent.parent / "src"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": ""},
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_shipped_model_loads_the_floats_json_reads() -> None:
    document = json.loads((files("traceviz") / "data" / "kinds-model.json").read_text())
    shipped = kinds.load()
    for name in ("coef", "idf", "intercept", "decision_bias"):
        assert np.asarray(document[name]).tobytes() == getattr(shipped, name).tobytes(), name
    assert list(shipped.vocabulary) == document["terms"]
