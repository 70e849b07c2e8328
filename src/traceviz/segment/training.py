"""Training and cross-validating the step-kind classifier on labelled steps.

Labels come as JSON Lines in the Thought Anchors shape: one trace per line with
`trace_id`, optionally `problem`, and `chunks: [{text, tags}]` (the first tag is the
step's kind). Cross-validation is grouped: every step of a problem (of a trace, when
the labels name no problem) is in the same fold, so each test step comes from a
problem the model never saw. The recipe (`Recipe`) is chosen by that cross-validation.

scikit-learn is imported only here, to fit; the fitted model is turned into plain data
(`kinds.KindModel`) at once, with the feature scaling and the context weight folded
into its coefficients.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse

from traceviz.errors import ConfigError
from traceviz.segment.features import CUES, Design, design, shift, term_lists
from traceviz.segment.kinds import KINDS, Evaluation, KindModel

SEED = 0


@dataclass(frozen=True, slots=True)
class Recipe:
    """How a model is trained (chosen by grouped cross-validation, docs/kinds.md)."""

    context: bool = True  # the previous and next step's terms and cues
    novelty: bool = False  # new numbers, overlaps, steps since the last doubt
    context_weight: float = 0.4
    c: float = 0.5  # inverse regularisation of the logistic regression
    balance: float = 0.5  # training weights (n / (k * n_kind)) ** balance; 0 = unweighted
    decision: float = 0.25  # decision bias: kinds chosen by p * (n / (k * n_kind)) ** decision
    min_df: int = 2  # terms seen in fewer steps are dropped


RECIPE = Recipe()


@dataclass(frozen=True, slots=True)
class Labelled:
    """Labelled traces: the steps of each, their kinds, and each trace's group (problem)."""

    traces: list[list[str]]
    kinds: list[list[str]]
    groups: list[str]
    grouped_by: str = "problem"
    source: str = ""


def read_labels(path: str | Path) -> Labelled:
    """Labelled traces from JSON Lines; chunks whose first tag is not a kind are left out."""
    traces: list[list[str]] = []
    kinds: list[list[str]] = []
    groups: list[str] = []
    by_problem = True
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read labels: {getattr(exc, 'strerror', None) or exc}"
        raise ConfigError(msg) from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            trace = json.loads(line)
            chunks = [c for c in trace["chunks"] if c["tags"] and c["tags"][0] in KINDS]
            traces.append([str(c["text"]) for c in chunks])
            kinds.append([c["tags"][0] for c in chunks])
            by_problem = by_problem and bool(trace.get("problem"))
            groups.append(str(trace.get("problem") or trace["trace_id"]))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            msg = f"{path}:{number}: not a labelled trace ({exc!r})"
            raise ConfigError(
                msg, hint="Each line needs trace_id and chunks: [{text, tags}]."
            ) from exc
    if not any(traces):
        msg = f"{path}: no labelled steps"
        raise ConfigError(msg, hint=f"Each chunk's first tag is one of: {', '.join(KINDS)}.")
    if not by_problem:  # some traces name no problem: fall back to one group per trace
        groups = [f"trace {i}" for i in range(len(traces))]
    return Labelled(traces, kinds, groups, "problem" if by_problem else "trace", Path(path).name)


def _matrix(x: Design, recipe: Recipe, mean: np.ndarray, scale: np.ndarray) -> sparse.csr_matrix:
    """The training features: the blocks of `KindModel.coef`, context weighted, dense scaled."""
    dense = (x.dense - mean) / scale
    tfidf = sparse.csr_matrix((x.tfidf.values, x.tfidf.columns, x.tfidf.indptr), x.tfidf.shape)
    blocks: list[sparse.spmatrix | np.ndarray] = [tfidf]
    if recipe.context:
        w = recipe.context_weight
        blocks += [w * _shift_rows(tfidf, x, 1), w * _shift_rows(tfidf, x, -1)]
    blocks.append(sparse.csr_matrix(dense))
    if recipe.context:
        flags = x.dense[:, : len(CUES)]
        blocks += [
            sparse.csr_matrix(w * shift(flags, x, 1)),
            sparse.csr_matrix(w * shift(flags, x, -1)),
        ]
    return sparse.hstack(blocks).tocsr()


def _shift_rows(values: sparse.csr_matrix, x: Design, by: int) -> sparse.csr_matrix:
    """`features.shift` for sparse rows: row i takes row i-1 (`by=1`) or i+1 (`by=-1`),
    zero where that step is in another trace."""
    n = values.shape[0]
    keep = ~(x.first if by == 1 else x.last)
    rows = np.arange(n) - by
    mover = sparse.csr_matrix(
        (np.ones(int(keep.sum())), (np.flatnonzero(keep), rows[keep])), shape=(n, n)
    )
    return mover @ values


