"""One interface for every report format; `FORMATS` maps names to renderers."""

from __future__ import annotations

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


def group_label(row: dict[str, Any], keys: list[str]) -> str:
    """A group's name: the values of its key columns `keys` (a report's `keys`), `(none)`
    for a missing one, `""` for an empty one (which would otherwise print as nothing, or
    as the overall row's "all")."""
    if not keys:
        return "all"
    return " / ".join(_key_label(row.get(k)) for k in keys)


def _key_label(value: Any) -> str:
    if value is None:
        return "(none)"
    return str(value) or '""'
