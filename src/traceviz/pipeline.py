"""The whole pipeline: ingest -> tokens -> segment -> price, in that order.

Each stage is a plain function over a polars frame of traces, and this module reads
top to bottom as the design's diagram:

1. settings: `AnalysisOptions` (what a run finds) and `RunOptions` (how it runs);
2. the stages over one batch: `measure` (tokens, then segment, then the what-if's
   recount of the text with the target's tokenizer: the one price-stage step that
   needs the text, so it runs where the text is) and `apply_prices` (the dated price,
   the overthinking bill and the what-if's cost; needs no text);
3. one process: `analyze_batches` streams batches through every stage;
4. a whole run: files are cut into shards (`shards.py`), each shard is measured (text
   dropped unless asked for) by an engine (`engines.py`: this process, local worker
   processes, or a Dask cluster), results come back in input order, unchanged files
   are read from the result cache (`cache.py`), and the driver prices each result as
   it arrives (prices are per trace, so every engine gives the same report):
   `analyze_results` streams them, `analyze` collects them;
5. the cache key and the schemas a run's settings give.

NOTE: past 400 lines on purpose: this is the one module where the stages are seen in
their order, end to end; each part is a short function, and what is not the order of
the stages lives elsewhere (shard planning in `shards.py`, engines in `engines.py`,
the cache in `cache.py`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import polars as pl

from traceviz import price, response_keys, segment, tokens
from traceviz.cache import Entry, ResultCache, settings_key
from traceviz.engines import Engine, InProcess
from traceviz.errors import ConfigError, InputError
from traceviz.ingest import is_stream
from traceviz.load import Ingest, ReadOptions, batches, read_batches, shard_traces, sources
from traceviz.price import overthinking
from traceviz.price.whatif import DEFAULT_PRESET, RECOUNTED, recount, target_key
from traceviz.schema import (
    ANSWER,
    KIND_EXPECTED_SCHEMA,
    KIND_STEPS_SCHEMA,
    METRICS_SCHEMA,
    PROMPT,
    REASONING,
    REASONING_SUMMARY,
    SOURCE,
    TOKENS_SCHEMA,
    TRACE_ID,
    TRACE_SCHEMA,
    IngestStats,
    Quarantined,
    Trace,
    empty_traces,
)
from traceviz.shards import (
    DEFAULT_SHARD_BYTES,
    MIN_SHARD_BYTES,
    Shard,
    file_shards,
    gather_small,
)

TEXT_COLUMNS = (PROMPT, REASONING, REASONING_SUMMARY, ANSWER)


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """Settings of one run through the pipeline, shared by the commands that run it."""

    read: ReadOptions = field(default_factory=ReadOptions)
    keep_text: bool = False
    keep_steps: bool = True
    tokenizer: str | None = None
    steps: bool = True
    kinds_model: segment.KindModel | None = None
    catalog: price.Catalog | None = None
    at: datetime | None = None
    tier: price.cost.Tier | None = None
    vs: str | None = None
    ratio: price.Ratio | None = None
    prices: bool = True  # run the price stage (count, steps and show need no money)
    # count each logged response once (`--dedupe`): a trace whose logged response id and
    # choice an earlier one had is left out, in the driver, after the cache (`first_copies`)
    dedupe: bool = False


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How a run is carried out (never what it finds): engine, shard size, cache."""

    engine: Engine = field(default_factory=InProcess)
    shard_bytes: int = DEFAULT_SHARD_BYTES
    cache: ResultCache | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch through every stage: its traces (with stage columns) and its steps."""

    traces: pl.DataFrame
    steps: pl.DataFrame | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """A whole run: every trace (with its steps per kind), every step (if kept), and the
    ingest totals."""

    traces: pl.DataFrame
    steps: pl.DataFrame | None
    stats: IngestStats


@dataclass(slots=True)
class ShardResult:
    """What a worker sends back for one shard: measured traces (the steps themselves
    only if kept), the shard's totals and its quarantined records."""

    traces: pl.DataFrame
    steps: pl.DataFrame | None
    stats: IngestStats
    quarantined: list[Quarantined]


