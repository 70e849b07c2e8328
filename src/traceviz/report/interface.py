"""One interface for every report format; `FORMATS` maps names to renderers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from traceviz.report.aggregate import Report

Renderer = Callable[[Report], str | bytes]


def plain(value: Any) -> Any:
    """A value for JSON: Decimals as strings (exact), dates as ISO text."""
    if isinstance(value, Decimal):
        # NOTE: "f", never str(): str(Decimal("2.0000E-8")) is exponent notation
        return format(value.normalize() if value == value.to_integral() else value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def money(value: Decimal | float | None, digits: int = 2) -> str:
    """`$1,234.57`, with more digits for amounts under a cent."""
    if value is None:
        return "–"
    amount = float(value)
    if amount != amount:  # NaN: nothing to divide by
        return "–"
    if 0 < abs(amount) < 0.0001:
        return f"${amount:,.6f}"
    if 0 < abs(amount) < 1:
        return f"${amount:,.4f}"
    return f"${amount:,.{digits}f}"


def number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.{digits}f}"
    return f"{int(value):,}"


def share(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:.1%}"  # NaN: nothing to divide


# the names the text reports give their own rows: the totals, and traces without the key
RESERVED_LABELS = frozenset({"all", "(none)"})


def group_label(row: dict[str, Any], keys: list[str]) -> str:
    """A group's name: the values of its key columns `keys` (a report's `keys`), each as
    `key_label` shows it; `all` for the whole run."""
    if not keys:
        return "all"
    return " / ".join(key_label(row.get(k)) for k in keys)


def key_label(value: Any) -> str:
    """One key's value as a group's name: `(none)` for a missing one; quoted as a JSON
    string where it is empty (it would print as nothing), equal to a reserved label (a
    logged team "all" would read as the totals row) or opens with a quote (so a logged
    `"all"` cannot pass for the quoted one). Text reports only: JSON and CSV keep values.

    >>> [key_label(v) for v in (None, "", "all", "(none)", '"all"', "search")]
    ['(none)', '""', '"all"', '"(none)"', '"\\"all\\""', 'search']
    """
    if value is None:
        return "(none)"
    text = str(value)
    if not text or text in RESERVED_LABELS or text.startswith('"'):
        return json.dumps(text, ensure_ascii=False)
    return text
