"""Langfuse observations: public API v1 and v2 (pages or single rows) and UI exports.

A page envelope `{"data": [...], "meta": {...}}` is split into its rows. Only
`GENERATION` observations are model calls; spans, events, tools and the like are
skipped and counted. The era in the format: `v2` (`providedModelName`, cursor pages,
`input`/`output` as JSON text), `v1` (`model`, page numbers, parsed input/output) or
`export` (the UI's batch export: `inputUsage`/`outputUsage`, nested values as JSON text
in CSV).

Langfuse's `usageDetails` is disjoint: `input` excludes `input_cached_tokens` and
`output` excludes `output_reasoning_tokens`. It is put back in the subset convention
by summing every `input*` and every `output*` key. `totalCost` (or `costDetails.total`)
is kept as `cost_logged`; a zero cost with no cost details means "no price known" to
Langfuse (it prices no DeepSeek model), not free, and is left null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from traceviz.ingest import RawRecord
from traceviz.normalize import chat
from traceviz.normalize.fields import ShapeError, money, text, timestamp, tokens
from traceviz.normalize.log_stores import (
    cell,
    json_object,
    json_value,
    missing_reason,
    part_texts,
    prompt_of,
    row,
)
from traceviz.normalize.skip import SkipRecord
from traceviz.schema import Trace

NAME = "langfuse"
_ROW_KEYS = ("traceId", "type", "startTime")


def detect(value: Any) -> bool:
    """An observation row, or a page of them."""
    if type(value) is not dict:
        return False
    if all(k in value for k in _ROW_KEYS):
        return True
    data = value.get("data")
    return (
        isinstance(value.get("meta"), dict)
        and isinstance(data, list)
        and all(isinstance(d, dict) and all(k in d for k in _ROW_KEYS) for d in data[:1])
    )


def split(record: RawRecord) -> list[RawRecord]:
    """A page's rows (tagged with the page's API version), or the row itself."""
    value = record.value
    if "data" not in value or "traceId" in value:
        return [record]
    meta = value["meta"]
    version = "v2" if "cursor" in meta or not ("page" in meta or "totalPages" in meta) else "v1"
    if "_deprecation" in value:
        version = "v1"
    return [
        RawRecord(record.source, record.line, {**item, "_page_version": version}, record.batch)
        for item in value["data"]
    ]


def era(value: Mapping[str, Any]) -> str:
    if "_page_version" in value:
        return str(value["_page_version"])
    if "providedModelName" in value:
        return "v2"
    if any(k in value for k in ("inputUsage", "outputUsage", "traceName", "traceTags")):
        return "export"
    return "v1"


def normalize(record: RawRecord) -> list[Trace]:
    value = row(record.value)
    kind = value.get("type")
    if kind != "GENERATION":
        msg = f"{NAME}: observation of another type"
        raise SkipRecord(msg)
    model = text(value.get("providedModelName", value.get("model")), "model")
    usage = read_usage(value)
    reasoning, summary, answer, finish, tagged = _output(value.get("output"))
    input_value = json_value(cell(value.get("input")), "input")
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=f"{NAME} ({era(value)})",
            model=model,
            created=timestamp(value.get("startTime"), "startTime"),
            prompt=prompt_of(input_value, "input"),
            reasoning=reasoning,
            reasoning_summary=summary,
            answer=answer,
            finish_reason=finish,
            truncated=tagged or finish == "length",
            cost_logged=_cost(value),
            metadata=_metadata(value),
            trace_id=text(value.get("id"), "id"),
            batch=record.batch,
            reasoning_missing_reason=missing_reason(
                model, reasoning, usage["usage_reasoning"], answer is not None
            ),
            **usage,
        )
    ]


def read_usage(value: Mapping[str, Any]) -> dict[str, Any]:
    """Langfuse's disjoint usage buckets summed back into the subset convention."""
    details = json_object(value.get("usageDetails"), "usageDetails")
    if not details:
        legacy = json_object(value.get("usage"), "usage")
        details = {k: legacy[k] for k in ("input", "output") if legacy.get(k) is not None}
    counts = {str(k): tokens(v, f"usageDetails.{k}") for k, v in details.items()}
    inputs = {k: n for k, n in counts.items() if _is_input(k) and n is not None}
    outputs = {k: n for k, n in counts.items() if k.startswith("output") and n is not None}
    reasoning = _first(counts, "output_reasoning_tokens", "output_reasoning")
    if reasoning is None:
        # OpenLLMetry's `reasoning_tokens` arrives as an extra key, never subtracted
        reasoning = counts.get("reasoning_tokens")
    usage_input = sum(inputs.values()) if inputs else None
    usage_output = sum(outputs.values()) if outputs else None
    if usage_input is None:
        usage_input = tokens(cell(value.get("inputUsage")), "inputUsage")
    if usage_output is None:
        usage_output = tokens(cell(value.get("outputUsage")), "outputUsage")
    return {
        "usage_input": usage_input,
        "usage_cached_input": _sum_of(inputs, "cached", "cache_read"),
        "usage_cache_write": _sum_of(inputs, "cache_creation", "cache_write"),
        "usage_output": usage_output,
        "usage_reasoning": reasoning,
    }