def fit(data: Labelled, recipe: Recipe = RECIPE) -> KindModel:
    """Train on all the labelled steps (the model carries no evaluation: see `evaluate`)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    vectorizer = TfidfVectorizer(analyzer=lambda doc: doc, sublinear_tf=True, min_df=recipe.min_df)
    try:
        vectorizer.fit(term_lists(data.traces))
    except ValueError as exc:  # no term in min_df steps
        msg = f"too few labelled steps to train on ({exc})"
        raise ConfigError(msg) from exc
    vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
    idf = np.asarray(vectorizer.idf_, dtype=np.float64)
    draft = KindModel(vocabulary, idf, np.zeros((len(KINDS), 0)), np.zeros(len(KINDS)))
    x = design(data.traces, draft.terms, CUES, recipe.novelty)
    mean = x.dense.mean(axis=0)
    scale = x.dense.std(axis=0)
    scale[scale < 1e-9] = 1.0
    labels = np.array([k for trace in data.kinds for k in trace])
    classifier = LogisticRegression(C=recipe.c, max_iter=5000, random_state=SEED)
    # NOTE: one BLAS thread: L-BFGS's small vector steps only lose to thread hand-offs
    # (a fit took 4x longer with OpenBLAS's threads on a busy 2-core machine)
    with threadpool_limits(1):
        classifier.fit(
            _matrix(x, recipe, mean, scale), labels, sample_weight=_weights(labels, recipe)
        )
    found = list(classifier.classes_)
    n_features = classifier.coef_.shape[1]
    if len(found) == 2:  # scikit-learn fits one row for two classes: make it a softmax pair
        half = classifier.coef_[0] / 2
        raw_coef, raw_intercept = (
            np.stack([-half, half]),
            np.array([-1, 1]) * classifier.intercept_ / 2,
        )
    else:
        raw_coef, raw_intercept = classifier.coef_, classifier.intercept_
    # kinds never seen in training get a score no step can reach
    coef = np.array(
        [raw_coef[found.index(k)] if k in found else np.zeros(n_features) for k in KINDS]
    )
    intercept = np.array([raw_intercept[found.index(k)] if k in found else -1e9 for k in KINDS])
    coef, intercept = _fold(coef, intercept, len(vocabulary), recipe, mean, scale)
    # NOTE: weighted training shifts each kind's prior by log(weight); taking it back out
    # of the intercept calibrates the probabilities to the labels' own kind frequencies
    # (their sums estimate the composition), and the decision bias re-favours rare kinds
    # when a kind is chosen (macro-F1). Both measured in docs/kinds.md.
    base = _base_weights(labels)
    intercept = intercept - recipe.balance * np.log(base)
    return KindModel(
        vocabulary,
        idf,
        coef,
        intercept,
        context=recipe.context,
        novelty=recipe.novelty,
        decision_bias=recipe.decision * np.log(base),
    )


def _base_weights(labels: np.ndarray) -> np.ndarray:
    """Per kind (KINDS order) n / (k * n_kind) over the kinds present; 1 for the absent."""
    present = [k for k in KINDS if k in set(labels.tolist())]
    counts = np.array([(labels == k).sum() for k in KINDS], dtype=np.float64)
    weights = np.ones(len(KINDS))
    seen = counts > 0
    weights[seen] = len(labels) / (len(present) * counts[seen])
    return weights


def _weights(labels: np.ndarray, recipe: Recipe) -> np.ndarray:
    per_kind = _base_weights(labels) ** recipe.balance
    return np.asarray(per_kind[[KINDS.index(k) for k in labels]], dtype=np.float64)


def _fold(
    coef: np.ndarray,
    intercept: np.ndarray,
    v: int,
    recipe: Recipe,
    mean: np.ndarray,
    scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients over raw features: the context weight and the dense scaling folded in."""
    coef = coef.copy()
    intercept = intercept.copy()
    w = recipe.context_weight
    dense_at = 3 * v if recipe.context else v
    d = len(mean)
    if recipe.context:
        coef[:, v:dense_at] *= w
        coef[:, dense_at + d :] *= w
    dense = coef[:, dense_at : dense_at + d] / scale
    intercept = intercept - dense @ mean
    coef[:, dense_at : dense_at + d] = dense
    return coef, intercept


