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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse

from traceviz.errors import ConfigError
from traceviz.segment.split import CUE_PATTERN

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
FORMAT_VERSION = 2
WORD_PATTERN = r"\b\w\w+\b"  # scikit-learn's default token pattern, run by polars
_SYMBOLS = r"[0-9=+\-*/^\\{}()]"
_CUE = "(?i)" + CUE_PATTERN
EXTRA_FEATURES = ("position", "is_first", "is_last", "symbol_share", "log_length", "question")


def _step_frame(traces: Sequence[Sequence[str]]) -> pl.DataFrame:
    """One row per step: its row number, its position in its trace and the trace's length."""
    lengths = np.fromiter((len(t) for t in traces), dtype=np.int64, count=len(traces))
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return pl.DataFrame(
        {
            "row": np.arange(total, dtype=np.int64),
            "pos": np.arange(total, dtype=np.int64) - starts,
            "count": np.repeat(lengths, lengths),
            "text": [text for trace in traces for text in trace],
        },
        schema={"row": pl.Int64, "pos": pl.Int64, "count": pl.Int64, "text": pl.String},
    )


def term_table(traces: Sequence[Sequence[str]]) -> pl.DataFrame:
    """(row, term) for every term of every step: its words and word pairs (lower case),
    its cue (`cue_let_me_check`), and the words of the steps before and after it as
    context (prefixed `p_` and `n_`, or `p_none`/`n_none` at the edges): what a step
    does depends on its neighbours. Rows number the steps of all traces in order."""
    return _terms(_step_frame(traces))


def _terms(steps: pl.DataFrame) -> pl.DataFrame:
    words = (
        steps.select(
            "row",
            "pos",
            "count",
            pl.col("text").str.to_lowercase().str.extract_all(WORD_PATTERN).alias("term"),
        )
        .explode("term")
        .drop_nulls("term")
    )
    pairs = words.select(
        "row",
        pl.concat_str(["term", pl.col("term").shift(-1)], separator=" ").alias("term"),
        (pl.col("row").shift(-1) == pl.col("row")).alias("keep"),
    ).filter("keep")
    cues = steps.select(
        "row",
        (
            "cue_"
            + pl.col("text").str.extract(_CUE, 1).str.to_lowercase().str.replace_all(r"[ \-]", "_")
        ).alias("term"),
    ).drop_nulls("term")
    edges = steps.select(
        pl.concat(
            [
                pl.col("row").filter(pl.col("pos") == 0),
                pl.col("row").filter(pl.col("pos") == pl.col("count") - 1),
            ]
        ),
        pl.concat(
            [
                pl.repeat("p_none", (pl.col("pos") == 0).sum(), dtype=pl.String),
                pl.repeat("n_none", (pl.col("pos") == pl.col("count") - 1).sum(), dtype=pl.String),
            ]
        ).alias("term"),
    )
    before = words.filter(pl.col("pos") < pl.col("count") - 1).select(
        pl.col("row") + 1, ("p_" + pl.col("term")).alias("term")
    )
    after = words.filter(pl.col("pos") > 0).select(
        pl.col("row") - 1, ("n_" + pl.col("term")).alias("term")
    )
    return pl.concat(
        [words.select("row", "term"), pairs.select("row", "term"), cues, edges, before, after]
    )


def term_lists(traces: Sequence[Sequence[str]]) -> list[list[str]]:
    """The terms of every step as lists (for training with scikit-learn)."""
    total = sum(len(t) for t in traces)
    grouped = term_table(traces).group_by("row").agg("term")
    found = dict(zip(grouped["row"].to_list(), grouped["term"].to_list(), strict=True))
    return [found.get(row, []) for row in range(total)]


def _extras(steps: pl.DataFrame) -> np.ndarray:
    """Position and surface features of every step (one row each, EXTRA_FEATURES)."""
    length = pl.max_horizontal(pl.col("text").str.len_chars(), pl.lit(1)).cast(pl.Float64)
    table = steps.select(
        (pl.col("pos") / pl.max_horizontal(pl.col("count") - 1, pl.lit(1))).alias("position"),
        (pl.col("pos") == 0).cast(pl.Float64).alias("is_first"),
        (pl.col("pos") == pl.col("count") - 1).cast(pl.Float64).alias("is_last"),
        (pl.col("text").str.count_matches(_SYMBOLS) / length).alias("symbol_share"),
        (length.log() / 10).alias("log_length"),
        pl.col("text").str.contains("?", literal=True).cast(pl.Float64).alias("question"),
    )
    return table.to_numpy().astype(np.float64).reshape(steps.height, len(EXTRA_FEATURES))


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
        steps = _step_frame(traces)  # once: both kinds of feature read the step texts
        weights = (
            _terms(steps)
            .join(self.terms, on="term", how="inner")
            .group_by("row", "column")
            .agg(pl.len().alias("n"), pl.col("idf").first())
            .with_columns(((1 + pl.col("n").cast(pl.Float64).log()) * pl.col("idf")).alias("w"))
            .with_columns((pl.col("w") / (pl.col("w") ** 2).sum().over("row").sqrt()).alias("w"))
        )
        tfidf = sparse.csr_matrix(
            (
                weights["w"].to_numpy(),
                (weights["row"].to_numpy(), weights["column"].to_numpy()),
            ),
            shape=(steps.height, len(self.vocabulary)),
            dtype=np.float64,
        )
        extra = sparse.csr_matrix(_extras(steps))
        return sparse.hstack([tfidf, extra]).tocsr()

    @cached_property
    def terms(self) -> pl.DataFrame:
        """The vocabulary as a table: term, its feature column and its idf weight."""
        return pl.DataFrame(
            {"term": list(self.vocabulary), "column": list(self.vocabulary.values())},
            schema={"term": pl.String, "column": pl.Int64},
        ).with_columns(pl.Series("idf", self.idf[list(self.vocabulary.values())]))

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
