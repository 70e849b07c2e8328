"""Line-framed records: a file cut into lines in bounded memory, each framed and parsed.

`read_records` is the loop that JSON Lines and SSE captures share: a line over the limit
is quarantined without being held, blank lines pass, and what the container's `frame`
keeps of a line is parsed as JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

from traceviz.ingest.interface import (
    RAW_PREVIEW_CHARS,
    READ_CHUNK,
    UTF8_BOM,
    Item,
    StreamEnd,
    parse_json,
    preview,
    too_large,
)
from traceviz.schema import Quarantined

# What a container keeps of one stripped, non-blank line: the JSON to parse, the end of
# a stream, or None to pass over it. Called with the source and line number.
Frame = Callable[[str, int, bytes], bytes | StreamEnd | None]


def read_records(
    source: str, stream: IO[bytes], limit: int, batch: bool, frame: Frame, first_line: int = 0
) -> Iterator[Item]:
    """The records of a line-framed stream, numbered from `first_line` + 1."""
    line = first_line
    while True:
        data, oversize = read_line(stream, limit)
        if not data:
            return
        line += 1
        if oversize:
            yield Quarantined(source, line, too_large(oversize, limit), preview(data))
            continue
        if line == 1 and data.startswith(UTF8_BOM):
            data = data[3:]
        data = data.strip()
        if not data:
            continue
        kept = frame(source, line, data)
        if kept is None:
            continue
        if isinstance(kept, StreamEnd):
            yield kept
            continue
        yield parse_json(source, line, kept, batch)


def read_line(stream: IO[bytes], limit: int) -> tuple[bytes, int]:
    """The next line, read in pieces so a long one costs at most twice its size.

    A line over `limit` is skipped to its end without being held: the result is then
    its first piece (for the quarantine) and its size; otherwise the line and 0.
    """
    step = min(READ_CHUNK, limit + 1)
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
        chunk = stream.readline(READ_CHUNK)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped
