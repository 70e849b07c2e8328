"""The reference copy of `segment/kinds.py` at commit e45f68c (see `__init__.py`).

Step kinds: a linear classifier over a step's words, cues, surface, position and
neighbours, shipped as plain data with its own cross-validated accuracy.

The eight kinds are those of the Thought Anchors taxonomy (Bogdan et al. 2025,
arXiv 2506.19143). A model is a multinomial logistic regression over, for every step:

- the TF-IDF (sublinear tf, l2-normalised) of its words and word pairs and its cue;
- dense features: cue regexes (`CUES`), surface statistics, position in the trace and,
  when the model was trained with them, "novelty" (new numbers, word overlap with the
  opening and the previous step, the trace's last number, steps since the last doubt);
- the TF-IDF and cue regexes of the previous and the next step (context).

It is saved as JSON (vocabulary, idf, cue patterns, coefficients, intercepts and the
evaluation that measured it). Training scales the dense features and weights the
context; both are folded into the saved coefficients, so inference is one sparse
product per block plus a row shift for the neighbours, over the whole batch, with
numpy and polars: no fitted scikit-learn object, no pickle, no loop per step.

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
FORMAT_VERSION = 3
WORD_PATTERN = r"\b\w\w+\b"  # scikit-learn's default token pattern, run by polars
NUMBER_PATTERN = r"\d+(?:\.\d+)?"
_SYMBOLS = r"[0-9=+\-*/^\\{}()]"
_CUE = "(?i)" + CUE_PATTERN

# Cue regexes (Rust regex syntax, run by polars): what a step's wording says it does.
# A model records the patterns it was trained with, so later edits here never change
# what a saved model computes.
CUES: tuple[tuple[str, str], ...] = (
    ("wait", r"(?i)^\W*(but\s+|oh\s+)?wait\b"),
    ("hmm", r"(?i)\bhmm+\b"),
    ("check", r"(?i)\b(check|verify|verif\w+|confirm|double[- ]?check|make sure|sanity)\b"),
    ("so_start", r"(?i)^\W*(so|therefore|thus|hence)\b"),
    ("answer", r"(?i)\banswer\b"),
    ("boxed", r"\\boxed|(?i)\*\*final answer"),
    ("problem", r"(?i)\b(the problem|the question|asks|asking|asked|given|we need to find)\b"),
    ("plan", r"(?i)\b(let me|let's|i('ll| will| need to| should| can)|we need to|we can)\b"),
    ("approach", r"(?i)\b(approach|strategy|method|way to|idea|step by step|first,|next,)\b"),
    ("recall", r"(?i)\b(recall|remember|formula|theorem|definition|known|property|rule)\b"),
    ("since", r"(?i)\b(since|because|means that|implies|which is|where)\b"),
    ("doubt", r"(?i)\b(maybe|perhaps|not sure|mistake|wrong|confus\w*|hold on|seems)\b"),
    ("think", r"(?i)\bi (think|guess|believe|wonder)\b"),
    ("equals", r"="),
    ("arithmetic", r"\d\s*[-+*/×^·]\s*\(?\d"),
    ("latex", r"\\[a-zA-Z]+|\$"),
    ("digit", r"\d"),
    ("question", r"\?"),
    ("colon_end", r":\s*$"),
    ("enumeration", r"^\s*(\d+[.)]|[-*•])\s"),
    ("consolidate", r"(?i)\b(so (the|that|we have|it)|in total|altogether|overall|summar|recap)"),
    ("confirm", r"(?i)\b(correct|right|makes sense|consistent|matches|checks out|same)\b"),
    ("opening", r"(?i)^\W*(okay|ok|alright|all right)\b"),
    ("compute", r"(?i)\b(comput|calculat|multipl|divid|subtract|plug|substitut|expand|simplif)"),
    ("alternative", r"(?i)\b(alternatively|another (way|approach|method)|instead)\b"),
)
SURFACE = ("log_length", "log_words", "symbol_share", "digit_share", "numbers", "newlines")
POSITION = (
    "position", "position_sq", "is_first", "is_second", "is_last", "early", "late", "log_pos",
)  # fmt: skip
NOVELTY = (
    "new_number_share", "has_new_number", "has_final_number", "overlap_previous",
    "overlap_opening", "since_doubt", "no_doubt_yet",
)  # fmt: skip
OPENING_STEPS = 3  # the steps that state the problem, for `overlap_opening`
_DOUBT_CUES = ("wait", "check")  # the cue regexes that reset `since_doubt`


def _step_frame(traces: Sequence[Sequence[str]]) -> pl.DataFrame:
    """One row per step: its row number, its trace, its position and the trace's length."""
    lengths = np.fromiter((len(t) for t in traces), dtype=np.int64, count=len(traces))
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return pl.DataFrame(
        {
            "row": np.arange(total, dtype=np.int64),
            "trace": np.repeat(np.arange(len(traces), dtype=np.int64), lengths),
            "pos": np.arange(total, dtype=np.int64) - starts,
            "count": np.repeat(lengths, lengths),
            "text": [text for trace in traces for text in trace],
        },
        schema={
            "row": pl.Int64,
            "trace": pl.Int64,
            "pos": pl.Int64,
            "count": pl.Int64,
            "text": pl.String,
        },
    )


