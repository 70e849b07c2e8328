"""Files, compressed files and stdin -> raw records tagged with their source and line.

This module knows containers, not shapes: how to find the files under a path, undo
`.gz`/`.zst`, and cut JSON Lines, JSON documents, Server-Sent-Event captures, Parquet
and plain text into records. It keeps three invariants:

- memory is bounded by the largest record (and `max_record_bytes`), never by the file;
- every record read is yielded, either parsed (`RawRecord`) or as a `Quarantined` value
  naming the file, the line and the reason;
- nothing in a record is executed or interpreted beyond JSON parsing.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import orjson
import zstandard

from traceviz.errors import InputError
from traceviz.schema import Quarantined

STDIN = "-"
STDIN_NAME = "<stdin>"
DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
# A compressed file may expand this many times, past INFLATION_FLOOR bytes, before it is
# taken for a decompression bomb and reading stops (real logs compress 5-50x).
MAX_INFLATION = 400
INFLATION_FLOOR = 256 * 1024 * 1024
RAW_PREVIEW_CHARS = 2000
_READ_CHUNK = 1 << 20

Container = Literal["jsonl", "json", "parquet", "text", "sqlite", "csv"]

_COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
_CONTAINER_SUFFIXES: dict[str, Container] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".txt": "text",
    ".md": "text",
    ".log": "text",
    ".sse": "text",
}
# NOTE: SQLite files are known by their header, and only when named: a directory walk
# passes over them, since logs often sit beside databases that are not llm's.
_SQLITE_HEADER = b"SQLite format 3\x00"
# Files a directory walk passes over: documentation that sits beside sample logs.
_SKIPPED_NAMES = re.compile(r"^(readme|license|licence|changelog)(\..*)?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One parsed record: a JSON value (object or array) or a raw text document."""

    source: str
    line: int
    value: Any
    batch: bool = False


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """A `data: [DONE]` line: the stream before it is complete."""

    source: str
    line: int


Item = RawRecord | Quarantined | StreamEnd


def preview(raw: bytes | str) -> str:
    """The raw record cut to a size fit for a quarantine file."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if len(text) > RAW_PREVIEW_CHARS:
        return text[:RAW_PREVIEW_CHARS] + f"… [{len(text) - RAW_PREVIEW_CHARS:,} more chars]"
    return text


# --- finding files ---------------------------------------------------------------------


def expand_paths(paths: Iterable[str | Path]) -> Iterator[str]:
    """Files named and files under directories (sorted, recursive), `-` kept as stdin.

    A missing path raises `InputError` when reached; callers that read several paths
    catch it per path so that the other files are still read.
    """
    for path in paths:
        text = str(path)
        if text == STDIN:
            yield STDIN
            continue
        p = Path(text)
        if p.is_dir():
            yield from _walk(p)
        elif p.exists() or p.is_symlink():
            yield text
        else:
            msg = f"{text}: no such file or directory"
            raise InputError(msg, hint="Check the path, or pass - to read stdin.")


def _walk(root: Path) -> Iterator[str]:
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = Path(dirpath).stat()
        key = (st.st_dev, st.st_ino)
        if key in seen:  # a symlink loop
            dirnames.clear()
            continue
        seen.add(key)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if walk_reads(name):
                yield str(Path(dirpath) / name)


def walk_reads(name: str) -> bool:
    """Whether a folder's walk reads a file of this name (a log's suffix, not hidden)."""
    if name.startswith(".") or _SKIPPED_NAMES.match(name):
        return False
    return _container_from_suffix(Path(name)) is not None or _has_compression(name)


def _has_compression(name: str) -> bool:
    return Path(name).suffix.lower() in _COMPRESSION_SUFFIXES


def _container_from_suffix(path: Path) -> Container | None:
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    return _CONTAINER_SUFFIXES.get(suffixes[-1]) if suffixes else None


# --- opening -----------------------------------------------------------------------------


def _open_raw(source: str) -> IO[bytes]:
    """A file's unbuffered bytes, or an `InputError` that says why it cannot be read."""
    try:
        return Path(source).open("rb", buffering=0)  # noqa: SIM115 - returned open
    except IsADirectoryError as exc:
        msg = f"{source}: is a directory"
        raise InputError(msg) from exc
    except OSError as exc:
        msg = f"{source}: cannot open: {exc.strerror or exc}"
        raise InputError(msg, hint="Check that the file exists and is readable.") from exc


