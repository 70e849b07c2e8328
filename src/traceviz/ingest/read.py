"""Reading one input: which container reads it, whole or in byte ranges, damage kept.

`read_file` opens a file (or stdin) once, lets `registry.sniff` choose its container
and yields every record the container reads. Damage found while reading (a corrupt or
truncated archive, a decompression bomb, bytes that cannot be read) ends the file with a
`Quarantined` value at the line where it was found, after every record before it.
`splittable` and `read_range` let a big plain JSON Lines file be read in shards.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import IO

import orjson
import zstandard

from traceviz.errors import InputError
from traceviz.ingest.decompress import ArchiveDamaged, InflationLimitExceeded
from traceviz.ingest.files import is_plain, open_binary, open_range, peek
from traceviz.ingest.interface import (
    DEFAULT_MAX_RECORD_BYTES,
    STDIN,
    STDIN_NAME,
    Container,
    Item,
    Opened,
    describe,
)
from traceviz.ingest.jsonl import read_lines
from traceviz.ingest.registry import sniff
from traceviz.schema import Quarantined

_HEAD_BYTES = 64 * 1024


def sniff_container(source: str, stream: IO[bytes]) -> Container:
    """The container that reads an opened file, by its name and first bytes."""
    return sniff(source, peek(stream, _HEAD_BYTES))


def splittable(source: str) -> bool:
    """Whether a file is plain (uncompressed) JSON Lines or SSE, whose records are lines,
    so that byte ranges of it can be read apart (see `read_range`)."""
    try:
        stream = open_binary(source)
    except (OSError, InputError):
        return False
    try:
        return is_plain(stream) and sniff_container(source, stream).splittable
    finally:
        stream.close()


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
        for item in container.read(Opened(source, name, stream), max_record_bytes, batch):
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
            reason = f"unreadable data: {describe(exc)}"
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
    numbered as in the whole file: `first_line` lines come before `start`.

    NOTE: the JSON Lines reader serves every splittable container: it passes SSE lines
    through SSE framing, so an SSE capture's shard reads as the whole capture would."""
    stream = open_range(source, start, end)
    line = first_line
    try:
        for item in read_lines(source, stream, max_record_bytes, batch, first_line):
            line = item.line
            yield item
    except OSError as exc:
        yield Quarantined(source, line + 1, f"unreadable data: {describe(exc)}")
    finally:
        stream.close()
