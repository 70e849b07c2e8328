"""llm's legacy `responses` table (llm <= 0.31 and the 0.32 alphas) -> records.

One record per response row, with its conversation's name; a response that llm also
logged as a turn is marked `duplicate`, to be read once, from the turn, as `llm logs`
does. Condensed `response_json` is expanded through `r:<id>` and fragment keys.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from traceviz.ingest.condensed import pick
from traceviz.ingest.llm_db import (
    MARK,
    PAGE_ROWS,
    PAYLOAD_KEYS,
    RowError,
    column_names,
    guarded,
    joined,
    json_column,
    select,
)

LEGACY_COLUMNS = (
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


class LegacyReader:
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
        columns = select(column_names(connection, "responses"), LEGACY_COLUMNS, "responses")
        self.sql = (
            f"select responses.rowid as _rowid, {columns}, {name} as conversation_name,"
            f" {in_turns} as _in_turns from responses{join}"
            f" where responses.rowid > ? order by responses.rowid limit {PAGE_ROWS}"
        )

    def records(self, after: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self.connection.execute(self.sql, [after]).fetchall()
        return [(row["_rowid"], guarded(self._record, row, self.info)) for row in rows]

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
            "prompt": joined([row["system"], row["prompt"]]),
            "answer": row["response"],
            "reasoning": row["reasoning"] or None,
            "duplicate": bool(row["_in_turns"]),
        }
        try:
            condensed = json_column(row["response_json"], "response_json")
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