def open_binary(source: str) -> IO[bytes]:
    """Open a file or stdin for reading, undoing gzip or zstd by magic bytes."""
    raw = sys.stdin.buffer if source == STDIN else _open_raw(source)
    counted = _CountingReader(raw)
    buffered = io.BufferedReader(counted, buffer_size=_READ_CHUNK)
    magic = buffered.peek(4)[:4]
    inner: IO[bytes]
    if magic[:2] == b"\x1f\x8b":
        inner = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]
    elif magic == b"\x28\xb5\x2f\xfd":
        inner = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)  # type: ignore[assignment]
    else:
        return buffered
    guarded = _InflationGuard(inner, counted)
    return io.BufferedReader(guarded, buffer_size=_READ_CHUNK)


class InflationLimitExceeded(OSError):
    """A compressed input expands beyond `MAX_INFLATION` times its size: a likely bomb."""


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from the underlying (compressed) file."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer) or 0  # type: ignore[attr-defined]
        self.count += n
        return n

    def close(self) -> None:
        if self.raw is not sys.stdin.buffer:
            self.raw.close()
        super().close()


class _InflationGuard(io.RawIOBase):
    """Decompressed bytes, stopping when they outgrow the compressed input too far."""

    def __init__(self, inner: IO[bytes], compressed: _CountingReader) -> None:
        self.inner = inner
        self.compressed = compressed
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        if self.count > INFLATION_FLOOR and self.count > MAX_INFLATION * self.compressed.count:
            msg = (
                f"decompression bomb: {self.count:,} bytes from "
                f"{self.compressed.count:,} compressed, more than {MAX_INFLATION:,}x; stopped"
            )
            raise InflationLimitExceeded(msg)
        return n

    def close(self) -> None:
        self.inner.close()
        self.compressed.close()
        super().close()


def sniff_container(source: str, stream: IO[bytes]) -> Container:
    """The container of a file: SQLite by its header, else by its suffix, else its first bytes."""
    head = _peek(stream, 64 * 1024)
    if head.startswith(_SQLITE_HEADER):
        return "sqlite"
    if source != STDIN:
        by_suffix = _container_from_suffix(Path(source))
        if by_suffix is not None and by_suffix != "text":
            return by_suffix
    if head.startswith(b"PAR1"):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"data:", b"event:", b": ")):
        return "jsonl"
    if source != STDIN and _container_from_suffix(Path(source)) == "text":
        return "text"
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        first_line = stripped.split(b"\n", 1)[0]
        try:
            orjson.loads(first_line)
        except orjson.JSONDecodeError:
            return "json"  # a pretty-printed document
        return "jsonl"
    return "text"


def splittable(source: str) -> bool:
    """Whether a file is plain (uncompressed) JSON Lines or SSE, whose records are lines,
    so that byte ranges of it can be read apart (see `read_range`)."""
    try:
        stream = open_binary(source)
    except (OSError, InputError):
        return False
    try:
        # open_binary hands plain files back as read, compressed ones behind a decompressor
        plain = isinstance(stream, io.BufferedReader) and isinstance(stream.raw, _CountingReader)
        return plain and sniff_container(source, stream) == "jsonl"
    finally:
        stream.close()


