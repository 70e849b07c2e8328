"""Anthropic Messages: `content[]` blocks of `thinking`, `redacted_thinking` and `text`.

Thinking blocks are the reasoning (joined); redacted thinking is encrypted, so a
response with only redacted blocks has hidden reasoning (null) and says so in
`metadata`. Anthropic usage is disjoint: the prompt is `input_tokens` plus both cache
counts, so `usage_input` adds them up. NOTE: Claude 4 models return *summarised*
thinking, billed as the full thinking; nothing in the response tells the two apart,
so it is kept as reasoning, and its token count undercounts the bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from traceviz.ingest import RawRecord
from traceviz.normalize.fields import ShapeError, text, tokens
from traceviz.schema import Trace

NAME = "anthropic"


def detect(value: Any) -> bool:
    return (
        type(value) is dict
        and isinstance(value.get("content"), list)
        and (value.get("type") == "message" or "stop_reason" in value)
    )


def normalize(record: RawRecord) -> list[Trace]:
    value: Mapping[str, Any] = record.value
    thinking: list[str] = []
    answer: list[str] = []
    redacted = 0
    for position, block in enumerate(value["content"]):
        if not isinstance(block, Mapping):
            msg = f"content[{position}] is not an object"
            raise ShapeError(msg)
        kind = block.get("type")
        if kind == "thinking":
            piece = text(block.get("thinking"), f"content[{position}].thinking")
            thinking.append(piece or "")
        elif kind == "redacted_thinking":
            redacted += 1
        elif kind == "text":
            answer.append(text(block.get("text"), f"content[{position}].text") or "")
    usage = value.get("usage")
    if usage is not None and not isinstance(usage, Mapping):
        msg = "usage is not an object"
        raise ShapeError(msg)
    stop_reason = text(value.get("stop_reason"), "stop_reason")
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=NAME,
            provider="anthropic",
            model=text(value.get("model"), "model"),
            reasoning="\n\n".join(thinking) if thinking else None,
            answer="".join(answer),
            finish_reason=stop_reason,
            truncated=stop_reason == "max_tokens",
            response_id=text(value.get("id"), "id"),
            trace_id=text(value.get("id"), "id"),
            service_tier=text((usage or {}).get("service_tier"), "usage.service_tier"),
            batch=record.batch,
            metadata=orjson.dumps({"redacted_thinking_blocks": redacted}).decode()
            if redacted
            else None,
            **read_usage(usage or {}),
        )
    ]


def read_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Anthropic's disjoint counts in the canonical convention (input includes cache)."""
    fresh = tokens(usage.get("input_tokens"), "usage.input_tokens")
    write = tokens(usage.get("cache_creation_input_tokens"), "usage.cache_creation_input_tokens")
    read = tokens(usage.get("cache_read_input_tokens"), "usage.cache_read_input_tokens")
    total = None if fresh is None else fresh + (write or 0) + (read or 0)
    return {
        "usage_input": total,
        "usage_cached_input": read,
        "usage_cache_write": write,
        "usage_output": tokens(usage.get("output_tokens"), "usage.output_tokens"),
    }