@dataclass(frozen=True, slots=True)
class CrossValidation:
    """Out-of-fold predictions of a grouped cross-validation, and what they measure."""

    folds: int
    grouped_by: str
    truth: list[str]
    probabilities: np.ndarray  # one row per step, one column per kind
    chosen: np.ndarray  # the kind chosen for each step (index into KINDS)
    trace_of_step: np.ndarray  # the trace each step belongs to
    fold_of_step: np.ndarray

    @property
    def predicted(self) -> list[str]:
        return [KINDS[i] for i in self.chosen]

    @property
    def accuracy(self) -> float:
        return float(np.mean(np.array(self.truth) == np.array(self.predicted)))

    def per_kind(self) -> dict[str, tuple[float, float, float, int]]:
        """Precision, recall, F1 and support of each kind."""
        from sklearn.metrics import precision_recall_fscore_support

        p, r, f, s = precision_recall_fscore_support(
            self.truth, self.predicted, labels=list(KINDS), zero_division=0
        )
        return {
            k: (float(a), float(b), float(c), int(d))
            for k, a, b, c, d in zip(KINDS, p, r, f, s, strict=True)
        }

    @property
    def macro_f1(self) -> float:
        """F1 averaged over the kinds present in the labels."""
        scores = [f for f, n in ((v[2], v[3]) for v in self.per_kind().values()) if n]
        return float(np.mean(scores))

    def confusion(self) -> list[list[int]]:
        """Steps per (true kind, predicted kind), rows and columns in KINDS order."""
        from sklearn.metrics import confusion_matrix

        matrix = confusion_matrix(self.truth, self.predicted, labels=list(KINDS))
        return [[int(n) for n in row] for row in matrix]

    def shares(self, unit: np.ndarray) -> dict[str, np.ndarray]:
        """Per unit (trace or fold) the share of each kind: true, by argmax counts and
        by summed probabilities (rows sum to 1)."""
        truth = np.zeros_like(self.probabilities)
        truth[np.arange(len(self.truth)), [KINDS.index(k) for k in self.truth]] = 1
        argmax = np.zeros_like(self.probabilities)
        argmax[np.arange(len(self.truth)), self.chosen] = 1
        units, index = np.unique(unit, return_inverse=True)
        out = {}
        for name, values in (("true", truth), ("argmax", argmax), ("summed", self.probabilities)):
            sums = np.zeros((len(units), len(KINDS)))
            np.add.at(sums, index, values)
            out[name] = sums / sums.sum(axis=1, keepdims=True)
        return out

    def share_error(self, unit: np.ndarray) -> tuple[float, float]:
        """Mean absolute error of the kind shares (argmax counts, summed probabilities),
        over units and kinds, as a fraction (0.03 = 3 points)."""
        shares = self.shares(unit)
        return (
            float(np.abs(shares["argmax"] - shares["true"]).mean()),
            float(np.abs(shares["summed"] - shares["true"]).mean()),
        )

    def evaluation(self, data: Labelled) -> Evaluation:
        """The summary a model carries: per-trace share errors of held-back traces."""
        argmax_error, summed_error = self.share_error(self.trace_of_step)
        return Evaluation(
            accuracy=round(self.accuracy, 4),
            macro_f1=round(self.macro_f1, 4),
            folds=self.folds,
            grouped_by=self.grouped_by,
            steps=len(self.truth),
            traces=len(data.traces),
            data=data.source,
            date=datetime.now(UTC).date().isoformat(),
            share_error_argmax=round(argmax_error, 4),
            share_error_summed=round(summed_error, 4),
        )


def cross_validate(data: Labelled, folds: int = 7, recipe: Recipe = RECIPE) -> CrossValidation:
    """Grouped k-fold cross-validation: each fold's model never saw its test groups."""
    from sklearn.model_selection import GroupKFold

    n_groups = len(set(data.groups))
    if n_groups < 2:
        msg = f"cross-validation needs labelled traces of two {data.grouped_by}s or more"
        raise ConfigError(msg, hint="Label traces of more problems, or train without --eval.")
    splitter = GroupKFold(n_splits=min(folds, n_groups))
    lengths = np.array([len(t) for t in data.traces])
    trace_of_step = np.repeat(np.arange(len(data.traces)), lengths)
    starts = np.cumsum(lengths) - lengths
    probabilities = np.zeros((int(lengths.sum()), len(KINDS)))
    chosen = np.zeros(len(trace_of_step), dtype=np.int64)
    fold_of_step = np.zeros(len(trace_of_step), dtype=np.int64)
    for fold, (train, test) in enumerate(splitter.split(data.traces, groups=data.groups)):
        model = fit(_subset(data, train), recipe)
        rows = np.concatenate([np.arange(starts[i], starts[i] + lengths[i]) for i in test])
        probabilities[rows] = model.probabilities([data.traces[i] for i in test])
        chosen[rows] = model.choose(probabilities[rows])
        fold_of_step[rows] = fold
    return CrossValidation(
        folds=splitter.get_n_splits(),
        grouped_by=data.grouped_by,
        truth=[k for trace in data.kinds for k in trace],
        probabilities=probabilities,
        chosen=chosen,
        trace_of_step=trace_of_step,
        fold_of_step=fold_of_step,
    )


def train(data: Labelled, folds: int | None = 7, recipe: Recipe = RECIPE) -> KindModel:
    """A model fitted on all of `data`, carrying its grouped cross-validation (unless
    `folds` is None)."""
    model = fit(data, recipe)
    if folds is None:
        return model
    return model.with_evaluation(cross_validate(data, folds, recipe).evaluation(data))


def _subset(data: Labelled, rows: np.ndarray) -> Labelled:
    return replace(
        data,
        traces=[data.traces[i] for i in rows],
        kinds=[data.kinds[i] for i in rows],
        groups=[data.groups[i] for i in rows],
    )
