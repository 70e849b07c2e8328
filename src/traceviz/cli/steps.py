"""`traceviz steps` and `traceviz show`: what the reasoning does."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

from traceviz import segment
from traceviz.cli.common import echo_err, summary_line
from traceviz.cli.inputs import (
    QuarantineFile,
    input_options,
    input_paths,
    llm_option,
    read_options_from,
)
from traceviz.errors import InputError
from traceviz.load import Ingest
from traceviz.pipeline import AnalysisOptions, analyze_batches
from traceviz.report import trace_view
from traceviz.schema import EXPECTED_STEPS_PREFIX, KIND, MODEL, TRACE_ID
from traceviz.segment import kinds as kinds_module
from traceviz.write import TableWriter

kinds_model_option = click.option(
    "--kinds-model",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    envvar="TRACEVIZ_KINDS_MODEL",
    help="A step-kind model of your own (from `traceviz kinds train`).",
)


def _options(read: dict[str, object], kinds_model: str | None, keep_text: bool) -> AnalysisOptions:
    model = kinds_module.load(kinds_model) if kinds_model else None
    return AnalysisOptions(read=read_options_from(read), kinds_model=model, keep_text=keep_text)


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default="steps.parquet", show_default=True,
    help="Where to write the steps table: .parquet, .jsonl or .csv.",
)  # fmt: skip
@click.option("--kinds", "show_kinds", is_flag=True, help="Print the step-kind mix per model.")
@kinds_model_option
@input_options
@llm_option
def steps(
    paths: tuple[str, ...], output: str, show_kinds: bool, kinds_model: str | None, **read: object
) -> None:
    """Cut reasoning into steps, label each with its kind, and write the steps table.

    \b
      traceviz steps logs/ -o steps.parquet
      traceviz steps r1.jsonl --kinds
    """
    paths = input_paths(paths, read)
    options = _options(read, kinds_model, keep_text=False)
    mix: list[pl.DataFrame] = []
    with QuarantineFile(
        str(read["quarantine"] or f"{Path(output).with_suffix('')}.quarantine.jsonl")
    ) as quarantine:
        run = Ingest(
            on_quarantine=quarantine.write, on_file_error=lambda e: echo_err(f"Error: {e}")
        )
        with TableWriter(output) as writer:
            for batch in analyze_batches(paths, options, run):
                if batch.steps is None or not batch.steps.height:
                    continue
                writer.write(batch.steps)
                mix.append(_expected_kinds(batch.traces))
    echo_err(summary_line(run.stats))
    echo_err(f"wrote the steps of {run.stats.traces:,} traces to {output}")
    if show_kinds and mix:
        note = (options.kinds_model or segment.default_model()).note
        table = pl.concat(mix).group_by(MODEL, KIND).agg(pl.col("len").sum())
        Console().print(_kind_table(table, note))


def _expected_kinds(traces: pl.DataFrame) -> pl.DataFrame:
    """(model, kind, len): each model's summed step probabilities of each kind."""
    return (
        traces.select(MODEL, *segment.KIND_EXPECTED)
        .unpivot(list(segment.KIND_EXPECTED), index=MODEL, variable_name=KIND, value_name="len")
        .with_columns(pl.col(KIND).str.strip_prefix(EXPECTED_STEPS_PREFIX))
        .drop_nulls("len")  # hidden reasoning
        .group_by(MODEL, KIND)
        .agg(pl.col("len").sum())
    )


SHORT_KINDS = ("set", "plan", "fact", "comp", "cons", "unc", "chk", "fin")


def _kind_table(counts: pl.DataFrame, note: str) -> Table:
    """One row per model: the estimated share of its steps of each kind."""
    totals = counts.group_by(MODEL).agg(pl.col("len").sum().alias("total"))
    table = Table(
        title="Step kinds (share of steps)",
        title_justify="left",
        box=box.SIMPLE,
        padding=(0, 1),
        pad_edge=False,
    )
    table.caption = (
        ", ".join(f"{s}: {k}" for s, k in zip(SHORT_KINDS, kinds_module.KINDS, strict=True))
        + f"\n{note}; shares are summed step probabilities"
    )
    table.add_column("model", no_wrap=True, overflow="ellipsis", min_width=10, max_width=14)
    table.add_column("steps", justify="right", min_width=5)
    for short in SHORT_KINDS:
        table.add_column(short, justify="right", width=4)
    for model, total in sorted(totals.filter(pl.col("total") > 0).iter_rows(), key=lambda r: -r[1]):
        mine = counts.filter(pl.col(MODEL).eq_missing(model))
        share = dict(zip(mine[KIND].to_list(), mine["len"].to_list(), strict=True))
        cells = [f"{share.get(k, 0) / total:.0%}" for k in kinds_module.KINDS]
        table.add_row("(none)" if model is None else str(model), f"{round(total):,}", *cells)
    return table


@click.command()
@click.argument("trace_id")
@click.argument("paths", nargs=-1)
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False), help="Write the view as a web page."
)
@kinds_model_option
@input_options
@llm_option
def show(
    trace_id: str,
    paths: tuple[str, ...],
    html_path: str | None,
    kinds_model: str | None,
    **read: object,
) -> None:
    """Show one trace: its steps coloured by kind, thoughts, tokens and metrics.

    \b
      traceviz show chatcmpl-AqZ1x7Qf3s logs/
      traceviz show 930c60df-bf64-41c9-a88e-3ec75f81e00e samples/ --html trace.html
    """
    paths = input_paths(paths, read)
    options = _options(read, kinds_model, keep_text=True)
    run = Ingest()
    for batch in analyze_batches(paths, options, run):
        found = batch.traces.filter(pl.col(TRACE_ID) == trace_id)
        if found.height:
            trace = found.row(0, named=True)
            trace_steps = (
                batch.steps.filter(pl.col(TRACE_ID) == trace_id)
                if batch.steps is not None
                else pl.DataFrame()
            )
            break
    else:
        msg = f"no trace {trace_id!r} in {', '.join(paths)}"
        raise InputError(msg, hint="List the ids with `traceviz ingest PATHS -o t.csv`.")
    if html_path:
        Path(html_path).write_text(trace_view.html(trace, trace_steps), encoding="utf-8")
        echo_err(f"wrote {html_path}")
        return
    Console(highlight=False).print(trace_view.terminal(trace, trace_steps))
