"""OpenTelemetry GenAI spans in OTLP/JSON, as the Collector's file exporter writes them.

One line is one `{"resourceSpans": [...]}` export holding many spans; `split` cuts it
into one record per span (with its resource and scope), and each inference span
(`gen_ai.operation.name` chat, text_completion, generate_content, or OpenLLMetry's
`llm.request.type`) becomes a trace. Spans of other kinds (tools, agents, embeddings,
HTTP) are skipped and counted. Attribute names are read in three vocabularies, named
in the format as the era: the current semantic conventions (`semconv`), OpenLLMetry's
(`openllmetry`: `gen_ai.prompt.N.*`, `gen_ai.usage.prompt_tokens`,
`gen_ai.usage.reasoning_tokens`, `llm.usage.*`) and OpenInference's usage counts.
OTLP encodes 64-bit integers as decimal strings; both strings and numbers are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from traceviz import timestamps
from traceviz.ingest import RawRecord
from traceviz.normalize import think_tags
from traceviz.normalize.choices import split_usage
from traceviz.normalize.fields import ShapeError, text, tokens
from traceviz.normalize.log_stores import json_value, missing_reason, part_texts, prompt_of
from traceviz.normalize.skip import SkipRecord
from traceviz.schema import Trace

NAME = "otel-genai"
INFERENCE = {"chat", "text_completion", "generate_content", "completion"}

# The canonical count and every attribute name it has been logged under, newest first.
USAGE_ALIASES: dict[str, tuple[str, ...]] = {
    "usage_input": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.usage.prompt_tokens",
        "llm.token_count.prompt",
    ),
    "usage_output": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.usage.completion_tokens",
        "llm.token_count.completion",
    ),
    "usage_cached_input": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "usage_cache_write": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
    "usage_reasoning": (
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.reasoning_tokens",
        "llm.usage.reasoning_tokens",
        "gen_ai.usage.output_tokens.reasoning",
        "llm.token_count.completion_details.reasoning",
    ),
}
_OPENLLMETRY_KEYS = {
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
    "gen_ai.usage.reasoning_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.request.type",
}
_INDEXED = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(\w+)$")


def detect(value: Any) -> bool:
    return type(value) is dict and isinstance(value.get("resourceSpans"), list)


def split(record: RawRecord) -> list[RawRecord]:
    """One record per span, carrying its resource attributes and instrumentation scope."""
    spans = []
    for r, resource_spans in enumerate(record.value["resourceSpans"]):
        if not isinstance(resource_spans, Mapping):
            msg = f"resourceSpans[{r}] is not an object"
            raise ShapeError(msg)
        resource = attributes(
            (resource_spans.get("resource") or {}).get("attributes"),
            f"resourceSpans[{r}].resource.attributes",
        )
        scopes = resource_spans.get("scopeSpans", resource_spans.get("instrumentationLibrarySpans"))
        for s, scope_spans in enumerate(scopes or []):
            if not isinstance(scope_spans, Mapping):
                msg = f"resourceSpans[{r}].scopeSpans[{s}] is not an object"
                raise ShapeError(msg)
            scope = scope_spans.get("scope", scope_spans.get("instrumentationLibrary")) or {}
            for span in scope_spans.get("spans") or []:
                value = {"span": span, "scope": scope, "resource": resource}
                spans.append(RawRecord(record.source, record.line, value, record.batch))
    return spans


def any_value(value: Any, name: str) -> Any:
    """An OTLP `AnyValue` as a plain value: kvlists become dicts, arrays lists."""
    if not isinstance(value, Mapping) or not value:
        return None
    if "stringValue" in value:
        return text(value["stringValue"], name)
    if "intValue" in value:
        raw = value["intValue"]
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lstrip("-").isdigit():
            return int(raw)
        msg = f"{name} is not an integer: {str(raw)[:40]!r}"
        raise ShapeError(msg)
    if "doubleValue" in value:
        return value["doubleValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        items = (value["arrayValue"] or {}).get("values") or []
        return [any_value(v, f"{name}[]") for v in items]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values"), name)
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(items: Any, name: str) -> dict[str, Any]:
    """A list of OTLP `KeyValue`s as a dict."""
    if items is None:
        return {}
    if not isinstance(items, list):
        msg = f"{name} is not a list"
        raise ShapeError(msg)
    found = {}
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            msg = f"{name} holds an entry without a key"
            raise ShapeError(msg)
        found[item["key"]] = any_value(item.get("value"), f"{name}.{item['key']}")
    return found


def is_inference(attrs: Mapping[str, Any]) -> bool:
    """A span of one model call, by its operation (or OpenLLMetry's request type)."""
    operation = attrs.get("gen_ai.operation.name")
    if operation is not None:
        return operation in INFERENCE
    request_type = attrs.get("llm.request.type")
    if request_type is not None:
        return request_type in ("chat", "completion")
    if attrs.get("openinference.span.kind") is not None:
        return attrs["openinference.span.kind"] == "LLM"
    return any(key in attrs for names in USAGE_ALIASES.values() for key in names)


def era(attrs: Mapping[str, Any]) -> str:
    """Which vocabulary a span's attributes are written in."""
    if any(
        k in _OPENLLMETRY_KEYS or _INDEXED.match(k) or k.startswith("llm.usage.") for k in attrs
    ):
        return "openllmetry"
    if any(k.startswith(("llm.token_count.", "openinference.")) for k in attrs):
        return "openinference"
    return "semconv"


def normalize(record: RawRecord) -> list[Trace]:
    value: Mapping[str, Any] = record.value
    span = value.get("span")
    if not isinstance(span, Mapping):
        msg = "span is not an object"
        raise ShapeError(msg)
    attrs = attributes(span.get("attributes"), "span.attributes")
    if not is_inference(attrs):
        msg = f"{NAME}: not an inference span"
        raise SkipRecord(msg)
    usage = read_usage(attrs)
    model = _string(attrs, "gen_ai.response.model") or _string(attrs, "gen_ai.request.model")
    outputs, captured = _outputs(attrs)
    prompt = _prompt(attrs)
    response_id = _string(attrs, "gen_ai.response.id")
    span_id = text(span.get("spanId"), "span.spanId")
    finish_reasons = attrs.get("gen_ai.response.finish_reasons")
    first_finish = (
        finish_reasons[0] if isinstance(finish_reasons, list) and finish_reasons else None
    )
    base_id = response_id or span_id
    metadata = _metadata(value, span, attrs)
    choices: list[tuple[str | None, str | None, str | None, bool]] = list(outputs) or [
        (None, None, None, False)
    ]
    usages = split_usage(usage, [c[0] for c in choices], [c[1] or "" for c in choices])
    traces = []
    for index, ((reasoning, answer, finish, cut), usage_part) in enumerate(
        zip(choices, usages, strict=True)
    ):
        finish_reason = text(finish or (first_finish if index == 0 else None), "finish_reason")
        traces.append(
            Trace(
                source=record.source,
                line=record.line,
                format=f"{NAME} ({era(attrs)})",
                provider=_provider(attrs, model),
                model=model,
                created=_nanos(span.get("startTimeUnixNano"), "span.startTimeUnixNano"),
                prompt=prompt,
                reasoning=reasoning,
                answer=answer,
                finish_reason=finish_reason,
                truncated=cut or finish_reason in ("length", "max_tokens"),
                response_id=response_id,
                batch=record.batch,
                metadata=metadata,
                trace_id=(base_id if index == 0 else f"{base_id}#{index}") if base_id else None,
                choice=index,
                reasoning_missing_reason=missing_reason(
                    model, reasoning, usage.get("usage_reasoning"), captured
                )
                if index == 0
                else None,
                **usage_part,
            )
        )
    return traces


def read_usage(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Usage attributes in the canonical convention: cached within input, reasoning within
    output, whichever vocabulary named them."""
    usage: dict[str, Any] = {}
    for column, names in USAGE_ALIASES.items():
        usage[column] = None
        for key in names:
            if attrs.get(key) is not None:
                usage[column] = tokens(attrs[key], key)
                break
    inp, cached, write = (
        usage["usage_input"],
        usage["usage_cached_input"],
        usage["usage_cache_write"],
    )
    # NOTE: the spec counts cache reads and writes within input tokens, but instrumentations
    # of Anthropic-style APIs log them beside it; more cached than input can only mean that
    if inp is not None and (cached or 0) + (write or 0) > inp:
        usage["usage_input"] = inp + (cached or 0) + (write or 0)
    return usage


def _outputs(
    attrs: Mapping[str, Any],
) -> tuple[list[tuple[str | None, str, str | None, bool]], bool]:
    """(reasoning, answer, finish reason, tag-truncated) per output message, and whether
    any output content was captured at all."""
    messages = json_value(attrs.get("gen_ai.output.messages"), "gen_ai.output.messages")
    found = []
    if messages is not None:
        if not isinstance(messages, list):
            msg = "gen_ai.output.messages is not a list of messages"
            raise ShapeError(msg)
        for i, message in enumerate(messages):
            if not isinstance(message, Mapping):
                msg = f"gen_ai.output.messages[{i}] is not an object"
                raise ShapeError(msg)
            name = f"gen_ai.output.messages[{i}].parts"
            thoughts = part_texts(message.get("parts"), ("reasoning", "thinking"), name)
            answer = "".join(part_texts(message.get("parts"), ("text",), name))
            finish = message.get("finish_reason")
            found.append(_split_tags("\n\n".join(thoughts) if thoughts else None, answer, finish))
        return found, True
    completions = _indexed(attrs, "completion")
    if completions:
        thinking = [c.get("content") for c in completions if c.get("role") == "thinking"]
        reasoning = "\n\n".join(t for t in thinking if isinstance(t, str)) or None
        for completion in (c for c in completions if c.get("role") != "thinking"):
            answer = text(completion.get("content"), "gen_ai.completion.N.content") or ""
            found.append(_split_tags(reasoning, answer, completion.get("finish_reason")))
            reasoning = None
        return found, True
    return [], False


def _split_tags(
    reasoning: str | None, answer: str, finish: Any
) -> tuple[str | None, str, str | None, bool]:
    if reasoning is not None:
        return reasoning, answer, finish, False
    parts = think_tags.split(answer)
    return parts.reasoning, parts.answer, finish, parts.truncated


def _indexed(attrs: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    """OpenLLMetry's flattened `gen_ai.{prompt,completion}.N.field` attributes, by N."""
    by_index: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        found = _INDEXED.match(key)
        if found and found.group(1) == kind:
            by_index.setdefault(int(found.group(2)), {})[found.group(3)] = value
    return [by_index[i] for i in sorted(by_index)]


def _prompt(attrs: Mapping[str, Any]) -> str | None:
    system = json_value(attrs.get("gen_ai.system_instructions"), "gen_ai.system_instructions")
    messages = json_value(attrs.get("gen_ai.input.messages"), "gen_ai.input.messages")
    pieces = []
    if isinstance(system, list):
        pieces += part_texts(system, ("text",), "gen_ai.system_instructions")
    elif isinstance(system, str) and system:
        pieces.append(system)
    if messages is not None:
        prompt = prompt_of(messages, "gen_ai.input.messages")
    else:
        prompt = prompt_of(_indexed(attrs, "prompt"), "gen_ai.prompt")
    if prompt:
        pieces.append(prompt)
    return "\n\n".join(pieces) if pieces else None


def _provider(attrs: Mapping[str, Any], model: str | None) -> str | None:
    provider = _string(attrs, "gen_ai.provider.name") or _string(attrs, "gen_ai.system")
    base = str(attrs.get("gen_ai.openai.api_base") or "")
    # NOTE: OpenLLMetry names the client library, so DeepSeek called through the OpenAI
    # client is logged as `openai`; the base URL or the model tells the truth
    if provider == "openai" and ("deepseek" in base or (model or "").startswith("deepseek")):
        return "deepseek"
    return provider


def _string(attrs: Mapping[str, Any], key: str) -> str | None:
    return text(attrs.get(key), key)


def _nanos(value: Any, name: str) -> datetime | None:
    """A `*UnixNano` time (a decimal string or a number) as a UTC datetime."""
    if value is None or value in ("", "0", 0):
        return None
    number = isinstance(value, int | float) and not isinstance(value, bool) and value == value
    if number or (isinstance(value, str) and value.strip().isdigit()):
        nanos = int(value)
    else:
        msg = f"{name} is not a time in nanoseconds: {str(value)[:40]!r}"
        raise ShapeError(msg)
    if not 0 < nanos < 10**19:
        msg = f"{name} is not a plausible time: {value!r}"
        raise ShapeError(msg)
    return timestamps.from_unix(nanos, name, unit="nanoseconds")


def _metadata(value: Mapping[str, Any], span: Mapping[str, Any], attrs: Mapping[str, Any]) -> str:
    resource = value.get("resource") or {}
    scope = value.get("scope") or {}
    extra = {
        "service": resource.get("service.name"),
        "otel_scope": scope.get("name") if isinstance(scope, Mapping) else None,
        "otel_trace_id": span.get("traceId"),
        "otel_span_id": span.get("spanId"),
        "conversation_id": attrs.get("gen_ai.conversation.id"),
    }
    return orjson.dumps({k: v for k, v in extra.items() if v is not None}).decode()
