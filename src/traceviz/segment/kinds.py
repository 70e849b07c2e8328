"""Step kinds: a linear classifier over a step's words, cues, surface, position and
neighbours, shipped as plain data with its own cross-validated accuracy.

The eight kinds (`KINDS`, named in `schema.py`) are those of the Thought Anchors
taxonomy (Bogdan et al. 2025, arXiv 2506.19143). A model is a multinomial logistic
regression over, for every step:

- the TF-IDF (sublinear tf, l2-normalised) of its words and word pairs and its cue;
- dense features: cue regexes (`CUES`), surface statistics, position in the trace and,
  when the model was trained with them, "novelty" (new numbers, word overlap with the
  opening and the previous step, the trace's last number, steps since the last doubt);
- the TF-IDF and cue regexes of the previous and the next step (context).

The features are built by `features.py`; this module is the model: its data, the JSON
it is saved as (vocabulary, idf, cue patterns, coefficients, intercepts and the
evaluation that measured it), and prediction. Training scales the dense features and
weights the context; both are folded into the saved coefficients, so inference is one
sparse product per block plus a row shift for the neighbours, over the whole batch,
with numpy and polars: no fitted scikit-learn object, no scipy, no pickle, no loop per
step.

The probabilities are calibrated to the kind frequencies of the labels (their sums
over steps estimate the kind composition); a step's kind is chosen with a per-kind
`decision_bias` added to the log probabilities, which favours rare kinds (macro-F1).

Invariant: `probabilities` rows sum to 1, and `predict` is `choose(probabilities)`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from traceviz.errors import ConfigError
from traceviz.schema import KINDS
from traceviz.segment.evaluation import UNMEASURED_NOTE, Evaluation
from traceviz.segment.features import (
    CUES,
    Design,
    Vocabulary,
    dense_names,
    design,
    shift,
    vocabulary,
)

FORMAT_VERSION = 3


@dataclass(frozen=True)
class KindModel:
    """A trained step-kind classifier as plain data.

    `coef` has one row per kind and one column per feature, in blocks: the step's
    terms, then (with `context`) the previous and the next step's terms, then the dense
    features, then (with `context`) the previous and the next step's cue regexes.
    """

    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    kinds: tuple[str, ...] = KINDS
    cues: tuple[tuple[str, str], ...] = CUES
    context: bool = True
    novelty: bool = False
    evaluation: Evaluation | None = None
    decision_bias: np.ndarray | None = None  # per kind, added to log p to choose; None = 0

    @property
    def note(self) -> str:
        """What a report prints beside the kind composition."""
        return self.evaluation.note() if self.evaluation else UNMEASURED_NOTE

    @cached_property
    def terms(self) -> Vocabulary:
        """The vocabulary indexed for `design`, with each column's idf weight."""
        return vocabulary(self.vocabulary, self.idf)

    @cached_property
    def _blocks(self) -> dict[str, np.ndarray]:
        v = len(self.vocabulary)
        d = len(dense_names(self.cues, self.novelty))
        c = len(self.cues)
        sizes = (
            {"own": v, "prev": v, "next": v, "dense": d, "prev_cues": c, "next_cues": c}
            if self.context
            else {"own": v, "dense": d}
        )
        expected = sum(sizes.values())
        if self.coef.shape != (len(self.kinds), expected):
            need = (len(self.kinds), expected)
            msg = f"coefficients are {self.coef.shape}, the features need {need}"
            raise ConfigError(msg)
        out, at = {}, 0
        for name, size in sizes.items():
            out[name] = self.coef[:, at : at + size].T
            at += size
        if not self.context:
            return {"terms": np.ascontiguousarray(out["own"]), "dense": out["dense"]}
        # one product per block: columns are [own | previous | next] scores of each kind
        cue_rows = np.zeros((d - c, len(self.kinds)))
        return {
            "terms": np.ascontiguousarray(np.hstack([out["own"], out["prev"], out["next"]])),
            "dense": np.hstack(
                [
                    out["dense"],
                    np.vstack([out["prev_cues"], cue_rows]),
                    np.vstack([out["next_cues"], cue_rows]),
                ]
            ),
        }

    def design(self, traces: Sequence[Sequence[str]], runs: pl.Series | None = None) -> Design:
        return design(traces, self.terms, self.cues, self.novelty, runs)

    def scores(self, traces: Sequence[Sequence[str]], runs: pl.Series | None = None) -> np.ndarray:
        """One row per step of each trace, one column per kind: the linear scores
        (`runs`: the steps' `features.word_runs`, when at hand)."""
        x = self.design(traces, runs)
        blocks = self._blocks
        # NOTE: einsum, not `@`, for the dense product: BLAS threads on a tall, thin
        # product cost 10-100x more than they save on a busy machine
        parts = x.tfidf.dot(blocks["terms"]) + np.einsum("ij,jk->ik", x.dense, blocks["dense"])
        k = len(self.kinds)
        scores = parts[:, :k] + self.intercept
        if self.context:
            scores += shift(parts[:, k : 2 * k], x, 1) + shift(parts[:, 2 * k :], x, -1)
        return np.asarray(scores)

    def probabilities(
        self, traces: Sequence[Sequence[str]], runs: pl.Series | None = None
    ) -> np.ndarray:
        """One row per step of each trace: the probability of each kind (rows sum to 1;
        `runs`: the steps' `features.word_runs`, when at hand)."""
        if not any(traces):
            return np.zeros((0, len(self.kinds)))
        scores = self.scores(traces, runs)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def choose(self, probabilities: np.ndarray) -> np.ndarray:
        """The index of the kind chosen for each row of `probabilities`."""
        with np.errstate(divide="ignore"):
            scores = np.log(probabilities)
        if self.decision_bias is not None:
            scores = scores + self.decision_bias
        return np.asarray(scores.argmax(axis=1))

    def predict(self, traces: Sequence[Sequence[str]]) -> list[str]:
        """The kind of every step of every trace, flattened in order."""
        return [self.kinds[i] for i in self.choose(self.probabilities(traces))]

    def with_evaluation(self, evaluation: Evaluation) -> KindModel:
        return replace(self, evaluation=evaluation)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    def to_json(self) -> str:
        """The model as one JSON document (what `load` reads)."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        document = {
            "format": "traceviz-kinds",
            "version": FORMAT_VERSION,
            "kinds": list(self.kinds),
            "evaluation": asdict(self.evaluation) if self.evaluation else None,
            "context": self.context,
            "novelty": self.novelty,
            "cues": [list(c) for c in self.cues],
            "dense_features": dense_names(self.cues, self.novelty),
            "terms": terms,
            "idf": [round(float(x), 5) for x in self.idf],
            "coef": [[round(float(x), 5) for x in row] for row in self.coef],
            "intercept": [round(float(x), 5) for x in self.intercept],
            "decision_bias": (
                None
                if self.decision_bias is None
                else [round(float(x), 5) for x in self.decision_bias]
            ),
        }
        return json.dumps(document, separators=(",", ":"))


def load(path: str | Path | None = None) -> KindModel:
    """A saved model: the one shipped with traceviz, or a user's (`--kinds-model`)."""
    where = "the shipped kinds model" if path is None else str(path)
    try:
        raw = (
            (files("traceviz") / "data" / "kinds-model.json").read_bytes()
            if path is None
            else Path(path).read_bytes()
        )
        # NOTE: orjson parses the 1.1 MB shipped model in 3 ms against json's 26, to the
        # same floats (both round correctly; test_kinds checks the shipped model's bits)
        document: dict[str, Any] = orjson.loads(raw)
        if document.get("format") != "traceviz-kinds":
            msg = "not a traceviz kinds model"
            raise ValueError(msg)
        if document.get("version") != FORMAT_VERSION:
            msg = f"format version {document.get('version')}, this traceviz reads {FORMAT_VERSION}"
            raise ValueError(msg)
        terms = document["terms"]
        evaluation = document.get("evaluation")
        model = KindModel(
            vocabulary={t: i for i, t in enumerate(terms)},
            idf=np.asarray(document["idf"], dtype=np.float64),
            coef=np.asarray(document["coef"], dtype=np.float64),
            intercept=np.asarray(document["intercept"], dtype=np.float64),
            kinds=tuple(document["kinds"]),
            cues=tuple((str(n), str(p)) for n, p in document["cues"]),
            context=bool(document["context"]),
            novelty=bool(document["novelty"]),
            evaluation=Evaluation(**evaluation) if evaluation else None,
            decision_bias=(
                None
                if document.get("decision_bias") is None
                else np.asarray(document["decision_bias"], dtype=np.float64)
            ),
        )
        if model.kinds != KINDS:
            msg = f"kinds {list(model.kinds)}, this traceviz knows {list(KINDS)}"
            raise ValueError(msg)
        model._blocks  # noqa: B018 (checks the coefficients' shape now, not at first use)
    except (OSError, ValueError, KeyError, TypeError, ConfigError) as exc:
        msg = f"{where}: cannot load the step-kind model: {exc}"
        raise ConfigError(
            msg, hint="Train one with `traceviz kinds train LABELS.jsonl -o model.json`."
        ) from exc
    return model
