"""JSON documents: one value, several values, or an array whose items are the records.

A `.json` file (or one whose first bytes are `[`, or a `{` that does not close on its
first line: pretty-printed) is cut by `DocumentScanner` into its top-level values, and a
top-level array into its items, without holding the document: memory is the current
item. Each item is parsed alone, so a bad one is quarantined at its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from traceviz.ingest.interface import (
    RAW_PREVIEW_CHARS,
    READ_CHUNK,
    UTF8_BOM,
    Container,
    Item,
    Opened,
    Sniff,
    lstrip_head,
    parse_json,
    preview,
    too_large,
)
from traceviz.schema import Quarantined


class JsonDocument(Container):
    """A file holding JSON values, or one array of them, laid out in any way."""

    name = "json"
    suffixes = frozenset({".json"})

    def sniff(self, head: bytes) -> Sniff | None:
        # NOTE: `{` is claimed by JSON Lines first when its first line is whole (registry)
        return Sniff.GUESS if lstrip_head(head).startswith((b"[", b"{")) else None

    def read(self, file: Opened, limit: int, batch: bool) -> Iterator[Item]:
        return iter(DocumentScanner(file.name, file.stream, limit, batch))


_STRUCTURAL = re.compile(rb'[\[\]{}"]')
_STRING_END = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[,\]\s]")


class DocumentScanner:
    """Cuts a JSON document into top-level values, and a top-level array into its items.

    Only brackets and strings are tracked, so the scan is linear and its memory is the
    current item; each item is then parsed by orjson (which reports any error in it).

    NOTE: hand-written rather than `ijson`, for what a streaming parser does not give:
    the line each record starts on (a quarantine names it), an item over the record
    limit skipped without being held or built (ijson builds every item whole), a broken
    item quarantined while the items after it are still read (ijson stops at the first
    error), and no new dependency. ijson is not installed in the project's environment
    (`pip show ijson`: not found), so it was not measured against this scanner. Measured
    with `python bench/json_scan_bench.py --mb 200` (a 200 MB pretty-printed array of
    80,277 Chat Completions records, a third with 2-12 kB of reasoning; shared 2-core
    machine, load 4.6): this scanner 23.8 MB/s at 82 MB peak RSS; `orjson.loads` of the
    whole file 57.7 MB/s at 732 MB, memory growing with the file.
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
                chunk = self.stream.read(READ_CHUNK)
                if first and chunk.startswith(UTF8_BOM):
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
            reason = too_large(oversize + len(item), self.limit)
            return Quarantined(self.source, line, reason, preview(item[:RAW_PREVIEW_CHARS]))
        return parse_json(self.source, line, item, self.batch)
