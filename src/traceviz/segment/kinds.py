"""Step kinds: a linear classifier over words, cues and position, shipped as plain data.

The eight kinds are those of the Thought Anchors taxonomy (Bogdan et al. 2025,
arXiv 2506.19143). The model is trained with scikit-learn (TF-IDF of words and word
pairs, plus the step's cue and its position in the trace, into a logistic regression)
and saved as JSON: vocabulary, idf weights, coefficients and intercepts. Prediction
rebuilds the features from that data with numpy and scipy, so no fitted scikit-learn
object, and no pickle, is ever loaded.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from traceviz.errors import ConfigError
from traceviz.segment.split import marker

KINDS = (
    "problem_setup",
    "plan_generation",
    "fact_retrieval",
    "active_computation",
    "result_consolidation",
    "uncertainty_management",
    "self_checking",
    "final_answer_emission",
)
FORMAT_VERSION = 1
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern
_SYMBOLS = re.compile(r"[0-9=+\-*/^\\{}()]")
EXTRA_FEATURES = ("position", "is_first", "is_last", "symbol_share", "log_length", "question")


def analyze(text: str, cue: str | None) -> list[str]:
    """Words and word pairs of a step (scikit-learn's analyzer), and its cue as a term."""
    words = _TOKEN.findall(text.lower())
    terms = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    if cue:
        terms.append("cue_" + cue.lower().replace(" ", "_").replace("-", "_"))
    return terms


def step_terms(steps: Sequence[str], index: int) -> list[str]:
    """A step's terms, with the words of the steps before and after it as context
    (prefixed `p_` and `n_`): what a step does depends on its neighbours."""
    terms = analyze(steps[index], marker(steps[index]))
    for offset, prefix in ((-1, "p_"), (1, "n_")):
        j = index + offset
        if 0 <= j < len(steps):
            terms += [prefix + w for w in _TOKEN.findall(steps[j].lower())]
        else:
            terms.append(prefix + "none")
    return terms


def extras(text: str, index: int, count: int) -> list[float]:
    """Position and surface features of step `index` of `count`."""
    length = max(len(text), 1)
    return [
        index / max(count - 1, 1),
        float(index == 0),
        float(index == count - 1),
        len(_SYMBOLS.findall(text)) / length,
        math.log(length) / 10,
        float("?" in text),
    ]


@dataclass(frozen=True)
class KindModel:
    """A trained step-kind classifier as plain data."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    kinds: tuple[str, ...] = KINDS

    def features(self, traces: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        """One row per step of each trace: TF-IDF (sublinear tf, l2-normalised) of its
        terms with context, then the extra features."""
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        dense = []
        row = -1
        for trace in traces:
            for index, text in enumerate(trace):
                row += 1
                dense.append(extras(text, index, len(trace)))
                self._tfidf_row(step_terms(trace, index), row, rows, cols, vals)
        tfidf = sparse.csr_matrix(
            (vals, (rows, cols)), shape=(row + 1, len(self.vocabulary)), dtype=np.float64
        )
        extra = sparse.csr_matrix(np.array(dense).reshape(row + 1, len(EXTRA_FEATURES)))
        return sparse.hstack([tfidf, extra]).tocsr()

    def _tfidf_row(
        self, terms: list[str], row: int, rows: list[int], cols: list[int], vals: list[float]
    ) -> None:
        counts = Counter(self.vocabulary[t] for t in terms if t in self.vocabulary)
        if not counts:
            return
        weights = {c: (1 + math.log(n)) * self.idf[c] for c, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        for c, w in weights.items():
            rows.append(row)
            cols.append(c)
            vals.append(w / norm)

    def predict(self, traces: Sequence[Sequence[str]]) -> list[str]:
        """The kind of every step of every trace, flattened in order."""
        if not any(traces):
            return []
        scores = self.features(traces) @ self.coef.T + self.intercept
        return [self.kinds[i] for i in np.asarray(scores).argmax(axis=1)]

    def save(self, path: str | Path) -> None:
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        document = {
            "format": "traceviz-kinds",
            "version": FORMAT_VERSION,
            "kinds": list(self.kinds),
            "extra_features": list(EXTRA_FEATURES),
            "terms": terms,
            "idf": [round(float(x), 6) for x in self.idf],
            "coef": [[round(float(x), 6) for x in row] for row in self.coef],
            "intercept": [round(float(x), 6) for x in self.intercept],
        }
        Path(path).write_text(json.dumps(document, separators=(",", ":")))


def load(path: str | Path | None = None) -> KindModel:
    """A saved model: the one shipped with traceviz, or a user's (`--kinds-model`)."""
    try:
        raw = (
            (files("traceviz") / "data" / "kinds-model.json").read_text()
            if path is None
            else Path(path).read_text()
        )
        document: dict[str, Any] = json.loads(raw)
        if document.get("format") != "traceviz-kinds":
            msg = "not a traceviz kinds model"
            raise ValueError(msg)
        terms = document["terms"]
        return KindModel(
            vocabulary={t: i for i, t in enumerate(terms)},
            idf=np.asarray(document["idf"], dtype=np.float64),
            coef=np.asarray(document["coef"], dtype=np.float64),
            intercept=np.asarray(document["intercept"], dtype=np.float64),
            kinds=tuple(document["kinds"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"{path}: cannot load the step-kind model: {exc}"
        raise ConfigError(
            msg, hint="Train one with `traceviz kinds train LABELS.jsonl -o model.json`."
        ) from exc
