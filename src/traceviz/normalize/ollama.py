"""Ollama `/api/chat` and `/api/generate` responses, whole or streamed.

`/api/chat` puts the reasoning in `message.thinking` and the answer in
`message.content`; `/api/generate` uses top-level `thinking` and `response`. A stream
is a run of objects with `done: false` ending with one `done: true` that carries the
counts. `prompt_eval_count` is the prompt, `eval_count` every generated token
(thinking and answer: Ollama reports no split, so `usage_reasoning` stays null).
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


def detect(value: Any) -> bool:
    return (
        type(value) is dict
        and isinstance(value.get("done"), bool)
        and "model" in value
        and "created_at" in value
        and (isinstance(value.get("message"), Mapping) or "response" in value)
    )


def chunk_key(value: Any) -> str | None:
    """Every Ollama object is a chunk of a stream (a whole response is a stream of one)."""
    return f"ollama:{value.get('model')}" if detect(value) else None


def is_last(value: Any) -> bool:
    return value.get("done") is True


def normalize(record: RawRecord) -> list[Trace]:
    """One whole response (or the chunks of one stream, as a list)."""
    chunks = record.value if isinstance(record.value, list) else [record.value]
    thinking: list[str] = []
    content: list[str] = []
    for chunk in chunks:
        if not isinstance(chunk, Mapping):
            msg = "a stream chunk is not an object"
            raise ShapeError(msg)
        message = chunk.get("message")
        source = message if isinstance(message, Mapping) else chunk
        answer_key = "content" if isinstance(message, Mapping) else "response"
        piece = text(source.get("thinking"), "thinking")
        if piece:
            thinking.append(piece)
        piece = text(source.get(answer_key), answer_key)
        if piece:
            content.append(piece)
    last = chunks[-1]
    done = last.get("done") is True
    reasoning: str | None = "".join(thinking) if thinking else None
    answer = "".join(content)
    tag_truncated = False
    if reasoning is None:
        parts = think_tags.split(answer)
        reasoning, answer, tag_truncated = parts.reasoning, parts.answer, parts.truncated
    finish_reason = text(last.get("done_reason"), "done_reason")
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=STREAM_NAME if len(chunks) > 1 else NAME,
            provider="ollama",
            model=text(chunks[0].get("model"), "model"),
            created=timestamp(chunks[0].get("created_at"), "created_at"),
            reasoning=reasoning,
            answer=answer,
            usage_input=tokens(last.get("prompt_eval_count"), "prompt_eval_count"),
            usage_output=tokens(last.get("eval_count"), "eval_count"),
            finish_reason=finish_reason,
            truncated=not done or finish_reason == "length" or tag_truncated,
            batch=record.batch,
        )
    ]
