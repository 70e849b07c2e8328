"""The Chat Completions family: OpenAI, DeepSeek, OpenRouter, Groq, vLLM, SGLang, llama.cpp.

All of these return `{id, created, model, choices[{message, finish_reason}], usage}`
(or streams of `chat.completion.chunk` deltas) and differ in where the reasoning
lives (`reasoning_content`, `reasoning`, `reasoning_details`, `<think>` in `content`)
and in a few usage keys. `dialect` names the vendor from marks each one leaves;
`normalize` reads them all into the same trace. A stream is reassembled first
(`merge_chunks`) and then read like a whole response.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from traceviz.ingest import RawRecord
from traceviz.normalize import think_tags
from traceviz.normalize.choices import split_usage
from traceviz.normalize.fields import ShapeError, content_text, dig, money, text, timestamp, tokens
from traceviz.schema import Trace

NAME = "openai-chat"
FORMATS = (
    "openai-chat",
    "deepseek",
    "openrouter",
    "groq",
    "vllm",
    "sglang",
    "llamacpp",
    "chat-compatible",
)


def _marked(value: Any, obj: str, choice_key: str) -> bool:
    """An object whose `object` is `obj`, or whose first choice carries `choice_key`."""
    if type(value) is not dict:
        return False
    if value.get("object") == obj:
        return True
    choices = value.get("choices")
    return (
        type(choices) is list
        and bool(choices)
        and type(choices[0]) is dict
        and choice_key in choices[0]
    )


def detect(value: Any) -> bool:
    """A whole response: `chat.completion`, or choices carrying `message`."""
    return _marked(value, "chat.completion", "message")


def is_chunk(value: Any) -> bool:
    """A streamed delta: `chat.completion.chunk`, or choices carrying `delta`."""
    return _marked(value, "chat.completion.chunk", "delta")


def chunk_key(value: Any) -> str | None:
    """The stream a chunk belongs to (its response id), or None if not a chunk."""
    if not is_chunk(value):
        return None
    return f"chat:{value.get('id')}"


def dialect(value: Mapping[str, Any]) -> tuple[str, str | None]:
    """(format, provider) from the marks each vendor leaves on its responses."""
    raw_usage = value.get("usage")
    usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, Mapping) else {}
    model = str(value.get("model") or "").lower()
    fingerprint = str(value.get("system_fingerprint") or "").lower()
    first = dig(value, "choices", 0) or {}
    if "x_groq" in value or "queue_time" in usage:
        return "groq", "groq"
    if "cost" in usage or "is_byok" in usage or isinstance(value.get("provider"), str):
        return "openrouter", "openrouter"
    if "prompt_cache_hit_tokens" in usage or "prompt_cache_miss_tokens" in usage:
        return "deepseek", "deepseek"
    if "timings" in value:
        return "llamacpp", "llamacpp"
    if "matched_stop" in first or "sglang" in fingerprint:
        return "sglang", "sglang"
    if "prompt_logprobs" in value or "kv_transfer_params" in value:
        return "vllm", "vllm"
    if str(value.get("id") or "").startswith("chatcmpl-") and _is_openai_model(model):
        return "openai-chat", "openai"
    if model.startswith("deepseek") and not model.count("/"):
        return "deepseek", "deepseek"
    if _is_openai_model(model):
        return "openai-chat", "openai"
    return "chat-compatible", None


def _is_openai_model(model: str) -> bool:
    return model.startswith(("o1", "o3", "o4", "gpt-", "chatgpt", "codex"))


def normalize(record: RawRecord, *, fmt_suffix: str = "") -> list[Trace]:
    value: Mapping[str, Any] = record.value
    fmt, provider = dialect(value)
    choices = value.get("choices")
    if not isinstance(choices, list):
        msg = "choices is not a list"
        raise ShapeError(msg)
    usage = value.get("usage")
    if usage is not None and not isinstance(usage, Mapping):
        msg = "usage is not an object"
        raise ShapeError(msg)
    response_id = text(value.get("id"), "id")
    created = timestamp(value.get("created"), "created")
    model = text(value.get("model"), "model")
    usage_fields = read_usage(usage or {})
    metadata = _metadata(value)
    read = []
    for position, choice in enumerate(choices or [{}]):
        if not isinstance(choice, Mapping):
            msg = f"choices[{position}] is not an object"
            raise ShapeError(msg)
        message = choice.get("message") or {}
        if not isinstance(message, Mapping):
            msg = f"choices[{position}].message is not an object"
            raise ShapeError(msg)
        read.append((choice, read_message(message)))
    usages = split_usage(
        usage_fields, [m[0] for _, m in read], [m[2] for _, m in read]
    )  # the response's usage, shared among its choices
    traces = []
    for position, ((choice, message_parts), usage_part) in enumerate(
        zip(read, usages, strict=True)
    ):
        index = choice.get("index", position)
        reasoning, summary, answer, tagged_truncation = message_parts
        finish_reason = text(choice.get("finish_reason"), "finish_reason")
        trace_id = response_id if response_id and position == 0 else None
        if response_id and position > 0:
            trace_id = f"{response_id}#{index}"
        traces.append(
            Trace(
                source=record.source,
                line=record.line,
                format=fmt + fmt_suffix,
                provider=provider,
                model=model,
                created=created,
                reasoning=reasoning,
                reasoning_summary=summary,
                answer=answer,
                finish_reason=finish_reason,
                truncated=tagged_truncation or finish_reason == "length",
                response_id=response_id,
                service_tier=text(value.get("service_tier"), "service_tier"),
                batch=record.batch,
                metadata=metadata,
                trace_id=trace_id,
                choice=position,
                **usage_part,
            )
        )
    return traces


def read_message(message: Mapping[str, Any]) -> tuple[str | None, str | None, str, bool]:
    """(reasoning, reasoning summary, answer, truncated) from an assistant message."""
    content = content_text(message.get("content"), "message.content") or ""
    refusal = text(message.get("refusal"), "message.refusal")
    reasoning = text(message.get("reasoning_content"), "message.reasoning_content")
    if reasoning is None:
        reasoning = text(message.get("reasoning"), "message.reasoning")
    if reasoning is None:
        reasoning = text(message.get("thinking"), "message.thinking")
    summary = None
    details = message.get("reasoning_details")
    if isinstance(details, list):
        texts = [d.get("text") for d in details if isinstance(d, Mapping)]
        summaries = [d.get("summary") for d in details if isinstance(d, Mapping)]
        detail_text = "".join(t for t in texts if isinstance(t, str))
        if reasoning is None and any(isinstance(t, str) for t in texts):
            reasoning = detail_text
        summary = "".join(s for s in summaries if isinstance(s, str)) or None
    if reasoning is not None:
        return reasoning, summary, content if content else (refusal or ""), False
    parts = think_tags.split(content)
    answer = parts.answer if parts.answer or not refusal else refusal
    return parts.reasoning, summary, answer, parts.truncated


def read_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Chat Completions usage in the canonical convention (subset counts, None if absent)."""
    hit = tokens(usage.get("prompt_cache_hit_tokens"), "usage.prompt_cache_hit_tokens")
    miss = tokens(usage.get("prompt_cache_miss_tokens"), "usage.prompt_cache_miss_tokens")
    prompt = tokens(usage.get("prompt_tokens"), "usage.prompt_tokens")
    if prompt is None and hit is not None and miss is not None:
        prompt = hit + miss
    cached = tokens(
        dig(usage, "prompt_tokens_details", "cached_tokens"),
        "usage.prompt_tokens_details.cached_tokens",
    )
    if cached is None:
        cached = hit
    return {
        "usage_input": prompt,
        "usage_cached_input": cached,
        "usage_cache_write": tokens(
            dig(usage, "prompt_tokens_details", "cache_write_tokens"),
            "usage.prompt_tokens_details.cache_write_tokens",
        ),
        "usage_output": tokens(usage.get("completion_tokens"), "usage.completion_tokens"),
        "usage_reasoning": tokens(
            dig(usage, "completion_tokens_details", "reasoning_tokens"),
            "usage.completion_tokens_details.reasoning_tokens",
        ),
        "cost_logged": money(usage.get("cost"), "usage.cost"),
    }


