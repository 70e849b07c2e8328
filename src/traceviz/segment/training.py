"""Training and cross-validating the step-kind classifier on labelled steps.

Labels come as JSON Lines in the Thought Anchors shape: one trace per line with
`trace_id` and `chunks: [{text, tags}]`. Cross-validation is grouped (every step of a
trace, and of a problem, is in the same fold), since steps of one trace are alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from traceviz.errors import ConfigError
from traceviz.segment.kinds import KINDS, KindModel, term_lists

SEED = 0
C = 4.0


@dataclass(frozen=True, slots=True)
class Labelled:
    """Labelled traces: the steps of each, their kinds, and each trace's group (problem)."""

    traces: list[list[str]]
    kinds: list[list[str]]
    groups: list[str]


def read_labels(path: str | Path) -> Labelled:
    traces: list[list[str]] = []
    kinds: list[list[str]] = []
    groups: list[str] = []
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        msg = f"{path}: cannot read labels: {exc.strerror}"
        raise ConfigError(msg) from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            trace = json.loads(line)
            chunks = [c for c in trace["chunks"] if c["tags"] and c["tags"][0] in KINDS]
            traces.append([c["text"] for c in chunks])
            kinds.append([c["tags"][0] for c in chunks])
            groups.append(str(trace.get("problem") or trace["trace_id"]))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            msg = f"{path}:{number}: not a labelled trace ({exc})"
            raise ConfigError(
                msg, hint="Each line needs trace_id and chunks: [{text, tags}]."
            ) from exc
    if not any(traces):
        msg = f"{path}: no labelled steps"
        raise ConfigError(msg)
    return Labelled(traces, kinds, groups)


def fit(data: Labelled) -> KindModel:
    """Train on all the labelled steps."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=lambda doc: doc, sublinear_tf=True, min_df=2)
    vectorizer.fit(term_lists(data.traces))
    vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
    draft = KindModel(vocabulary, vectorizer.idf_, np.zeros((len(KINDS), 1)), np.zeros(len(KINDS)))
    features = draft.features(data.traces)
    classifier = LogisticRegression(C=C, max_iter=3000, class_weight="balanced", random_state=SEED)
    classifier.fit(features, [k for trace in data.kinds for k in trace])
    order = [
        list(classifier.classes_).index(k) if k in classifier.classes_ else None for k in KINDS
    ]
    n_features = features.shape[1]
    coef = np.array(
        [classifier.coef_[i] if i is not None else np.full(n_features, 0.0) for i in order]
    )
    intercept = np.array([classifier.intercept_[i] if i is not None else -1e9 for i in order])
    return KindModel(vocabulary, vectorizer.idf_, coef, intercept)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Grouped cross-validation figures."""

    folds: int
    accuracy: float
    macro_f1: float
    per_kind_f1: dict[str, float]
    confusion: list[list[int]]


def evaluate(data: Labelled, folds: int = 7) -> Evaluation:
    """Cross-validate with folds grouped by problem: every test step is from unseen traces."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
    from sklearn.model_selection import GroupKFold

    truth: list[str] = []
    predicted: list[str] = []
    splitter = GroupKFold(n_splits=min(folds, len(set(data.groups))))
    for train, test in splitter.split(data.traces, groups=data.groups):
        model = fit(_subset(data, train))
        truth += [k for i in test for k in data.kinds[i]]
        predicted += model.predict([data.traces[i] for i in test])
    f1 = f1_score(truth, predicted, labels=list(KINDS), average=None, zero_division=0)
    present = [k for k in KINDS if k in truth]
    return Evaluation(
        folds=splitter.get_n_splits(),
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(
            f1_score(truth, predicted, labels=present, average="macro", zero_division=0)
        ),
        per_kind_f1={k: float(v) for k, v in zip(KINDS, f1, strict=True)},
        confusion=confusion_matrix(truth, predicted, labels=list(KINDS)).tolist(),
    )


def _subset(data: Labelled, rows: np.ndarray) -> Labelled:
    return Labelled(
        [data.traces[i] for i in rows],
        [data.kinds[i] for i in rows],
        [data.groups[i] for i in rows],
    )
