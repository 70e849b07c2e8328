"""The step-kind classifier: plain-data model, same predictions after a round trip."""

from __future__ import annotations

import json
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from traceviz.cli import main
from traceviz.segment import kinds, training

LABELS = Path(__file__).parent / "data" / "labelled-sample.jsonl"


def test_shipped_model_is_json_and_loads_fast() -> None:
    path = files("traceviz") / "data" / "kinds-model.json"
    document = json.loads(path.read_text())
    assert document["format"] == "traceviz-kinds"
    assert document["kinds"] == list(kinds.KINDS)
    started = time.perf_counter()
    kinds.load()
    assert time.perf_counter() - started < 1.0


def test_round_trip_gives_the_same_predictions(tmp_path: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    data = training.read_labels(LABELS)
    model = training.fit(data)
    # our TF-IDF rebuilt from plain data equals scikit-learn's own transform
    docs = kinds.term_lists(data.traces)
    vectorizer = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True, min_df=2).fit(docs)
    ours = model.features(data.traces)[:, : len(model.vocabulary)].toarray()
    theirs = vectorizer.transform(docs).toarray()
    assert np.allclose(ours, theirs)
    path = tmp_path / "model.json"
    model.save(path)
    loaded = kinds.load(path)
    assert loaded.predict(data.traces) == model.predict(data.traces)
    assert "pickle" not in path.read_text()[:100]


def test_bad_model_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("{}")
    with pytest.raises(kinds.ConfigError, match="cannot load the step-kind model"):
        kinds.load(path)


def test_train_and_eval_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "m.json"
    result = runner.invoke(main, ["kinds", "train", str(LABELS), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists()
    result = runner.invoke(main, ["kinds", "eval", str(LABELS), "--folds", "2"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "grouped 2-fold cross-validation" in result.stdout
    assert "macro-F1" in result.stdout