def _words(steps: pl.DataFrame) -> pl.DataFrame:
    """(row, trace, pos, term) for every word of every step, lower case, in order."""
    return (
        steps.select(
            "row",
            "trace",
            "pos",
            pl.col("text").str.to_lowercase().str.extract_all(WORD_PATTERN).alias("term"),
        )
        .explode("term")
        .drop_nulls("term")
    )


def _terms(steps: pl.DataFrame, words: pl.DataFrame) -> pl.DataFrame:
    """(row, term) for the step's words, word pairs and cue (`cue_let_me_check`)."""
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
    return pl.concat([words.select("row", "term"), pairs.select("row", "term"), cues])


def term_table(traces: Sequence[Sequence[str]]) -> pl.DataFrame:
    """(row, term) for every term of every step; rows number the steps of all traces."""
    steps = _step_frame(traces)
    return _terms(steps, _words(steps))


def term_lists(traces: Sequence[Sequence[str]]) -> list[list[str]]:
    """The terms of every step as lists (for fitting the vocabulary with scikit-learn)."""
    total = sum(len(t) for t in traces)
    grouped = term_table(traces).group_by("row").agg("term")
    found = dict(zip(grouped["row"].to_list(), grouped["term"].to_list(), strict=True))
    return [found.get(row, []) for row in range(total)]


def _surface_and_position(steps: pl.DataFrame) -> pl.DataFrame:
    length = pl.max_horizontal(pl.col("text").str.len_chars(), pl.lit(1)).cast(pl.Float64)
    last = pl.col("count") - 1
    position = pl.col("pos") / pl.max_horizontal(last, pl.lit(1))
    return steps.select(
        (length.log() / 10).alias("log_length"),
        (pl.col("text").str.count_matches(WORD_PATTERN).cast(pl.Float64).log1p() / 5).alias(
            "log_words"
        ),
        (pl.col("text").str.count_matches(_SYMBOLS) / length).alias("symbol_share"),
        (pl.col("text").str.count_matches(r"\d") / length).alias("digit_share"),
        (pl.col("text").str.count_matches(NUMBER_PATTERN).cast(pl.Float64).log1p() / 3).alias(
            "numbers"
        ),
        pl.col("text").str.contains("\n", literal=True).cast(pl.Float64).alias("newlines"),
        position.alias("position"),
        (position**2).alias("position_sq"),
        (pl.col("pos") == 0).cast(pl.Float64).alias("is_first"),
        (pl.col("pos") == 1).cast(pl.Float64).alias("is_second"),
        (pl.col("pos") == last).cast(pl.Float64).alias("is_last"),
        (pl.col("pos") < OPENING_STEPS).cast(pl.Float64).alias("early"),
        (last - pl.col("pos") < OPENING_STEPS).cast(pl.Float64).alias("late"),
        (pl.col("pos").cast(pl.Float64).log1p() / 7).alias("log_pos"),
    )


