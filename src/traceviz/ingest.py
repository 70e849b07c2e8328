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

import contextlib
import io
import os
import re
import stat
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import orjson
import zstandard

from traceviz.errors import InputError
from traceviz.schema import (
    ANSWER,
    LINE,
    PROMPT,
    RAW,
    REASON,
    REASONING,
    REASONING_SUMMARY,
    SOURCE,
    STEPS_SCHEMA,
    TRACE_SCHEMA,
    Quarantined,
)

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


def expand_paths(
    paths: Iterable[str | Path], *, on_skip: Callable[[str, str], None] | None = None
) -> Iterator[str]:
    """Files named and files under directories (sorted, recursive), `-` kept as stdin.

    A folder's walk passes over hidden files, documentation, files of other suffixes,
    what is not a regular file (a FIFO would wait for a writer forever) and traceviz's own
    outputs (see `own_output`); each of the last two is reported to `on_skip(path,
    reason)`. A file named explicitly is always read. A missing path raises `InputError`
    when reached; callers that read several paths catch it per path so that the other
    files are still read.
    """
    for path in paths:
        text = str(path)
        if text == STDIN:
            yield STDIN
            continue
        p = Path(text)
        if p.is_dir():
            yield from _walk(p, on_skip)
        elif p.exists() or p.is_symlink():
            yield text
        else:
            msg = f"{text}: no such file or directory"
            raise InputError(msg, hint="Pass a file or folder that exists, or - to read stdin.")


def _walk(root: Path, on_skip: Callable[[str, str], None] | None) -> Iterator[str]:
    """The files under `root`, depth first and sorted, as `os.walk` gives them, but with
    a stack instead of recursion (any depth) and each entry stat'ed once."""
    seen: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)  # noqa: PTH116 - one call on the hot path
            key = (st.st_dev, st.st_ino)
            if key in seen:  # a symlink loop
                continue
            seen.add(key)
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue  # as os.walk: a folder that cannot be listed is passed over
        if folder != str(root) and any(entry.name == CACHE_TAG for entry in entries):
            if on_skip is not None:
                on_skip(folder, "cache folder")
            continue
        folders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if _is_dir(entry):
                folders.append(entry.path)
                continue
            if not walk_reads(entry.name):
                continue
            reason = _pass_over(entry)
            if reason is None:
                yield entry.path
            elif on_skip is not None:
                on_skip(entry.path, reason)
        stack.extend(reversed(folders))


def walk_reads(name: str) -> bool:
    """Whether a folder's walk reads a file of this name (a log's suffix, not hidden);
    it may still pass over the file for what it holds (see `_pass_over`)."""
    if name.startswith(".") or _SKIPPED_NAMES.match(name):
        return False
    return _container_from_suffix(Path(name)) is not None or _has_compression(name)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _pass_over(entry: os.DirEntry[str]) -> str | None:
    """Why a walk does not read a file it found, or None to read it."""
    try:
        regular = entry.is_file()
    except OSError:
        regular = False
    if not regular:
        try:
            os.stat(entry.path)  # noqa: PTH116 - a dangling symlink is read, to be named
        except OSError:
            return None
        return "not a regular file"
    return own_output(entry.path)


# NOTE: what traceviz writes, known by content so that a renamed file is known too.
# Report tables (`report -o x.csv|.parquet`) are known by aggregate columns of theirs.
OWN_TABLE_KEY = b"traceviz"  # Parquet key-value metadata set by `write.TableWriter`
_QUARANTINE_KEYS = frozenset({SOURCE, LINE, REASON, RAW})
# a traces table with its text dropped (as the result cache keeps it) is still one
_TRACE_KEYS = frozenset(TRACE_SCHEMA) - {PROMPT, REASONING, REASONING_SUMMARY, ANSWER}
_STEP_KEYS = frozenset(STEPS_SCHEMA)
_REPORT_KEYS = frozenset({"traces", "tokens_reasoning_sum", "tokens_answer_sum"})
_JSON_REPORT = re.compile(rb'\A\s*\{\s*"schema_version"\s*:\s*\d+\s*,\s*"traceviz_version"\s*:')
_MARKDOWN_REPORT = b"# traceviz report\n"
_CACHE_META = re.compile(rb'\A\{"stats":\{"files":\d')  # a result cache entry's meta.json
# a folder holding this file is a cache (https://bford.info/cachedir/): never walked
CACHE_TAG = "CACHEDIR.TAG"
_HEAD_BYTES = 64 * 1024
_OWN_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json", ".csv", ".md", ".parquet"})


