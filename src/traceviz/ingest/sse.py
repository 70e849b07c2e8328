"""Server-Sent-Event captures: `data: {...}` lines of a streamed response, `data: [DONE]`.

A capture is known by its first bytes (`data:`, `event:` or a `: ` comment line), over a
name that claims no structure (`.sse`, `.txt`). `frame` keeps the JSON of `data:` lines
and passes over comments and the other SSE fields; a line that is plain JSON is kept as
it is, so JSON Lines files read SSE lines too (see `jsonl`).
"""

from __future__ import annotations

from collections.abc import Iterator

from traceviz.ingest.interface import (
    Container,
    Item,
    Opened,
    Sniff,
    StreamEnd,
    lstrip_head,
)
from traceviz.ingest.lines import read_records

_FIRST_LINES = (b"data:", b"event:", b": ")
_PASSED_OVER = (b":", b"event:", b"id:", b"retry:")


def frame(source: str, line: int, data: bytes) -> bytes | StreamEnd | None:
    """The JSON of one SSE line, the stream's end (`[DONE]`), or None for other fields."""
    if data.startswith(_PASSED_OVER):
        return None
    if data.startswith(b"data:"):
        data = data[5:].strip()
        if data == b"[DONE]":
            return StreamEnd(source, line)
        if not data:
            return None
    return data


class ServerSentEvents(Container):
    """A capture of an event stream, one event field per line."""

    name = "sse"
    # NOTE: no suffixes: `.sse` names text, and a capture is known by its first bytes
    splittable = True

    def sniff(self, head: bytes) -> Sniff | None:
        return Sniff.CONTENT if lstrip_head(head).startswith(_FIRST_LINES) else None

    def read(self, file: Opened, limit: int, batch: bool) -> Iterator[Item]:
        return read_records(file.name, file.stream, limit, batch, frame)
