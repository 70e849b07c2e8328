"""Cutting logs into shards: the unit of work the engines hand to their workers.

A shard is a whole file, or a byte range of a large plain JSON Lines file. Ranges are
cut at line starts, never between two chunks of one streamed response (interleaved
with others' chunks or not), and each
knows how many lines come before it, so records keep the line numbers (and trace ids)
they have when the file is read whole: the shards of a log, read in order, give
exactly what one reader gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from traceviz import ingest
from traceviz.normalize import STREAM_IDLE, STREAMS

DEFAULT_SHARD_BYTES = 64 * 1024 * 1024
MIN_SHARD_BYTES = 4 * 1024 * 1024
_COUNT_CHUNK = 8 * 1024 * 1024
_PROBE_BYTES = 1 << 20  # a line longer than this is never a stream chunk worth keeping whole


@dataclass(frozen=True, slots=True)
class Shard:
    """Bytes `start` to `end` of `source` (`end` None: the whole file, any container)."""

    source: str
    start: int = 0
    end: int | None = None
    first_line: int = 0
    more: tuple[str, ...] = ()  # whole small files read after `source`, in order

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source, *self.more)

    def describe(self) -> str:
        if self.more:
            return f"{self.source} and {len(self.more):,} more small files"
        if self.end is None:
            return self.source
        return f"{self.source} bytes {self.start:,}-{self.end:,}"


GATHER_BYTES = 1024 * 1024  # small files are read together up to this many bytes
GATHER_FILES = 500  # or this many files


def gather_small(plan: dict[str, list[Shard]], sizes: dict[str, int]) -> list[Shard]:
    """The shards of a plan in order, with runs of consecutive small whole files gathered
    into one shard (`Shard.more`) of at most `GATHER_FILES` files and `GATHER_BYTES`."""
    out: list[Shard] = []
    run: list[str] = []
    run_bytes = 0

    def flush() -> None:
        nonlocal run_bytes
        if run:
            out.append(Shard(run[0], more=tuple(run[1:])))
        run.clear()
        run_bytes = 0

    for source, shards in plan.items():
        size = sizes.get(source, 0)
        whole = len(shards) == 1 and shards[0].end is None
        if not whole or size >= GATHER_BYTES:
            flush()
            out.extend(shards)
            continue
        if len(run) >= GATHER_FILES or run_bytes + size > GATHER_BYTES:
            flush()
        run.append(source)
        run_bytes += size
    flush()
    return out


def file_shards(source: str, shard_bytes: int = DEFAULT_SHARD_BYTES) -> list[Shard]:
    """The shards of one file: byte ranges of a large plain JSON Lines file, else itself."""
    # NOTE: a stream (stdin, a pipe, a FIFO) is never stat'ed, sniffed or opened here: it
    # can be read once only, and that once is its reading.
    if ingest.is_stream(source):
        return [Shard(source)]
    try:
        size = Path(source).stat().st_size
    except OSError:
        return [Shard(source)]  # reading it says why
    if size <= shard_bytes or not ingest.splittable(source):
        return [Shard(source)]
    shards = []
    with Path(source).open("rb") as file:
        start = lines = 0
        while start < size:
            cut = _cut_after(file, start + shard_bytes, size)
            shards.append(Shard(source, start, cut, lines))
            lines += _count_lines(file, start, cut)
            start = cut
    return shards


def _cut_after(file: IO[bytes], target: int, size: int) -> int:
    """The first line start at or after `target` that does not split a streamed response
    (SSE blank lines and `event:` lines between two of its chunks included): no stream
    with a chunk among the `STREAM_IDLE` record lines before the cut has one among the
    `STREAM_IDLE` after it, as `Normalizer.run` reads interleaved streams."""
    if target >= size:
        return size
    file.seek(target - 1)
    _skip_line(file)  # to the end of the line `target - 1` is in
    cut = file.tell()
    while cut < size:
        found = _continued_to(file, cut, _open_keys_before(file, cut))
        if found is None:
            break
        cut = found
    return min(cut, size)


def _skip_line(file: IO[bytes]) -> None:
    """Past the end of the current line, a piece at a time (a line may be gigabytes)."""
    while True:
        piece = file.readline(_PROBE_BYTES)
        if not piece or piece.endswith(b"\n"):
            return


def _is_filler(line: bytes) -> bool:
    """A line that holds no record: blank, an SSE comment, or an SSE field other than data."""
    data = line.strip()
    return not data or data.startswith((b":", b"event:", b"id:", b"retry:"))


def _open_keys_before(file: IO[bytes], cut: int) -> set[str]:
    """The streams still open at `cut`: the keys of the chunks among the last
    `STREAM_IDLE` record lines before it, back to the last record that is no chunk."""
    span = 64 * 1024  # enough for STREAM_IDLE chunks of ~1 KB; widened up to a probe's
    while True:
        begin = max(0, cut - span)
        file.seek(begin)
        lines = file.read(cut - begin).split(b"\n")
        if not begin or span >= _PROBE_BYTES or len(lines) > 2 * STREAM_IDLE:
            break
        span *= 4
    file.seek(cut)
    keys: set[str] = set()
    records = 0
    for line in reversed(lines[1:] if begin else lines):
        if _is_filler(line):
            continue
        key = _stream_key(line)
        if key is None or records == STREAM_IDLE:
            break
        keys.add(key)
        records += 1
    return keys


def _continued_to(file: IO[bytes], cut: int, keys: set[str]) -> int | None:
    """The end of the last of the `STREAM_IDLE` record lines after `cut` (up to a record
    that is no chunk) that continues a stream of `keys`; None if none does."""
    if not keys:
        return None
    file.seek(cut)
    end = None
    records = 0
    while records < STREAM_IDLE:
        line = file.readline(_PROBE_BYTES)
        if not line:
            break
        if not line.endswith(b"\n"):
            _skip_line(file)
        if _is_filler(line):
            continue
        key = _stream_key(line)
        if key is None:
            break
        records += 1
        if key in keys:
            end = file.tell()
    return end


def _stream_key(line: bytes) -> str | None:
    """Which streamed response a line is a chunk of, if it is one."""
    data = line.strip()
    if data.startswith(b"data:"):
        data = data[5:].strip()
    if not data.startswith(b"{"):
        return None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    for shape in STREAMS:
        key = shape.chunk_key(value)
        if key is not None:
            return f"{shape.name}\0{key}"
    return None


def _count_lines(file: IO[bytes], start: int, end: int) -> int:
    file.seek(start)
    count = 0
    left = end - start
    while left > 0:
        chunk = file.read(min(_COUNT_CHUNK, left))
        if not chunk:
            break
        count += chunk.count(b"\n")
        left -= len(chunk)
    return count


def read_shard(
    shard: Shard, max_record_bytes: int = ingest.DEFAULT_MAX_RECORD_BYTES, batch: bool = False
) -> Iterator[ingest.Item]:
    """The records of a shard, numbered as in its whole file."""
    if shard.end is None:
        yield from ingest.read_file(shard.source, max_record_bytes=max_record_bytes, batch=batch)
    else:
        yield from ingest.read_range(
            shard.source,
            shard.start,
            shard.end,
            shard.first_line,
            max_record_bytes=max_record_bytes,
            batch=batch,
        )
