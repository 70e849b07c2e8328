"""What the log-store readers share: JSON held in strings, CSV cells, message parts, and
why a trace's reasoning is missing.

Stores keep responses second-hand: JSON inside string columns, empty CSV cells for
"absent", messages as OpenTelemetry-style `parts`. These helpers read those forms the
same way for every store. `missing_reason` says why a trace that billed reasoning
tokens carries no reasoning text, when the model would have shown it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from traceviz.normalize.fields import ShapeError, content_text

# Values of `reasoning_missing_reason`.
# The llm logs.db shape (`llm_logsdb`) uses the same words.
HIDDEN = "hidden by provider"
NOT_CAPTURED = "content not captured"
DROPPED = "dropped by store/plugin"
TRUNCATED = "truncated by store"

# Models whose reasoning the provider hides (it is billed but never sent).
_HIDING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "codex")
# LiteLLM cuts long strings in its spend logs to head + tail around this marker.
_LITELLM_CUT = re.compile(r"\.\.\. \(\w+ skipped (\d+) chars\) \.\.\.")


def cell(value: Any) -> Any:
    """A CSV cell or JSON value with "" read as absent."""
    return None if value == "" else value


def row(value: Mapping[str, Any]) -> dict[str, Any]:
    """A record with empty cells dropped, so CSV rows and JSON rows read alike."""
    return {str(k): v for k, v in value.items() if v is not None and v != ""}


def json_value(value: Any, name: str) -> Any:
    """A JSON value that a store may have saved as JSON text (CSV cells, text columns).

    Strings that look like a JSON object or array are parsed; other strings stay text.
    """
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                return orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                msg = f"{name} holds invalid JSON ({str(exc).split(':', 1)[0]})"
                raise ShapeError(msg) from exc
    return value


def json_object(value: Any, name: str) -> dict[str, Any]:
    """A JSON object (or JSON text of one); absent gives {}, anything else is an error."""
    value = json_value(cell(value), name)
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(i, tuple) and len(i) == 2 for i in value):
        return dict(value)  # a Parquet map column (Langfuse blob-storage exports)
    if not isinstance(value, dict):
        msg = f"{name} is not an object ({type(value).__name__})"
        raise ShapeError(msg)
    return value


def part_texts(parts: Any, kinds: tuple[str, ...], name: str) -> list[str]:
    """The `content` (or `text`) of the message parts of the given types."""
    if parts is None:
        return []
    if not isinstance(parts, list):
        msg = f"{name} is not a list"
        raise ShapeError(msg)
    found = []
    for part in parts:
        if not isinstance(part, Mapping) or part.get("type") not in kinds:
            continue
        piece = part.get("content", part.get("text"))
        if piece is not None and not isinstance(piece, str):
            msg = f"{name}[].content is not a string"
            raise ShapeError(msg)
        if piece:
            found.append(piece)
    return found


def message_text(message: Any, name: str) -> str | None:
    """The text of one message: `content` (text or parts) or OpenTelemetry `parts`."""
    if isinstance(message, str):
        return message
    if not isinstance(message, Mapping):
        return None
    if "parts" in message:
        texts = part_texts(message["parts"], ("text",), f"{name}.parts")
        return "".join(texts) if texts else None
    return content_text(message.get("content"), f"{name}.content")


def prompt_of(messages: Any, name: str) -> str | None:
    """The prompt of logged input messages, one message per paragraph, roles omitted.

    Accepts a list of messages (OpenAI `content` or OpenTelemetry `parts`), an object
    holding `messages`, or plain text.
    """
    if isinstance(messages, Mapping) and "messages" in messages:
        messages = messages["messages"]
    if isinstance(messages, str):
        return messages or None
    if not isinstance(messages, list):
        return None
    pieces = [message_text(m, f"{name}[]") for m in messages]
    kept = [p for p in pieces if p]
    return "\n\n".join(kept) if kept else None


def hides_reasoning(model: str | None) -> bool:
    """Whether the provider hides this model's reasoning (bills it, never sends it)."""
    name = (model or "").strip().lower().rsplit("/", 1)[-1]
    return name.startswith(_HIDING_PREFIXES)


def missing_reason(
    model: str | None,
    reasoning: str | None,
    usage_reasoning: int | None,
    captured: bool,
) -> str | None:
    """Why a trace that billed reasoning has no reasoning text, or None.

    A model whose provider hides its reasoning (o-series) says so; for one that shows
    it, the store dropped it, or (`captured` false) kept no content of the response.
    """
    if reasoning is not None or not usage_reasoning:
        return None
    if hides_reasoning(model):
        return HIDDEN
    return DROPPED if captured else NOT_CAPTURED


def litellm_cut(text: str | None) -> int | None:
    """The characters LiteLLM cut out of a logged string, or None if it is whole."""
    if not text:
        return None
    found = _LITELLM_CUT.search(text)
    return int(found.group(1)) if found else None