def _novelty(steps: pl.DataFrame, words: pl.DataFrame, doubt: pl.Series) -> pl.DataFrame:
    """NOVELTY, one row per step: what a step brings that the trace has not said yet."""
    keys = steps.select("row", "trace", "pos")
    numbers = (
        steps.select("row", "trace", "pos", pl.col("text").str.extract_all(NUMBER_PATTERN))
        .explode("text")
        .drop_nulls("text")
        .rename({"text": "number"})
    )
    final = numbers.group_by("trace").agg(pl.col("number").last().alias("final"))
    per_number = numbers.with_columns(
        (pl.col("pos") == pl.col("pos").min().over("trace", "number")).alias("new")
    ).join(final, on="trace", how="left")
    number_stats = per_number.group_by("row").agg(
        pl.col("new").mean().alias("new_number_share"),
        pl.col("new").any().cast(pl.Float64).alias("has_new_number"),
        (pl.col("number") == pl.col("final")).any().cast(pl.Float64).alias("has_final_number"),
    )
    unique = words.unique(["row", "term"])
    sizes = unique.group_by("row").agg(pl.len().alias("size"))
    previous = unique.select(pl.col("row") + 1, "trace", "term")
    shared_previous = (
        unique.join(previous, on=["row", "trace", "term"], how="inner")
        .group_by("row")
        .agg(pl.len().alias("shared_previous"))
    )
    opening = unique.filter(pl.col("pos") < OPENING_STEPS).select("trace", "term").unique()
    shared_opening = (
        unique.filter(pl.col("pos") >= OPENING_STEPS)
        .join(opening, on=["trace", "term"], how="inner")
        .group_by("row")
        .agg(pl.len().alias("shared_opening"))
    )
    last_doubt = pl.when(pl.col("doubt")).then(pl.col("pos")).shift(1).forward_fill().over("trace")
    return (
        keys.with_columns(doubt.alias("doubt"))
        .with_columns(last_doubt.alias("last_doubt"))
        .join(number_stats, on="row", how="left")
        .join(sizes, on="row", how="left")
        .join(shared_previous, on="row", how="left")
        .join(shared_opening, on="row", how="left")
        .sort("row")
        .select(
            pl.col("new_number_share").fill_null(0.0),
            pl.col("has_new_number").fill_null(0.0),
            pl.col("has_final_number").fill_null(0.0),
            (pl.col("shared_previous").fill_null(0) / pl.col("size").fill_null(1)).alias(
                "overlap_previous"
            ),
            (pl.col("shared_opening").fill_null(0) / pl.col("size").fill_null(1)).alias(
                "overlap_opening"
            ),
            ((pl.col("pos") - pl.col("last_doubt")).cast(pl.Float64).log1p() / 4)
            .fill_null(0.0)
            .alias("since_doubt"),
            pl.col("last_doubt").is_null().cast(pl.Float64).alias("no_doubt_yet"),
        )
    )


@dataclass(frozen=True, slots=True)
class Design:
    """A batch's features before the coefficients: TF-IDF of each step's terms, its
    dense features (cue regexes first) and where each step sits in its trace."""

    tfidf: sparse.csr_matrix
    dense: np.ndarray
    first: np.ndarray  # bool per step: no previous step in its trace
    last: np.ndarray  # bool per step: no next step in its trace


def design(
    traces: Sequence[Sequence[str]],
    terms: pl.DataFrame,
    cues: Sequence[tuple[str, str]],
    novelty: bool,
) -> Design:
    """The features of every step of every trace. `terms` is (term, column, idf)."""
    steps = _step_frame(traces)  # once: every feature reads the step texts
    words = _words(steps)
    weights = (
        _terms(steps, words)
        .join(terms, on="term", how="inner")
        .group_by("row", "column")
        .agg(pl.len().alias("n"), pl.col("idf").first())
        .with_columns(((1 + pl.col("n").cast(pl.Float64).log()) * pl.col("idf")).alias("w"))
        .with_columns((pl.col("w") / (pl.col("w") ** 2).sum().over("row").sqrt()).alias("w"))
    )
    tfidf = sparse.csr_matrix(
        (weights["w"].to_numpy(), (weights["row"].to_numpy(), weights["column"].to_numpy())),
        shape=(steps.height, terms.height),
        dtype=np.float64,
    )
    flags = steps.select(
        [
            pl.col("text").str.contains(pattern).cast(pl.Float64).alias(name)
            for name, pattern in cues
        ]
    )
    blocks = [flags, _surface_and_position(steps)]
    if novelty:
        doubt = pl.any_horizontal(
            pl.lit(False), *[pl.col(n) > 0 for n in _DOUBT_CUES if n in flags]
        )
        blocks.append(_novelty(steps, words, flags.select(doubt).to_series()))
    dense = pl.concat(blocks, how="horizontal").to_numpy().astype(np.float64)
    pos = steps["pos"].to_numpy()
    return Design(tfidf, dense, pos == 0, pos == steps["count"].to_numpy() - 1)


