"""The segment stage's work (the package `traceviz.segment` names it): the steps of each
visible reasoning, their kinds, and per-trace behaviour metrics.

`steps(traces)` returns the steps table; `metrics(traces, steps)` adds the metric
columns to the traces; `measure` does both (as the pipeline runs them), reading each
step's words once for the kinds' features and the metrics. Step tokens are counted
with each trace's tokenizer (the tokens stage's `tokenizer` column, else the model's).
`classify` returns the steps table with each step's kind probabilities, which
`metrics` sums per trace into the kind composition (`expected_steps_<kind>`).

What a step needs is computed over the whole batch with polars and numpy (features,
kinds, per-trace counts of steps); only what reads a trace's text as a whole (its
answer, its paragraphs) runs trace by trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np
import polars as pl

from traceviz import tokens
from traceviz.schema import (
    ANSWER,
    END,
    FINISH_REASON,
    KIND,
    KIND_CONFIDENCE,
    KIND_EXPECTED_SCHEMA,
    KIND_STEPS_SCHEMA,
    KINDS,
    MARKER,
    METRICS_SCHEMA,
    MODEL,
    PROMPT,
    REASONING,
    REFERENCE_ANSWER,
    REFUSAL,
    START,
    STEP,
    STEPS_SCHEMA,
    THOUGHT,
    TOKENIZER,
    TOKENS,
    TRACE_ID,
    TRUNCATED,
)
from traceviz.segment import kinds as kinds_module
from traceviz.segment.behaviour import (
    NO_STEPS,
    Spans,
    answer_metrics,
    is_refusal,
    step_counts,
    text_metrics,
    trace_metrics,
    words_of_steps,
)
from traceviz.segment.features import word_runs
from traceviz.segment.kinds import KindModel
from traceviz.segment.split import Step, cut_many

# Steps predicted at once: the term table's size is bounded by it. NOTE: measured on
# 67,764 R1 steps, 16,000 costs no more peak memory than 4,000 and 6 % less time (each
# call pays a fixed ~25 ms); a whole 4 MB batch at once costs 40 MiB more.
PREDICT_STEPS = 16_000


def cut(traces: pl.DataFrame) -> list[list[Step]]:
    """The steps of each trace's reasoning (none where it is hidden or empty)."""
    return cut_many(traces[REASONING].to_list())


def part_starts(cuts: list[list[Step]]) -> list[list[int]]:
    """Where each step begins: the parts `tokens.count` counts the reasoning by."""
    return [[step.start for step in trace] for trace in cuts]


def steps(
    traces: pl.DataFrame, model: KindModel | None = None, cuts: list[list[Step]] | None = None
) -> pl.DataFrame:
    """The steps table: one row per step of every visible reasoning (see `classify`)."""
    return classify(traces, model, cuts)[0]


