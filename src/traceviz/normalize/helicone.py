"""Helicone request exports (`@helicone/export`): JSONL rows with bodies, CSV without.

Helicone's columns have no reasoning count and no reasoning text: those live only in
the stored provider response (`response_body`, fetched by `--include-body`), which is
read by its own shape (Chat Completions, Responses, Anthropic Messages) when present;
usage then comes from the body. Without a body (CSV exports) the token columns are
all there is, and reasoning is unknown: the era `columns` says so. `costUSD`
(`cost_usd`, or `cost` in older exporters) is kept as `cost_logged`. Failed requests
(status not 2xx) hold no response and are skipped.

A request Helicone answered from its own cache (`Helicone-Cache-Enabled`) reached no
provider; its row's `cache_reference_id` names the request whose response it served
(Helicone's default UUID, all zeros, on every other row: its worker's DBLoggable and
jawn's LoggingHandler), while its `cost` may still be the original's. It is marked
`served_from_cache`, which the price stage prices at $0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from traceviz.ingest import RawRecord
from traceviz.normalize import anthropic, chat, responses
from traceviz.normalize.fields import ShapeError, money, text, timestamp, tokens
from traceviz.normalize.log_stores import json_object, json_value, missing_reason, prompt_of, row
from traceviz.normalize.skip import SkipRecord
from traceviz.schema import Trace

NAME = "helicone"
_BODY_SHAPES = (responses, anthropic, chat)
# NOTE: Helicone's ClickHouse keeps cost as an integer in billionths of a dollar; an
# exporter that passes it on undivided gives whole numbers, and one request costing a
# whole $1,000 or more is not plausible, so such a cost is read as billionths
_NANO_DOLLARS = 10**9
_NANO_FLOOR = 1000
_KEPT = ("request_user_id", "request_properties", "provider", "request_path")


def detect(value: Any) -> bool:
    return (
        type(value) is dict
        and "request_created_at" in value
        and ("request_id" in value or "response_id" in value)
    )


def normalize(record: RawRecord) -> list[Trace]:
    value = row(record.value)
    status = value.get("response_status")
    if (
        status is not None
        and str(status).strip() not in ("", "0")
        and not str(status).startswith("2")
    ):
        msg = f"{NAME}: failed request"
        raise SkipRecord(msg)
    request = json_object(value.get("request_body"), "request_body")
    body = json_value(value.get("response_body"), "response_body")
    if body is not None and not isinstance(body, Mapping):
        msg = f"response_body is not an object ({type(body).__name__})"
        raise ShapeError(msg)
    trace = _from_body(record, body) if body else None
    model = text(
        value.get("response_model") or value.get("model") or value.get("request_model"), "model"
    )
    common: dict[str, Any] = {
        "source": record.source,
        "line": record.line,
        "created": timestamp(value.get("request_created_at"), "request_created_at"),
        "prompt": prompt_of(request.get("messages", request.get("input")), "request_body"),
        "cost_logged": _cost(value),
        "metadata": _metadata(value),
        "trace_id": text(value.get("request_id") or value.get("response_id"), "request_id"),
        "batch": record.batch,
        "served_from_cache": _served_from_cache(value),
    }
    if trace is not None:
        trace = replace(
            trace,
            format=f"{NAME} (body)",
            model=trace.model or model,
            response_id=trace.response_id or text(value.get("response_id"), "response_id"),
            provider=trace.provider or _provider(value),
            **common,
        )
        reason = missing_reason(trace.model, trace.reasoning, trace.usage_reasoning, True)
        return [replace(trace, reasoning_missing_reason=reason)]
    prompt_tokens = tokens(value.get("prompt_tokens"), "prompt_tokens")
    return [
        Trace(
            format=f"{NAME} (columns)",
            provider=_provider(value),
            model=model,
            response_id=text(value.get("response_id"), "response_id"),
            usage_input=prompt_tokens,
            usage_cached_input=tokens(
                value.get("prompt_cache_read_tokens"), "prompt_cache_read_tokens"
            ),
            usage_cache_write=tokens(
                value.get("prompt_cache_write_tokens"), "prompt_cache_write_tokens"
            ),
            usage_output=tokens(value.get("completion_tokens"), "completion_tokens"),
            **common,
        )
    ]


def _from_body(record: RawRecord, body: Mapping[str, Any]) -> Trace | None:
    """The stored provider response read by its own shape, or None if of none known."""
    inner = RawRecord(record.source, record.line, body, record.batch)
    for shape in _BODY_SHAPES:
        if shape.detect(body):
            traces = shape.normalize(inner)
            return traces[0] if traces else None
    return None


_NO_CACHE_REFERENCE = "00000000-0000-0000-0000-000000000000"  # Helicone's DEFAULT_UUID


def _served_from_cache(value: Mapping[str, Any]) -> bool:
    """Whether the row's `cache_reference_id` names a request whose cached response it is."""
    reference = text(value.get("cache_reference_id"), "cache_reference_id")
    return reference is not None and reference.strip() not in ("", "None", _NO_CACHE_REFERENCE)


def _provider(value: Mapping[str, Any]) -> str | None:
    provider = text(value.get("provider"), "provider")
    return provider.lower() if provider else None


def _cost(value: Mapping[str, Any]) -> float | None:
    for key in ("costUSD", "cost_usd"):
        if value.get(key) is not None:
            return money(value[key], key)
    cost = money(value.get("cost"), "cost")
    if cost is not None and cost.is_integer() and cost >= _NANO_FLOOR:
        return cost / _NANO_DOLLARS
    return cost


def _metadata(value: Mapping[str, Any]) -> str | None:
    extra = {k: value[k] for k in _KEPT if value.get(k) not in (None, "", {}, [])}
    properties = json_object(value.get("properties"), "properties")
    extra.update({str(k): v for k, v in properties.items()})
    return orjson.dumps(extra).decode() if extra else None
