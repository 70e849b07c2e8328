"""Plain text: a whole file is one record, raw model output (`<think>...</think>` and all).

Text is what a file is when nothing else fits: its names (`.txt`, `.md`, `.log`,
`.sse`) claim no structure, so content that shows one (SSE lines, Parquet) wins over
them. A file over the record limit is quarantined without being held; one that is not
UTF-8 is quarantined at the line of the first bad byte; a blank one holds no record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from traceviz.ingest.interface import (
    RAW_PREVIEW_CHARS,
    READ_CHUNK,
    UTF8_BOM,
    Container,
    Item,
    Opened,
    RawRecord,
    preview,
    too_large,
)
from traceviz.schema import Quarantined


class Text(Container):
    """A file that is one document of text."""

    name = "text"
    suffixes = frozenset({".txt", ".md", ".log", ".sse"})
    weak_name = True

    def read(self, file: Opened, limit: int, batch: bool) -> Iterator[Item]:
        return read_text(file.name, file.stream, limit, batch)


def read_text(source: str, stream: IO[bytes], limit: int, batch: bool) -> Iterator[Item]:
    """A whole text file is one record: raw model output."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        size = len(data) + _drain(stream)
        yield Quarantined(source, 1, too_large(size, limit), preview(data[:RAW_PREVIEW_CHARS]))
        return
    if data.startswith(UTF8_BOM):
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
    while chunk := stream.read(READ_CHUNK):
        skipped += len(chunk)
    return skipped
