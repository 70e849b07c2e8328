"""CSV: each row a record (a dict of column name -> cell text), at the line it starts on.

Store exports (LiteLLM spend logs, Langfuse, Helicone) come as CSV with JSON in some
cells; the cells stay text here, and each shape's reader parses what it knows to be
JSON. A row is reported at the line it starts on (a quoted cell may span lines). A row
whose field count differs from the header's, that the csv module cannot parse, or that
is larger than the record limit is quarantined; the rows after it are still read.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from typing import IO

from traceviz.ingest.interface import Container, Item, Opened, RawRecord, preview, too_large
from traceviz.schema import Quarantined

# Bytes that are not UTF-8 decode to these lone surrogates ("surrogateescape"), so a bad
# row is found and quarantined alone instead of ending the file.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class Csv(Container):
    """A CSV file with a header line (`.csv`); known by its name only."""

    name = "csv"
    suffixes = frozenset({".csv"})

    def read(self, file: Opened, limit: int, batch: bool) -> Iterator[Item]:
        return read_csv(file.name, file.stream, limit, batch)


def read_csv(source: str, stream: IO[bytes], limit: int, batch: bool) -> Iterator[Item]:
    """Every row of a CSV file with a header line, parsed or quarantined, in order."""
    # NOTE: the csv module's field limit is process-wide; it is only ever raised here
    csv.field_size_limit(max(csv.field_size_limit(), min(limit, sys.maxsize)))
    text = io.TextIOWrapper(  # type: ignore[type-var]
        stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
    )
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        yield Quarantined(source, 1, f"unreadable CSV header: {exc}")
        return
    if not header:
        return
    if _UNDECODABLE.search("".join(header)):
        yield Quarantined(source, 1, "undecodable bytes: not UTF-8 in the CSV header")
        return
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as exc:
            yield Quarantined(source, start, f"broken CSV row: {exc}")
            start = reader.line_num + 1
            continue
        if fields is None:
            return
        line, start = start, reader.line_num + 1
        if not fields:
            continue
        size = sum(len(f) for f in fields)
        joined = ",".join(fields)
        if _UNDECODABLE.search(joined):
            reason = "undecodable bytes: not UTF-8"
            shown = joined.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            yield Quarantined(source, line, reason, preview(shown))
        elif size > limit:
            yield Quarantined(source, line, too_large(size, limit), preview(joined))
        elif len(fields) != len(header):
            reason = f"broken CSV row: {len(fields)} fields, the header has {len(header)}"
            yield Quarantined(source, line, reason, preview(joined))
        else:
            yield RawRecord(source, line, dict(zip(header, fields, strict=True)), batch)
