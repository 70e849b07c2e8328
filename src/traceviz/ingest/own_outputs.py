"""traceviz's own outputs, known by what they hold, so that a renamed one is known too.

A folder's walk passes over what traceviz wrote there (quarantine files, traces, steps
and report tables, reports, result-cache entries and folders), so that a second run
over a folder does not read the first run's outputs as logs.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from traceviz.ingest.interface import DEFAULT_MAX_RECORD_BYTES
from traceviz.schema import (
    ANSWER,
    LINE,
    PROMPT,
    RAW,
    REASON,
    REASONING,
    REASONING_SUMMARY,
    SOURCE,
    STEPS_SCHEMA,
    TRACE_SCHEMA,
)

# NOTE: known by content; report tables (`report -o x.csv|.parquet`) by aggregate columns.
OWN_TABLE_KEY = b"traceviz"  # Parquet key-value metadata set by `write.TableWriter`
_QUARANTINE_KEYS = frozenset({SOURCE, LINE, REASON, RAW})
# a traces table with its text dropped (as the result cache keeps it) is still one
_TRACE_KEYS = frozenset(TRACE_SCHEMA) - {PROMPT, REASONING, REASONING_SUMMARY, ANSWER}
_STEP_KEYS = frozenset(STEPS_SCHEMA)
_REPORT_KEYS = frozenset({"traces", "tokens_reasoning_sum", "tokens_answer_sum"})
_JSON_REPORT = re.compile(rb'\A\s*\{\s*"schema_version"\s*:\s*\d+\s*,\s*"traceviz_version"\s*:')
_MARKDOWN_REPORT = b"# traceviz report\n"
_CACHE_META = re.compile(rb'\A\{"stats":\{"files":\d')  # a result cache entry's meta.json
# a folder holding this file is a cache (https://bford.info/cachedir/): never walked
CACHE_TAG = "CACHEDIR.TAG"
_HEAD_BYTES = 64 * 1024
_OWN_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json", ".csv", ".md", ".parquet"})


def own_output(path: str) -> str | None:
    """What traceviz output a file is (a quarantine file, a traces, steps or report table,
    a report), or None when it is not one of traceviz's own outputs."""
    suffix = Path(path).suffix.lower()
    if suffix not in _OWN_SUFFIXES:
        return None
    try:
        with Path(path).open("rb") as file:
            head = file.read(_HEAD_BYTES)
            if suffix == ".parquet":
                return _own_parquet(path) if head.startswith(b"PAR1") else None
            first = head.split(b"\n", 1)[0]
            if b"\n" not in head and len(head) == _HEAD_BYTES and head.startswith(b'{"trace_id":'):
                file.seek(0)
                first = file.readline(DEFAULT_MAX_RECORD_BYTES).rstrip(b"\n")
    except OSError:
        return None  # reading it says why
    if head.startswith(_MARKDOWN_REPORT) or _JSON_REPORT.match(head):
        return "traceviz report"
    if _CACHE_META.match(head):
        return "traceviz cache entry"
    if suffix == ".csv":
        return _own_columns(set(first.decode("utf-8", "replace").strip().split(",")))
    if not first.startswith(b"{"):
        return None
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    if value.keys() == _QUARANTINE_KEYS:
        return "traceviz quarantine file"
    return _own_columns(set(value))


def _own_columns(columns: set[str]) -> str | None:
    if columns >= _TRACE_KEYS:
        return "traceviz traces table"
    if columns >= _STEP_KEYS:
        return "traceviz steps table"
    if columns >= _REPORT_KEYS:
        return "traceviz report"
    return None


def _own_parquet(path: str) -> str | None:
    # imported here: pyarrow is heavy, and only a folder holding Parquet files needs it
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):
        return None
    found = _own_columns(set(schema.names))
    if found is None and OWN_TABLE_KEY in (schema.metadata or {}):
        return "traceviz table"
    return found
