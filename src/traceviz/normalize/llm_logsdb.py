"""One record of llm's logs.db (read by `traceviz.ingest.llm_db`) -> one canonical trace.

Usage comes from `token_details` first, then the `input_tokens`/`output_tokens`
columns. llm fills `token_details` two ways: on the Chat Completions path it keeps the
provider's usage minus the top-level counts and drops every zero, so a missing count
there means 0; on the Responses path it copies `input_tokens_details` and
`output_tokens_details` verbatim, zeros kept. Either way the result follows traceviz's
subset convention (cached within input, reasoning within output).

Reasoning text is taken from, in order: the reasoning parts (0.32) or the `reasoning`
column (0.32 alphas); `reasoning_content`/`reasoning` in the stored raw response; and
`<think>` tags in the answer. When a call billed reasoning but none survives,
`reasoning_missing_reason` says why.
"""

from __future__ import annotations

from typing import Any

import orjson

from traceviz.ingest.interface import RawRecord
from traceviz.ingest.llm_db import MARK
from traceviz.normalize.chat import read_message
from traceviz.normalize.fields import ShapeError, dig, money, text, timestamp, tokens
from traceviz.normalize.log_stores import DROPPED, HIDDEN
from traceviz.normalize.skip import SkipRecord
from traceviz.schema import Trace

NAME = "llm-logsdb"
STREAMED = "streamed (llm does not keep reasoning of streamed Chat responses)"
_TRUNCATING = ("length", "max_output_tokens", "max_tokens")
# OpenAI's reasoning models bill reasoning they never show; text llm keeps for them
# is a summary. Prefixes llm and its plugins put before the model name are dropped.
_HIDDEN_MODELS = ("o1", "o3", "o4", "gpt-5")
_ROUTE_PREFIXES = ("openrouter/", "openai/", "azure/")


def detect(value: Any) -> bool:
    """A record read from an llm logs.db."""
    return type(value) is dict and MARK in value


def normalize(record: RawRecord) -> list[Trace]:
    row: dict[str, Any] = record.value
    info = row.get(MARK)
    if not isinstance(info, dict):
        msg = f"{MARK} is not an object"
        raise ShapeError(msg)
    where = f"{info.get('table')} row {record.line}"
    if row.get("duplicate"):
        msg = "llm-logsdb: legacy response also logged as a turn"
        raise SkipRecord(msg)
    if row.get("error"):
        msg = f"{row['error']} ({where})"
        raise ShapeError(msg)
    try:
        return [_trace(record, row, info)]
    except ShapeError as exc:
        msg = f"{exc} ({where})"
        raise ShapeError(msg) from None


def _trace(record: RawRecord, row: dict[str, Any], info: dict[str, Any]) -> Trace:
    llm_model = text(row.get("model"), "model")
    model = text(row.get("resolved_model"), "resolved_model") or llm_model
    payload = row.get("response_json")
    payload = payload if isinstance(payload, dict) else None
    usage = read_usage(row.get("input_tokens"), row.get("output_tokens"), row.get("token_details"))
    hidden = hides_reasoning(model)
    explicit = text(row.get("reasoning"), "reasoning")
    summary = None
    if hidden or row.get("reasoning_summarised"):
        summary, explicit = explicit, None
    message = {
        "content": text(row.get("answer"), "response") or "",
        "reasoning_content": explicit if explicit is not None else _payload_reasoning(payload),
    }
    reasoning, _, answer, cut = read_message(message)
    finish_reason = _finish_reason(payload)
    missing = None
    if reasoning is None and ((usage["usage_reasoning"] or 0) > 0 or row.get("reasoning_redacted")):
        missing = HIDDEN if hidden else STREAMED if _streamed(payload) else DROPPED
    return Trace(
        source=record.source,
        line=record.line,
        format=f"{NAME} ({info.get('era')})",
        provider=_provider(model, row.get("token_details")),
        model=model,
        created=timestamp(row.get("datetime_utc"), "datetime_utc"),
        prompt=text(row.get("prompt"), "prompt"),
        reasoning=reasoning,
        reasoning_summary=summary,
        answer=answer,
        finish_reason=finish_reason,
        truncated=cut or finish_reason in _TRUNCATING or dig(payload, "status") == "incomplete",
        response_id=_text_or_none(dig(payload, "id")),
        batch=record.batch,
        metadata=_metadata(row, info, llm_model, model),
        trace_id=text(row.get("id"), "id"),
        reasoning_missing_reason=missing,
        **usage,
    )


