"""`traceviz count`: token summaries of logs, or the token count of plain text."""

from __future__ import annotations

import sys

import click
import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from traceviz import tokens
from traceviz.cli.analysis import RunSettings, run_options
from traceviz.cli.common import EXIT_FAILED
from traceviz.cli.inputs import InputSettings, finish, input_options, input_paths, reading
from traceviz.cli.progress import progress_bar
from traceviz.guard import refuse_overwrite
from traceviz.pipeline import AnalysisOptions, analyze
from traceviz.report.interface import number
from traceviz.report.text import rich_name, rich_text
from traceviz.stats import STATISTICS

GROUP_KEYS = ("model", "provider", "format", "source", "tokenizer")


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--tokenizer",
    type=click.Choice(tokens.TOKENIZERS),
    default=None,
    help="Count every trace with this tokenizer (default: each model's own).",
)
@click.option("--by", type=click.Choice(GROUP_KEYS), multiple=True, help="Group by this column.")
@click.option(
    "--text", "plain_text", is_flag=True, help="Count the text on stdin and print the number."
)
@click.option("--quiet", "-q", is_flag=True, help="No summary or progress on stderr.")
@run_options
@input_options
@click.pass_context
def count(
    ctx: click.Context,
    paths: tuple[str, ...],
    tokenizer: str | None,
    by: tuple[str, ...],
    plain_text: bool,
    quiet: bool,
    run: RunSettings,
    inputs: InputSettings,
) -> None:
    """Count reasoning, answer and prompt tokens, exactly and offline.

    \b
      traceviz count logs/ --by model
      traceviz count o1-logs.jsonl --tokenizer o200k_base
      pbpaste | traceviz count --text --tokenizer deepseek-v3
    """
    if plain_text:
        if paths:
            msg = "--text counts stdin; give no PATHS with it."
            raise click.UsageError(msg)
        text = sys.stdin.read()
        click.echo(tokens.Counter(tokenizer or tokens.O200K).count_batch([text])[0])
        return
    paths = input_paths(paths, inputs, required=False)
    if not paths:
        msg = "Give PATHS to count, or --text to count stdin."
        raise click.UsageError(msg)
    refuse_overwrite([("--quarantine", inputs.quarantine)], paths)
    options = AnalysisOptions(read=inputs.read, tokenizer=tokenizer, steps=False)
    with (
        reading(inputs, "count.quarantine.jsonl") as read,
        run.open() as how,
        progress_bar(quiet) as bar,
    ):
        read.ingest.on_progress = bar
        analysis = analyze(paths, options, read.ingest, how)
    finish(read, quiet)
    if analysis.traces.height:
        summary = tokens.summarize(analysis.traces, list(by))
        console = Console()
        console.print(_table(summary, list(by)))
        if summary["drift_traces"].sum() or summary["reasoning_drift_traces"].sum():
            console.print(_drift_table(summary, list(by)))
    if analysis.stats.file_errors:
        ctx.exit(EXIT_FAILED)


def _table(summary: pl.DataFrame, by: list[str]) -> Table:
    notes = []
    table = Table(title="Tokens", title_justify="left", caption_justify="left")
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
        note = f"{group}: {row['traces']:,} traces"
        if row["inexact_traces"]:
            note += f"; {row['inexact_traces']:,} counted with a fallback tokenizer (estimates)"
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
    return rich_name("(none)" if value is None else str(value))