def _peek(stream: IO[bytes], n: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        try:
            data: bytes = peek(n)
            return data[:n]
        except (OSError, EOFError, zlib.error):
            return b""
    return b""


# --- reading records ---------------------------------------------------------------------


def read_file(
    source: str, *, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES, batch: bool = False
) -> Iterator[Item]:
    """Every record of one file (or stdin), parsed or quarantined, in file order.

    Raises `InputError` if the file cannot be opened at all; damage found while
    reading (a corrupt or truncated archive) is quarantined at the line it was found.
    """
    name = STDIN_NAME if source == STDIN else source
    stream = open_binary(source)
    line = 0
    try:
        container = sniff_container(source, stream)
        if container == "sqlite":
            # NOTE: imported here: the stores build on this module's records
            from traceviz.stores import llm_db

            if source == STDIN:
                msg = "<stdin>: a SQLite database cannot be read from stdin"
                raise InputError(msg, hint="Pass the database's path instead of -.")
            yield from llm_db.read(source, batch=batch)
            return
        if container == "parquet":
            plain = source != STDIN and _peek(stream, 4) == b"PAR1"
            yield from _read_parquet(name, source if plain else stream, batch)
            return
        if container == "csv":
            from traceviz.csv_records import read_csv  # it builds on this module's types

            reader = read_csv
        else:
            reader = {"jsonl": _read_lines, "json": _read_json_document, "text": _read_text}[
                container
            ]
        for item in reader(name, stream, max_record_bytes, batch):
            line = item.line
            yield item
    except (OSError, EOFError, zlib.error, zstandard.ZstdError, ValueError) as exc:
        if isinstance(exc, orjson.JSONDecodeError):
            raise
        bomb = isinstance(exc, InflationLimitExceeded)
        reason = str(exc) if bomb else f"unreadable data: {_describe(exc)}"
        yield Quarantined(name, line + 1, reason)
    finally:
        stream.close()


def read_range(
    source: str,
    start: int,
    end: int,
    first_line: int,
    *,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    batch: bool = False,
) -> Iterator[Item]:
    """The records of bytes `start` to `end` of a plain JSON Lines file (a shard of it),
    numbered as in the whole file: `first_line` lines come before `start`."""
    raw = _open_raw(source)
    raw.seek(start)
    stream = io.BufferedReader(_RangeReader(raw, end - start), buffer_size=_READ_CHUNK)
    line = first_line
    try:
        for item in _read_lines(source, stream, max_record_bytes, batch, first_line):
            line = item.line
            yield item
    except OSError as exc:
        yield Quarantined(source, line + 1, f"unreadable data: {_describe(exc)}")
    finally:
        stream.close()


class _RangeReader(io.RawIOBase):
    """At most `size` bytes of a raw file, from where it stands."""

    def __init__(self, raw: IO[bytes], size: int) -> None:
        self._raw = raw
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        n = self._raw.readinto(view) or 0  # type: ignore[attr-defined]
        self._left -= n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _parse_json(source: str, line: int, data: bytes, batch: bool) -> RawRecord | Quarantined:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Quarantined(source, line, _json_reason(exc, data), preview(data))
    if not isinstance(value, dict | list):
        reason = f"not a JSON object or array ({type(value).__name__})"
        return Quarantined(source, line, reason, preview(data))
    return RawRecord(source, line, value, batch)


def _json_reason(exc: orjson.JSONDecodeError, data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"undecodable bytes: not UTF-8 at byte {err.start}"
    message = str(exc).split(":", 1)[0]
    if "recursion" in message.lower() or "depth" in message.lower():
        return "invalid JSON: nested too deeply"
    return f"invalid JSON: {message}"


def _read_lines(
    source: str, stream: IO[bytes], limit: int, batch: bool, first_line: int = 0
) -> Iterator[Item]:
    """JSON Lines, and SSE captures (`data: {...}` lines, `data: [DONE]`)."""
    line = first_line
    while True:
        data, oversize = _read_line(stream, limit)
        if not data:
            return
        line += 1
        if oversize:
            reason = f"record too large: {oversize:,} bytes (limit {limit:,})"
            yield Quarantined(source, line, reason, preview(data))
            continue
        if line == 1 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        data = data.strip()
        if not data or data.startswith((b":", b"event:", b"id:", b"retry:")):
            continue
        if data.startswith(b"data:"):
            data = data[5:].strip()
            if data == b"[DONE]":
                yield StreamEnd(source, line)
                continue
            if not data:
                continue
        yield _parse_json(source, line, data, batch)


def _read_line(stream: IO[bytes], limit: int) -> tuple[bytes, int]:
    """The next line, read in pieces so a long one costs at most twice its size.

    A line over `limit` is skipped to its end without being held: the result is then
    its first piece (for the quarantine) and its size; otherwise the line and 0.
    """
    step = min(_READ_CHUNK, limit + 1)
    parts: list[bytes] = []
    size = 0
    while True:
        piece = stream.readline(step)
        size += len(piece)
        ended = len(piece) < step or piece.endswith(b"\n")
        if size > limit:
            head = parts[0] if parts else piece
            return head[:RAW_PREVIEW_CHARS], size + (0 if ended else _drain_line(stream))
        parts.append(piece)
        if ended:
            return parts[0] if len(parts) == 1 else b"".join(parts), 0


def _drain_line(stream: IO[bytes]) -> int:
    """Skip to the end of an oversized line without holding it; return bytes skipped."""
    skipped = 0
    while True:
        chunk = stream.readline(_READ_CHUNK)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _read_text(source: str, stream: IO[bytes], limit: int, batch: bool) -> Iterator[Item]:
    """A whole text file is one record: raw model output."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        size = len(data) + _drain(stream)
        reason = f"record too large: {size:,} bytes (limit {limit:,})"
        yield Quarantined(source, 1, reason, preview(data[:RAW_PREVIEW_CHARS]))
        return
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        reason = f"undecodable bytes: not UTF-8 at byte {err.start}"
        yield Quarantined(source, line, reason, preview(data))
        return
    if not text.strip():
        return
    yield RawRecord(source, 1, text, batch)


def _drain(stream: IO[bytes]) -> int:
    skipped = 0
    while chunk := stream.read(_READ_CHUNK):
        skipped += len(chunk)
    return skipped


def _read_parquet(source: str, file: str | IO[bytes], batch: bool) -> Iterator[Item]:
    """Parquet rows, a batch at a time; a file path is read in place, a stream in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle: Any = file if isinstance(file, str) else io.BytesIO(file.read())
        parquet = pq.ParquetFile(handle)
        row = 0
        for record_batch in parquet.iter_batches(batch_size=4096):
            for value in record_batch.to_pylist():
                row += 1
                yield RawRecord(source, row, value, batch)
    except (pa.ArrowException, OSError) as exc:
        yield Quarantined(source, 1, f"unreadable Parquet: {_describe(exc)}")


# --- JSON documents: one value, several values, or an array of records --------------------

_STRUCTURAL = re.compile(rb'[\[\]{}"]')
_STRING_END = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[,\]\s]")


class _DocumentScanner:
    """Cuts a JSON document into top-level values, and a top-level array into its items.

    Only brackets and strings are tracked, so the scan is linear and its memory is the
    current item; each item is then parsed by orjson (which reports any error in it).
    """

    def __init__(self, source: str, stream: IO[bytes], limit: int, batch: bool) -> None:
        self.source = source
        self.stream = stream
        self.limit = limit
        self.batch = batch

    def __iter__(self) -> Iterator[Item]:
        buf = b""
        pos = 0  # scan position in buf
        line = 1  # line number at pos, for bytes outside the current item
        depth = 0  # bracket depth within the current item
        in_array = False  # inside a top-level array whose items are the records
        in_string = False
        scalar = False  # the current item is a bare scalar (junk, quarantined later)
        start = -1  # offset in buf where the current item began, -1 between items
        start_line = 0
        oversize = 0  # bytes of the current item dropped because it is over the limit
        first = True
        while True:
            if pos >= len(buf):
                keep_from = len(buf) if start < 0 else start
                if start >= 0 and pos - start > self.limit:
                    keep_from = min(pos, len(buf))
                    oversize += keep_from - start
                    line += buf.count(b"\n", start, keep_from)
                    start = keep_from
                buf, pos = buf[keep_from:], pos - keep_from
                if start >= 0:
                    start -= keep_from
                chunk = self.stream.read(_READ_CHUNK)
                if first and chunk.startswith(b"\xef\xbb\xbf"):
                    chunk = chunk[3:]
                first = False
                if not chunk:
                    break
                buf += chunk
                continue
            if start < 0:
                c = buf[pos : pos + 1]
                if c in b" \t\r\n,":
                    line += c == b"\n"
                    pos += 1
                    continue
                if c == b"[" and not in_array:
                    in_array = True
                    pos += 1
                    continue
                if c == b"]" and in_array:
                    in_array = False
                    pos += 1
                    continue
                start, start_line, oversize = pos, line, 0
                scalar = c not in b'[{"'
            if scalar:
                m = _SCALAR_END.search(buf, max(pos, start + 1))
                if m is None:
                    pos = len(buf)
                    continue
                pos = m.start()
                scalar = False
            elif in_string:
                m = _STRING_END.search(buf, pos)
                if m is None:
                    pos = len(buf)
                    continue
                pos = m.end()
                if m.group() == b"\\":
                    pos += 1  # skip the escaped byte, even across a refill
                    continue
                in_string = False
            else:
                m = _STRUCTURAL.search(buf, pos)
                if m is None:
                    pos = len(buf)
                    continue
                c = m.group()
                pos = m.end()
                if c == b'"':
                    in_string = True
                elif c in b"[{":
                    depth += 1
                else:
                    depth -= 1
            if depth <= 0 and not in_string:
                depth = 0
                line += buf.count(b"\n", start, pos)
                yield self._emit(buf[start:pos], start_line, oversize)
                start = -1
        if start >= 0 and scalar:
            yield self._emit(buf[start:], start_line, oversize)
        elif start >= 0:
            reason = "truncated JSON: the document ends inside a record"
            yield Quarantined(self.source, start_line, reason, preview(buf[start:]))

    def _emit(self, item: bytes, line: int, oversize: int) -> Item:
        if oversize or len(item) > self.limit:
            size = oversize + len(item)
            reason = f"record too large: {size:,} bytes (limit {self.limit:,})"
            return Quarantined(self.source, line, reason, preview(item[:RAW_PREVIEW_CHARS]))
        return _parse_json(self.source, line, item, self.batch)


def _read_json_document(source: str, stream: IO[bytes], limit: int, batch: bool) -> Iterator[Item]:
    yield from _DocumentScanner(source, stream, limit, batch)
