"""The OpenAI Responses API: `{object: "response", output[...], usage}`.

Reasoning items carry a `summary` (a summary of the hidden reasoning, kept in
`reasoning_summary`, never in `reasoning`), sometimes `content[{type: reasoning_text}]`
(the reasoning itself) and sometimes `encrypted_content` (hidden). Message items hold
the answer in `output_text` parts. Usage follows the Chat Completions subset rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traceviz.ingest import RawRecord
from traceviz.normalize.fields import ShapeError, dig, text, timestamp, tokens
from traceviz.schema import Trace

NAME = "openai-responses"


def detect(value: Any) -> bool:
    if type(value) is not dict:
        return False
    if value.get("object") == "response":
        return True
    return isinstance(value.get("output"), list) and str(value.get("id", "")).startswith("resp_")


def normalize(record: RawRecord) -> list[Trace]:
    value: Mapping[str, Any] = record.value
    output = value.get("output")
    if not isinstance(output, list):
        msg = "output is not a list"
        raise ShapeError(msg)
    reasoning_parts: list[str] = []
    summary_parts: list[str] = []
    answer_parts: list[str] = []
    for position, item in enumerate(output):
        if not isinstance(item, Mapping):
            msg = f"output[{position}] is not an object"
            raise ShapeError(msg)
        if item.get("type") == "reasoning":
            summary_parts.extend(_texts(item.get("summary"), f"output[{position}].summary"))
            reasoning_parts.extend(
                _texts(item.get("content"), f"output[{position}].content", "reasoning_text")
            )
        elif item.get("type") == "message":
            answer_parts.extend(
                _texts(item.get("content"), f"output[{position}].content", "output_text")
            )
    usage = value.get("usage")
    if usage is not None and not isinstance(usage, Mapping):
        msg = "usage is not an object"
        raise ShapeError(msg)
    status = text(value.get("status"), "status")
    reason = text(dig(value, "incomplete_details", "reason"), "incomplete_details.reason")
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
            finish_reason=reason or status,
            truncated=status == "incomplete",
            response_id=text(value.get("id"), "id"),
            service_tier=text(value.get("service_tier"), "service_tier"),
            batch=record.batch,
            trace_id=text(value.get("id"), "id"),
            **read_usage(usage or {}),
        )
    ]


def read_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Responses usage in the canonical convention (details are subsets)."""
    return {
        "usage_input": tokens(usage.get("input_tokens"), "usage.input_tokens"),
        "usage_cached_input": tokens(
            dig(usage, "input_tokens_details", "cached_tokens"),
            "usage.input_tokens_details.cached_tokens",
        ),
        "usage_cache_write": tokens(
            dig(usage, "input_tokens_details", "cache_write_tokens"),
            "usage.input_tokens_details.cache_write_tokens",
        ),
        "usage_output": tokens(usage.get("output_tokens"), "usage.output_tokens"),
        "usage_reasoning": tokens(
            dig(usage, "output_tokens_details", "reasoning_tokens"),
            "usage.output_tokens_details.reasoning_tokens",
        ),
    }


def _texts(parts: Any, name: str, kind: str | None = None) -> list[str]:
    """The `text` of each part (of type `kind`, when given) of a list of parts."""
    if parts is None:
        return []
    if not isinstance(parts, list):
        msg = f"{name} is not a list"
        raise ShapeError(msg)
    found = []
    for part in parts:
        if isinstance(part, Mapping) and (kind is None or part.get("type") == kind):
            piece = text(part.get("text"), f"{name}[].text")
            if piece is not None:
                found.append(piece)
    return found
