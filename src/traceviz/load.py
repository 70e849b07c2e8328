"""Paths -> the canonical traces table, streamed in batches, with its ingest totals.

This is the design's ingest stage put together: `ingest` cuts files into records,
`normalize` turns records into traces, and this module batches traces into polars
frames. A file that cannot be opened is reported through `on_file_error` and the
other files are still read; a bad record goes to `on_quarantine`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path

import polars as pl

from traceviz.errors import InputError
from traceviz.ingest import DEFAULT_MAX_RECORD_BYTES, STDIN, expand_paths
from traceviz.normalize import Normalizer
from traceviz.schema import TRACE_SCHEMA, IngestStats, Quarantined, Trace
from traceviz.shards import Shard, read_shard

DEFAULT_BATCH_ROWS = 5_000
DEFAULT_BATCH_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read logs: a forced shape, the record size cap, batch pricing provenance."""

    shape: str | None = None
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    batch: bool = False
    batch_rows: int = DEFAULT_BATCH_ROWS
    batch_bytes: int = DEFAULT_BATCH_BYTES
    since: datetime | None = None
    until: datetime | None = None
    models: tuple[str, ...] = ()

    def excludes(self, trace: Trace) -> str | None:
        """Why `--since`, `--until` or `--model` leaves a trace out, or None to keep it."""
        if self.since is not None or self.until is not None:
            if trace.created is None:
                return "no timestamp"
            if self.since is not None and trace.created < self.since:
                return "before --since"
            if self.until is not None and trace.created >= self.until:
                return "from --until on"
        if self.models and not model_matches(trace.model, self.models):
            return "other model"
        return None


def model_matches(model: str | None, patterns: tuple[str, ...]) -> bool:
    """Whether a model name as logged (or without its provider prefix) matches one of the
    `--model` patterns, case-insensitive: shell-style wildcards (`deepseek*`), or a name
    that also matches its dated snapshots (`o1` is `o1-2024-12-17` too, not `o1-mini`)."""
    if not model:
        return False
    names = {model.lower(), model.lower().rsplit("/", 1)[-1]}
    for pattern in (p.lower() for p in patterns):
        for name in names:
            if fnmatchcase(name, pattern) or fnmatchcase(name, pattern + _DATED):
                return True
    return False


_DATED = "-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"


@dataclass(slots=True)
class Ingest:
    """Where an ingest reports as it goes: totals, quarantined records, unreadable files."""

    stats: IngestStats = field(default_factory=IngestStats)
    on_quarantine: Callable[[Quarantined], None] | None = None
    on_file_error: Callable[[InputError], None] | None = None
    quarantined: list[Quarantined] = field(default_factory=list)
    keep_quarantined: bool = True
    # (bytes read, bytes in all, traces so far), after each file or shard of a run
    on_progress: Callable[[int, int, int], None] | None = None

    def quarantine(self, item: Quarantined) -> None:
        if self.on_quarantine is not None:
            self.on_quarantine(item)
        elif self.keep_quarantined:
            self.quarantined.append(item)

    def pass_over(self, path: str, reason: str) -> None:
        """A file a folder's walk does not read (traceviz's own output, a FIFO), counted."""
        skipped = self.stats.files_passed_over
        skipped[reason] = skipped.get(reason, 0) + 1

    def file_error(self, error: InputError) -> None:
        self.stats.file_errors.append(str(error))
        if self.on_file_error is not None:
            self.on_file_error(error)


def iter_traces(
    paths: Iterable[str | Path] | str | Path,
    options: ReadOptions | None = None,
    ingest: Ingest | None = None,
) -> Iterator[Trace]:
    """Every trace of every file under `paths`, in order; quarantined records go to `ingest`."""
    ingest = ingest if ingest is not None else Ingest()
    for source in sources(paths, ingest):
        yield from shard_traces(Shard(source), options, ingest)


def shard_traces(
    shard: Shard, options: ReadOptions | None = None, ingest: Ingest | None = None
) -> Iterator[Trace]:
    """Every trace of one shard, in order; quarantined records go to `ingest`."""
    options = options or ReadOptions()
    ingest = ingest if ingest is not None else Ingest()
    normalizer = Normalizer(ingest.stats, options.shape)
    if shard.start == 0:
        ingest.stats.files += 1
    try:
        items = read_shard(shard, options.max_record_bytes, options.batch)
        for out in normalizer.run(items):
            if isinstance(out, Quarantined):
                ingest.quarantine(out)
            elif (reason := options.excludes(out)) is not None:
                ingest.stats.filtered[reason] = ingest.stats.filtered.get(reason, 0) + 1
            else:
                yield out
    except InputError as error:
        ingest.file_error(error)


def sources(paths: Iterable[str | Path] | str | Path, ingest: Ingest) -> Iterator[str]:
    """Every file under `paths` (one path given as a plain string or `Path` is one path);
    files a folder's walk passes over are counted."""
    if isinstance(paths, str | Path):
        paths = [paths]
    seen: set[str] = set()
    for path in paths:
        try:
            for source in expand_paths([path], on_skip=ingest.pass_over):
                # NOTE: a file named twice (or named and inside a folder named) is read
                # once: reading it again would count its spend twice
                key = source if source == STDIN else str(Path(source).resolve())
                if key in seen and source != STDIN:
                    ingest.pass_over(source, "named twice")
                    continue
                seen.add(key)
                yield source
        except InputError as error:
            ingest.file_error(error)


def read_batches(
    paths: Iterable[str | Path] | str | Path,
    options: ReadOptions | None = None,
    ingest: Ingest | None = None,
) -> Iterator[pl.DataFrame]:
    """The traces table in frames of at most `options.batch_rows` rows or about
    `options.batch_bytes` of text (bounded memory)."""
    return batches(iter_traces(paths, options, ingest), options or ReadOptions())


def batches(traces: Iterable[Trace], options: ReadOptions) -> Iterator[pl.DataFrame]:
    """Traces gathered into frames, cut by rows or by the size of their texts."""
    rows: list[dict[str, object]] = []
    size = 0
    for trace in traces:
        rows.append(trace.row())
        size += trace.text_size()
        if len(rows) >= options.batch_rows or size >= options.batch_bytes:
            yield frame(rows)
            rows = []
            size = 0
    if rows:
        yield frame(rows)


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Trace rows as a frame with the canonical schema."""
    return pl.DataFrame(rows, schema=TRACE_SCHEMA, orient="row")


def read(
    paths: str | Path | Iterable[str | Path],
    options: ReadOptions | None = None,
    ingest: Ingest | None = None,
) -> pl.DataFrame:
    """The whole traces table of the logs under `paths`.

    Examples
    --------
    >>> import traceviz
    >>> traces = traceviz.read("samples/")          # doctest: +SKIP
    >>> traces.select("format", "model", "usage_output").head(2)  # doctest: +SKIP
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    frames = list(read_batches(paths, options, ingest))
    if not frames:
        return pl.DataFrame(schema=TRACE_SCHEMA)
    return pl.concat(frames, how="vertical")
