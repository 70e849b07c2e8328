"""One trace shown whole: steps coloured by kind, numbers, tokens, thoughts, metrics."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from traceviz.report.text import html_text, visible
from traceviz.schema import (
    METRICS_SCHEMA,
    MODEL,
    TOKENIZER,
    TOKENS_ANSWER,
    TOKENS_REASONING,
    TRACE_ID,
    USAGE_OUTPUT,
)

KIND_COLOURS = {
    "problem_setup": ("blue", "#3b6fd4"),
    "plan_generation": ("magenta", "#a63db8"),
    "fact_retrieval": ("cyan", "#1f9aa8"),
    "active_computation": ("white", "#555555"),
    "result_consolidation": ("green", "#2e8b3a"),
    "uncertainty_management": ("yellow", "#b58900"),
    "self_checking": ("bright_red", "#d0453a"),
    "final_answer_emission": ("bold green", "#0b6e1f"),
}
_HEADER = (TRACE_ID, "source", "line", "format", MODEL, "created", TOKENIZER)


def terminal(trace: dict[str, Any], steps: pl.DataFrame) -> Group:
    """A rich renderable of the trace; every piece of logged text goes in as plain Text."""
    parts: list[Any] = []
    head = Table.grid(padding=(0, 2))
    for key in _HEADER:
        if trace.get(key) is not None:
            head.add_row(Text(key, style="dim"), Text(visible(str(trace[key]))))
    parts.append(head)
    reasoning: str = trace.get("reasoning") or ""
    if trace.get("reasoning") is None:
        parts.append(Text("reasoning hidden (billed, not shown)", style="dim italic"))
    thought = -1
    for step in steps.iter_rows(named=True):
        if step["thought"] != thought:
            thought = step["thought"]
            parts.append(Rule(f"thought {thought + 1}", style="dim"))
        colour = KIND_COLOURS.get(step["kind"], ("white", ""))[0]
        line = Text(f"[{step['step'] + 1}] ", style="dim")
        line.append(f"{step['kind']} ", style=f"{colour} italic")
        line.append(f"({step['tokens']} tok) ", style="dim")
        line.append(visible(reasoning[step["start"] : step["end"]]), style=colour)
        parts.append(line)
    parts.append(Rule("answer", style="dim"))
    parts.append(Text(visible(trace.get("answer") or "")))
    parts.append(metrics_table(trace))
    return Group(*parts)


def metrics_table(trace: dict[str, Any]) -> Table:
    table = Table(title="metrics", title_justify="left", show_header=False)
    for name in (TOKENS_REASONING, TOKENS_ANSWER, USAGE_OUTPUT, *METRICS_SCHEMA):
        value = trace.get(name)
        if value is not None:
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            table.add_row(name, Text(visible(shown)))
    return table


def html(trace: dict[str, Any], steps: pl.DataFrame) -> str:
    """The same view as one standalone HTML page, every logged string escaped."""
    reasoning = trace.get("reasoning") or ""
    rows = []
    thought = -1
    for step in steps.iter_rows(named=True):
        if step["thought"] != thought:
            thought = step["thought"]
            rows.append(f'<h3 class="thought">thought {thought + 1}</h3>')
        colour = KIND_COLOURS.get(step["kind"], ("", "#333"))[1]
        rows.append(
            f'<p class="step" style="border-left:4px solid {colour}">'
            f'<span class="meta">[{step["step"] + 1}] {html_text(step["kind"])}'
            f" · {step['tokens']} tok</span> "
            f"{html_text(reasoning[step['start'] : step['end']])}</p>"
        )
    head = "".join(
        f"<tr><th>{k}</th><td>{html_text(str(trace[k]))}</td></tr>"
        for k in (*_HEADER, *METRICS_SCHEMA)
        if trace.get(k) is not None
    )
    legend = " ".join(
        f'<span style="border-bottom:3px solid {c[1]}">{k}</span>' for k, c in KIND_COLOURS.items()
    )
    hidden = (
        ""
        if trace.get("reasoning") is not None
        else "<p><em>reasoning hidden (billed, not shown)</em></p>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>trace {html_text(str(trace.get("trace_id")))}</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}}
.step{{padding-left:.6rem;margin:.3rem 0;white-space:pre-wrap}}.meta{{color:#777;font-size:12px}}
th{{text-align:left;padding-right:1rem;color:#555}}.thought{{color:#999;font-size:13px}}</style>
</head><body><h1>trace {html_text(str(trace.get("trace_id")))}</h1>
<table>{head}</table><p>{legend}</p>{hidden}{"".join(rows)}
<h2>answer</h2><p class="step">{html_text(trace.get("answer") or "")}</p></body></html>
"""
