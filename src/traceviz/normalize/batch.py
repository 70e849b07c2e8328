"""OpenAI Batch API output lines: `{id, custom_id, response{status_code, body}, error}`.

The body is a Chat Completion or a Response, read by those shapes with `batch` set
(batch calls are billed at the batch rate) and the line's `custom_id` kept. A failed
request (`response: null` with an `error`, or a status code of 400 or more) holds no
response: it is skipped, with its reason counted in the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from traceviz.ingest import RawRecord
from traceviz.normalize import chat, responses
from traceviz.normalize.fields import ShapeError, SkipRecord, dig, text
from traceviz.schema import Trace

NAME = "openai-batch"


def detect(value: Any) -> bool:
    return (
        type(value) is dict and "custom_id" in value and ("response" in value or "error" in value)
    )


def normalize(record: RawRecord) -> list[Trace]:
    value: Mapping[str, Any] = record.value
    custom_id = text(value.get("custom_id"), "custom_id")
    response = value.get("response")
    status = dig(response, "status_code")
    if response is None or (isinstance(status, int) and status >= 400):
        code = dig(value, "error", "code") or dig(response, "body", "error", "code") or status
        msg = f"batch request failed: {code if code is not None else 'no response'}"
        raise SkipRecord(msg)
    if not isinstance(response, Mapping):
        msg = "response is not an object"
        raise ShapeError(msg)
    body = response.get("body")
    inner = RawRecord(record.source, record.line, body, batch=True)
    if responses.detect(body):
        traces = responses.normalize(inner)
    elif chat.detect(body):
        traces = chat.normalize(inner)
    else:
        msg = "response.body is neither a chat completion nor a response"
        raise ShapeError(msg)
    return [replace(t, custom_id=custom_id) for t in traces]
