"""Logger wrappers that hold a request and its response.

Records such as `{request: {...}, response: {...}}`, `{input: ..., output: ...}` or
`{body: ...}` (with extras like `timestamp`, `metadata`, `user`, `tags`) are unwrapped:
the response is read by its own shape, and the model, prompt and timestamp come from
the request or the wrapper where the response lacks them. User, tag and metadata
fields are kept as the `metadata` JSON string, so reports can group by them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import orjson

from traceviz.ingest import RawRecord
from traceviz.normalize.fields import dig, prompt_text, text, timestamp
from traceviz.schema import Trace

NAME = "wrapper"
_PAIRS = (("request", "response"), ("input", "output"), (None, "body"))
_EXTRAS = ("metadata", "user", "user_id", "tags", "tag", "session_id", "project", "env")
_TIMES = ("timestamp", "created_at", "time", "start_time", "startTime", "datetime_utc")


def unwrap(value: Any) -> tuple[Any, Mapping[str, Any], Mapping[str, Any]] | None:
    """(response, request, wrapper) when `value` wraps a response, else None."""
    if not isinstance(value, Mapping):
        return None
    for request_key, response_key in _PAIRS:
        response = value.get(response_key)
        if isinstance(response, Mapping | list) and (request_key is None or request_key in value):
            request = value.get(request_key) if request_key else {}
            return response, request if isinstance(request, Mapping) else {}, value
    return None


def normalize_wrapped(
    record: RawRecord, read: Callable[[RawRecord], tuple[str, list[Trace]]]
) -> tuple[str, list[Trace]]:
    """Read the wrapped response with `read` and fill gaps from the request and wrapper."""
    unwrapped = unwrap(record.value)
    assert unwrapped is not None
    response, request, wrapper = unwrapped
    name, traces = read(RawRecord(record.source, record.line, response, record.batch))
    model = text(request.get("model") if isinstance(request.get("model"), str) else None, "model")
    prompt = prompt_text(request.get("messages", request.get("input", request.get("prompt"))))
    if prompt is None and isinstance(wrapper.get("input"), str | list):
        prompt = prompt_text(wrapper.get("input"))
    created = None
    for key in _TIMES:
        if wrapper.get(key) is not None:
            created = timestamp(wrapper[key], key)
            break
    extras = {k: wrapper[k] for k in _EXTRAS if wrapper.get(k) is not None}
    custom_id = text(dig(wrapper, "custom_id"), "custom_id")
    filled = []
    for trace in traces:
        metadata = dict(orjson.loads(trace.metadata)) if trace.metadata else {}
        metadata.update(_flatten(extras))
        filled.append(
            replace(
                trace,
                model=trace.model or model,
                prompt=trace.prompt or prompt,
                created=trace.created or created,
                custom_id=trace.custom_id or custom_id,
                metadata=orjson.dumps(metadata).decode() if metadata else None,
            )
        )
    return name, filled


def _flatten(extras: Mapping[str, Any]) -> dict[str, Any]:
    """`metadata: {team: x}` becomes `team: x`, so `--by team` finds it."""
    flat: dict[str, Any] = {}
    for key, value in extras.items():
        if key == "metadata" and isinstance(value, Mapping):
            flat.update({str(k): v for k, v in value.items()})
        else:
            flat[key] = value
    return flat
