"""llm logs.db files built with the real `llm` package, for tests and the sample.

llm's own migrations create the schema; calls are made through llm's own OpenAI model
classes (`Chat` for DeepSeek and o1 over Chat Completions, the Responses model for o1
since 0.32) against a fake client that returns the recorded provider responses in
`tests/data/llm-equivalent.jsonl`. So the turns, messages and parts rows are exactly
what llm writes. Legacy rows are written as llm 0.31's `Response.log_to_db` wrote them
(condensed with condense-json), into a file migrated only as far as llm 0.31 went.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import llm
import sqlite_utils
from condense_json import condense_json
from llm.default_plugins.openai_models import Chat
from llm.migrations import MIGRATIONS, ensure_migrations_table
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response as ResponsesResponse

DATA = Path(__file__).resolve().parent / "data"
EQUIVALENT = DATA / "llm-equivalent.jsonl"  # the calls of `current_db`
EXTRA = DATA / "llm-extra.jsonl"  # other recorded calls, for single tests
LAST_LEGACY_MIGRATION = "m021_tool_results_exception"  # llm 0.31's last
SYSTEM = "You are a careful mathematician."

# Raw responses by name (one JSON line each): what the provider returned for each call.
RAW: dict[str, Any] = {
    line["name"]: line
    for path in (EQUIVALENT, EXTRA)
    for line in map(json.loads, path.read_text().splitlines())
}


# --- schema ---------------------------------------------------------------------------


def migrate(db: sqlite_utils.Database, until: str | None = None) -> None:
    """llm's migrations in order, stopping after `until` (None: all of them)."""
    ensure_migrations_table(db)
    done = {row["name"] for row in db["_llm_migrations"].rows}
    for fn in MIGRATIONS:
        if fn.__name__ not in done:
            fn(db)
            db.table("_llm_migrations").insert(
                {"name": fn.__name__, "applied_at": "2025-01-01 00:00:00+00:00"}
            )
        if fn.__name__ == until:
            return


# --- calls through llm's own model classes ---------------------------------------------


class _Fake:
    """Stands in for the OpenAI client: returns one recorded response."""

    def __init__(self, body: Any, stream: bool) -> None:
        self.body = body
        self.stream = stream
        self.chat = self
        self.completions = self
        self.responses = self

    def create(self, **_: Any) -> Any:
        if self.stream:
            return iter([ChatCompletionChunk.model_validate(c) for c in self.body])
        if self.body.get("object") == "response":
            return ResponsesResponse.model_validate(self.body)
        return ChatCompletion.model_validate(self.body)


@contextmanager
def _llm_home() -> Iterator[None]:
    """llm creates and reads its user folder when it looks a model up: use a scratch one."""
    before = os.environ.get("LLM_USER_PATH")
    with tempfile.TemporaryDirectory() as home:
        os.environ["LLM_USER_PATH"] = home
        try:
            yield
        finally:
            if before is None:
                del os.environ["LLM_USER_PATH"]
            else:
                os.environ["LLM_USER_PATH"] = before


def call(name: str, fragments: tuple[str, ...] = ()) -> llm.Response:
    """A completed llm Response for the recorded call `name`, made through llm's model class."""
    raw = RAW[name]
    body = raw["response"]
    stream = isinstance(body, list)
    with _llm_home():
        model: Any = (
            llm.get_model(raw["model"])
            if raw["api"] == "responses"
            else Chat(raw["model"], model_name=raw["model"])
        )
        model.get_client = lambda *_, **__: _Fake(body, stream)
        response = model.prompt(
            raw["prompt"], system=SYSTEM, fragments=list(fragments), stream=stream, key="sk-test"
        )
        response.text()
    response.id = raw["id"]
    response._start_utcnow = dt.datetime.fromisoformat(raw["created"])
    return response


def log_turn(db: sqlite_utils.Database, name: str, fragments: tuple[str, ...] = ()) -> None:
    """Log a call the way llm >= 0.32 does: threads, turns, messages, parts."""
    call(name, fragments).log_to_db(db)


def log_legacy(db: sqlite_utils.Database, name: str, response_id: str | None = None) -> None:
    """Log a call the way llm 0.31's `Response.log_to_db` did: one `responses` row."""
    response = call(name)
    response_id = response_id or response.id
    text = response.text()
    conversation_id = f"conv-{response_id}"
    db.table("conversations").insert(
        {"id": conversation_id, "name": RAW[name]["prompt"][:30], "model": response.model.model_id},
        ignore=True,
    )
    replacements = {f"r:{response_id}": text}
    db.table("responses").insert(
        {
            "id": response_id,
            "model": response.model.model_id,
            "prompt": RAW[name]["prompt"],
            "system": SYSTEM,
            "prompt_json": condense_json(response._prompt_json, replacements),
            "options_json": {},
            "response": text,
            "response_json": condense_json(response.response_json, replacements),
            "conversation_id": conversation_id,
            "duration_ms": 1234,
            "datetime_utc": response.datetime_utc(),
            "input_tokens": response.input_tokens,
            "output_tokens": response.output_tokens,
            "token_details": json.dumps(response.token_details) if response.token_details else None,
            "schema_id": None,
            "resolved_model": response.resolved_model,
        }
    )


# --- whole files ---------------------------------------------------------------------------

LEGACY_CALLS = ("r1-legacy", "o1-chat-legacy", "r1-stream-legacy")
TURN_CALLS = ("r1-turn", "r1-stream-turn", "o1-responses-turn")


def legacy_db(path: Path) -> Path:
    """A logs.db as llm 0.31 left it: legacy tables only."""
    db = sqlite_utils.Database(path)
    migrate(db, until=LAST_LEGACY_MIGRATION)
    for name in LEGACY_CALLS:
        log_legacy(db, name)
    db.close()
    return path


def current_db(path: Path) -> Path:
    """A logs.db upgraded from 0.31 to 0.32+: legacy rows, then turns; one row in both."""
    db = sqlite_utils.Database(path)
    migrate(db, until=LAST_LEGACY_MIGRATION)
    for name in LEGACY_CALLS:
        log_legacy(db, name)
    # the same call in both tables (as a re-logged history would be): read once
    log_legacy(db, "o1-responses-turn")
    migrate(db)
    for name in TURN_CALLS:
        log_turn(db, name)
    db.close()
    return path


def equivalent_responses() -> Iterator[dict[str, Any]]:
    """The raw provider responses behind the calls of `current_db`, in its order."""
    for name in (*LEGACY_CALLS, *TURN_CALLS):
        yield RAW[name]