def measure(
    traces: pl.DataFrame, model: KindModel | None = None, cuts: list[list[Step]] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The steps table and the traces with their metrics: `classify` then `metrics`
    (without the tokens stage's `reasoning_part_tokens`), the words of each step read
    once for both (0.09 s CPU less on r1small than reading each trace's again).

    `cuts`, if given, must be the splitter's (`cut`): the metrics take a trace's words
    to be those of its steps, which holds because only white space lies between them.
    """
    steps, probabilities, words = _classify(traces, model, cuts)
    if tokens.REASONING_PART_TOKENS in traces.columns:
        traces = traces.drop(tokens.REASONING_PART_TOKENS)
    return steps, metrics(traces, steps, probabilities, words)


def classify(
    traces: pl.DataFrame, model: KindModel | None = None, cuts: list[list[Step]] | None = None
) -> tuple[pl.DataFrame, np.ndarray]:
    """The steps table, and each step's probability of every kind (one row per step).

    A step's kind is the one the model chooses (`KindModel.choose`) and
    `kind_confidence` the model's probability for it.
    A step's tokens are those of its trace's reasoning that end inside it (or in the
    white space after it), so the steps of a trace add up to its `tokens_reasoning`.
    They come from the tokens stage's `reasoning_part_tokens` column when `cuts` were
    counted there (the pipeline does), else the reasoning is counted here.
    """
    steps, probabilities, _ = _classify(traces, model, cuts)
    return steps, probabilities


def _classify(
    traces: pl.DataFrame, model: KindModel | None, cuts: list[list[Step]] | None
) -> tuple[pl.DataFrame, np.ndarray, pl.DataFrame]:
    """`classify`, and the reasoning's words (`metrics.words_of_steps`) read on the way."""
    model = model or default_model()
    cuts = cuts if cuts is not None else cut(traces)
    has_steps = pl.Series([bool(c) for c in cuts], dtype=pl.Boolean)
    if tokens.REASONING_PART_TOKENS in traces.columns:
        part_tokens = traces[tokens.REASONING_PART_TOKENS].filter(has_steps).explode()
    else:
        part_tokens = pl.Series([n for counts in _count_parts(traces, cuts) for n in counts])
    lengths = np.fromiter((len(c) for c in cuts), dtype=np.int64, count=len(cuts))
    texts = [
        [reasoning[start:end] for start, end, _, _ in trace]
        for reasoning, trace in zip(traces[REASONING].to_list(), cuts, strict=True)
        if trace
    ]
    flat = [step for trace in cuts for step in trace]
    parts, runs = [], []
    for chunk in _chunks(texts):
        runs.append(word_runs(pl.Series([t for trace in chunk for t in trace], dtype=pl.String)))
        parts.append(model.probabilities(chunk, runs[-1]))
    probabilities = np.concatenate(parts) if parts else np.zeros((0, len(KINDS)))
    chosen = model.choose(probabilities)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    owner = np.repeat(np.arange(len(cuts)), lengths)
    words = words_of_steps(
        pl.concat(runs) if runs else pl.Series([], dtype=pl.List(pl.String)), owner
    )
    columns = {
        TRACE_ID: traces[TRACE_ID].gather(owner),
        STEP: np.arange(len(flat), dtype=np.int64) - first,
        START: [s.start for s in flat],
        END: [s.end for s in flat],
        TOKENS: part_tokens,
        KIND: pl.Series(model.kinds, dtype=pl.String).gather(chosen),
        KIND_CONFIDENCE: probabilities[np.arange(len(chosen)), chosen],
        MARKER: [s.marker for s in flat],
        THOUGHT: [s.thought for s in flat],
    }
    return pl.DataFrame(columns, schema=STEPS_SCHEMA), probabilities, words


def _chunks(texts: list[list[str]]) -> Iterator[list[list[str]]]:
    """Whole traces, about PREDICT_STEPS steps at a time."""
    chunk: list[list[str]] = []
    size = 0
    for trace in texts:
        chunk.append(trace)
        size += len(trace)
        if size >= PREDICT_STEPS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _count_parts(traces: pl.DataFrame, cuts: list[list[Step]]) -> list[list[int]]:
    """Step tokens with each trace's tokenizer (the `tokenizer` column, else its model's)."""
    if TOKENIZER in traces.columns:
        names = traces[TOKENIZER].to_list()
    else:
        names = [tokens.tokenizer_for(m)[0] for m in traces[MODEL].to_list()]
    reasoning = traces[REASONING].to_list()
    counts: list[list[int]] = [[] for _ in cuts]
    for name in set(names):
        rows = [i for i, n in enumerate(names) if n == name and cuts[i]]
        found = tokens.Counter(name).count_parts(
            [reasoning[i] for i in rows], part_starts([cuts[i] for i in rows])
        )
        for row, numbers in zip(rows, found, strict=True):
            counts[row] = numbers
    return counts


@cache
def default_model() -> KindModel:
    """The step-kind model shipped with traceviz, loaded once."""
    return kinds_module.load()


KIND_STEPS = tuple(KIND_STEPS_SCHEMA)
KIND_EXPECTED = tuple(KIND_EXPECTED_SCHEMA)


def metrics(
    traces: pl.DataFrame,
    step_table: pl.DataFrame,
    probabilities: np.ndarray | None = None,
    words: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The traces with a column per behaviour metric (null where reasoning is hidden),
    each trace's steps of every kind (`steps_<kind>`, argmax counts) and, given the
    steps' kind `probabilities` (from `classify`), their sums (`expected_steps_<kind>`,
    what reports compose kinds from; null without them). `words`: the reasoning's
    words, when already read (see `measure`).

    Steps are matched to traces by position (each trace's steps are consecutive, in
    trace order), so traces that share an id keep their own steps.
    """
    owner = _owners(traces, step_table)
    bounds = np.searchsorted(owner, np.arange(traces.height + 1)).tolist()
    start, end = step_table[START].to_numpy(), step_table[END].to_numpy()
    step_tokens = step_table[TOKENS].to_numpy()
    counts = step_counts(step_table, owner, traces.height).iter_rows(named=True)
    text = text_metrics(traces[REASONING], traces[PROMPT], words).iter_rows(named=True)
    rows = []
    for row, (reasoning, answer, reference, prompt, measured, counted) in enumerate(
        zip(
            traces[REASONING].to_list(),
            traces[ANSWER].to_list(),
            traces[REFERENCE_ANSWER].to_list(),
            traces[PROMPT].to_list(),
            text,
            counts,
            strict=True,
        )
    ):
        if reasoning is None:
            rows.append(
                dict.fromkeys(METRICS_SCHEMA)
                | answer_metrics(None, answer, reference, NO_STEPS, prompt)
                | {REFUSAL: is_refusal(answer)}
            )
        else:
            mine = slice(bounds[row], bounds[row + 1])
            spans = Spans(start[mine], end[mine], step_tokens[mine])
            rows.append(
                trace_metrics(reasoning, answer, reference, spans, measured, counted, prompt)
            )
    table = pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")
    hidden = traces[REASONING].is_null()
    truncated = pl.col(TRUNCATED).fill_null(False) | (pl.col(FINISH_REASON) == "length").fill_null(
        False
    )
    return pl.concat(
        [
            traces,
            table,
            _kind_counts(step_table, owner, hidden),
            _expected(owner, probabilities, hidden),
        ],
        how="horizontal",
    ).with_columns(truncated.alias(TRUNCATED))


def _kind_counts(step_table: pl.DataFrame, owner: np.ndarray, hidden: pl.Series) -> pl.DataFrame:
    """Each trace's steps of every kind (`steps_<kind>`): zero without steps, null if hidden."""
    index = {kind: i for i, kind in enumerate(KINDS)}
    kind = step_table[KIND].replace_strict(index, default=-1, return_dtype=pl.Int64).to_numpy()
    known = kind >= 0
    width = len(KINDS)
    counts = np.bincount(
        owner[known] * width + kind[known], minlength=hidden.len() * width
    ).reshape(-1, width)
    return _null_where(pl.DataFrame(counts, schema=KIND_STEPS_SCHEMA), hidden)


def _expected(
    owner: np.ndarray, probabilities: np.ndarray | None, hidden: pl.Series
) -> pl.DataFrame:
    """Each trace's summed kind probabilities: zero without steps, null if hidden."""
    schema = KIND_EXPECTED_SCHEMA
    if probabilities is None:
        return pl.DataFrame({c: [None] * hidden.len() for c in schema}, schema=schema)
    if probabilities.shape != (len(owner), len(KIND_EXPECTED)):
        msg = f"{probabilities.shape} kind probabilities for {len(owner)} steps"
        raise ValueError(msg)
    sums = np.zeros((hidden.len(), len(KIND_EXPECTED)))
    np.add.at(sums, owner, probabilities)
    return _null_where(pl.DataFrame(sums, schema=schema), hidden)


def _null_where(table: pl.DataFrame, hidden: pl.Series) -> pl.DataFrame:
    return table.with_columns(
        pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in table.columns
    )


def _owners(traces: pl.DataFrame, step_table: pl.DataFrame) -> np.ndarray:
    """The trace of every step: a trace with any non-blank reasoning has at least one
    step, and its steps follow those of the trace before (so the result is sorted)."""
    with_steps = np.flatnonzero(
        [r is not None and bool(r.strip()) for r in traces[REASONING].to_list()]
    )
    opens = (step_table[STEP] == 0).to_numpy()
    if int(opens.sum()) != len(with_steps) or (len(opens) and not opens[0]):
        msg = f"{int(opens.sum())} traces in the steps table, {len(with_steps)} with reasoning"
        raise ValueError(msg)
    return with_steps[np.cumsum(opens) - 1] if len(opens) else np.zeros(0, dtype=np.int64)
