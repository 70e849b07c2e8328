"""The audit's rules over a whole traces table, as `report/audit.py` checked them before
audits were built one result at a time (kept as the reference `AuditPartial` is held to:
tests/test_audit_partials.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import polars as pl
import report_reference

from traceviz.report.aggregate import group_columns
from traceviz.report.audit import (
    MONEY_RULES,
    RULE_COLUMNS,
    WHY_MISSING,
    WORST,
    Audit,
    PricingGap,
    Violation,
    unpriced_groups,
)
from traceviz.report.groups import column as group_column
from traceviz.schema import (
    COST_AFTER_FIRST_ANSWER,
    COST_REASONING,
    COST_TOTAL,
    LOOPING,
    REASONING_TOKENS,
    TRACE_ID,
)


def evaluate(
    traces: pl.DataFrame, rules: Mapping[str, float], by: list[str], quarantined: int, read: int
) -> Audit:
    """Every rule against every group (or the whole run); what failed and what could not
    be evaluated (its column missing or empty in every trace)."""
    not_evaluated: dict[str, str] = {}
    for rule in rules:
        column = RULE_COLUMNS[rule]
        if column is not None and (
            column not in traces.columns or traces[column].null_count() == traces.height
        ):
            not_evaluated[rule] = WHY_MISSING[column] if traces.height else "no trace to check"
    if "max_quarantined_share" in rules and not read:
        not_evaluated["max_quarantined_share"] = "no record was read"
    usable = {r: v for r, v in rules.items() if r not in not_evaluated}
    money = tuple(r for r in usable if r in MONEY_RULES)
    keyed = _keyed(traces, by)
    groups = keyed.partition_by(by, as_dict=True) if by and keyed.height else {("all",): keyed}
    found, gaps = [], []
    for key, frame in groups.items():
        name = " / ".join(_name(k) for k in key) if by else "all"
        unpriced = frame.height - _priced(frame)
        if money and unpriced and frame.height:
            gaps.append(PricingGap(name, frame.height, unpriced, money))
        checked = usable if _priced(frame) else {r: v for r, v in usable.items() if r not in money}
        found += _check(frame, checked, name)
    limit = usable.get("max_quarantined_share")
    if limit is not None and quarantined / read > limit:
        found.append(Violation("max_quarantined_share", "all", quarantined / read, limit, []))
    not_evaluated.update(unpriced_groups(gaps, len(groups) if keyed.height else 0))
    evaluated = [r for r in rules if r not in not_evaluated]
    unpriced_traces = traces.height - _priced(traces)
    repeats = report_reference.repeated(traces)
    return Audit(
        found, evaluated, not_evaluated, traces.height, dict(rules), unpriced_traces, gaps, repeats
    )


def _name(value: Any) -> str:
    """A key's value as the audit names its group: quoted where it is empty, reads as one
    of the report's own labels (`all`, `(none)`) or opens with a quote."""
    if value is None:
        return "(none)"
    text = str(value)
    return (
        json.dumps(text, ensure_ascii=False)
        if text in {"", "all", "(none)"} or text[:1] == '"'
        else text
    )


def _priced(frame: pl.DataFrame) -> int:
    """How many traces have a price (none where prices were not computed)."""
    return frame[COST_TOTAL].count() if COST_TOTAL in frame.columns else 0


def _responses(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per response: its choices' cost summed (null if none is priced)."""
    if "choice" not in frame.columns:
        return frame
    response = (pl.col("choice").fill_null(0) == 0).cum_sum().alias("response")
    return frame.group_by(response, maintain_order=True).agg(
        pl.col(TRACE_ID).first(),
        pl.when(pl.col(COST_TOTAL).is_not_null().any()).then(pl.col(COST_TOTAL).sum()),
    )


def _worst(frame: pl.DataFrame, column: str) -> list[str]:
    return frame.drop_nulls(column).sort(column, descending=True).head(WORST)[TRACE_ID].to_list()


def _check(frame: pl.DataFrame, rules: dict[str, float], group: str) -> list[Violation]:
    found = []
    limit = rules.get("max_reasoning_tokens")
    if limit is not None and REASONING_TOKENS in frame.columns:
        top: Any = frame[REASONING_TOKENS].max()
        if top is not None and top > limit:
            found.append(
                Violation(
                    "max_reasoning_tokens",
                    group,
                    int(top),
                    limit,
                    _worst(frame, REASONING_TOKENS),
                )
            )
    limit = rules.get("max_cost_per_response")
    if limit is not None and COST_TOTAL in frame.columns:
        top_cost: Any = _responses(frame)[COST_TOTAL].max()
        if top_cost is not None and Decimal(str(top_cost)) > Decimal(str(limit)):
            found.append(
                Violation(
                    "max_cost_per_response",
                    group,
                    float(top_cost),
                    limit,
                    _worst(_responses(frame), COST_TOTAL),
                )
            )
    limit = rules.get("budget")
    if limit is not None and COST_TOTAL in frame.columns:
        spent: Any = frame[COST_TOTAL].sum()
        if spent is not None and Decimal(str(spent)) > Decimal(str(limit)):
            worst = _worst(_responses(frame), COST_TOTAL)
            found.append(Violation("budget", group, float(spent), limit, worst))
    limit = rules.get("max_looping_share")
    if limit is not None and LOOPING in frame.columns:
        share: Any = frame[LOOPING].mean()
        if share is not None and float(share) > limit:
            looping = frame.filter(pl.col(LOOPING).fill_null(False))[TRACE_ID].head(WORST).to_list()
            found.append(Violation("max_looping_share", group, float(share), limit, looping))
    limit = rules.get("max_overthinking_share")
    if limit is not None:
        value = overthinking_share(frame)
        if value is not None and value > limit:
            worst = _worst(frame, COST_AFTER_FIRST_ANSWER)
            found.append(Violation("max_overthinking_share", group, value, limit, worst))
    return found


def overthinking_share(frame: pl.DataFrame) -> float | None:
    """The share of the reasoning spend that came after the first answer (a proxy), over
    the traces where it was measured; None when none was (hidden reasoning, no answer):
    such a group cannot fail the rule."""
    if COST_AFTER_FIRST_ANSWER not in frame.columns:
        return None
    measured = frame.drop_nulls(COST_AFTER_FIRST_ANSWER)
    after: Any = measured[COST_AFTER_FIRST_ANSWER].sum()
    reasoning: Any = measured[COST_REASONING].sum()
    if not measured.height or not reasoning:
        return None
    return float(Decimal(after) / Decimal(reasoning))


def _keyed(traces: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The traces with one column per key, named by the key (as this reference always
    named them; traceviz itself names them `groups.column(key)`)."""
    keyed = group_columns(traces, by).drop([k for k in by if k in traces.columns])
    return keyed.rename({group_column(k): k for k in by})
