"""Files, compressed files and stdin -> raw records tagged with their source and line.

This package knows containers, not shapes: how to find the files under a path (`walk`),
open them and undo `.gz`/`.zst`/`.bz2`/`.xz` (`files`, `decompress`), choose the
container that reads each (`registry`) and cut it into records (`read`), one module per
container: `jsonl`, `sse`, `json_document`, `text`, `csv_rows`, `parquet` and `sqlite`
(llm's `logs.db`: `llm_db`, `llm_legacy`, `llm_turns`, `condensed`). `interface` holds what
they share. Three invariants:

- memory is bounded by the largest record (and `max_record_bytes`), never by the file;
- every record read is yielded, either parsed (`RawRecord`) or as a `Quarantined` value
  naming the file, the line and the reason;
- nothing in a record is executed or interpreted beyond parsing it.

The names below are the package's API; modules elsewhere import them from here.
"""

from traceviz.ingest.decompress import (
    INFLATION_FLOOR,
    MAX_INFLATION,
    ArchiveDamaged,
    InflationLimitExceeded,
)
from traceviz.ingest.files import is_stream, open_binary
from traceviz.ingest.interface import (
    DEFAULT_MAX_RECORD_BYTES,
    RAW_PREVIEW_CHARS,
    STDIN,
    STDIN_NAME,
    Container,
    Item,
    Opened,
    RawRecord,
    Sniff,
    StreamEnd,
    preview,
)
from traceviz.ingest.own_outputs import CACHE_TAG, OWN_TABLE_KEY, own_output
from traceviz.ingest.read import read_file, read_range, sniff_container, splittable
from traceviz.ingest.registry import CONTAINERS
from traceviz.ingest.sqlite import companion_files
from traceviz.ingest.walk import SKIPPED_NAMES, expand_paths, walk_reads

__all__ = [
    "CACHE_TAG",
    "CONTAINERS",
    "DEFAULT_MAX_RECORD_BYTES",
    "INFLATION_FLOOR",
    "MAX_INFLATION",
    "OWN_TABLE_KEY",
    "RAW_PREVIEW_CHARS",
    "SKIPPED_NAMES",
    "STDIN",
    "STDIN_NAME",
    "ArchiveDamaged",
    "Container",
    "InflationLimitExceeded",
    "Item",
    "Opened",
    "RawRecord",
    "Sniff",
    "StreamEnd",
    "companion_files",
    "expand_paths",
    "is_stream",
    "open_binary",
    "own_output",
    "preview",
    "read_file",
    "read_range",
    "sniff_container",
    "splittable",
    "walk_reads",
]