def own_output(path: str) -> str | None:
    """What traceviz output a file is (a quarantine file, a traces, steps or report table,
    a report), or None when it is not one of traceviz's own outputs."""
    suffix = Path(path).suffix.lower()
    if suffix not in _OWN_SUFFIXES:
        return None
    try:
        with Path(path).open("rb") as file:
            head = file.read(_HEAD_BYTES)
            if suffix == ".parquet":
                return _own_parquet(path) if head.startswith(b"PAR1") else None
            first = head.split(b"\n", 1)[0]
            if b"\n" not in head and len(head) == _HEAD_BYTES and head.startswith(b'{"trace_id":'):
                file.seek(0)
                first = file.readline(DEFAULT_MAX_RECORD_BYTES).rstrip(b"\n")
    except OSError:
        return None  # reading it says why
    if head.startswith(_MARKDOWN_REPORT) or _JSON_REPORT.match(head):
        return "traceviz report"
    if _CACHE_META.match(head):
        return "traceviz cache entry"
    if suffix == ".csv":
        return _own_columns(set(first.decode("utf-8", "replace").strip().split(",")))
    if not first.startswith(b"{"):
        return None
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    if value.keys() == _QUARANTINE_KEYS:
        return "traceviz quarantine file"
    return _own_columns(set(value))


def _own_columns(columns: set[str]) -> str | None:
    if columns >= _TRACE_KEYS:
        return "traceviz traces table"
    if columns >= _STEP_KEYS:
        return "traceviz steps table"
    if columns >= _REPORT_KEYS:
        return "traceviz report"
    return None


def _own_parquet(path: str) -> str | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):
        return None
    found = _own_columns(set(schema.names))
    if found is None and OWN_TABLE_KEY in (schema.metadata or {}):
        return "traceviz table"
    return found


def _has_compression(name: str) -> bool:
    return Path(name).suffix.lower() in _COMPRESSION_SUFFIXES


def _container_from_suffix(path: Path) -> Container | None:
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    return _CONTAINER_SUFFIXES.get(suffixes[-1]) if suffixes else None


# --- opening -----------------------------------------------------------------------------


def is_stream(source: str) -> bool:
    """Whether an input can be read only once, front to back: stdin, a pipe (`<(cmd)`), a
    FIFO, a socket or a device. Such an input is opened once by one reader: never hashed
    for the result cache, never cut into shards, never sniffed apart from its reading."""
    if source == STDIN:
        return True
    try:
        mode = Path(source).stat().st_mode
    except OSError:
        return False  # missing or unreadable: opening it says why
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _refuse_device(name: str, st: os.stat_result) -> None:
    """A device is no log: `/dev/zero` or `/dev/urandom` would be read forever.

    `/dev/null` reads as an empty file, and a terminal on stdin is someone typing."""
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        return
    try:
        null = Path(os.devnull).stat()
    except OSError:
        null = None
    if null is not None and st.st_rdev == null.st_rdev and stat.S_ISCHR(st.st_mode):
        return
    kind = "character" if stat.S_ISCHR(st.st_mode) else "block"
    msg = f"{name}: is a {kind} device, not a log file; not read"
    raise InputError(msg, hint="Pass log files, a folder, a pipe, or - to read stdin.")


