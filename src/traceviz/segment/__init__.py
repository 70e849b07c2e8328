"""The segment stage: the steps of each visible reasoning, their kinds, and per-trace
behaviour metrics.

`steps(traces)` returns the steps table; `metrics(traces, steps)` adds the metric
columns to the traces. Step tokens are counted with each trace's tokenizer (the
tokens stage's `tokenizer` column, else the model's).
"""

from __future__ import annotations

import polars as pl

from traceviz import tokens
from traceviz.schema import (
    ANSWER,
    FINISH_REASON,
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
from traceviz.segment import kinds as kinds_module
from traceviz.segment.kinds import KindModel
from traceviz.segment.metrics import StepView, is_refusal, trace_metrics
from traceviz.segment.split import steps as split_steps

__all__ = ["KindModel", "metrics", "steps"]

PREDICT_TRACES = 256


def _tokenizers(traces: pl.DataFrame) -> list[str]:
    if TOKENIZER in traces.columns:
        return traces[TOKENIZER].to_list()
    return [tokens.tokenizer_for(m)[0] for m in traces[MODEL].to_list()]


def steps(traces: pl.DataFrame, model: KindModel | None = None) -> pl.DataFrame:
    """The steps table: one row per step of every visible reasoning."""
    model = model or default_model()
    ids, texts, tokenizer_of = [], [], []
    split = []
    for trace_id, reasoning, tokenizer in zip(
        traces[TRACE_ID].to_list(), traces[REASONING].to_list(), _tokenizers(traces), strict=True
    ):
        if not reasoning:
            continue
        cut = split_steps(reasoning)
        ids.append(trace_id)
        split.append(cut)
        texts.append([reasoning[s.start : s.end] for s in cut])
        tokenizer_of.append(tokenizer)
    # predict a few hundred traces at a time: the feature matrix of a whole batch is large
    kinds = iter(
        [
            kind
            for start in range(0, len(texts), PREDICT_TRACES)
            for kind in model.predict(texts[start : start + PREDICT_TRACES])
        ]
    )
    counts = _count_steps(texts, tokenizer_of)
    rows = []
    for trace_id, cut, n_tokens in zip(ids, split, counts, strict=True):
        for number, (step, count) in enumerate(zip(cut, n_tokens, strict=True)):
            rows.append(
                (
                    trace_id,
                    number,
                    step.start,
                    step.end,
                    count,
                    next(kinds),
                    step.marker,
                    step.thought,
                )
            )
    return pl.DataFrame(rows, schema=STEPS_SCHEMA, orient="row")


def _count_steps(texts: list[list[str]], tokenizer_of: list[str]) -> list[list[int]]:
    """Token counts of every step, one batch per tokenizer."""
    counts: list[list[int]] = [[] for _ in texts]
    for name in set(tokenizer_of):
        members = [i for i, t in enumerate(tokenizer_of) if t == name]
        flat = [step for i in members for step in texts[i]]
        numbers = iter(tokens.Counter(name).count_batch(flat))
        for i in members:
            counts[i] = [int(next(numbers) or 0) for _ in texts[i]]
    return counts


_DEFAULT: list[KindModel] = []


def default_model() -> KindModel:
    """The step-kind model shipped with traceviz, loaded once."""
    if not _DEFAULT:
        _DEFAULT.append(kinds_module.load())
    return _DEFAULT[0]


def metrics(traces: pl.DataFrame, step_table: pl.DataFrame) -> pl.DataFrame:
    """The traces with a column per behaviour metric (null where reasoning is hidden)."""
    by_trace: dict[str, list[StepView]] = {}
    for row in step_table.iter_rows(named=True):
        by_trace.setdefault(row[TRACE_ID], []).append(
            StepView(
                row["start"], row["end"], row["tokens"], row["kind"], row["marker"], row["thought"]
            )
        )
    rows = []
    for trace_id, reasoning, answer, prompt, reference in zip(
        traces[TRACE_ID].to_list(),
        traces[REASONING].to_list(),
        traces[ANSWER].to_list(),
        traces[PROMPT].to_list(),
        traces[REFERENCE_ANSWER].to_list(),
        strict=True,
    ):
        if reasoning is None:
            rows.append(dict.fromkeys(METRICS_SCHEMA) | {REFUSAL: is_refusal(answer)})
        else:
            rows.append(
                trace_metrics(reasoning, answer, prompt, reference, by_trace.get(trace_id, []))
            )
    table = pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")
    cut = pl.col(TRUNCATED).fill_null(False) | (pl.col(FINISH_REASON) == "length").fill_null(False)
    return pl.concat([traces, table], how="horizontal").with_columns(cut.alias(TRUNCATED))
