"""simonw/llm's `logs.db`: what its readers share (connection, era, rows to records).

Both generations of llm's schema are read: the `responses`/`conversations` tables that
llm up to 0.31 wrote (and the 0.32 alphas, which added `responses.reasoning`), read by
`llm_legacy`, and the content-addressed `threads`/`turns`/`messages`/`parts` tables
that every llm since 0.32rc1 writes instead, read by `llm_turns`; `sqlite` puts them
together. The era of the file comes from the names in `_llm_migrations`.

Invariants:
- the database is opened read-only and never changed (`mode=ro`, `query_only`);
- no lock is held while traces are processed: rows are fetched a page at a time by
  rowid, and each page's statements finish before its records are yielded;
- every row becomes exactly one record, located by the table's rowid (the record's
  `line`); a row that cannot be read is described in the record (`error`), so the
  normalizer quarantines it with the reason, never drops it.

Each record is a plain dict that `traceviz.normalize.llm_logsdb` turns into a trace.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from traceviz.ingest.interface import RawRecord

SQLITE_HEADER = b"SQLite format 3\x00"
MARK = "llm_logsdb"
PAGE_ROWS = 500

LEGACY = "legacy"
ALPHA = "0.32a"
CURRENT = "0.32"
# The first migration of each generation (llm/migrations.py)
_REASONING_COLUMN = "m022_response_reasoning"
_MESSAGE_STORE = "m023_message_store"

# What `normalize.llm_logsdb` reads of a raw provider response (Chat Completions, whole or
# streamed, Responses, Ollama); the rest of the payload is left condensed.
PAYLOAD_KEYS = (
    "id",
    "object",
    "status",
    "finish_reason",
    "incomplete_details",
    "content",
    "choices",
    "message",
    "thinking",
    "done_reason",
)


# A table's records after a rowid: (rowid, record) pairs, at most PAGE_ROWS of them.
Page = Callable[[int], list[tuple[int, dict[str, Any]]]]


class RowError(Exception):
    """A row of the database that cannot be read into a record."""


def is_sqlite(path: str | Path) -> bool:
    """Whether a file starts with the SQLite header, whatever its name."""
    try:
        with Path(path).open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def connect(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to a SQLite file that takes no lock beyond each query.

    NOTE: `mode=ro`, not `immutable=1`. llm may be writing logs.db while we read it
    (a prompt running in another terminal); `immutable` would skip locking and could
    read a half-written page. `mode=ro` takes a shared lock only while a statement
    runs, and the short busy timeout waits out a writer's commit instead of failing.
    """
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=10.0)
    connection.row_factory = sqlite3.Row
    # Broken UTF-8 in a text column is kept readable rather than failing the file.
    connection.text_factory = lambda data: data.decode("utf-8", "replace")
    connection.execute("pragma query_only = on")
    return connection


def migrations(connection: sqlite3.Connection) -> list[str] | None:
    """The names in `_llm_migrations` in the order applied, or None if there is no such table."""
    if "_llm_migrations" not in table_names(connection):
        return None
    rows = connection.execute("select name from _llm_migrations order by rowid").fetchall()
    return [str(row[0]) for row in rows]


def era(names: list[str]) -> str:
    """The generation of llm that last wrote the file: `0.32`, `0.32a` or `legacy`."""
    if _MESSAGE_STORE in names:
        return CURRENT
    if _REASONING_COLUMN in names:
        return ALPHA
    return LEGACY


def table_names(connection: sqlite3.Connection) -> set[str]:
    """The tables and views of the database."""
    rows = connection.execute("select name from sqlite_master where type in ('table', 'view')")
    return {str(row[0]) for row in rows}


def column_names(connection: sqlite3.Connection, table: str) -> set[str]:
    """The columns of a table (llm added some over its versions)."""
    return {str(row[1]) for row in connection.execute(f"pragma table_info({table})")}


def pages(records: Page, source: str, batch: bool) -> Iterator[RawRecord]:
    """The records of a table, fetched PAGE_ROWS rows at a time in rowid order: each
    page is read whole before any of it is yielded, so no statement stays open (and no
    lock is held) while the caller works."""
    after = 0
    while True:
        rows = records(after)
        if not rows:
            return
        for rowid, value in rows:
            yield RawRecord(source, rowid, value, batch)
        after = rows[-1][0]


def json_column(value: Any, name: str) -> Any:
    """The JSON held in a text column, None when empty; `RowError` when it is not JSON."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        msg = f"{name} is not text ({type(value).__name__})"
        raise RowError(msg)
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        msg = f"{name} is not JSON ({str(exc).split(':', 1)[0]})"
        raise RowError(msg) from None


def select(columns: set[str], wanted: tuple[str, ...], table: str) -> str:
    """A select list of the `wanted` columns, null for those this file's table lacks."""
    return ", ".join(f"{table}.{name}" if name in columns else f"null as {name}" for name in wanted)


def guarded(
    record: Callable[[sqlite3.Row], dict[str, Any]], row: sqlite3.Row, info: dict[str, Any]
) -> dict[str, Any]:
    """A row's record; a row whose values are of types llm never writes (a BLOB where text
    belongs) becomes a record that says so, to be quarantined."""
    try:
        return record(row)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return {MARK: info, "id": None, "error": f"unreadable row ({type(exc).__name__}: {exc})"}


def joined(pieces: Sequence[str | None]) -> str | None:
    """The non-empty pieces one per paragraph, or None if there are none."""
    text = "\n\n".join(p for p in pieces if p)
    return text or None
