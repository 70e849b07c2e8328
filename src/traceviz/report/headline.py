"""The report's answer first: five to eight lines every format opens with.

Responses read, total cost, the reasoning's share of the spend, the overthinking bill
(a proxy), the what-if with its band (with `--vs`), the reasoning cap (with `--cap`),
and the single biggest driver of the spend. `items` gives the lines as text for the
human formats; `numbers` gives the same figures as numbers for JSON (money as exact
decimal strings, like the rest of the JSON report).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from traceviz.escape import one_line, shorten
from traceviz.pipeline import DEDUPED
from traceviz.price import overthinking
from traceviz.report.aggregate import Report, logged_prompts
from traceviz.report.interface import group_label, money, plain, share
from traceviz.report.repeats import Repeated
from traceviz.schema import (
    COST_REASONING,
    COST_TOTAL,
    MODEL,
    WHATIF_COST_HIGH,
    WHATIF_COST_LOW,
    WHATIF_COST_TOTAL,
    IngestStats,
)
from traceviz.wording import count_of


@dataclass(frozen=True, slots=True)
class Item:
    """One headline line: a label, its value, and what the value covers."""

    key: str
    label: str
    value: str
    detail: str = ""

    @property
    def line(self) -> str:
        return f"{self.label}: {self.value}" + (f" {self.detail}" if self.detail else "")


def _ratio(part: Any, whole: Any) -> float | None:
    if part is None or whole is None or not whole:
        return None
    return float(Decimal(part) / Decimal(whole))


def driver(report: Report) -> tuple[str, str, Any, float | None] | None:
    """The group (with `--by`) or model that holds most of the spend: key, name, cost, share."""
    total = report.overall.row(0, named=True).get(COST_TOTAL)
    if report.by and COST_TOTAL in report.groups.columns:
        top = report.groups.drop_nulls(COST_TOTAL).sort(COST_TOTAL, descending=True)
        if not top.height:
            return None
        row = top.row(0, named=True)
        return (
            " / ".join(report.by),
            group_label(row, report.keys),
            row[COST_TOTAL],
            _ratio(row[COST_TOTAL], total),
        )
    if report.models.height and report.models[COST_TOTAL][0] is not None:
        row = report.models.row(0, named=True)
        return MODEL, str(row[MODEL]), row[COST_TOTAL], _ratio(row[COST_TOTAL], total)
    return None


def items(report: Report, width: int | None = None) -> list[Item]:
    """The headline as lines; names cut to `width` characters (middle ellipsis) if given."""
    stats = report.stats
    row = report.overall.row(0, named=True)
    found = [
        Item(
            "responses",
            "Responses read",
            f"{stats.responses:,}" + _choices(stats),
            f"from {stats.read:,} records in {stats.files:,} files"
            f" ({stats.quarantined:,} quarantined, {stats.skipped:,} skipped)"
            + _left_out(stats.traces, stats.filtered),
        )
    ]
    if COST_TOTAL in row:
        unpriced = row["traces_unpriced"] or 0
        found.append(
            Item(
                COST_TOTAL,
                "Total cost",
                money(row[COST_TOTAL]),
                "for "
                + count_of(row["traces"] - unpriced, "priced " + _noun(stats))
                + (f"; {unpriced:,} not priced" if unpriced else ""),
            )
        )
        found.append(
            Item(
                COST_REASONING,
                "Reasoning",
                money(row[COST_REASONING]),
                f"= {share(_ratio(row['cost_reasoning'], row['cost_total']))} of the spend"
                + (
                    f" ({share(row['reasoning_share_of_output'])} of output tokens)"
                    if row.get("reasoning_share_of_output") is not None
                    else ""
                ),
            )
        )
    else:
        found.append(Item(COST_TOTAL, "Total cost", "not computed", "(no price stage)"))
    if report.repeats.repeats:
        found.insert(2, _repeats(report.repeats))
    found.append(_bill(report, row))
    if WHATIF_COST_TOTAL in row:
        found.append(
            Item(
                "whatif",
                f"What if on {report.vs} (estimate)",
                money(row[WHATIF_COST_TOTAL]),
                f"(band {money(row['whatif_cost_low'])}–{money(row['whatif_cost_high'])})"
                f" against {money(row['whatif_actual'])} actual,"
                f" {count_of(row['whatif_traces'], _noun(stats))}",
            )
        )
    if report.cap is not None and "cap_tokens_saved" in row:
        found.append(_cap(report.cap, row))
    top = driver(report)
    if top is not None:
        key, name, cost, part = top
        name = one_line(name)  # a group's name is logged text: it must not start a line
        found.append(
            Item(
                "biggest_driver",
                "Biggest driver",
                shorten(name, width) if width else name,
                f"({one_line(key)}) holds {money(cost)}, {share(part)} of the spend",
            )
        )
    return found


def _noun(stats: IngestStats) -> str:
    """What a trace is called: a choice where some responses have several, else a response."""
    return "choice" if _choices(stats) else "response"


def _choices(stats: IngestStats) -> str:
    """` (6 choices)` where some responses have several choices (`n > 1`), each a trace."""
    return f" ({count_of(stats.traces, 'choice')})" if stats.responses != stats.traces else ""


def _repeats(found: Repeated) -> Item:
    """`Logged more than once: 2 responses in 4 records (by response id): $0.0396 = 7.3%
    of the cost counted again`: right under the total it inflates."""
    return Item(
        "repeats",
        "Logged more than once",
        count_of(found.responses, "response"),
        f"in {found.records:,} records (by response id): {money(found.cost)}"
        f" = {share(found.cost_share)} of the cost and {found.tokens:,} tokens counted again",
    )


def _left_out(traces: int, filtered: dict[str, int]) -> str:
    """What the filters and `--dedupe` kept, so the headline's count and its figures agree."""
    left_out = sum(filtered.values())
    if not left_out:
        return ""
    deduped = filtered.get(DEDUPED, 0)
    if deduped == left_out:
        why = "as logged more than once (--dedupe)"
    else:
        why = "by filters" + (" and --dedupe" if deduped else "")
    return f"; {left_out:,} left out {why}, {traces - left_out:,} reported"


