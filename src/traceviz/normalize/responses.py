"""The OpenAI Responses API (`object: "response"`), used by o1-pro, o3-pro and gpt-5.

Output items of type `reasoning` carry a `summary` (a summary of the reasoning, kept
as `reasoning_summary`, never counted as reasoning) and, where the model shows it,
`content` parts of type `reasoning_text` (the reasoning itself). `encrypted_content`
is hidden reasoning: billed in `output_tokens_details.reasoning_tokens`, not shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traceviz.ingest import RawRecord
from traceviz.normalize.fields import ShapeError, dig, text, timestamp, tokens
from traceviz.schema import Trace

NAME = "openai-responses"


def detect(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and value.get("object") == "response"
        and isinstance(value.get("output"), list)
    )


def normalize(record: RawRecord) -> list[Trace]:
    value: Mapping[str, Any] = record.value
    reasoning_parts: list[str] = []
    summary_parts: list[str] = []
    answer_parts: list[str] = []
    for position, item in enumerate(value["output"]):
        if not isinstance(item, Mapping):
            msg = f"output[{position}] is not an object"
            raise ShapeError(msg)
        kind = item.get("type")
        if kind == "reasoning":
            summary_parts += _texts(item.get("summary"), f"output[{position}].summary")
            reasoning_parts += _texts(item.get("content"), f"output[{position}].content")
        elif kind == "message":
            answer_parts += _texts(item.get("content"), f"output[{position}].content")
    usage = value.get("usage") or {}
    if not isinstance(usage, Mapping):
        msg = "usage is not an object"
        raise ShapeError(msg)
    status = text(value.get("status"), "status")
    incomplete = text(dig(value, "incomplete_details", "reason"), "incomplete_details.reason")
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=NAME,
            provider="openai",
            model=text(value.get("model"), "model"),
            created=timestamp(value.get("created_at"), "created_at"),
            reasoning="\n\n".join(reasoning_parts) if reasoning_parts else None,
            reasoning_summary="\n\n".join(summary_parts) if summary_parts else None,
            answer="".join(answer_parts),
            usage_input=tokens(usage.get("input_tokens"), "usage.input_tokens"),
            usage_cached_input=tokens(
                dig(usage, "input_tokens_details", "cached_tokens"),
                "usage.input_tokens_details.cached_tokens",
            ),
            usage_cache_write=tokens(
                dig(usage, "input_tokens_details", "cache_write_tokens"),
                "usage.input_tokens_details.cache_write_tokens",
            ),
            usage_output=tokens(usage.get("output_tokens"), "usage.output_tokens"),
            usage_reasoning=tokens(
                dig(usage, "output_tokens_details", "reasoning_tokens"),
                "usage.output_tokens_details.reasoning_tokens",
            ),
            finish_reason=incomplete or status,
            truncated=status == "incomplete",
            response_id=text(value.get("id"), "id"),
            service_tier=text(value.get("service_tier"), "service_tier"),
            batch=record.batch,
            trace_id=text(value.get("id"), "id"),
        )
    ]


def _texts(parts: Any, name: str) -> list[str]:
    """The `text` of each part of a list of parts (summary_text, reasoning_text, output_text)."""
    if parts is None:
        return []
    if not isinstance(parts, list):
        msg = f"{name} is not a list"
        raise ShapeError(msg)
    found = []
    for part in parts:
        piece = part.get("text") if isinstance(part, Mapping) else None
        if piece is not None and not isinstance(piece, str):
            msg = f"{name}[].text is not a string"
            raise ShapeError(msg)
        if piece:
            found.append(piece)
    return found
