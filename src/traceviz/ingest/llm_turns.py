"""llm's message store (`turns`, `messages`, `parts`; llm >= 0.32rc1) -> records.

A turn's prompt is the system message and the user (and tool) messages just before
it; its answer and reasoning are the text and reasoning parts of the messages it added
(`parent_message_hash` .. `tip_message_hash`). Message rows are shared between turns,
so up to `MESSAGE_CACHE_ROWS` of them are kept; a broken chain (a missing message, a
loop) makes the row's record say so (`error`).
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

# llm's message store shares message rows between turns; this many are kept in memory.
MESSAGE_CACHE_ROWS = 100_000
TURN_COLUMNS = (
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


class TurnReader:
    """Turns of llm's message store (llm >= 0.32rc1), with their messages and parts."""

    def __init__(
        self, connection: sqlite3.Connection, tables: set[str], info: dict[str, Any]
    ) -> None:
        self.connection = connection
        self.info = info | {"table": "turns"}
        self.has_fragments = "fragments" in tables
        self.messages: dict[str, tuple[str | None, str | None]] = {}
        columns = select(column_names(connection, "turns"), TURN_COLUMNS, "turns")
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
        return [(row["_rowid"], guarded(self._record, row, self.info)) for row in rows]

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
        prompt = joined(
            [_texts(parts.get(h, []), "text") for h in system]
            + [_texts(parts.get(h, []), "text") for h in own_input if self.messages[h][1] == "user"]
        )
        out_parts = [part for h in outputs for part in parts.get(h, [])]
        reasoning_parts = [p for p in out_parts if p["type"] == "reasoning"]
        condensed = json_column(row["response_json"], "response_json")
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
            payload = json_column(row["payload"], "parts.payload")
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
