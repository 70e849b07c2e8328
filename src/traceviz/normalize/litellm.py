"""LiteLLM proxy logs: `LiteLLM_SpendLogs` rows (JSON or CSV) and `StandardLoggingPayload`.

A spend-log row keeps only three token columns; the cached and reasoning counts are in
`metadata.usage_object` (LiteLLM's normalised usage, subset convention), which is read
first. `spend` (`response_cost` in a logging payload) is the proxy's own price, kept as
`cost_logged`, with its split (`cost_breakdown`) in `metadata`. Prompts and responses are
only there when the proxy stores them; long strings are cut to head and tail around a
"skipped N chars" marker, which marks the reasoning as truncated by the store.
Every JSON column may be JSON text (CSV exports, database dumps).

A call LiteLLM answered from its own response cache (`cache_hit` "True") reached no
provider: LiteLLM logs it with `spend` 0, the cached response's usage, and a `request_id`
of the original id plus `_cache_hit<time>` (its `spend_tracking_utils.get_logging_payload`
and `cost_calculator.response_cost_calculator`). It is marked `served_from_cache`, which
the price stage prices at $0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from traceviz.ingest import RawRecord
from traceviz.normalize import chat
from traceviz.normalize.fields import ShapeError, flag, money, text, timestamp, tokens
from traceviz.normalize.log_stores import (
    TRUNCATED,
    json_object,
    json_value,
    litellm_cut,
    missing_reason,
    prompt_of,
    row,
)
from traceviz.normalize.skip import SkipRecord
from traceviz.schema import Trace

NAME = "litellm"
SPEND_LOGS = "spendlogs"
LOGGING_PAYLOAD = "standard-logging"
_COMPLETION_CALLS = ("completion", "responses", "messages", "generate_content")
_KEPT = ("model_group", "user", "team_id", "end_user", "session_id", "cache_hit", "request_tags")


def detect(value: Any) -> bool:
    """A spend-log row (`request_id`, `spend`, `call_type`) or a logging payload."""
    if type(value) is not dict or "call_type" not in value:
        return False
    return ("request_id" in value and "spend" in value) or "response_cost" in value


def normalize(record: RawRecord) -> list[Trace]:
    value = row(record.value)
    kind = LOGGING_PAYLOAD if "response_cost" in value else SPEND_LOGS
    call_type = str(value.get("call_type") or "")
    if call_type and not any(c in call_type for c in _COMPLETION_CALLS):
        msg = f"{NAME}: not a completion call"
        raise SkipRecord(msg)
    if value.get("status") == "failure":
        msg = f"{NAME}: failed request"
        raise SkipRecord(msg)
    metadata = json_object(value.get("metadata"), "metadata")
    hidden = json_object(value.get("hidden_params"), "hidden_params")
    response = json_value(value.get("response"), "response")
    if response is not None and not isinstance(response, Mapping | str):
        msg = f"response is not an object ({type(response).__name__})"
        raise ShapeError(msg)
    usage = _usage(value, metadata, hidden, response)
    reasoning, summary, answer, finish, tagged = _message(response)
    model = _model(value, response)
    captured = answer is not None
    cut = litellm_cut(reasoning)
    answer_cut = litellm_cut(answer)
    reason = (
        TRUNCATED if cut else missing_reason(model, reasoning, usage["usage_reasoning"], captured)
    )
    cost_logged = money(value.get("spend", value.get("response_cost")), "spend")
    request_id = text(value.get("request_id", value.get("id")), "request_id")
    response_id = text(response.get("id"), "response.id") if isinstance(response, Mapping) else None
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=f"{NAME} ({kind})",
            provider=text(value.get("custom_llm_provider"), "custom_llm_provider"),
            model=model,
            created=timestamp(value.get("startTime"), "startTime"),
            prompt=_prompt(value),
            reasoning=reasoning,
            reasoning_summary=summary,
            answer=answer,
            finish_reason=finish,
            truncated=tagged or finish == "length",
            response_id=response_id or request_id,
            batch=record.batch,
            cost_logged=cost_logged,
            metadata=_metadata(value, metadata, cut, answer_cut),
            trace_id=request_id,
            reasoning_missing_reason=reason,
            served_from_cache=flag(value.get("cache_hit"), "cache_hit"),
            **usage,
        )
    ]


def _usage(
    value: Mapping[str, Any],
    metadata: Mapping[str, Any],
    hidden: Mapping[str, Any],
    response: Any,
) -> dict[str, Any]:
    """LiteLLM's full usage object, else the response's usage, else the three columns."""
    usage_object = json_object(
        metadata.get("usage_object") or hidden.get("usage_object"), "metadata.usage_object"
    )
    if not usage_object and isinstance(response, Mapping):
        usage_object = json_object(response.get("usage"), "response.usage")
    if usage_object:
        usage = chat.read_usage(usage_object)
    else:
        usage = {
            "usage_input": tokens(value.get("prompt_tokens"), "prompt_tokens"),
            "usage_cached_input": None,
            "usage_cache_write": None,
            "usage_output": tokens(value.get("completion_tokens"), "completion_tokens"),
            "usage_reasoning": None,
        }
    usage.pop("cost_logged", None)
    return usage


def _message(response: Any) -> tuple[str | None, str | None, str | None, str | None, bool]:
    """(reasoning, summary, answer, finish reason, tag-truncated) of a stored response."""
    if isinstance(response, str):
        return None, None, response or None, None, False
    if not isinstance(response, Mapping) or not response.get("choices"):
        return None, None, None, None, False
    choices = response["choices"]
    if not isinstance(choices, list) or not isinstance(choices[0], Mapping):
        msg = "response.choices is not a list of objects"
        raise ShapeError(msg)
    message = choices[0].get("message") or {}
    if not isinstance(message, Mapping):
        msg = "response.choices[0].message is not an object"
        raise ShapeError(msg)
    reasoning, summary, answer, tagged = chat.read_message(message)
    finish = text(choices[0].get("finish_reason"), "response.choices[0].finish_reason")
    return reasoning, summary, answer, finish, tagged


def _model(value: Mapping[str, Any], response: Any) -> str | None:
    """The provider's model: from the stored response, else the deployment name less
    LiteLLM's provider prefix (`deepseek/deepseek-reasoner`)."""
    if isinstance(response, Mapping) and isinstance(response.get("model"), str):
        return str(response["model"])
    model = text(value.get("model"), "model")
    provider = value.get("custom_llm_provider")
    if model and isinstance(provider, str) and model.startswith(f"{provider}/"):
        return model[len(provider) + 1 :]
    return model


def _prompt(value: Mapping[str, Any]) -> str | None:
    request = json_value(value.get("proxy_server_request"), "proxy_server_request")
    if isinstance(request, Mapping) and request.get("messages"):
        return prompt_of(request["messages"], "proxy_server_request.messages")
    messages = json_value(value.get("messages"), "messages")
    return prompt_of(messages, "messages") if messages else None


def _metadata(
    value: Mapping[str, Any],
    metadata: Mapping[str, Any],
    reasoning_cut: int | None,
    answer_cut: int | None,
) -> str | None:
    extra: dict[str, Any] = {k: value[k] for k in _KEPT if value.get(k) not in (None, "", [], {})}
    alias = metadata.get("user_api_key_alias")
    if alias:
        extra["api_key_alias"] = alias
    breakdown = value.get("cost_breakdown") or metadata.get("cost_breakdown")
    if breakdown:
        extra["litellm_cost_breakdown"] = json_value(breakdown, "cost_breakdown")
    if reasoning_cut:
        extra["litellm_reasoning_chars_cut"] = reasoning_cut
    if answer_cut:
        extra["litellm_answer_chars_cut"] = answer_cut
    return orjson.dumps(extra).decode() if extra else None