def read_usage(input_tokens: Any, output_tokens: Any, token_details: Any) -> dict[str, Any]:
    """The usage columns from llm's token columns and its `token_details` JSON text."""
    usage_input = tokens(input_tokens, "input_tokens")
    usage_output = tokens(output_tokens, "output_tokens")
    details: Any = None
    if token_details is not None and token_details != "":
        try:
            details = orjson.loads(token_details)
        except orjson.JSONDecodeError:
            msg = "token_details is not JSON"
            raise ShapeError(msg) from None
        if not isinstance(details, dict):
            msg = f"token_details is not a JSON object ({type(details).__name__})"
            raise ShapeError(msg)
    cached = write = reasoning = None
    cost = None
    if details is not None and (
        "input_tokens_details" in details or "output_tokens_details" in details
    ):
        # Responses API path: the details objects copied verbatim, zeros kept
        cached = tokens(dig(details, "input_tokens_details", "cached_tokens"), "cached_tokens")
        write = tokens(
            dig(details, "input_tokens_details", "cache_write_tokens"), "cache_write_tokens"
        )
        reasoning = tokens(
            dig(details, "output_tokens_details", "reasoning_tokens"), "reasoning_tokens"
        )
    elif details is not None:
        # Chat Completions path: llm dropped every zero, so a missing count is 0
        cached = tokens(dig(details, "prompt_tokens_details", "cached_tokens"), "cached_tokens")
        if cached is None:
            cached = tokens(details.get("prompt_cache_hit_tokens"), "prompt_cache_hit_tokens")
        cached = cached or 0
        write = tokens(
            dig(details, "prompt_tokens_details", "cache_write_tokens"), "cache_write_tokens"
        )
        reasoning = (
            tokens(
                dig(details, "completion_tokens_details", "reasoning_tokens"), "reasoning_tokens"
            )
            or 0
        )
        cost = money(details.get("cost"), "token_details.cost")
    if usage_input is not None and cached is not None and cached > usage_input:
        msg = f"impossible counts: {cached:,} cached of {usage_input:,} input tokens"
        raise ShapeError(msg)
    return {
        "usage_input": usage_input,
        "usage_cached_input": cached,
        "usage_cache_write": write,
        "usage_output": usage_output,
        "usage_reasoning": reasoning,
        "cost_logged": cost,
    }


def hides_reasoning(model: str | None) -> bool:
    """Whether the model is one whose provider bills reasoning but never shows it."""
    name = (model or "").lower()
    for prefix in _ROUTE_PREFIXES:
        name = name.removeprefix(prefix)
    return name.startswith(_HIDDEN_MODELS)


def _payload_reasoning(payload: dict[str, Any] | None) -> str | None:
    """`reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter) of a raw Chat
    response, or `thinking` of a raw Ollama one (llm-ollama, not streamed)."""
    for found in (
        dig(payload, "choices", 0, "message", "reasoning_content"),
        dig(payload, "choices", 0, "message", "reasoning"),
        dig(payload, "message", "thinking"),
        dig(payload, "thinking"),
    ):
        if isinstance(found, str):
            return found
    return None


def _finish_reason(payload: dict[str, Any] | None) -> str | None:
    """Chat `finish_reason` (whole or streamed), Ollama `done_reason`, or why a Responses
    call stopped."""
    if payload is None:
        return None
    found = (
        dig(payload, "choices", 0, "finish_reason")
        or payload.get("finish_reason")
        or payload.get("done_reason")
    )
    if found is None and payload.get("status") == "incomplete":
        found = dig(payload, "incomplete_details", "reason") or "incomplete"
    elif found is None and isinstance(payload.get("status"), str):
        found = payload["status"]
    return _text_or_none(found)


def _streamed(payload: dict[str, Any] | None) -> bool:
    """A Chat response llm assembled from stream chunks (`combine_chunks`): text only."""
    if payload is None or "choices" in payload:
        return False
    return "content" in payload or payload.get("object") == "chat.completion.chunk"


def _provider(model: str | None, token_details: Any) -> str | None:
    name = (model or "").lower()
    if name.startswith("openrouter/") or '"is_byok"' in str(token_details or ""):
        return "openrouter"
    if ":" in name:  # an Ollama tag (`deepseek-r1:8b`): run locally, whatever the model
        return "ollama"
    if "deepseek" in name and "/" not in name:
        return "deepseek"
    if hides_reasoning(name) or name.startswith(("gpt-", "chatgpt")):
        return "openai"
    if name.startswith("claude"):
        return "anthropic"
    return None


def _metadata(
    row: dict[str, Any], info: dict[str, Any], llm_model: str | None, model: str | None
) -> str:
    values = {
        "llm_table": info.get("table"),
        "llm_migration": info.get("migration"),
        "llm_model": llm_model if llm_model != model else None,
        "conversation_id": row.get("conversation_id"),
        "conversation_name": row.get("conversation_name"),
        "duration_ms": row.get("duration_ms"),
    }
    return orjson.dumps({k: v for k, v in values.items() if v is not None}).decode()


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