def _is_input(key: str) -> bool:
    return key.startswith("input") or (
        not key.startswith("output") and ("cache_read" in key or "cache_creation" in key)
    )


def _first(counts: Mapping[str, int | None], *keys: str) -> int | None:
    for key in keys:
        if counts.get(key) is not None:
            return counts[key]
    return None


def _sum_of(counts: Mapping[str, int], *marks: str) -> int | None:
    found = [n for k, n in counts.items() if any(m in k for m in marks)]
    return sum(found) if found else None


def _output(output: Any) -> tuple[str | None, str | None, str | None, str | None, bool]:
    """(reasoning, summary, answer, finish reason, tag-truncated) of a logged output.

    The OpenAI wrapper logs the assistant message (`reasoning_content` dropped); OTel
    ingestion logs `gen_ai.output.messages` (parts, reasoning parts kept).
    """
    output = json_value(cell(output), "output")
    if output is None:
        return None, None, None, None, False
    if isinstance(output, list):
        if not output:
            return None, None, "", None, False
        output = output[0]
    if isinstance(output, str):
        output = {"content": output}
    if not isinstance(output, Mapping):
        msg = f"output is not a message ({type(output).__name__})"
        raise ShapeError(msg)
    if isinstance(output.get("choices"), list) and output["choices"]:
        choice = output["choices"][0]
        message = choice.get("message") if isinstance(choice, Mapping) else None
        reasoning, summary, answer, tagged = chat.read_message(message or {})
        return (
            reasoning,
            summary,
            answer,
            text(choice.get("finish_reason"), "finish_reason"),
            tagged,
        )
    finish = text(output.get("finish_reason"), "output.finish_reason")
    if "parts" in output:
        thoughts = part_texts(output["parts"], ("reasoning", "thinking"), "output.parts")
        answer = "".join(part_texts(output["parts"], ("text",), "output.parts"))
        return "\n\n".join(thoughts) if thoughts else None, None, answer, finish, False
    reasoning, summary, answer, tagged = chat.read_message(output)
    return reasoning, summary, answer, finish, tagged


def _cost(value: Mapping[str, Any]) -> float | None:
    details = json_object(value.get("costDetails"), "costDetails")
    total = money(details.get("total"), "costDetails.total") if details else None
    if total is None:
        total = money(value.get("totalCost", value.get("calculatedTotalCost")), "totalCost")
    if total == 0 and not details:
        return None
    return total


def _metadata(value: Mapping[str, Any]) -> str:
    extra = {
        "langfuse_trace_id": value.get("traceId"),
        "name": value.get("name"),
        "trace_name": value.get("traceName"),
        "user_id": value.get("userId"),
        "session_id": value.get("sessionId"),
        "environment": value.get("environment"),
        "level": value.get("level") if value.get("level") not in (None, "DEFAULT") else None,
    }
    return orjson.dumps({k: v for k, v in extra.items() if v is not None}).decode()
