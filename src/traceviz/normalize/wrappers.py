"""Logger wrappers: a request and its response in one record.

Loggers and proxies keep `{request, response}`, `{input, output}` or `{body}` records,
with extras such as `timestamp`, `metadata`, `user` and `tags`. The inner response is
read by its own shape (its `format` is kept); the model, prompt and time come from the
request or the wrapper when the response lacks them, and the extras are kept in the
`metadata` JSON string so reports can group by them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import orjson

from traceviz.ingest import RawRecord
from traceviz.normalize import anthropic, chat, ollama, responses, think_tags
from traceviz.normalize.fields import ShapeError, first_present, prompt_text, timestamp
from traceviz.schema import Trace

NAME = "wrapper"
EXTRA_KEYS = ("metadata", "user", "user_id", "tags", "session_id", "request_id", "status")
_PAIRS = (("request", "response"), ("input", "output"))
_INNER: tuple[tuple[Callable[[Any], bool], Callable[[RawRecord], list[Trace]]], ...] = (
    (responses.detect, responses.normalize),
    (anthropic.detect, anthropic.normalize),
    (chat.detect, chat.normalize),
    (ollama.detect, ollama.normalize),
    (think_tags.detect, think_tags.normalize),
)


def detect(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    if isinstance(value.get("body"), Mapping) and len(value) <= 8:
        return True
    return any(
        ask in value and isinstance(value.get(answer), Mapping | str) for ask, answer in _PAIRS
    )


def normalize(record: RawRecord) -> list[Trace]:
    value: Mapping[str, Any] = record.value
    request: Any = None
    response: Any = None
    for ask, answer in _PAIRS:
        if answer in value and ask in value:
            request, response = value[ask], value[answer]
            break
    else:
        response = value["body"]
    if isinstance(response, Mapping) and isinstance(response.get("body"), Mapping):
        response = response["body"]
    inner = RawRecord(record.source, record.line, response, record.batch)
    for detect_inner, normalize_inner in _INNER:
        if detect_inner(response):
            traces = normalize_inner(inner)
            break
    else:
        msg = "the wrapped response is of no known shape"
        raise ShapeError(msg)
    asked = request if isinstance(request, Mapping) else {}
    model = first_present(asked, "model") or value.get("model")
    prompt = prompt_text(first_present(asked, "messages", "input", "prompt"))
    if prompt is None and isinstance(request, str):
        prompt = request
    created = timestamp(
        first_present(value, "timestamp", "created_at", "time", "start_time"), "timestamp"
    )
    extras = {key: value[key] for key in EXTRA_KEYS if value.get(key) is not None}
    return [
        replace(
            trace,
            model=trace.model or (model if isinstance(model, str) else None),
            prompt=trace.prompt or prompt,
            created=trace.created or created,
            metadata=_merge(trace.metadata, extras),
        )
        for trace in traces
    ]


def _merge(inner: str | None, extras: dict[str, Any]) -> str | None:
    if not extras:
        return inner
    merged = orjson.loads(inner) if inner else {}
    merged.update(extras)
    return orjson.dumps(merged, default=str).decode()
