"""The whole pipeline, batch by batch: ingest -> tokens -> segment -> price.

Each stage is a plain function over a polars frame of traces; `analyze_batches` applies
them to one batch at a time, so memory is bounded by the batch, not the log. Commands
that need the whole table (`report`, `audit`) collect the batches with `analyze`,
dropping the long text columns unless asked to keep them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from traceviz import price, segment, tokens
from traceviz.load import Ingest, ReadOptions, read_batches
from traceviz.schema import ANSWER, PROMPT, REASONING, REASONING_SUMMARY, IngestStats

TEXT_COLUMNS = (PROMPT, REASONING, REASONING_SUMMARY, ANSWER)


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """Settings of one run through the pipeline, shared by the commands that run it."""

    read: ReadOptions = field(default_factory=ReadOptions)
    keep_text: bool = False
    tokenizer: str | None = None
    steps: bool = True
    kinds_model: segment.KindModel | None = None
    catalog: price.Catalog | None = None
    at: datetime | None = None
    tier: price.cost.Tier | None = None
    vs: str | None = None
    ratio: price.Ratio | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch through every stage: its traces (with stage columns) and its steps."""

    traces: pl.DataFrame
    steps: pl.DataFrame | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """A whole run: every trace, every step, and the ingest totals."""

    traces: pl.DataFrame
    steps: pl.DataFrame | None
    stats: IngestStats


def analyze_batches(
    paths: Iterable[str | Path],
    options: AnalysisOptions | None = None,
    ingest: Ingest | None = None,
) -> Iterator[Batch]:
    """Every batch of traces through every stage, in input order."""
    options = options or AnalysisOptions()
    for traces in read_batches(paths, options.read, ingest):
        steps = None
        if options.steps:
            cuts = segment.cut(traces)
            traces = tokens.count(traces, options.tokenizer, segment.part_starts(cuts))
            steps = segment.steps(traces, options.kinds_model, cuts)
            traces = segment.metrics(traces.drop(tokens.REASONING_PART_TOKENS), steps)
        else:
            traces = tokens.count(traces, options.tokenizer)
        catalog = options.catalog or _shipped_catalog()
        traces = price.apply(traces, catalog, options.at, options.tier)
        if options.vs:
            ratio = options.ratio or price.ratio_preset(price.whatif_module.DEFAULT_PRESET)
            traces = price.whatif(traces, options.vs, ratio, catalog)
        batch = Batch(traces=traces, steps=steps)
        if not options.keep_text:
            batch = Batch(traces=batch.traces.drop(TEXT_COLUMNS), steps=batch.steps)
        yield batch


_CATALOG: list[price.Catalog] = []


def _shipped_catalog() -> price.Catalog:
    if not _CATALOG:
        _CATALOG.append(price.load())
    return _CATALOG[0]


def analyze(
    paths: Iterable[str | Path],
    options: AnalysisOptions | None = None,
    ingest: Ingest | None = None,
) -> Analysis:
    """The whole run collected: the traces table and the steps table."""
    ingest = ingest if ingest is not None else Ingest()
    traces: list[pl.DataFrame] = []
    steps: list[pl.DataFrame] = []
    for batch in analyze_batches(paths, options, ingest):
        traces.append(batch.traces)
        if batch.steps is not None:
            steps.append(batch.steps)
    return Analysis(
        traces=pl.concat(traces, how="vertical") if traces else pl.DataFrame(),
        steps=pl.concat(steps, how="vertical") if steps else None,
        stats=ingest.stats,
    )
