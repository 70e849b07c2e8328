"""traceviz's own traces table, read back: a row of `traceviz ingest -o` is a trace again.

A table written as Parquet, JSON Lines or CSV carries the canonical columns (and the
stage columns, which are measured again, so the report of the table is the report of
the logs it came from). Each row keeps the trace's own id, source, line and format.
CSV cells come back as text and are typed from the canonical schema; an empty cell is a
null (CSV cannot tell it from an empty string, except where the row says: the reasoning
by `reasoning_visible`, the answer and prompt by their token counts), and the quote that
neutralised a formula-like cell (`'=…`) is taken off again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import polars as pl

from traceviz.ingest import RawRecord
from traceviz.normalize.fields import ShapeError, timestamp
from traceviz.schema import (
    ANSWER,
    CHOICE,
    CREATED,
    CREATED_WHOLE_DAY,
    FORMAT,
    LINE,
    PROMPT,
    REASONING,
    REASONING_VISIBLE,
    RESPONSE_ID,
    SOURCE,
    TOKENS_ANSWER,
    TOKENS_PROMPT,
    TOKENS_REASONING,
    TRACE_ID,
    TRACE_SCHEMA,
    Trace,
)
from traceviz.timestamps import Day

NAME = "traceviz-traces"
# a row of the table has these; no vendor's log has the last two
_MARKS = (TRACE_ID, SOURCE, LINE, FORMAT, REASONING_VISIBLE)
_FIELDS = {f.name for f in fields(Trace)}
_FORMULA = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def detect(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and all(mark in value for mark in _MARKS)
        and ("usage_input" in value or TOKENS_REASONING in value)
    )


def normalize(record: RawRecord) -> list[Trace]:
    row: Mapping[str, Any] = record.value
    text_only = isinstance(row.get(LINE), str)  # a CSV row: an empty cell was a null
    values = {name: _typed(name, row.get(name), text_only) for name in _FIELDS if name in row}
    visible = _typed(REASONING_VISIBLE, row.get(REASONING_VISIBLE), text_only)
    if visible and values.get(REASONING) is None:
        values[REASONING] = ""  # visible but empty: CSV cannot tell "" from null
    elif visible is False:
        values[REASONING] = None
    for text, counted in ((ANSWER, TOKENS_ANSWER), (PROMPT, TOKENS_PROMPT)):
        if text_only and values.get(text) is None and row.get(counted) not in (None, ""):
            values[text] = ""  # it was counted, so it was there: empty, not missing
    created = values.get(CREATED)
    if created is not None and _typed(CREATED_WHOLE_DAY, row.get(CREATED_WHOLE_DAY), text_only):
        values[CREATED] = Day.of(created.date())  # logged as a date alone
    if CHOICE not in row:
        values[CHOICE] = _choice(values.get(RESPONSE_ID), values.get(TRACE_ID))
    for required in (SOURCE, LINE, FORMAT):
        if values.get(required) is None:
            msg = f"a traces-table row without {required}"
            raise ShapeError(msg)
    return [Trace(**values)]


def _choice(response_id: str | None, trace_id: str | None) -> int | None:
    """A table written before the `choice` column: the choice as its trace id tells it
    (a response's first choice has the response id, the others `id#index`), so that the
    choices of one response are not taken for copies of it; None where the id cannot say.

    >>> _choice("r", "r"), _choice("r", "r#2"), _choice("r", "x"), _choice(None, "r#2")
    (0, 2, None, None)
    """
    if not response_id or trace_id is None:
        return None
    if trace_id == response_id:
        return 0
    suffix = trace_id.removeprefix(f"{response_id}#")
    return int(suffix) if suffix != trace_id and suffix.isascii() and suffix.isdigit() else None


def _typed(name: str, value: Any, text_only: bool) -> Any:
    """A cell as the canonical column's type (CSV and JSON give text for some)."""
    if value is None or (text_only and value == ""):
        return None
    dtype = TRACE_SCHEMA[name]
    if not isinstance(value, str):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
    if dtype == pl.String:
        return value[1:] if value.startswith(_FORMULA) else value
    if dtype == pl.Int64:
        return _parse(name, value, int)
    if dtype == pl.Float64:
        return _parse(name, value, float)
    if dtype == pl.Boolean:
        if value.lower() not in {"true", "false"}:
            msg = f"{name} is {value!r}, not true or false"
            raise ShapeError(msg)
        return value.lower() == "true"
    if isinstance(dtype, pl.Datetime):
        return timestamp(value, name)
    return value


def _parse(name: str, value: str, kind: Any) -> Any:
    try:
        return kind(value)
    except ValueError as exc:
        msg = f"{name} is {value!r}, not a {kind.__name__}"
        raise ShapeError(msg) from exc
