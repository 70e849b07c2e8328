"""Strict readers for fields of logged JSON, shared by every shape.

Logs are untrusted: a field of the wrong type raises `ShapeError` with the field's
path, and the record is quarantined with that reason. Token counts must be whole,
non-negative numbers; "not reported" stays `None`, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from traceviz import timestamps

MAX_TOKENS = 10**12  # above any real response; larger values are corrupt data


class ShapeError(ValueError):
    """A record has the right shape but a field has an impossible value."""


def dig(value: Any, *path: str | int) -> Any:
    """`value[path[0]][path[1]]…`, or None where any step is missing or of another type."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return None
            value = value[key]
        else:
            # NOTE: parsed JSON is always a dict; `Mapping` checks cost a lot per record
            if not isinstance(value, dict):
                return None
            value = value.get(key)
    return value


def tokens(value: Any, name: str) -> int | None:
    """A token count: a whole number from 0 to 10**12, or None when absent.

    Integral floats (`12.0`) and digit strings (`"12"`) are accepted, since proxies
    rewrite numbers; booleans, fractions, negatives and absurd values are not.
    """
    if value is None:
        return None
    if type(value) is int and 0 <= value <= MAX_TOKENS:  # the common case, checked fast
        return value
    if isinstance(value, bool):
        msg = f"{name} is a boolean, not a token count"
        raise ShapeError(msg)
    if isinstance(value, str):
        text = value.strip()
        # NOTE: str.isdigit() also holds for "²" and "٣", which int() refuses or reads
        if not (text.isascii() and text.isdigit()):
            msg = f"{name} is not a token count: {value[:40]!r}"
            raise ShapeError(msg)
        if len(text) > len(str(MAX_TOKENS)):  # int() of 4,301 digits raises
            msg = f"{name} is out of range: {len(text):,} digits"
            raise ShapeError(msg)
        value = int(text)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and 0 <= value <= MAX_TOKENS:
            value = int(value)
        elif math.isfinite(value) and value.is_integer():
            msg = f"{name} is out of range: {value!r}"
            raise ShapeError(msg)
        else:
            msg = f"{name} is not a whole number: {value!r}"
            raise ShapeError(msg)
    if not isinstance(value, int):
        msg = f"{name} is not a number ({type(value).__name__})"
        raise ShapeError(msg)
    if value < 0 or value > MAX_TOKENS:
        shown = str(value) if len(str(value)) <= 20 else f"{value:.3e}"
        msg = f"{name} is out of range: {shown}"
        raise ShapeError(msg)
    return value


def text(value: Any, name: str) -> str | None:
    """A text field: a string or None; anything else is a shape error."""
    if value is None or isinstance(value, str):
        return value
    msg = f"{name} is not a string ({type(value).__name__})"
    raise ShapeError(msg)


def flag(value: Any, name: str) -> bool:
    """A logged yes/no: a boolean, or its text as Python writes it (`"True"`, `"False"`,
    `"None"` for unset, any case); not logged is no. Anything else is a shape error."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "none", ""}:
        return value.strip().lower() == "true"
    msg = f"{name} is {str(value)[:40]!r}, not true or false"
    raise ShapeError(msg)


def money(value: Any, name: str) -> float | None:
    """A logged cost in dollars (a finite, non-negative number), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        msg = f"{name} is not a number ({type(value).__name__})"
        raise ShapeError(msg)
    try:
        amount = float(value)
    except ValueError as exc:
        msg = f"{name} is not a number: {str(value)[:40]!r}"
        raise ShapeError(msg) from exc
    if not math.isfinite(amount) or amount < 0:
        msg = f"{name} is out of range: {value!r}"
        raise ShapeError(msg)
    return amount


def timestamp(value: Any, name: str) -> datetime | None:
    """A UTC timestamp from Unix time or ISO 8601 (see `traceviz.timestamps`), else a
    `ShapeError` whose reason names the field.

    A Unix time of 0 is "not logged", as None is: it is the placeholder loggers write for
    a time they never set (proto3's default, `new Date(0)`), and read as 1970 it would be
    priced before any catalog entry ("no price") with nothing said why.
    """
    if value in (0, "0") and not isinstance(value, bool):
        return None
    try:
        return timestamps.parse(value, name)
    except timestamps.TimestampError as exc:
        raise ShapeError(str(exc)) from None


def content_text(value: Any, name: str) -> str | None:
    """Message content as text: a string, or the text parts of a list of parts."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping):
                piece = part.get("text")
                if piece is None and part.get("type") in ("text", "input_text", "output_text"):
                    piece = part.get("content")
                if isinstance(piece, str):
                    parts.append(piece)
        return "".join(parts)
    msg = f"{name} is not text ({type(value).__name__})"
    raise ShapeError(msg)


def prompt_text(messages: Any) -> str | None:
    """The prompt of a request: its messages' contents, one per paragraph, roles omitted.

    Accepts a message list (`messages`, Responses `input`), or a plain prompt string.
    """
    if isinstance(messages, str):
        return messages
    if not isinstance(messages, list):
        return None
    pieces = []
    for message in messages:
        if isinstance(message, Mapping):
            if message.get("role") == "assistant" and message is messages[-1]:
                continue
            body = message.get("content", message.get("value"))
            piece = content_text(body, "messages[].content") if body is not None else None
            if piece:
                pieces.append(piece)
        elif isinstance(message, str):
            pieces.append(message)
    return "\n\n".join(pieces) if pieces else None