def measure(traces: pl.DataFrame, options: AnalysisOptions) -> Batch:
    """The stages that need the text, over one batch: tokens, segment (unless
    `options.steps` is off), and the what-if's recount with the target's tokenizer."""
    if options.steps:
        cuts = segment.cut(traces)
        traces = tokens.count(traces, options.tokenizer, segment.part_starts(cuts))
        steps, traces = segment.measure(traces, options.kinds_model, cuts)
        batch = Batch(traces, steps)
    else:
        batch = Batch(tokens.count(traces, options.tokenizer))
    if options.vs and options.prices:
        return Batch(recount(batch.traces, options.vs), batch.steps)
    return batch


PRICE_ROWS = 20_000  # traces priced at once (pricing builds rows of Python decimals)


def apply_prices(traces: pl.DataFrame, options: AnalysisOptions) -> pl.DataFrame:
    """The price stage (and the what-if of `--vs`) over measured traces; the traces as
    they are when `options.prices` is off."""
    if not options.prices:
        return traces
    if traces.height > PRICE_ROWS:
        return pl.concat([apply_prices(piece, options) for piece in traces.iter_slices(PRICE_ROWS)])
    catalog = options.catalog or _shipped_catalog()
    traces = overthinking.apply(price.apply(traces, catalog, options.at, options.tier))
    if options.vs:
        ratio = options.ratio or price.ratio_preset(DEFAULT_PRESET)
        traces = price.whatif(traces, options.vs, ratio, catalog, options.at)
    return traces


@functools.cache
def _shipped_catalog() -> price.Catalog:
    return price.load()


def analyze_batches(
    paths: Iterable[str | Path] | str | Path,
    options: AnalysisOptions | None = None,
    ingest: Ingest | None = None,
) -> Iterator[Batch]:
    """Every batch of traces through every stage, in input order, in this process."""
    options = options or AnalysisOptions()
    for frame in read_batches(paths, options.read, ingest):
        batch = measure(frame, options)
        traces = apply_prices(batch.traces, options)
        if not options.keep_text:
            traces = traces.drop(TEXT_COLUMNS)
        yield Batch(traces=traces, steps=batch.steps)


def measure_shard(shard: Shard, options: AnalysisOptions) -> ShardResult:
    """Read and measure one shard (runs in a worker; must not need the driver)."""
    ingest = Ingest()
    traces, steps = _measure_all(shard_traces(shard, options.read, ingest), options)
    return ShardResult(traces, steps, ingest.stats, ingest.quarantined)


