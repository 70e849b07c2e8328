"""JSON Lines: one JSON object or array per line (`.jsonl`, `.ndjson`, or `{` lines).

Each line is parsed alone, so a bad line is quarantined at its number and the next is
read. Lines pass through SSE framing (`sse.frame`): a log that holds a captured stream
(`data: {...}` lines) reads as it would alone. Records are lines, so a plain file can
be read in byte ranges (shards) as well as whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import orjson

from traceviz.ingest.interface import Container, Item, Opened, Sniff, lstrip_head
from traceviz.ingest.lines import read_records
from traceviz.ingest.sse import frame


def read_lines(
    source: str, stream: IO[bytes], limit: int, batch: bool, first_line: int = 0
) -> Iterator[Item]:
    """The records of JSON Lines (or SSE) bytes, numbered from `first_line` + 1."""
    return read_records(source, stream, limit, batch, frame, first_line)


class JsonLines(Container):
    """A file of JSON values, one per line."""

    name = "jsonl"
    suffixes = frozenset({".jsonl", ".ndjson"})
    splittable = True

    def sniff(self, head: bytes) -> Sniff | None:
        """A first line that is a whole JSON object (else `{` opens a JSON document)."""
        stripped = lstrip_head(head)
        if not stripped.startswith(b"{"):
            return None
        try:
            orjson.loads(stripped.split(b"\n", 1)[0])
        except orjson.JSONDecodeError:
            return None
        return Sniff.GUESS

    def disowns(self, head: bytes) -> bool:
        """Pretty-printed JSON (`jq .`, `json.dumps(indent=2)` written to a `.jsonl`), whose
        every line would be quarantined alone, so that the JSON document reader reads it
        object by object: a first line that only opens an object or array (`{`, `[`, `[{`)
        and a second line that is indented or, whole in `head`, no JSON value. A second
        line that is a record is JSON Lines whose first record was cut short."""
        lines = lstrip_head(head).split(b"\n", 2)
        if len(lines) < 2 or lines[0].strip() not in (b"{", b"[", b"[{"):
            return False
        second = lines[1]
        if second[:1] in (b" ", b"\t"):
            return True
        if len(lines) < 3:  # the second line runs past `head`: it cannot be judged
            return False
        try:
            orjson.loads(second)
        except orjson.JSONDecodeError:
            return True
        return False

    def read(self, file: Opened, limit: int, batch: bool) -> Iterator[Item]:
        return read_lines(file.name, file.stream, limit, batch)