def dense_names(cues: Sequence[tuple[str, str]], novelty: bool) -> list[str]:
    """The dense features' names, in column order."""
    return [f"cue:{name}" for name, _ in cues] + [
        *SURFACE,
        *POSITION,
        *(NOVELTY if novelty else ()),
    ]


def shift(values: np.ndarray, design: Design, by: int) -> np.ndarray | sparse.csr_matrix:
    """Row i takes row i-1 (`by=1`, the previous step) or i+1 (`by=-1`, the next step)
    of `values`, zero where that step is in another trace."""
    n = values.shape[0]
    edge = design.first if by == 1 else design.last
    rows = np.arange(n) - by
    keep = ~edge
    mover = sparse.csr_matrix(
        (np.ones(int(keep.sum())), (np.flatnonzero(keep), rows[keep])), shape=(n, n)
    )
    return mover @ values


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How well a model did on problems it had not seen: grouped cross-validation."""

    accuracy: float
    macro_f1: float
    folds: int
    grouped_by: str  # "problem" or "trace"
    steps: int
    traces: int
    data: str  # what it was trained and measured on
    date: str  # ISO date of the measurement
    share_error_argmax: float | None = None  # mean absolute error of per-trace kind shares
    share_error_summed: float | None = None

    def note(self) -> str:
        """The sentence that goes beside every kind table and chart."""
        return (
            f"step kinds are an estimate: cross-validated accuracy {self.accuracy:.2f},"
            f" macro-F1 {self.macro_f1:.2f} ({self.folds} folds grouped by {self.grouped_by})"
        )


UNMEASURED_NOTE = "step kinds are an estimate of unmeasured accuracy (the model carries none)"


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
    def terms(self) -> pl.DataFrame:
        """The vocabulary as a table: term, its feature column and its idf weight."""
        return pl.DataFrame(
            {"term": list(self.vocabulary), "column": list(self.vocabulary.values())},
            schema={"term": pl.String, "column": pl.Int64},
        ).with_columns(pl.Series("idf", self.idf[list(self.vocabulary.values())]))

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

    def design(self, traces: Sequence[Sequence[str]]) -> Design:
        return design(traces, self.terms, self.cues, self.novelty)

    def scores(self, traces: Sequence[Sequence[str]]) -> np.ndarray:
        """One row per step of each trace, one column per kind: the linear scores."""
        x = self.design(traces)
        blocks = self._blocks
        # NOTE: einsum, not `@`, for the dense product: BLAS threads on a tall, thin
        # product cost 10-100x more than they save on a busy machine
        parts = np.asarray(x.tfidf @ blocks["terms"]) + np.einsum(
            "ij,jk->ik", x.dense, blocks["dense"]
        )
        k = len(self.kinds)
        scores = parts[:, :k] + self.intercept
        if self.context:
            scores += shift(parts[:, k : 2 * k], x, 1) + shift(parts[:, 2 * k :], x, -1)
        return np.asarray(scores)

    def probabilities(self, traces: Sequence[Sequence[str]]) -> np.ndarray:
        """One row per step of each trace: the probability of each kind (rows sum to 1)."""
        if not any(traces):
            return np.zeros((0, len(self.kinds)))
        scores = self.scores(traces)
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
            (files("traceviz") / "data" / "kinds-model.json").read_text()
            if path is None
            else Path(path).read_text()
        )
        document: dict[str, Any] = json.loads(raw)
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
