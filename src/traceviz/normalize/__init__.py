"""Raw records -> canonical traces: the registry of log shapes, and stream reassembly.

Each shape module offers `detect(value) -> bool` and `normalize(record) -> list[Trace]`.
`SHAPES` lists them in the order detection tries them (specific before general).
Streamed shapes also say which stream a chunk belongs to, so the chunks of one
response, consecutive or interleaved with other streams' chunks, are merged into one
record before they are normalized.

Invariant kept by `Normalizer.run`: every record read is counted once, as parsed
(it gave one or more traces), skipped (it holds no response: a failed batch request,
a span of another kind) or quarantined (with source, line and reason).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import orjson

from traceviz.ingest.interface import RawRecord, StreamEnd, preview
from traceviz.normalize import (
    anthropic,
    batch,
    chat,
    datasets,
    helicone,
    langfuse,
    litellm,
    llm_logsdb,
    ollama,
    otel,
    responses,
    think_tags,
    traces_table,
    wrappers,
)
from traceviz.normalize.fields import ShapeError
from traceviz.normalize.skip import SkipRecord
from traceviz.schema import IngestStats, Quarantined, Trace


@dataclass(frozen=True, slots=True)
class Shape:
    """A log shape: how to recognise one record of it and read it into traces.

    `split`, for a store whose one line holds many records (an OTLP line of many spans,
    a page of observations), cuts the line into those records; each is then read,
    counted, skipped or quarantined on its own, at the line it came from.
    """

    name: str
    detect: Callable[[Any], bool]
    normalize: Callable[[RawRecord], list[Trace]]
    split: Callable[[RawRecord], list[RawRecord]] | None = None


@dataclass(frozen=True, slots=True)
class StreamShape:
    """A streamed shape: which stream a chunk belongs to, and whether it is the last."""

    name: str
    chunk_key: Callable[[Any], str | None]
    is_last: Callable[[Any], bool]
    normalize: Callable[[RawRecord], list[Trace]]


def _never(_: Any) -> bool:
    return False


STREAMS: tuple[StreamShape, ...] = (
    StreamShape("openai-chat-stream", chat.chunk_key, _never, chat.normalize_stream),
    StreamShape(ollama.STREAM_NAME, ollama.chunk_key, ollama.is_last, ollama.normalize_stream),
)

SHAPES: tuple[Shape, ...] = (
    # traceviz's own table first: its rows carry columns that other shapes also read
    Shape(traces_table.NAME, traces_table.detect, traces_table.normalize),
    Shape(llm_logsdb.NAME, llm_logsdb.detect, llm_logsdb.normalize),
    # log stores first: their rows wrap responses that the shapes below would half-read
    Shape(otel.NAME, otel.detect, otel.normalize, otel.split),
    Shape(litellm.NAME, litellm.detect, litellm.normalize),
    Shape(langfuse.NAME, langfuse.detect, langfuse.normalize, langfuse.split),
    Shape(helicone.NAME, helicone.detect, helicone.normalize),
    Shape(batch.NAME, batch.detect, batch.normalize),
    Shape(responses.NAME, responses.detect, responses.normalize),
    Shape(anthropic.NAME, anthropic.detect, anthropic.normalize),
    Shape(chat.NAME, chat.detect, chat.normalize),
    Shape(ollama.NAME, ollama.detect, ollama.normalize),
    Shape(datasets.OPENR1, datasets.detect_openr1, datasets.normalize_openr1),
    Shape(datasets.OPENTHOUGHTS, datasets.detect_openthoughts, datasets.normalize_openthoughts),
    Shape(think_tags.NAME, think_tags.detect, think_tags.normalize),
)


def shape_names() -> list[str]:
    """Every name `--shape` accepts."""
    return [s.name for s in STREAMS] + [s.name for s in SHAPES]


def find_shape(name: str) -> Shape | StreamShape:
    every: tuple[Shape | StreamShape, ...] = (*STREAMS, *SHAPES)
    for shape in every:
        if shape.name == name:
            return shape
    msg = f"unknown shape {name!r}"
    raise KeyError(msg)


def fallback_trace_id(source: str, line: int, index: int) -> str:
    """A stable id for a trace whose log gives none: a hash of where it came from."""
    digest = hashlib.blake2b(f"{source}\0{line}\0{index}".encode(), digest_size=8)
    return digest.hexdigest()


STREAM_IDLE = 64  # records without a chunk after which a stream is over (`shards` too)


@dataclass(slots=True)
class _Stream:
    shape: StreamShape
    first: RawRecord
    chunks: list[Any]
    open: bool = True


class _Streams:
    """The streams being reassembled, open or finished, in the order of their first
    chunks; a finished stream waits for the open ones before it, so traces keep that
    order. At most `STREAM_IDLE` streams are open: each had a chunk in that many records.
    """

    def __init__(self) -> None:
        self.queue: deque[_Stream] = deque()
        self.live: OrderedDict[tuple[str, str], tuple[_Stream, int]] = OrderedDict()

    def add(self, shape: StreamShape, key: str, item: RawRecord, index: int) -> None:
        """One chunk, at the `index`-th record: to its open stream, or a new one."""
        name = (shape.name, key)
        found = self.live.pop(name, None)
        stream = found[0] if found else _Stream(shape, item, [])
        if found is None:
            self.queue.append(stream)
        stream.chunks.append(item.value)
        if shape.is_last(item.value):
            stream.open = False
        else:
            self.live[name] = (stream, index)  # last: the most recently seen

    def finished(self, index: int) -> list[_Stream]:
        """The streams that can come out now, the idle ones closed first."""
        while self.live:
            name, (stream, seen) = next(iter(self.live.items()))
            if index - seen < STREAM_IDLE:
                break
            stream.open = False
            del self.live[name]
        done = []
        while self.queue and not self.queue[0].open:
            done.append(self.queue.popleft())
        return done

    def close_all(self) -> list[_Stream]:
        """Every stream, closed, in order."""
        done = list(self.queue)
        self.queue.clear()
        self.live.clear()
        return done


class Normalizer:
    """Turns a stream of ingest items into traces and quarantined records, counting both."""

    def __init__(self, stats: IngestStats, shape: str | None = None) -> None:
        self.stats = stats
        self.forced = find_shape(shape) if shape else None
        self.streams = (self.forced,) if isinstance(self.forced, StreamShape) else STREAMS
        if isinstance(self.forced, Shape):
            self.streams = ()

    def run(
        self, items: Iterable[RawRecord | Quarantined | StreamEnd]
    ) -> Iterator[Trace | Quarantined]:
        """Traces and quarantined records, in input order, streams reassembled.

        Chunks of several streams may interleave (concurrent requests logged line by
        line): each chunk joins its own stream. A stream ends at its last chunk, when
        none of its chunks came in the last `STREAM_IDLE` records, or at any record
        that is no chunk, a quarantined line, the end of an SSE stream or of a file.
        Streams come out in the order of their first chunks (a trace keeps its line).
        """
        streams = _Streams()
        source: str | None = None
        for index, item in enumerate(items):
            chunk = None if isinstance(item, StreamEnd | Quarantined) else self._chunk_of(item)
            if chunk is None or item.source != source:
                yield from self._flush(streams.close_all())
                source = item.source
            if chunk is None:
                if isinstance(item, StreamEnd):
                    continue
                if isinstance(item, Quarantined):
                    self.stats.read += 1
                    yield self._quarantine(item)
                    continue
                yield from self._one(item)
                continue
            shape, key = chunk
            streams.add(shape, key, item, index)  # type: ignore[arg-type]
            yield from self._flush(streams.finished(index))
        yield from self._flush(streams.close_all())

    def _chunk_of(self, item: RawRecord) -> tuple[StreamShape, str] | None:
        if not isinstance(item.value, dict):
            return None
        for shape in self.streams:
            key = shape.chunk_key(item.value)
            if key is not None:
                return shape, key
        return None

    def _flush(self, done: list[_Stream]) -> Iterator[Trace | Quarantined]:
        for stream in done:
            self.stats.chunks_merged += len(stream.chunks)
            first = stream.first
            record = RawRecord(first.source, first.line, stream.chunks, first.batch)
            yield from self._apply(stream.shape.name, stream.shape.normalize, record)

    def _one(self, record: RawRecord) -> Iterator[Trace | Quarantined]:
        if isinstance(self.forced, StreamShape):
            yield from self._apply(self.forced.name, self.forced.normalize, _as_chunks(record))
            return
        if isinstance(self.forced, Shape):
            yield from self._split(self.forced, record)
            return
        found = self._detect(record.value)
        if isinstance(found, Shape):
            yield from self._split(found, record)
        elif found is not None:
            self.stats.chunks_merged += len(record.value)
            yield from self._apply(found.name, found.normalize, record)
        elif wrappers.unwrap(record.value) is not None:
            yield from self._apply(wrappers.NAME, self._read_wrapped, record)
        else:
            self.stats.read += 1
            reason = _unknown(record.value)
            yield self._quarantine(
                Quarantined(record.source, record.line, reason, _raw(record.value))
            )

    def _split(self, shape: Shape, record: RawRecord) -> Iterator[Trace | Quarantined]:
        """Read a record of a shape, or each record it holds when the shape splits."""
        if shape.split is None:
            yield from self._apply(shape.name, shape.normalize, record)
            return
        try:
            parts = shape.split(record)
        except (ShapeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            self.stats.read += 1
            reason = f"{shape.name}: {exc}"
            yield self._quarantine(
                Quarantined(record.source, record.line, reason, _raw(record.value))
            )
            return
        if not parts:
            self.stats.read += 1
            self.stats.skipped += 1
            reason = f"{shape.name}: no records in the line"
            self.stats.skip_reasons[reason] = self.stats.skip_reasons.get(reason, 0) + 1
        for part in parts:
            yield from self._apply(shape.name, shape.normalize, part)

    def _detect(self, value: Any) -> Shape | StreamShape | None:
        """The shape of a record: a stream given as an array of chunks, or a whole one."""
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for stream in self.streams:
                if stream.chunk_key(value[0]) is not None:
                    return stream
        for shape in SHAPES:
            if shape.detect(value):
                return shape
        return None

    def _read_wrapped(self, record: RawRecord) -> list[Trace]:
        def read(inner: RawRecord) -> tuple[str, list[Trace]]:
            found = self._detect(inner.value)
            if found is None and isinstance(inner.value, dict) and self._chunk_of(inner):
                found = self._chunk_of(inner)[0]  # type: ignore[index]
                inner = _as_chunks(inner)
            if found is None:
                msg = f"the wrapped response is of an unknown shape ({_unknown(inner.value)})"
                raise ShapeError(msg)
            return found.name, found.normalize(inner)

        return wrappers.normalize_wrapped(record, read)[1]

    def _apply(
        self, name: str, normalize: Callable[[RawRecord], list[Trace]], record: RawRecord
    ) -> Iterator[Trace | Quarantined]:
        self.stats.read += 1
        try:
            traces = normalize(record)
        except SkipRecord as skip:
            self.stats.skipped += 1
            self.stats.skip_reasons[str(skip)] = self.stats.skip_reasons.get(str(skip), 0) + 1
            return
        except (ShapeError, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            if isinstance(exc, ShapeError):
                reason = f"{name}: {exc}"
            elif self.forced is not None:  # what the user forced does not fit the record
                shown = _unknown(record.value)
                reason = f"--shape {name}: the record is not of that shape ({shown})"
            else:
                reason = f"{name}: malformed record ({type(exc).__name__}: {exc})"
            yield self._quarantine(
                Quarantined(record.source, record.line, reason, _raw(record.value))
            )
            return
        if not traces:
            self.stats.skipped += 1
            return
        self.stats.parsed += 1
        for index, trace in enumerate(traces):
            if trace.trace_id is None:
                trace = replace(trace, trace_id=fallback_trace_id(trace.source, trace.line, index))
            self.stats.traces += 1
            self.stats.responses += not trace.choice  # a response's choices count as one
            self.stats.by_format[trace.format] = self.stats.by_format.get(trace.format, 0) + 1
            yield trace

    def _quarantine(self, item: Quarantined) -> Quarantined:
        self.stats.quarantined += 1
        key = reason_kind(item.reason)
        self.stats.quarantine_reasons[key] = self.stats.quarantine_reasons.get(key, 0) + 1
        return item


def reason_kind(reason: str) -> str:
    """The kind of a quarantine reason, without the record's particulars, for counting."""
    head, _, rest = reason.partition(": ")
    if head in shape_names() and rest:
        return f"{head}: {rest.split(':', 1)[0].split(' (', 1)[0]}"
    return head


def _as_chunks(record: RawRecord) -> RawRecord:
    value = record.value if isinstance(record.value, list) else [record.value]
    return RawRecord(record.source, record.line, value, record.batch)


def _unknown(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(sorted(str(k) for k in value)[:8])
        return f"unknown shape: an object with keys {keys or '(none)'}"
    if isinstance(value, list):
        return "unknown shape: an array that is not a stream of chunks"
    return f"unknown shape: {type(value).__name__}"


def _raw(value: Any) -> str:
    if isinstance(value, str):
        return preview(value)
    try:
        return preview(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str))
    except (TypeError, orjson.JSONEncodeError):
        return preview(repr(value))