def _open_raw(source: str) -> IO[bytes]:
    """A file's unbuffered bytes, or an `InputError` that says why it cannot be read."""
    with contextlib.suppress(OSError):  # opening it says why
        _refuse_device(source, Path(source).stat())
    try:
        return Path(source).open("rb", buffering=0)  # noqa: SIM115 - returned open
    except IsADirectoryError as exc:
        msg = f"{source}: is a directory"
        raise InputError(msg) from exc
    except OSError as exc:
        msg = f"{source}: cannot open: {exc.strerror or exc}"
        raise InputError(msg, hint="Check that the file exists and is readable.") from exc


def _open_stdin() -> IO[bytes]:
    stdin = sys.stdin.buffer
    try:
        if not stdin.isatty():
            _refuse_device(STDIN_NAME, os.fstat(stdin.fileno()))
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file descriptor (a test runner's stdin)
    return stdin


def open_binary(source: str) -> IO[bytes]:
    """Open a file or stdin for reading, undoing gzip or zstd by magic bytes.

    The file is opened once; a compressed one reads back every byte decoded before any
    damage, then raises `ArchiveDamaged` (see `_Decompressor`)."""
    raw = _open_stdin() if source == STDIN else _open_raw(source)
    counted = _CountingReader(raw)
    buffered = io.BufferedReader(counted, buffer_size=_READ_CHUNK)
    magic = buffered.peek(4)[:4]
    if magic[:2] == b"\x1f\x8b":
        kind: Literal["gzip", "zstd"] = "gzip"
    elif magic == b"\x28\xb5\x2f\xfd":
        kind = "zstd"
    else:
        return buffered
    return io.BufferedReader(_Decompressor(buffered, counted, kind), buffer_size=_READ_CHUNK)


class InflationLimitExceeded(OSError):
    """A compressed input expands beyond `MAX_INFLATION` times its size: a likely bomb."""


class ArchiveDamaged(OSError):
    """A compressed input ends early or holds bytes that do not decode; every byte decoded
    before the damage has been handed out."""


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


_GZIP_PIECE = 64 * 1024
# NOTE: zstd's decoder has no output cap, and an RLE block turns 4 bytes into 128 KiB:
# feeding 1 KiB at a time bounds one call's output to 32 MiB.
_ZSTD_PIECE = 1024


class _Decompressor(io.RawIOBase):
    """The decoded bytes of a gzip (several members) or zstd (several frames) input.

    Unlike `gzip.GzipFile`, nothing decoded is thrown away when the input turns out
    damaged: every decoded byte is handed out first, then the next read raises
    `ArchiveDamaged` naming the compressed byte where decoding stopped (the file size
    when the archive is cut short). Stops with `InflationLimitExceeded` when the output
    outgrows the input `MAX_INFLATION` times past `INFLATION_FLOOR` bytes.
    """

    def __init__(
        self, source: IO[bytes], compressed: _CountingReader, kind: Literal["gzip", "zstd"]
    ) -> None:
        self.source = source
        self.compressed = compressed
        self.kind = kind
        self.count = 0  # decoded bytes handed out
        self._consumed = 0  # compressed bytes the decoders have used up
        self._input = b""  # compressed bytes read, not yet fed to a decoder
        self._output = b""  # decoded bytes not yet handed out
        self._out_pos = 0
        self._open = False  # a member (frame) is begun and not yet ended
        self._damage: ArchiveDamaged | None = None
        self._decoder: Any = self._new_decoder()

    def _new_decoder(self) -> Any:
        if self.kind == "gzip":
            return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        return zstandard.ZstdDecompressor().decompressobj()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        got = 0
        while got < len(view):
            if self._out_pos < len(self._output):
                n = min(len(self._output) - self._out_pos, len(view) - got)
                view[got : got + n] = self._output[self._out_pos : self._out_pos + n]
                self._out_pos += n
                got += n
                continue
            if self._damage is not None:
                if got:
                    break  # hand out what was decoded; raise on the next read
                raise self._damage
            try:
                piece = self._decode(len(view) - got)
            except ArchiveDamaged as exc:
                self._damage = exc
                continue
            if piece is None:
                break  # the archive ended cleanly
            self._output, self._out_pos = piece, 0
        self.count += got
        if self.count > INFLATION_FLOOR and self.count > MAX_INFLATION * self.compressed.count:
            msg = (
                f"decompression bomb: {self.count:,} bytes from "
                f"{self.compressed.count:,} compressed, more than {MAX_INFLATION:,}x; stopped"
            )
            raise InflationLimitExceeded(msg)
        return got

    def _more_input(self) -> bool:
        if not self._input:
            self._input = self.source.read1(_GZIP_PIECE)  # type: ignore[attr-defined]
        return bool(self._input)

    def _decode(self, limit: int) -> bytes | None:
        """Some decoded bytes (at most `limit` for gzip), or None at a clean end."""
        while True:
            tail = self._decoder.unconsumed_tail if self.kind == "gzip" else b""
            if not tail and not self._more_input():
                if self._open:
                    msg = f"archive truncated at byte {self._consumed}"
                    raise ArchiveDamaged(msg)
                return None
            if not self._open and not tail:
                # zero padding after the last member, as gzip(1) and GzipFile allow
                self._input = self._input.lstrip(b"\x00")
                if not self._input:
                    continue
            start = self._consumed
            if tail:
                data = tail
            elif self.kind == "gzip":
                data, self._input = self._input, b""
            else:
                data, self._input = self._input[:_ZSTD_PIECE], self._input[_ZSTD_PIECE:]
            self._open = True
            try:
                if self.kind == "gzip":
                    out = self._decoder.decompress(data, limit)
                else:
                    out = self._decoder.decompress(data)
            except (zlib.error, zstandard.ZstdError) as exc:
                msg = f"corrupt {self.kind} data at byte {start}: {_describe(exc)}"
                raise ArchiveDamaged(msg) from exc
            left = len(self._decoder.unconsumed_tail) if self.kind == "gzip" else 0
            if self._decoder.eof:
                rest = self._decoder.unused_data
                self._input = rest + self._input
                left += len(rest)
                self._decoder = self._new_decoder()
                self._open = False
            self._consumed = start + len(data) - left
            if out:
                return bytes(out)

    def close(self) -> None:
        self.source.close()
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


def companion_files(source: str) -> list[str]:
    """Files beside `source` that hold part of its content: a SQLite database's `-wal`.

    A database in WAL mode keeps committed rows in `NAME-wal` until a checkpoint copies
    them into `NAME`; whoever fingerprints the database (the result cache) must read both,
    or rows committed since the last checkpoint would be missed."""
    if is_stream(source):
        return []
    try:
        with Path(source).open("rb") as file:
            if file.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                return []
    except OSError:
        return []
    wal = Path(source + "-wal")
    return [str(wal)] if wal.is_file() else []


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

            if is_stream(source):
                where = "stdin" if source == STDIN else "a pipe"
                msg = f"{name}: a SQLite database cannot be read from {where}"
                raise InputError(msg, hint="Pass the database's path instead of -.")
            yield from llm_db.read(source, batch=batch)
            return
        if container == "parquet":
            plain = not is_stream(source) and _peek(stream, 4) == b"PAR1"
            yield from _read_parquet(name, source if plain else stream, max_record_bytes, batch)
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
        if isinstance(exc, InflationLimitExceeded | ArchiveDamaged) and str(exc).startswith(
            ("decompression bomb", "archive truncated")
        ):
            reason = str(exc)
        else:
            reason = f"unreadable data: {_describe(exc)}"
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


_PARQUET_BATCH_BYTES = 8 * 1024 * 1024  # decoded bytes of Parquet rows held at once
_PARQUET_MAX_ROWS = 4096


def _read_parquet(source: str, file: str | IO[bytes], limit: int, batch: bool) -> Iterator[Item]:
    """Parquet rows, a row group and a few rows at a time, in bounded memory.

    A stream (stdin, a pipe, a compressed file) is first copied to a temporary file, since
    Parquet's index sits at its end. Each row group is probed with its first row, then read
    in batches of about `_PARQUET_BATCH_BYTES` decoded bytes (a file of a few KB can hold a
    dictionary-encoded value repeated in a million rows); a row over `limit` bytes is
    quarantined without being turned into Python values.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    spool: IO[bytes] | None = None
    row = 0
    try:
        if isinstance(file, str):
            handle: Any = file
        else:
            spool = tempfile.TemporaryFile(prefix="traceviz-")  # noqa: SIM115 - closed below
            while chunk := file.read(_READ_CHUNK):
                spool.write(chunk)
            spool.seek(0)
            handle = spool
        parquet = pq.ParquetFile(handle)
        for group in range(parquet.num_row_groups):
            for record_batch in _row_group_batches(parquet, group):
                sizes = _row_sizes(record_batch)
                keep = [i for i, size in enumerate(sizes) if size <= limit]
                values = (
                    record_batch.take(pa.array(keep, pa.int64())).to_pylist()
                    if len(keep) < len(sizes)
                    else record_batch.to_pylist()
                )
                taken = iter(values)
                for size in sizes:
                    row += 1
                    if size > limit:
                        reason = f"record too large: {size:,} bytes (limit {limit:,})"
                        yield Quarantined(source, row, reason)
                    else:
                        yield RawRecord(source, row, next(taken), batch)
    except (pa.ArrowException, OSError, ValueError) as exc:
        yield Quarantined(source, row + 1, f"unreadable Parquet: {_describe(exc)}")
    finally:
        if spool is not None:
            spool.close()


def _row_group_batches(parquet: Any, group: int) -> Iterator[Any]:
    """The rows of one row group: its first row alone, then batches sized by that row."""
    probe = parquet.iter_batches(batch_size=1, row_groups=[group], use_threads=False)
    first = next(probe, None)
    if first is None:
        return
    yield first
    per_row = max(1, first.nbytes)
    rows = max(1, min(_PARQUET_MAX_ROWS, _PARQUET_BATCH_BYTES // per_row))
    if rows == 1:
        yield from probe
        return
    skip = 1  # the first row, already read
    for record_batch in parquet.iter_batches(
        batch_size=rows, row_groups=[group], use_threads=False
    ):
        if skip:
            record_batch, skip = record_batch.slice(skip), 0
        if record_batch.num_rows:
            yield record_batch


def _row_sizes(record_batch: Any) -> list[int]:
    """Bytes of each row's values (strings and binaries by length, numbers by width)."""
    import numpy as np

    sizes = np.zeros(record_batch.num_rows, dtype=np.int64)
    for column in record_batch.columns:
        sizes += _value_sizes(column)
    return [int(n) for n in sizes]


def _value_sizes(array: Any) -> Any:
    """Bytes of each value of an Arrow array, nested values summed into their parent."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    n = len(array)
    if pa.types.is_dictionary(kind):
        lengths = _value_sizes(array.dictionary)
        indices = array.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        out = lengths[indices] if len(lengths) else np.zeros(n, dtype=np.int64)
        return np.where(array.is_null().to_numpy(zero_copy_only=False), 0, out)
    if (
        pa.types.is_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_large_binary(kind)
    ):
        return pc.binary_length(array).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_struct(kind):
        total = np.zeros(n, dtype=np.int64)
        for child in array.flatten():
            total += _value_sizes(child)
        return total
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind):
        offsets = array.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        first, last = int(offsets[0]), int(offsets[-1])
        if pa.types.is_map(kind):
            child = _value_sizes(array.keys.slice(first, last - first))
            child = child + _value_sizes(array.items.slice(first, last - first))
        else:
            child = _value_sizes(array.values.slice(first, last - first))
        running = np.concatenate([[0], np.cumsum(child, dtype=np.int64)])
        return running[offsets[1:] - first] - running[offsets[:-1] - first]
    if pa.types.is_null(kind):
        return np.zeros(n, dtype=np.int64)
    try:
        width = max(1, kind.bit_width // 8)
    except ValueError:  # another variable-width type: its bytes spread evenly
        width = array.nbytes // max(1, n)
    return np.full(n, width, dtype=np.int64)


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