def _bill(report: Report, row: dict[str, Any]) -> Item:
    label = "After the first answer (proxy)"
    if "overthinking_cost" not in row:
        missing = "no first-answer positions"
        return Item("overthinking", label, "not computed", f"({missing})")
    if not row.get("overthinking_priced_traces"):
        return Item(
            "overthinking",
            label,
            "not computed",
            "(no priced trace with visible reasoning and a final answer found in it)",
        )
    changed = (
        f"; {row['answer_changed']:,} of {row['answer_changed_known']:,} changed answer"
        if row.get("answer_changed_known")
        else ""
    )
    return Item(
        "overthinking",
        label,
        money(row["overthinking_cost"]),
        f"= {share(row['overthinking_share'])} of the reasoning spend of"
        f" {row['overthinking_priced_traces']:,} priced traces;"
        f" {row['overthinking_tokens'] or 0:,} tokens in {row['overthinking_traces']:,}{changed}",
    )


def _cap(cap: overthinking.Cap, row: dict[str, Any]) -> Item:
    unknown = row.get("cap_risk_unknown") or 0
    risk = (
        f", {row['cap_at_risk']:,} before their first answer"
        if row.get("cap_at_risk") is not None
        else ""
    )
    return Item(
        "cap",
        f"Cap at {cap.tokens:,} reasoning tokens (estimate)",
        f"saves {money(row.get('cap_saved'))}",
        f"({row['cap_tokens_saved'] or 0:,} tokens); cuts {row['cap_traces_over']:,} traces"
        + risk
        + (f" ({unknown:,} unknown)" if unknown else ""),
    )


def numbers(report: Report) -> dict[str, Any]:
    """The headline's figures for JSON: counts as integers, money as exact strings."""
    stats = report.stats
    row = report.overall.row(0, named=True)
    document: dict[str, Any] = {
        "responses": stats.responses,
        "choices": stats.traces,
        "records_read": stats.read,
        "files": stats.files,
        "records_quarantined": stats.quarantined,
        "records_skipped": stats.skipped,
        COST_TOTAL: plain(row.get(COST_TOTAL)),
        "traces_unpriced": row.get("traces_unpriced"),
        COST_REASONING: plain(row.get(COST_REASONING)),
        "reasoning_share_of_cost": plain(_ratio(row.get(COST_REASONING), row.get(COST_TOTAL))),
        "overthinking": None,
        "whatif": None,
        "cap": None,
        "biggest_driver": None,
    }
    if row.get("overthinking_priced_traces"):
        document["overthinking"] = {
            "estimate": overthinking.PROXY,
            "cost": plain(row["overthinking_cost"]),
            "tokens": row["overthinking_tokens"],
            "share_of_reasoning_cost": plain(row["overthinking_share"]),
            "reasoning_cost_measured": plain(row["overthinking_reasoning_cost"]),
            "traces_measured": row["overthinking_priced_traces"],
            "answer_changed": row.get("answer_changed"),
            "answer_changed_known": row.get("answer_changed_known"),
            "answer_changed_share": plain(row.get("answer_changed_share")),
        }
    if WHATIF_COST_TOTAL in row:
        document["whatif"] = {
            "estimate": f"estimate: prompt and answer re-counted with {report.vs}'s tokenizer,"
            f" reasoning scaled by a ratio of {row.get('whatif_ratio')}"
            f" ({row.get('whatif_ratio_source')}); low-high from its range" + logged_prompts(row),
            MODEL: report.vs,
            "cost": plain(row[WHATIF_COST_TOTAL]),
            "low": plain(row[WHATIF_COST_LOW]),
            "high": plain(row[WHATIF_COST_HIGH]),
            "actual": plain(row["whatif_actual"]),
            "traces": row["whatif_traces"],
        }
    if report.cap is not None and "cap_tokens_saved" in row:
        document["cap"] = {
            "estimate": overthinking.CAP_RULE,
            "tokens": report.cap.tokens,
            "rule": report.cap.rule,
            "saved": plain(row.get("cap_saved")),
            "tokens_saved": row["cap_tokens_saved"] or 0,
            "traces_cut": row["cap_traces_over"],
            "traces_at_risk": row.get("cap_at_risk"),
            "traces_risk_unknown": row.get("cap_risk_unknown"),
        }
    top = driver(report)
    if top is not None:
        key, name, cost, part = top
        document["biggest_driver"] = {
            "by": key,
            "name": name,
            "cost": plain(cost),
            "share_of_cost": plain(part),
        }
    document["lines"] = [item.line for item in items(report)]
    return document
