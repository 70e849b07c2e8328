"""OpenAI Batch API output lines: `{id, custom_id, response: {status_code, body}, error}`.

The body is a Chat Completions or Responses object, read by those shapes and marked
`batch` (priced at batch rates) with the line's `custom_id`. A failed request
(`response: null` with an `error`, or an HTTP error status) holds no response: it is
skipped and counted, with the error as the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from traceviz.ingest import RawRecord
from traceviz.normalize import chat, responses
from traceviz.normalize.fields import ShapeError, dig, text
from traceviz.normalize.skip import SkipRecord
from traceviz.schema import Trace

NAME = "openai-batch"


def detect(value: Any) -> bool:
    """A Batch API output line: its `response` is null or an HTTP envelope
    (`status_code`, `body`). A logger's `{custom_id, request, response: {chat
    completion}}` is a wrapper, not a batch line (`wrappers.py` reads it)."""
    if not isinstance(value, Mapping) or "custom_id" not in value:
        return False
    response = value.get("response")
    if response is None:
        return "error" in value or "response" in value
    return isinstance(response, Mapping) and ("status_code" in response or "body" in response)


def normalize(record: RawRecord) -> list[Trace]:
    value: Mapping[str, Any] = record.value
    custom_id = text(value.get("custom_id"), "custom_id")
    response = value.get("response")
    status = dig(response, "status_code")
    if response is None or (isinstance(status, int) and status >= 400):
        code = dig(value, "error", "code") or dig(response, "body", "error", "code") or status
        reason = f"batch request failed: {code}"
        raise SkipRecord(reason)
    if not isinstance(response, Mapping) or not isinstance(response.get("body"), Mapping):
        msg = "response.body is not an object"
        raise ShapeError(msg)
    body = RawRecord(record.source, record.line, response["body"], batch=True)
    if responses.detect(body.value):
        traces = responses.normalize(body)
    elif chat.detect(body.value):
        traces = chat.normalize(body)
    else:
        msg = "response.body is neither a chat completion nor a response"
        raise ShapeError(msg)
    return [replace(t, format=NAME, custom_id=custom_id, batch=True) for t in traces]
