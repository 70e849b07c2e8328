"""Spend and behaviour rules over a report run, for CI jobs and scheduled checks."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from traceviz.errors import ConfigError
from traceviz.report.aggregate import group_columns

RULES = (
    "max_reasoning_tokens",
    "max_cost_per_response",
    "budget",
    "max_looping_share",
    "max_quarantined_share",
)
WORST = 3


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule that failed: in which group, by how much, and the traces to open first."""

    rule: str
    group: str
    value: str
    limit: str
    worst: list[str]


def load_rules(path: str | Path) -> dict[str, float]:
    try:
        document = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: cannot read the rules: {exc}"
        raise ConfigError(msg, hint="Write rules as TOML, e.g. `budget = 25.0`.") from exc
    rules = document.get("rules", document)
    if not isinstance(rules, dict):
        msg = f"{path}: rules is not a table"
        raise ConfigError(msg, hint="Write rules as TOML, e.g. `budget = 25.0`.")
    unknown = set(rules) - set(RULES)
    if unknown:
        msg = f"{path}: unknown rules {sorted(unknown)}"
        raise ConfigError(msg, hint=f"Known rules: {', '.join(RULES)}.")
    for key, value in rules.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            msg = f"{path}: rule {key!r} is not a number: {value!r}"
            raise ConfigError(msg, hint=f"Write it as a number, e.g. `{key} = 25.0`.")
    return {k: float(v) for k, v in rules.items()}


def evaluate(
    traces: pl.DataFrame, rules: dict[str, float], by: list[str], quarantined: int, read: int
) -> list[Violation]:
    """Every rule against every group (or the whole run); the violations found."""
    keyed = group_columns(traces, by)
    groups = keyed.partition_by(by, as_dict=True) if by and keyed.height else {("all",): keyed}
    found = []
    for key, frame in groups.items():
        name = " / ".join("(none)" if k is None else str(k) for k in key)
        found += _check(frame, rules, name)
    limit = rules.get("max_quarantined_share")
    if limit is not None and read and quarantined / read > limit:
        found.append(
            Violation("max_quarantined_share", "all", f"{quarantined / read:.3f}", f"{limit:g}", [])
        )
    return found


def _usd(amount: Any) -> str:
    """An exact amount of dollars without trailing zeros: `0.24144`, not `0.241440000000`."""
    return format(Decimal(str(amount)).normalize(), "f")


def _worst(frame: pl.DataFrame, column: str) -> list[str]:
    return frame.drop_nulls(column).sort(column, descending=True).head(WORST)["trace_id"].to_list()


def _check(frame: pl.DataFrame, rules: dict[str, float], group: str) -> list[Violation]:
    found = []
    limit = rules.get("max_reasoning_tokens")
    if limit is not None and "reasoning_tokens" in frame.columns:
        top: Any = frame["reasoning_tokens"].max()
        if top is not None and top > limit:
            found.append(
                Violation(
                    "max_reasoning_tokens",
                    group,
                    f"{top:,}",
                    f"{limit:,.0f}",
                    _worst(frame, "reasoning_tokens"),
                )
            )
    limit = rules.get("max_cost_per_response")
    if limit is not None and "cost_total" in frame.columns:
        top_cost: Any = frame["cost_total"].max()
        if top_cost is not None and Decimal(str(top_cost)) > Decimal(str(limit)):
            found.append(
                Violation(
                    "max_cost_per_response",
                    group,
                    _usd(top_cost),
                    f"{limit:g}",
                    _worst(frame, "cost_total"),
                )
            )
    limit = rules.get("budget")
    if limit is not None and "cost_total" in frame.columns:
        spent: Any = frame["cost_total"].sum()
        if spent is not None and Decimal(str(spent)) > Decimal(str(limit)):
            found.append(
                Violation("budget", group, _usd(spent), f"{limit:g}", _worst(frame, "cost_total"))
            )
    limit = rules.get("max_looping_share")
    if limit is not None and "looping" in frame.columns:
        share: Any = frame["looping"].mean()
        if share is not None and float(share) > limit:
            looping = (
                frame.filter(pl.col("looping").fill_null(False))["trace_id"].head(WORST).to_list()
            )
            found.append(
                Violation("max_looping_share", group, f"{float(share):.3f}", f"{limit:g}", looping)
            )
    return found
