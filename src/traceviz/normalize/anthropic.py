"""Anthropic Messages with extended thinking: `content[]` of `thinking`,
`redacted_thinking` and `text` blocks.

Usage is disjoint: `input_tokens` excludes the cache, so `usage_input` adds
`cache_creation_input_tokens` and `cache_read_input_tokens` back in. `output_tokens`
includes the full thinking, even where Claude 4 shows only a summary of it, which
this shape cannot tell apart: the visible thinking then undercounts the billed one.
Redacted thinking is hidden reasoning. Cache writes made for an hour
(`cache_creation.ephemeral_1h_input_tokens`) are kept apart: they bill at another rate.
`usage.service_tier` "batch" marks a Message Batches response.
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
        isinstance(value, Mapping)
        and value.get("type") == "message"
        and isinstance(value.get("content"), list)
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
            thinking.append(text(block.get("thinking"), f"content[{position}].thinking") or "")
        elif kind == "redacted_thinking":
            redacted += 1
        elif kind == "text":
            answer.append(text(block.get("text"), f"content[{position}].text") or "")
    usage = value.get("usage") or {}
    if not isinstance(usage, Mapping):
        msg = "usage is not an object"
        raise ShapeError(msg)
    fresh = tokens(usage.get("input_tokens"), "usage.input_tokens")
    written = tokens(usage.get("cache_creation_input_tokens"), "usage.cache_creation_input_tokens")
    read = tokens(usage.get("cache_read_input_tokens"), "usage.cache_read_input_tokens")
    total_input = None if fresh is None else fresh + (written or 0) + (read or 0)
    tier = text(usage.get("service_tier"), "usage.service_tier")
    stop = text(value.get("stop_reason"), "stop_reason")
    metadata = orjson.dumps({"redacted_thinking_blocks": redacted}).decode() if redacted else None
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=NAME,
            provider="anthropic",
            model=text(value.get("model"), "model"),
            reasoning="\n\n".join(thinking) if thinking else None,
            answer="".join(answer),
            usage_input=total_input,
            usage_cached_input=read,
            usage_cache_write=written,
            usage_cache_write_1h=_hour_writes(usage),
            usage_output=tokens(usage.get("output_tokens"), "usage.output_tokens"),
            finish_reason=stop,
            truncated=stop == "max_tokens",
            response_id=text(value.get("id"), "id"),
            service_tier=tier,
            # NOTE: the Message Batches API says so in the usage itself
            batch=record.batch or (tier or "").lower() == "batch",
            metadata=metadata,
            trace_id=text(value.get("id"), "id"),
        )
    ]


def _hour_writes(usage: Mapping[str, Any]) -> int | None:
    """The cache writes made for an hour (`cache_creation.ephemeral_1h_input_tokens`),
    billed at 2x input where 5-minute writes cost 1.25x; None where not split."""
    split = usage.get("cache_creation")
    if split is None:
        return None
    if not isinstance(split, Mapping):
        msg = "usage.cache_creation is not an object"
        raise ShapeError(msg)
    return tokens(
        split.get("ephemeral_1h_input_tokens"), "usage.cache_creation.ephemeral_1h_input_tokens"
    )