def _measure_all(
    traces: Iterator[Trace], options: AnalysisOptions
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Traces measured in batches: one table of traces (text dropped unless kept) and
    one of steps (if kept)."""
    measured: list[pl.DataFrame] = []
    steps: list[pl.DataFrame] = []
    for frame in batches(traces, options.read):
        batch = measure(frame, options)
        measured.append(batch.traces if options.keep_text else batch.traces.drop(TEXT_COLUMNS))
        if batch.steps is not None and options.keep_steps:
            steps.append(batch.steps)
    return (
        pl.concat(measured, how="vertical") if measured else pl.DataFrame(),
        pl.concat(steps) if steps else None,
    )


def measure_shards(shard: Shard, options: AnalysisOptions) -> list[tuple[str, ShardResult]]:
    """Read and measure a shard, or a gathering of small whole files (`Shard.more`) in
    shared batches, giving each file its own result (runs in a worker).

    NOTE: small files are measured together because measuring a batch costs a fixed
    ~15 ms whatever its size: 100,000 one-record files would take 25 minutes apart."""
    if not shard.more:
        return [(shard.source, measure_shard(shard, options))]
    ingests = {source: Ingest() for source in shard.sources}

    def every_trace() -> Iterator[Trace]:
        for source in shard.sources:
            yield from shard_traces(Shard(source), options.read, ingests[source])

    whole, all_steps = _measure_all(every_trace(), options)
    by_source = (
        {key[0]: part for key, part in whole.partition_by(SOURCE, as_dict=True).items()}
        if whole.height
        else {}
    )
    if not set(by_source) <= set(shard.sources):  # a reader named its traces otherwise
        return [(source, measure_shard(Shard(source), options)) for source in shard.sources]
    out = []
    for source in shard.sources:
        mine = by_source.get(source, pl.DataFrame())
        mine_steps = (
            all_steps.filter(pl.col(TRACE_ID).is_in(mine[TRACE_ID].implode()))
            if all_steps is not None and mine.height
            else None
        )
        found = ingests[source]
        out.append((source, ShardResult(mine, mine_steps, found.stats, found.quarantined)))
    return out


def analyze(
    paths: Iterable[str | Path] | str | Path,
    options: AnalysisOptions | None = None,
    ingest: Ingest | None = None,
    run: RunOptions | None = None,
) -> Analysis:
    """The whole run collected: traces, steps per kind (and steps, if kept), totals.

    Any engine gives the same tables in the same order as one process: shards are
    merged in input order and the driver prices each result (prices are per trace).

    Examples
    --------
    >>> import traceviz
    >>> run = traceviz.analyze("samples/deepseek-reasoner.json")
    >>> run.stats.read == run.stats.parsed + run.stats.quarantined + run.stats.skipped
    True
    >>> run.traces.select("model", "reasoning_tokens", "cost_total").row(0)
    ('deepseek-reasoner', 57, Decimal('0.000161010000'))
    """
    options = options or AnalysisOptions()
    ingest = ingest if ingest is not None else Ingest()
    parts = list(analyze_results(paths, options, ingest, run))
    whole = _merge(parts)
    return Analysis(
        traces=whole.traces,
        steps=whole.steps if options.keep_steps else None,
        stats=ingest.stats,
    )


def analyze_results(
    paths: Iterable[str | Path] | str | Path,
    options: AnalysisOptions | None = None,
    ingest: Ingest | None = None,
    run: RunOptions | None = None,
) -> Iterator[ShardResult]:
    """The run as priced results, one file (or shard of one) at a time, in input order.

    Totals and quarantined records are reported to `ingest` as each result arrives, so a
    writer can stream the traces out while later shards are still being measured. With
    `options.dedupe`, the traces that repeat an earlier one are left out (`first_copies`).
    """
    options = options or AnalysisOptions()
    ingest = ingest if ingest is not None else Ingest()
    if options.dedupe and options.keep_steps:
        # NOTE: a step names its trace by trace id alone, which two copies share
        msg = "dedupe leaves traces out after they are measured; their steps cannot follow"
        raise ConfigError(msg, hint="Pass keep_steps=False with dedupe=True.")
    results = _results(paths, options, ingest, run or RunOptions())
    return first_copies(results, ingest) if options.dedupe else results


DEDUPED = "logged more than once (--dedupe)"  # the reason the run's totals count them under


def first_copies(results: Iterable[ShardResult], ingest: Ingest) -> Iterator[ShardResult]:
    """The results (in input order) without the traces whose logged response id and choice
    an earlier trace had, counted as left out (`ingest.stats.filtered`); the driver keeps
    8 bytes a logged response (`response_keys`)."""
    seen = response_keys.KeySet()
    for result in results:
        if not result.traces.height:
            yield result
            continue
        again, seen = response_keys.repeats(result.traces, seen)
        left_out = int(again.sum())
        if left_out:
            filtered = ingest.stats.filtered
            filtered[DEDUPED] = filtered.get(DEDUPED, 0) + left_out
            kept = result.traces.filter(~again)
            result = ShardResult(kept, result.steps, result.stats, result.quarantined)
        yield result


def _results(
    paths: Iterable[str | Path] | str | Path,
    options: AnalysisOptions,
    ingest: Ingest,
    run: RunOptions,
) -> Iterator[ShardResult]:
    """`analyze_results` before `dedupe`: every priced result, as measured or cached."""
    if options.vs and options.prices:
        target_key(options.vs, options.catalog or _shipped_catalog())
    cache = run.cache if not (options.keep_text or options.keep_steps) else None
    settings = measure_key(options)
    files = list(sources(paths, ingest))
    streams = {f for f in files if is_stream(f)}  # read once, here: no cache, no shards
    keys = {
        f: k for f in files if cache and f not in streams and (k := _cache_key(cache, f, settings))
    }
    cached = {f for f, k in keys.items() if cache and cache.has(k)}
    pending = [f for f in files if f not in cached and f not in streams]
    sizes = {f: _file_size(f) for f in files if f not in streams}  # each stat'ed once
    shard_bytes = _shard_bytes(pending, run, sizes)
    plan = {f: file_shards(f, shard_bytes) for f in pending}
    work = gather_small(plan, sizes)
    engine = run.engine
    if sum(_size(s, sizes) for shards in plan.values() for s in shards) < engine.min_bytes:
        engine = InProcess()
    results = engine.map(partial(measure_shards, options=options), work)
    schema = measured_schema(options) if cached else None
    total, done = sum(sizes.values()), 0
    if ingest.on_progress is not None:
        ingest.on_progress(0, total, 0)
    ready: dict[str, list[ShardResult]] = {}
    held: list[ShardResult] = []  # measured, not yet priced: a few thousand traces
    held_rows = 0

    def arrivals(source: str) -> Iterator[ShardResult]:
        """A file's shard results one at a time as they come (in order); the results of
        later files that come with them wait in `ready`."""
        for taken in range(len(plan[source])):
            while not ready.get(source):
                for name, result in next(results):
                    ready.setdefault(name, []).append(result)
                if ingest.on_progress is not None:  # a big file's shards as they come
                    got = ready.get(source, [])
                    shards = plan[source][: taken + len(got)]
                    part_done = done + sum(_size(s, sizes) for s in shards)
                    counted = ingest.stats.traces + sum(r.stats.traces for r in got)
                    ingest.on_progress(part_done, total, counted)
            yield ready[source].pop(0)
        ready.pop(source, None)

    for source in files:
        entry = cache.get(keys[source], schema) if cache and source in cached else None
        found: Iterable[ShardResult]
        if entry is not None:  # read one part of one file at a time
            found = _entry_results(entry)
        elif source in cached or source in streams:  # a stream, or an entry gone bad
            found = [measure_shard(Shard(source), options)]
        else:
            found = arrivals(source)
        # NOTE: the cache entry is written as the results pass, never held for a whole file
        writer = cache.writer(keys[source]) if cache and entry is None and source in keys else None
        try:
            for part in found:
                if writer is not None:
                    writer.add(part.traces, part.stats, part.quarantined)
                ingest.stats.merge(part.stats)
                for item in part.quarantined:
                    ingest.quarantine(item)
                for message in part.stats.file_errors:
                    if ingest.on_file_error is not None:
                        ingest.on_file_error(InputError(message))
                held.append(part)
                held_rows += part.traces.height
                del part  # held (or priced below) only: a big file's results are not kept
                # NOTE: priced a few thousand traces at once, not file by file: pricing costs
                # a fixed ~2 ms a call, which 100,000 one-record files would pay 100,000
                # times; and shard by shard, not a big file at once, so memory stays flat
                if held_rows >= PRICE_ROWS // 4:
                    yield from _priced(held, options)
                    held, held_rows = [], 0
            if writer is not None:
                writer.commit()
        finally:
            if writer is not None:  # left unfinished: no entry (nothing once committed)
                writer.abandon()
            if entry is not None:  # left midway (an error, a consumer that stopped): now,
                entry.close()  # not when a reference cycle holding it is collected
        done += sizes.get(source, 0)
        if ingest.on_progress is not None:
            ingest.on_progress(done, total, ingest.stats.traces)
    if held:
        yield from _priced(held, options)
    next(results, None)  # lets the engine finish its run (local workers stop here)


def _priced(parts: list[ShardResult], options: AnalysisOptions) -> Iterator[ShardResult]:
    """Results merged and priced as one (their totals are already counted); without
    steps, a big one priced and handed on PRICE_ROWS traces at a time."""
    one = _merge(parts)
    pieces = (
        list(one.traces.iter_slices(PRICE_ROWS))
        if one.steps is None and one.traces.height > PRICE_ROWS
        else [one.traces]
    )
    for piece in pieces:
        priced = apply_prices(piece, options) if piece.height else piece
        yield ShardResult(priced, one.steps, IngestStats(), [])


def _entry_results(entry: Entry) -> Iterator[ShardResult]:
    """A cached file's result part by part; the first carries the file's totals."""
    stats, quarantined = entry.stats, entry.quarantined
    try:
        for traces in entry.parts():
            yield ShardResult(traces, None, stats, quarantined)
            stats, quarantined = IngestStats(), []
    finally:
        entry.close()
    if stats is entry.stats:  # no trace at all: the totals alone
        yield ShardResult(pl.DataFrame(), None, stats, quarantined)


def measure_key(options: AnalysisOptions) -> str:
    """The cache key part of the settings: every field but those that only price.

    NOTE: derived from the whole frozen settings object, so an option added to
    `AnalysisOptions` or `ReadOptions` is in the key unless it is blanked here, which
    only an option applied after the cache (by `apply_prices`, or `dedupe` by
    `first_copies`) may be. `prices` stays
    in: a run without prices does not recount the text for the what-if.
    """
    measured = dataclasses.replace(
        options, catalog=None, at=None, tier=None, ratio=None, dedupe=False
    )
    return settings_key(measured)


def traces_schema(options: AnalysisOptions, raw: bool = False) -> dict[str, pl.DataType]:
    """The columns of the traces table a run with these settings writes (`raw`: the
    ingest columns alone), so that an empty run still writes a table of its kind."""
    if raw:
        return dict(empty_traces().schema)
    traces = apply_prices(measure(empty_traces(), options).traces, options)
    return dict((traces if options.keep_text else traces.drop(TEXT_COLUMNS)).schema)


def measured_schema(options: AnalysisOptions) -> pl.Schema:
    """The columns and types measuring gives for these settings (text dropped): what a
    cached result must have.

    NOTE: read from the stages' tables in `schema.py`, not from running `measure` on an
    empty frame, which a warm run would do for this alone (~110 ms: the kinds model
    loaded and every stage run); tests/test_cache_keys.py holds the two equal for every
    setting that shapes the columns.
    """
    columns = {c: t for c, t in TRACE_SCHEMA.items() if c not in TEXT_COLUMNS} | TOKENS_SCHEMA
    if options.steps:
        columns |= METRICS_SCHEMA | KIND_STEPS_SCHEMA | KIND_EXPECTED_SCHEMA
    if options.vs and options.prices:
        columns |= dict.fromkeys(RECOUNTED, pl.Int64())
    return pl.Schema(columns)


def _shard_bytes(files: list[str], run: RunOptions, sizes: dict[str, int] | None = None) -> int:
    """Shards small enough to keep every worker busy (four each), at most `run.shard_bytes`."""
    sizes = sizes if sizes is not None else {f: _file_size(f) for f in files}
    total = sum(sizes.get(f, 0) for f in files)
    return min(run.shard_bytes, max(MIN_SHARD_BYTES, total // (4 * run.engine.workers) + 1))


def _size(shard: Shard, sizes: dict[str, int]) -> int:
    if shard.end is not None:
        return shard.end - shard.start
    return sizes.get(shard.source, 0)


def _file_size(source: str) -> int:
    try:
        return Path(source).stat().st_size
    except OSError:
        return 0


def _cache_key(cache: ResultCache, source: str, settings: str) -> str | None:
    try:
        return cache.key(source, settings)
    except OSError:
        return None  # unreadable: reading it reports why


def _merge(parts: list[ShardResult]) -> ShardResult:
    stats = IngestStats()
    for part in parts:
        stats.merge(part.stats)
    traces = [p.traces for p in parts if p.traces.height]
    steps = [p.steps for p in parts if p.steps is not None]
    return ShardResult(
        traces=pl.concat(traces, how="vertical") if traces else pl.DataFrame(),
        steps=pl.concat(steps) if steps else None,
        stats=stats,
        quarantined=[q for p in parts for q in p.quarantined],
    )
