"""The segment stage's kinds, classify and metrics as they were before issue 18 (commit
e45f68c): the reference that `test_segment_equivalence.py` and
`bench/segment_stage_bench.py` compare the shipped code with. Not shipped, not used by
traceviz; only the imports differ from that commit's `segment/__init__.py` (and `cut`,
`steps` and `part_starts`, which are not the reference's job, are left out).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from segment_reference import kinds as kinds_module
from segment_reference.kinds import KindModel
from segment_reference.metrics import (
    StepView,
    answer_metrics,
    is_refusal,
    text_metrics,
    trace_metrics,
)
from traceviz import tokens
from traceviz.schema import (
    ANSWER,
    EXPECTED_STEPS_PREFIX,
    FINISH_REASON,
    KIND,
    KIND_CONFIDENCE,
    KIND_STEPS_PREFIX,
    METRICS_SCHEMA,
    MODEL,
    PROMPT,
    REASONING,
    REFERENCE_ANSWER,
    REFUSAL,
    STEPS_SCHEMA,
    TOKENIZER,
    TRACE_ID,
    TRUNCATED,
)
from traceviz.segment.split import Step

PREDICT_STEPS = 4_000  # steps predicted at once: the term table's size is bounded by it


def classify(
    traces: pl.DataFrame, model: KindModel | None, cuts: list[list[Step]]
) -> tuple[pl.DataFrame, np.ndarray]:
    """The steps table, and each step's probability of every kind (one row per step).

    A step's kind is the one the model chooses (`KindModel.choose`) and
    `kind_confidence` the model's probability for it.
    A step's tokens are those of its trace's reasoning that end inside it (or in the
    white space after it), so the steps of a trace add up to its `tokens_reasoning`.
    They come from the tokens stage's `reasoning_part_tokens` column when `cuts` were
    counted there (the pipeline does), else the reasoning is counted here.
    """
    model = model or default_model()
    if tokens.REASONING_PART_TOKENS in traces.columns:
        part_tokens = traces[tokens.REASONING_PART_TOKENS].to_list()
    else:
        part_tokens = _count_parts(traces, cuts)
    columns: dict[str, list[object]] = {name: [] for name in STEPS_SCHEMA}
    texts: list[list[str]] = []
    for trace_id, reasoning, trace_steps, counts in zip(
        traces[TRACE_ID].to_list(), traces[REASONING].to_list(), cuts, part_tokens, strict=True
    ):
        if not trace_steps:
            continue
        texts.append([reasoning[s.start : s.end] for s in trace_steps])
        columns[TRACE_ID] += [trace_id] * len(trace_steps)
        columns["step"] += list(range(len(trace_steps)))
        columns["start"] += [s.start for s in trace_steps]
        columns["end"] += [s.end for s in trace_steps]
        columns["tokens"] += counts
        columns["marker"] += [s.marker for s in trace_steps]
        columns["thought"] += [s.thought for s in trace_steps]
    parts = [model.probabilities(chunk) for chunk in _chunks(texts)]
    probabilities = np.concatenate(parts) if parts else np.zeros((0, len(kinds_module.KINDS)))
    chosen = model.choose(probabilities)
    columns[KIND] = [kinds_module.KINDS[i] for i in chosen]
    columns[KIND_CONFIDENCE] = probabilities[np.arange(len(chosen)), chosen].tolist()
    return pl.DataFrame(columns, schema=STEPS_SCHEMA), probabilities


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
            [reasoning[i] for i in rows], [[step.start for step in cuts[i]] for i in rows]
        )
        for row, numbers in zip(rows, found, strict=True):
            counts[row] = numbers
    return counts


_DEFAULT: list[KindModel] = []


def default_model() -> KindModel:
    """The step-kind model shipped with traceviz, loaded once."""
    if not _DEFAULT:
        _DEFAULT.append(kinds_module.load())
    return _DEFAULT[0]


KIND_STEPS = tuple(f"{KIND_STEPS_PREFIX}{kind}" for kind in kinds_module.KINDS)
KIND_EXPECTED = tuple(f"{EXPECTED_STEPS_PREFIX}{kind}" for kind in kinds_module.KINDS)


def metrics(
    traces: pl.DataFrame, step_table: pl.DataFrame, probabilities: np.ndarray | None = None
) -> pl.DataFrame:
    """The traces with a column per behaviour metric (null where reasoning is hidden),
    each trace's steps of every kind (`steps_<kind>`, argmax counts) and, given the
    steps' kind `probabilities` (from `classify`), their sums (`expected_steps_<kind>`,
    what reports compose kinds from; null without them).

    Steps are matched to traces by position (each trace's steps are consecutive, in
    trace order), so traces that share an id keep their own steps.
    """
    views, owner = _step_views(traces, step_table)
    text = text_metrics(traces[REASONING], traces[PROMPT]).iter_rows(named=True)
    rows = []
    kind_rows: list[list[int | None]] = []
    for reasoning, answer, reference, prompt, own, measured in zip(
        traces[REASONING].to_list(),
        traces[ANSWER].to_list(),
        traces[REFERENCE_ANSWER].to_list(),
        traces[PROMPT].to_list(),
        views,
        text,
        strict=True,
    ):
        if reasoning is None:
            rows.append(
                dict.fromkeys(METRICS_SCHEMA)
                | answer_metrics(None, answer, reference, [], prompt)
                | {REFUSAL: is_refusal(answer)}
            )
            kind_rows.append([None] * len(KIND_STEPS))
        else:
            rows.append(trace_metrics(reasoning, answer, reference, own, measured, prompt))
            kinds_seen = [step.kind for step in own]
            kind_rows.append([kinds_seen.count(kind) for kind in kinds_module.KINDS])
    kind_table = pl.DataFrame(kind_rows, schema=dict.fromkeys(KIND_STEPS, pl.Int64()), orient="row")
    table = pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")
    expected = _expected(traces, owner, probabilities)
    cut = pl.col(TRUNCATED).fill_null(False) | (pl.col(FINISH_REASON) == "length").fill_null(False)
    return pl.concat([traces, table, kind_table, expected], how="horizontal").with_columns(
        cut.alias(TRUNCATED)
    )


def _expected(
    traces: pl.DataFrame, owner: np.ndarray, probabilities: np.ndarray | None
) -> pl.DataFrame:
    """Each trace's summed kind probabilities: zero without steps, null if hidden."""
    schema = dict.fromkeys(KIND_EXPECTED, pl.Float64())
    if probabilities is None:
        return pl.DataFrame({c: [None] * traces.height for c in schema}, schema=schema)
    if probabilities.shape != (len(owner), len(KIND_EXPECTED)):
        msg = f"{probabilities.shape} kind probabilities for {len(owner)} steps"
        raise ValueError(msg)
    sums = np.zeros((traces.height, len(KIND_EXPECTED)))
    np.add.at(sums, owner, probabilities)
    hidden = traces[REASONING].is_null().to_numpy()
    return pl.DataFrame(sums, schema=schema).with_columns(
        pl.when(pl.Series(hidden)).then(None).otherwise(pl.col(c)).alias(c) for c in schema
    )


def _step_views(
    traces: pl.DataFrame, step_table: pl.DataFrame
) -> tuple[list[list[StepView]], np.ndarray]:
    """The steps of each trace, in trace order, and the trace of every step: a trace
    with any non-blank reasoning has at least one step, and its steps follow those of
    the trace before."""
    views: list[list[StepView]] = [[] for _ in range(traces.height)]
    owner = np.zeros(step_table.height, dtype=np.int64)
    with_steps = (
        i for i, r in enumerate(traces[REASONING].to_list()) if r is not None and r.strip()
    )
    current = -1
    columns = ("step", "start", "end", "tokens", "kind", "marker", "thought")
    for row, (step, *fields) in enumerate(
        zip(*(step_table[c].to_list() for c in columns), strict=True)
    ):
        if step == 0:
            current = next(with_steps)
        views[current].append(StepView(*fields))
        owner[row] = current
    return views, owner
