"""The token tables of `traceviz count`: per group, the distribution of reasoning,
answer and prompt tokens counted in the logged text, and where logs carry usage, how far
the count is from it. Reasoning a model hides (o1) has no text: the caption says how
many traces hide it and the reasoning tokens their usage bills, which `report` counts.

Numbers are shown with `interface.number` (thousands separators, one decimal), the
formatter of every report; group names as logged, shown as text, never as markup.
Groups counted with a fallback tokenizer are said to be estimates in the caption.
"""

from __future__ import annotations

import polars as pl
from rich.table import Table
from rich.text import Text

from traceviz import tokens
from traceviz.escape import rich_name, rich_text
from traceviz.report.interface import key_label, number
from traceviz.stats import STATISTICS
from traceviz.wording import count_of


def tables(traces: pl.DataFrame, by: list[str]) -> list[Table]:
    """The token table of `traces` per group of `by`, and the usage-drift table when
    some counted trace differs from its logged usage."""
    summary = tokens.summarize(traces, by)
    shown = [_table(summary, by)]
    if summary["drift_traces"].sum() or summary["reasoning_drift_traces"].sum():
        shown.append(_drift_table(summary, by))
    return shown


def _table(summary: pl.DataFrame, by: list[str]) -> Table:
    notes = []
    table = Table(title="Tokens in the text", title_justify="left", caption_justify="left")
    for key in by:
        table.add_column(key)
    table.add_column("part")
    for statistic in STATISTICS:
        table.add_column(statistic, justify="right")
    for row in summary.iter_rows(named=True):
        for index, part in enumerate(("reasoning", "answer", "prompt")):
            groups = [_label(row[k]) if index == 0 else Text() for k in by]
            cells = [number(row[f"{part}_{s}"]) for s in STATISTICS]
            table.add_row(*groups, part, *cells, end_section=index == 2)
        group = " ".join(str(_label(row[k])) for k in by) or "all"
        note = f"{group}: {count_of(row['traces'], 'trace')}"
        if row["inexact_traces"]:
            note += f"; {row['inexact_traces']:,} counted with a fallback tokenizer (estimates)"
        if row.get("hidden_traces"):
            note += (
                f"; {row['hidden_traces']:,} with hidden reasoning, not in the text"
                f" ({number(row['hidden_reasoning_tokens'])} tokens billed; `report` adds them)"
            )
        notes.append(note)
    table.caption = rich_text("\n".join(notes))
    return table


def _drift_table(summary: pl.DataFrame, by: list[str]) -> Table:
    table = Table(
        title="Usage drift: counted minus billed tokens",
        title_justify="left",
        caption="output: reasoning + answer + template tokens vs usage output "
        "(answer vs output less reasoning where reasoning is hidden); "
        "reasoning: counted vs usage reasoning",
        caption_justify="left",
    )
    for key in by:
        table.add_column(key)
    table.add_column("part")
    for statistic in tokens.DRIFT_STATISTICS:
        table.add_column(statistic, justify="right")
    for row in summary.iter_rows(named=True):
        for index, (part, prefix) in enumerate(
            (("output", "drift"), ("reasoning", "reasoning_drift"))
        ):
            groups = [_label(row[k]) if index == 0 else Text() for k in by]
            cells = [number(row[f"{prefix}_{s}"]) for s in tokens.DRIFT_STATISTICS]
            table.add_row(*groups, part, *cells, end_section=index == 1)
    return table


def _label(value: object) -> Text:
    """A group's name as logged, shown as text (never as rich markup)."""
    return rich_name(key_label(value))