def _metadata(value: Mapping[str, Any]) -> str | None:
    extra = {}
    if isinstance(value.get("provider"), str):
        extra["upstream_provider"] = value["provider"]
    if isinstance(value.get("system_fingerprint"), str):
        extra["system_fingerprint"] = value["system_fingerprint"]
    return orjson.dumps(extra).decode() if extra else None


# --- streams -------------------------------------------------------------------------------


def merge_chunks(chunks: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One Chat Completions response from its stream of chunks.

    Deltas are concatenated per choice index; usage is taken from whichever chunk
    carries it. A stream with no `finish_reason` was cut off, and says so.
    """
    first = chunks[0]
    merged: dict[str, Any] = {
        key: first.get(key)
        for key in ("id", "created", "model", "service_tier", "system_fingerprint", "provider")
        if first.get(key) is not None
    }
    merged["object"] = "chat.completion"
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for key in ("model", "service_tier", "system_fingerprint"):
            if key not in merged and chunk.get(key) is not None:
                merged[key] = chunk[key]
        if isinstance(chunk.get("usage"), Mapping):
            merged["usage"] = chunk["usage"]
        for key in ("x_groq", "timings"):
            if key in chunk:
                merged[key] = chunk[key]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, Mapping):
                msg = "a stream chunk's choice is not an object"
                raise ShapeError(msg)
            index = choice.get("index", 0)
            if not isinstance(index, int) or isinstance(index, bool):
                msg = "a stream chunk's choice index is not a number"
                raise ShapeError(msg)
            state = choices.setdefault(index, {"index": index, "parts": {}, "finish": None})
            delta = choice.get("delta") or {}
            if not isinstance(delta, Mapping):
                msg = "a stream chunk's delta is not an object"
                raise ShapeError(msg)
            for key in ("content", "reasoning_content", "reasoning", "refusal"):
                piece = delta.get(key)
                if piece is not None:
                    if not isinstance(piece, str):
                        msg = f"delta.{key} is not a string"
                        raise ShapeError(msg)
                    state["parts"].setdefault(key, []).append(piece)
            if choice.get("finish_reason") is not None:
                state["finish"] = choice["finish_reason"]
    merged["choices"] = [
        {
            "index": index,
            "message": {"role": "assistant"}
            | {key: "".join(pieces) for key, pieces in state["parts"].items()},
            "finish_reason": state["finish"],
        }
        for index, state in sorted(choices.items())
    ]
    return merged


def normalize_stream(record: RawRecord) -> list[Trace]:
    """A reassembled stream; a choice with no finish reason was cut off: truncated."""
    merged = merge_chunks(record.value)
    whole = RawRecord(record.source, record.line, merged, record.batch)
    traces = normalize(whole, fmt_suffix="-stream")
    return [t if t.finish_reason is not None else replace(t, truncated=True) for t in traces]
