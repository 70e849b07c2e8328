"""What every container shares: the records it yields and how it says it can read a file.

A container is a way of holding records in a file (JSON Lines, a JSON document, CSV,
Parquet, a SQLite database...); a log *shape* is what one record says, and belongs to
`traceviz.normalize`. Each container is one module of this package offering a subclass
of `Container`, listed once in `registry.CONTAINERS`. A container:

- recognises a file by the suffixes of its name (`suffixes`) and by its first bytes
  (`sniff`, with a `Sniff` strength saying how far the bytes outweigh the name);
- reads an opened file (`read`) into `Item`s, in file order: a parsed `RawRecord`, a
  `Quarantined` value naming file, line and reason, or a `StreamEnd`;
- keeps memory bounded by the largest record (and the record limit), never by the file,
  and interprets nothing in a record beyond parsing it.

The values here are what `normalize` reads, so both stages import them from this module
(leftward) and no container imports a stage to its right.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from traceviz.schema import Quarantined

STDIN = "-"
STDIN_NAME = "<stdin>"
DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
RAW_PREVIEW_CHARS = 2000
READ_CHUNK = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"


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


@dataclass(frozen=True, slots=True)
class Opened:
    """A file opened for a container: `source` as named (`-` for stdin), `name` as shown
    in records and quarantines, and its decoded bytes (`stream`, gzip/zstd/bzip2/xz undone)."""

    source: str
    name: str
    stream: IO[bytes]


class Sniff(enum.Enum):
    """How strongly a file's first bytes show a container, against what its name says."""

    HEADER = "header"  # the bytes prove it, whatever the name (a SQLite header)
    CONTENT = "content"  # over a name that claims no structure (`.txt`, `.log`)
    GUESS = "guess"  # only when the name says nothing (stdin, an unknown suffix)


class Container(ABC):
    """One way of holding records in a file; subclasses are listed in `registry`."""

    name: str
    # lower-case suffixes (`.jsonl`) that name this container, compression suffixes aside
    suffixes: frozenset[str] = frozenset()
    # NOTE: a weak name (`.txt`) claims no structure: content sniffed as `CONTENT` wins
    weak_name: bool = False
    # records are lines: byte ranges of a plain file can be read apart (`read.read_range`)
    splittable: bool = False

    def sniff(self, head: bytes) -> Sniff | None:
        """How strongly the first bytes of a file (up to 64 KiB) show this container."""
        return None

    def disowns(self, head: bytes) -> bool:
        """Whether a file named for this container plainly holds another (the content
        then decides, as for an unknown name)."""
        return False

    @abstractmethod
    def read(self, file: Opened, limit: int, batch: bool) -> Iterator[Item]:
        """Every record of `file`, parsed or quarantined, in file order; a record over
        `limit` bytes is quarantined without being held."""


def lstrip_head(head: bytes) -> bytes:
    """A file's first bytes with a UTF-8 byte order mark and leading whitespace dropped."""
    return head.lstrip(UTF8_BOM + b" \t\r\n")


def preview(raw: bytes | str) -> str:
    """The raw record cut to a size fit for a quarantine file."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if len(text) > RAW_PREVIEW_CHARS:
        return text[:RAW_PREVIEW_CHARS] + f"… [{len(text) - RAW_PREVIEW_CHARS:,} more chars]"
    return text


def too_large(size: int, limit: int) -> str:
    """The quarantine reason of a record over the limit."""
    return f"record too large: {size:,} bytes (limit {limit:,})"


def describe(exc: BaseException) -> str:
    """An exception's first line, short enough for a quarantine reason."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def parse_json(source: str, line: int, data: bytes, batch: bool) -> RawRecord | Quarantined:
    """One JSON object or array as a record, or its quarantine with the reason."""
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
