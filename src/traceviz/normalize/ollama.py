"""Ollama `/api/chat` (`message.thinking`, `message.content`) and `/api/generate`
(top-level `thinking`, `response`), whole or streamed.

Counts: `prompt_eval_count` is the prompt, `eval_count` everything generated
(thinking and answer: Ollama does not split them, so `usage_reasoning` stays null and
the reasoning is counted). A stream is a run of objects with `done: false` closed by
one with `done: true`, which carries the counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traceviz.ingest import RawRecord
from traceviz.normalize import think_tags
from traceviz.normalize.fields import ShapeError, text, timestamp, tokens
from traceviz.schema import Trace

NAME = "ollama"
STREAM_NAME = "ollama-stream"


def _is_ollama(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and "done" in value
        and "created_at" in value
        and ("message" in value or "response" in value)
    )


def detect(value: Any) -> bool:
    return _is_ollama(value) and value.get("done") is True


def chunk_key(value: Any) -> str | None:
    """Every Ollama object is a chunk of a stream of its model; `done: true` closes it
    (a whole response is a stream of one)."""
    if _is_ollama(value):
        return f"ollama:{value.get('model')}"
    return None


def is_last(value: Any) -> bool:
    return bool(value.get("done"))


def normalize(record: RawRecord) -> list[Trace]:
    return [_trace(record, [record.value], NAME)]


def normalize_stream(record: RawRecord) -> list[Trace]:
    chunks = record.value
    return [_trace(record, chunks, STREAM_NAME if len(chunks) > 1 else NAME)]


def _trace(record: RawRecord, chunks: list[Mapping[str, Any]], fmt: str) -> Trace:
    thinking: list[str] = []
    content: list[str] = []
    for chunk in chunks:
        message = chunk.get("message")
        if message is not None and not isinstance(message, Mapping):
            msg = "message is not an object"
            raise ShapeError(msg)
        source = message if message is not None else chunk
        answer_key = "content" if message is not None else "response"
        piece = text(source.get("thinking"), "thinking")
        if piece:
            thinking.append(piece)
        piece = text(source.get(answer_key), answer_key)
        if piece:
            content.append(piece)
    last = chunks[-1]
    done = last.get("done") is True
    answer = "".join(content)
    reasoning: str | None = "".join(thinking) if thinking else None
    truncated = not done or last.get("done_reason") == "length"
    if reasoning is None:
        parts = think_tags.split(answer)
        reasoning, answer = parts.reasoning, parts.answer
        truncated = truncated or parts.truncated
    return Trace(
        source=record.source,
        line=record.line,
        format=fmt,
        provider="ollama",
        model=text(last.get("model"), "model"),
        created=timestamp(chunks[0].get("created_at"), "created_at"),
        reasoning=reasoning,
        answer=answer,
        usage_input=tokens(last.get("prompt_eval_count"), "prompt_eval_count"),
        usage_output=tokens(last.get("eval_count"), "eval_count"),
        finish_reason=text(last.get("done_reason"), "done_reason"),
        truncated=truncated,
        batch=record.batch,
    )
