"""simonw/llm's `logs.db` (SQLite) -> raw records, one per logged model call.

Both generations of llm's schema are read: the `responses`/`conversations` tables that
llm up to 0.31 wrote (and the 0.32 alphas, which added `responses.reasoning`), and the
content-addressed `threads`/`turns`/`messages`/`parts` tables that every llm since
0.32rc1 writes instead. A legacy response whose id was also logged as a turn is read
once, from the turn, as `llm logs` does. The era of the file comes from the names in
`_llm_migrations`.

Invariants:
- the database is opened read-only and never changed (`mode=ro`, `query_only`);
- no lock is held while traces are processed: rows are fetched a page at a time by
  rowid, and each page's statements finish before its records are yielded;
- every row becomes exactly one record, located by the table's rowid (the record's
  `line`); a row that cannot be read is described in the record (`error`), so the
  normalizer quarantines it with the reason, never drops it.

Each record is a plain dict that `traceviz.stores.llm_row` turns into a trace.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from traceviz.errors import InputError
from traceviz.ingest import RawRecord
from traceviz.stores.condensed import pick

SQLITE_HEADER = b"SQLite format 3\x00"
MARK = "llm_logsdb"
PAGE_ROWS = 500
# llm's message store shares message rows between turns; this many are kept in memory.
MESSAGE_CACHE_ROWS = 100_000

LEGACY = "legacy"
ALPHA = "0.32a"
CURRENT = "0.32"
# The first migration of each generation (llm/migrations.py)
_REASONING_COLUMN = "m022_response_reasoning"
_MESSAGE_STORE = "m023_message_store"

# What `llm_row` reads of a raw provider response (Chat Completions, whole or streamed,
# Responses, Ollama); the rest of the payload is left condensed.
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

_LEGACY_COLUMNS = (
    "id",
    "model",
    "resolved_model",
    "prompt",
    "system",
    "response",
    "reasoning",
    "response_json",
    "conversation_id",
    "duration_ms",
    "datetime_utc",
    "input_tokens",
    "output_tokens",
    "token_details",
)
_TURN_COLUMNS = (
    "id",
    "thread_id",
    "parent_message_hash",
    "tip_message_hash",
    "model",
    "resolved_model",
    "input_tokens",
    "output_tokens",
    "token_details",
    "duration_ms",
    "datetime_utc",
    "response_json",
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
    if "_llm_migrations" not in _tables(connection):
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


def read(source: str, *, batch: bool = False) -> Iterator[RawRecord]:
    """Every logged call in an llm logs.db: legacy responses first, then turns.

    Raises `InputError` when the file is not an llm database or cannot be read.
    """
    if not is_sqlite(source):
        msg = f"{source}: not a SQLite database (no 'SQLite format 3' header)"
        hint = "A compressed database cannot be read in place: decompress it first."
        raise InputError(msg, hint=hint)
    try:
        connection = connect(source)
    except sqlite3.Error as exc:
        msg = f"{source}: cannot open the SQLite database: {exc}"
        raise InputError(msg, hint="Check that the file is readable.") from exc
    try:
        yield from _read(connection, source, batch)
    except sqlite3.Error as exc:
        msg = f"{source}: cannot read the llm database: {exc}"
        hint = "Check the file with `sqlite3 logs.db 'pragma integrity_check'`."
        raise InputError(msg, hint=hint) from exc
    finally:
        connection.close()


def _read(connection: sqlite3.Connection, source: str, batch: bool) -> Iterator[RawRecord]:
    names = migrations(connection)
    if names is None:
        msg = f"{source}: a SQLite database, but not one written by llm (no _llm_migrations table)"
        hint = "traceviz reads simonw/llm's logs.db; export other databases to JSON Lines."
        raise InputError(msg, hint=hint)
    tables = _tables(connection)
    info = {"era": era(names), "migration": names[-1] if names else None}
    if "responses" in tables:
        legacy_era = ALPHA if info["era"] == ALPHA else LEGACY
        reader = _LegacyReader(connection, tables, info | {"era": legacy_era})
        yield from _pages(reader.records, source, batch)
    if "turns" in tables and "messages" in tables and "parts" in tables:
        turns = _TurnReader(connection, tables, info | {"era": CURRENT})
        yield from _pages(turns.records, source, batch)


def _tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("select name from sqlite_master where type in ('table', 'view')")
    return {str(row[0]) for row in rows}


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in connection.execute(f"pragma table_info({table})")}


def _pages(records: Page, source: str, batch: bool) -> Iterator[RawRecord]:
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


def _json(value: Any, name: str) -> Any:
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


def _select(columns: set[str], wanted: tuple[str, ...], table: str) -> str:
    return ", ".join(f"{table}.{name}" if name in columns else f"null as {name}" for name in wanted)


class _LegacyReader:
    """Rows of the `responses` table (llm <= 0.31 and the 0.32 alphas)."""

    def __init__(
        self, connection: sqlite3.Connection, tables: set[str], info: dict[str, Any]
    ) -> None:
        self.connection = connection
        self.info = info | {"table": "responses"}
        self.has_fragments = "fragments" in tables
        in_turns = (
            "exists (select 1 from turns where turns.id = responses.id)"
            if "turns" in tables
            else "0"
        )
        name = "conversations.name" if "conversations" in tables else "null"
        join = (
            " left join conversations on conversations.id = responses.conversation_id"
            if "conversations" in tables
            else ""
        )
        columns = _select(_columns(connection, "responses"), _LEGACY_COLUMNS, "responses")
        self.sql = (
            f"select responses.rowid as _rowid, {columns}, {name} as conversation_name,"
            f" {in_turns} as _in_turns from responses{join}"
            f" where responses.rowid > ? order by responses.rowid limit {PAGE_ROWS}"
        )

    def records(self, after: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self.connection.execute(self.sql, [after]).fetchall()
        return [(row["_rowid"], _guarded(self._record, row, self.info)) for row in rows]

    def _record(self, row: sqlite3.Row) -> dict[str, Any]:
        value = {
            MARK: self.info,
            "id": row["id"],
            "model": row["model"],
            "resolved_model": row["resolved_model"],
            "datetime_utc": row["datetime_utc"],
            "duration_ms": row["duration_ms"],
            "conversation_id": row["conversation_id"],
            "conversation_name": row["conversation_name"],
            "input_tokens": row["input_tokens"],
            "output_tokens": row["output_tokens"],
            "token_details": row["token_details"],
            "prompt": _joined([row["system"], row["prompt"]]),
            "answer": row["response"],
            "reasoning": row["reasoning"] or None,
            "duplicate": bool(row["_in_turns"]),
        }
        try:
            condensed = _json(row["response_json"], "response_json")
            value["response_json"] = pick(
                condensed, lambda key: self._lookup(key, row), PAYLOAD_KEYS
            )
        except RowError as exc:
            value["error"] = str(exc)
        return value

    def _lookup(self, key: str, row: sqlite3.Row) -> Any:
        """Legacy condense keys: `r:<response id>` and `f<id>`/`f:<id>` (fragments)."""
        if key.startswith("r:"):
            if key[2:] == row["id"]:
                return row["response"]
            found = self.connection.execute(
                "select response from responses where id = ?", [key[2:]]
            ).fetchone()
            return found[0] if found else None
        fragment = key.removeprefix("f:").removeprefix("f")
        if key.startswith("f") and fragment.isdigit() and self.has_fragments:
            found = self.connection.execute(
                "select content from fragments where id = ?", [int(fragment)]
            ).fetchone()
            return found[0] if found else None
        return None


class _TurnReader:
    """Turns of llm's message store (llm >= 0.32rc1), with their messages and parts."""

    def __init__(
        self, connection: sqlite3.Connection, tables: set[str], info: dict[str, Any]
    ) -> None:
        self.connection = connection
        self.info = info | {"table": "turns"}
        self.has_fragments = "fragments" in tables
        self.messages: dict[str, tuple[str | None, str | None]] = {}
        columns = _select(_columns(connection, "turns"), _TURN_COLUMNS, "turns")
        name = "threads.name" if "threads" in tables else "null"
        join = " left join threads on threads.id = turns.thread_id" if "threads" in tables else ""
        self.sql = (
            f"select turns.rowid as _rowid, {columns}, {name} as conversation_name"
            f" from turns{join} where turns.rowid > ? order by turns.rowid limit {PAGE_ROWS}"
        )

    def records(self, after: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self.connection.execute(self.sql, [after]).fetchall()
        if len(self.messages) > MESSAGE_CACHE_ROWS:
            self.messages.clear()
        return [(row["_rowid"], _guarded(self._record, row, self.info)) for row in rows]

    def _record(self, row: sqlite3.Row) -> dict[str, Any]:
        value: dict[str, Any] = {
            MARK: self.info,
            "id": row["id"],
            "model": row["model"],
            "resolved_model": row["resolved_model"],
            "datetime_utc": row["datetime_utc"],
            "duration_ms": row["duration_ms"],
            "conversation_id": row["thread_id"],
            "conversation_name": row["conversation_name"],
            "input_tokens": row["input_tokens"],
            "output_tokens": row["output_tokens"],
            "token_details": row["token_details"],
        }
        try:
            value |= self._content(row)
        except RowError as exc:
            value["error"] = str(exc)
        return value

    def _content(self, row: sqlite3.Row) -> dict[str, Any]:
        """Prompt, answer, reasoning and raw payload of a turn, from its message chain."""
        parent, tip = row["parent_message_hash"], row["tip_message_hash"]
        outputs = self._segment(tip, parent)
        inputs = self._chain(parent)
        own_input = []
        for message in reversed(inputs):
            if self.messages[message][1] not in ("user", "tool"):
                break
            own_input.append(message)
        own_input.reverse()
        system = inputs[:1] if inputs and self.messages[inputs[0]][1] == "system" else []
        parts = self._parts([*system, *own_input, *outputs])
        prompt = _joined(
            [_texts(parts.get(h, []), "text") for h in system]
            + [_texts(parts.get(h, []), "text") for h in own_input if self.messages[h][1] == "user"]
        )
        out_parts = [part for h in outputs for part in parts.get(h, [])]
        reasoning_parts = [p for p in out_parts if p["type"] == "reasoning"]
        condensed = _json(row["response_json"], "response_json")
        segment = [parts.get(h, []) for h in outputs]
        return {
            "prompt": prompt,
            "answer": _texts(out_parts, "text"),
            "reasoning": _texts(reasoning_parts, "reasoning") or None,
            "reasoning_redacted": any(p.get("redacted") for p in reasoning_parts),
            "reasoning_summarised": any(_summarised(p) for p in reasoning_parts),
            "response_json": pick(
                condensed, lambda key: _segment_value(segment, key), PAYLOAD_KEYS
            ),
        }

    def _message(self, digest: str) -> tuple[str | None, str | None]:
        if digest not in self.messages:
            found = self.connection.execute(
                "select parent_hash, role from messages where hash = ?", [digest]
            ).fetchone()
            if found is None:
                msg = f"message {digest} is missing from the messages table"
                raise RowError(msg)
            self.messages[digest] = (found[0], found[1])
        return self.messages[digest]

    def _chain(self, tip: str | None) -> list[str]:
        """Hashes from the root of the conversation down to `tip`."""
        chain: list[str] = []
        seen: set[str] = set()
        while tip is not None:
            if tip in seen:
                msg = f"message {tip} is its own ancestor"
                raise RowError(msg)
            seen.add(tip)
            chain.append(tip)
            tip = self._message(tip)[0]
        chain.reverse()
        return chain

    def _segment(self, tip: str | None, parent: str | None) -> list[str]:
        """Hashes of the messages a turn added: from just below `parent` down to `tip`."""
        hashes: list[str] = []
        while tip is not None and tip != parent:
            if tip in hashes:
                msg = f"message {tip} is its own ancestor"
                raise RowError(msg)
            hashes.append(tip)
            tip = self._message(tip)[0]
        if tip != parent:
            msg = "tip_message_hash does not descend from parent_message_hash"
            raise RowError(msg)
        hashes.reverse()
        return hashes

    def _parts(self, hashes: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Each message's parts in position order, payload decoded, fragment refs resolved."""
        if not hashes:
            return {}
        marks = ",".join("?" * len(hashes))
        rows = self.connection.execute(
            "select message_hash, type, text, payload from parts"
            f" where message_hash in ({marks}) order by message_hash, position",
            hashes,
        ).fetchall()
        out: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            payload = _json(row["payload"], "parts.payload")
            part: dict[str, Any] = payload if isinstance(payload, dict) else {}
            part["type"] = row["type"]
            if isinstance(row["text"], str):
                part["text"] = row["text"]
            elif row["text"] is not None:
                msg = f"parts.text is not text ({type(row['text']).__name__})"
                raise RowError(msg)
            elif isinstance(part.get("text_ref"), list):
                part["text"] = self._resolve_refs(part.pop("text_ref"))
            out.setdefault(row["message_hash"], []).append(part)
        return out

    def _resolve_refs(self, pieces: list[Any]) -> str:
        text = []
        for piece in pieces:
            if isinstance(piece, dict) and isinstance(piece.get("literal"), str):
                text.append(piece["literal"])
            elif isinstance(piece, dict) and self.has_fragments:
                found = self.connection.execute(
                    "select content from fragments where id = ?", [piece.get("fragment")]
                ).fetchone()
                text.append(found[0] if found and isinstance(found[0], str) else "")
        return "".join(text)


def _guarded(
    record: Callable[[sqlite3.Row], dict[str, Any]], row: sqlite3.Row, info: dict[str, Any]
) -> dict[str, Any]:
    """A row's record; a row whose values are of types llm never writes (a BLOB where text
    belongs) becomes a record that says so, to be quarantined."""
    try:
        return record(row)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return {MARK: info, "id": None, "error": f"unreadable row ({type(exc).__name__}: {exc})"}


def _texts(parts: list[dict[str, Any]], kind: str) -> str:
    """The text of every part of `kind`, joined as llm joins them (no separator)."""
    return "".join(
        p["text"] for p in parts if p.get("type") == kind and isinstance(p.get("text"), str)
    )


def _summarised(part: dict[str, Any]) -> bool:
    """A reasoning part whose text llm took from the provider's summary (OpenAI Responses)."""
    metadata = part.get("provider_metadata")
    if not isinstance(metadata, dict):
        return False
    return any(isinstance(inner, dict) and inner.get("summary") for inner in metadata.values())


def _segment_value(segment: list[list[dict[str, Any]]], key: str) -> Any:
    """0.32 condense keys: `<message>.<part>.text` and `<message>.<part>.pm.<path>`."""
    head = key.split(".")
    if len(head) < 3 or not head[0].isdigit() or not head[1].isdigit():
        return None
    m, p = int(head[0]), int(head[1])
    if m >= len(segment) or p >= len(segment[m]):
        return None
    part = segment[m][p]
    if head[2:] == ["text"]:
        return part.get("text")
    if head[2] != "pm":
        return None
    value: Any = part.get("provider_metadata")
    for step in head[3:]:
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def _joined(pieces: Sequence[str | None]) -> str | None:
    text = "\n\n".join(p for p in pieces if p)
    return text or None
