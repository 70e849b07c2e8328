"""Opening inputs: files, stdin and pipes, with devices refused and compression undone.

`open_binary` opens a source once and hands back its decoded bytes; `is_stream` says
whether a source can be read only once, front to back; `open_range` reads a byte range
of a plain file (a shard). Nothing here knows containers.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import zlib
from pathlib import Path
from typing import IO, Any

from traceviz.errors import InputError
from traceviz.ingest.decompress import MAGIC_BYTES, CountingReader, Decompressor, compression
from traceviz.ingest.interface import READ_CHUNK, STDIN, STDIN_NAME


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


def open_raw(source: str) -> IO[bytes]:
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


def open_stdin() -> IO[bytes]:
    stdin = sys.stdin.buffer
    try:
        if not stdin.isatty():
            _refuse_device(STDIN_NAME, os.fstat(stdin.fileno()))
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file descriptor (a test runner's stdin)
    return stdin


def open_binary(source: str) -> IO[bytes]:
    """Open a file or stdin for reading, undoing gzip, zstd, bzip2 or xz by magic bytes.

    The file is opened once; a compressed one reads back every byte decoded before any
    damage, then raises `ArchiveDamaged` (see `decompress.Decompressor`)."""
    raw = open_stdin() if source == STDIN else open_raw(source)
    counted = CountingReader(raw)
    buffered = io.BufferedReader(counted, buffer_size=READ_CHUNK)
    kind = compression(buffered.peek(MAGIC_BYTES)[:MAGIC_BYTES])
    if kind is None:
        return buffered
    return io.BufferedReader(Decompressor(buffered, counted, kind), buffer_size=READ_CHUNK)


def is_plain(stream: IO[bytes]) -> bool:
    """Whether `open_binary` handed a file back as read, not behind a decompressor."""
    return isinstance(stream, io.BufferedReader) and isinstance(stream.raw, CountingReader)


def open_range(source: str, start: int, end: int) -> IO[bytes]:
    """Bytes `start` to `end` of a plain file, buffered."""
    raw = open_raw(source)
    raw.seek(start)
    return io.BufferedReader(RangeReader(raw, end - start), buffer_size=READ_CHUNK)


class RangeReader(io.RawIOBase):
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


def peek(stream: IO[bytes], n: int) -> bytes:
    """Up to `n` first bytes of a buffered stream, left unread; b"" if it cannot peek."""
    peeker = getattr(stream, "peek", None)
    if peeker is not None:
        try:
            data: bytes = peeker(n)
            return data[:n]
        except (OSError, EOFError, zlib.error):
            return b""
    return b""
