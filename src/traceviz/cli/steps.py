"""`traceviz steps` and `traceviz show`: what the reasoning does.

The steps table is written with its own schema (`STEPS_SCHEMA`), even when no trace
has a step; the kind mix of `--kinds` is `report.kind_shares`, as the report has it.
"""

from __future__ import annotations

import click
import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

from traceviz import segment
from traceviz.cli.analysis import RunSettings, kinds_model_option, run_options
from traceviz.cli.common import EXIT_FAILED, echo_err
from traceviz.cli.inputs import InputSettings, finish, input_options, input_paths, reading
from traceviz.cli.outputs import OutputSettings, output_options, table_output
from traceviz.cli.progress import progress_bar
from traceviz.errors import InputError
from traceviz.escape import one_line, rich_name
from traceviz.guard import refuse_overwrite
from traceviz.outputs import check_output, write_bytes
from traceviz.pipeline import AnalysisOptions, analyze_results
from traceviz.report import kind_shares, trace_view
from traceviz.report.interface import key_label
from traceviz.schema import KIND, LINE, MODEL, SOURCE, STEPS, STEPS_SCHEMA, TRACE_ID
from traceviz.segment import kinds as kinds_module
from traceviz.write import TableWriter

SHOW_QUARANTINE = "show.quarantine.jsonl"

STEPS_OUTPUT = table_output(
    "steps.parquet", "Where to write the steps table: .parquet, .jsonl or .csv."
)


def _options(inputs: InputSettings, kinds_model: str | None, keep_text: bool) -> AnalysisOptions:
    model = kinds_module.load(kinds_model) if kinds_model else None
    # steps, kinds and metrics show no money: the price stage is skipped
    return AnalysisOptions(
        read=inputs.read, kinds_model=model, keep_text=keep_text, keep_steps=True, prices=False
    )


@click.command()
@click.argument("paths", nargs=-1)
@output_options(STEPS_OUTPUT)
@click.option("--kinds", "show_kinds", is_flag=True, help="Print the step-kind mix per model.")
@click.option("--quiet", "-q", is_flag=True, help="No summary or progress on stderr.")
@kinds_model_option
@run_options
@input_options
@click.pass_context
def steps(
    ctx: click.Context,
    paths: tuple[str, ...],
    output: OutputSettings,
    show_kinds: bool,
    quiet: bool,
    kinds_model: str | None,
    run: RunSettings,
    inputs: InputSettings,
) -> None:
    """Cut reasoning into steps, label each with its kind, and write the steps table.

    \b
      traceviz steps logs/ -o steps.parquet
      traceviz steps r1.jsonl --kinds
    """
    paths = input_paths(paths, inputs)
    quarantine = output.beside("quarantine.jsonl")
    refuse_overwrite([("-o", output.path), ("--quarantine", inputs.quarantine)], paths, quarantine)
    options = _options(inputs, kinds_model, keep_text=False)
    output.check()
    mix: list[kind_shares.KindCounts] = []
    with (
        reading(inputs, quarantine) as read,
        run.open() as how,
        progress_bar(quiet) as bar,
        TableWriter(output.file, dict(STEPS_SCHEMA)) as writer,
    ):
        read.ingest.on_progress = bar
        for part in analyze_results(paths, options, read.ingest, how):
            if part.steps is None or not part.steps.height:
                continue
            writer.write(part.steps)
            mix.append(kind_shares.count(part.traces, part.steps, [MODEL]))
    finish(read, quiet)
    if not quiet:
        traces = read.ingest.stats.traces
        echo_err(f"wrote {writer.rows:,} steps of {traces:,} traces to {output.path}")
    counts = kind_shares.combine(mix, [MODEL])
    if show_kinds and counts is not None:
        note = (options.kinds_model or segment.default_model()).note
        Console().print(_kind_table(kind_shares.shares(counts, [MODEL]), note, counts.summed))
    if read.ingest.stats.file_errors:
        ctx.exit(EXIT_FAILED)  # as ingest, count and report do: an input was not read


def _kind_table(shares: pl.DataFrame, note: str, summed: bool) -> Table:
    """One row per model, most steps first: the estimated share of its steps of each kind."""
    table = Table(
        title="Step kinds (share of steps)",
        title_justify="left",
        box=box.SIMPLE,
        padding=(0, 1),
        pad_edge=False,
    )
    how = "summed step probabilities" if summed else "argmax counts"
    table.caption = (
        ", ".join(
            f"{s}: {k}" for s, k in zip(kind_shares.SHORT_NAMES, kinds_module.KINDS, strict=True)
        )
        + f"\n{note}; shares are {how}"
    )
    table.add_column("model", no_wrap=True, overflow="ellipsis", min_width=10, max_width=14)
    table.add_column("steps", justify="right", min_width=5)
    for short in kind_shares.SHORT_NAMES:
        table.add_column(short, justify="right", width=4)
    models = shares.group_by(MODEL, maintain_order=True).agg(
        pl.col(STEPS).sum(), pl.col(KIND), pl.col(kind_shares.SHARE)
    )
    # most steps first; ties in the order of the names (sorted, unnamed last)
    for model, total, kinds, share in sorted(models.iter_rows(), key=lambda row: -row[1]):
        of_kind = dict(zip(kinds, share, strict=True))
        cells = [f"{of_kind.get(k, 0.0):.0%}" for k in kinds_module.KINDS]
        name = rich_name(key_label(model))
        table.add_row(name, f"{round(total):,}", *cells)
    return table


@click.command()
@click.argument("trace_id")
@click.argument("paths", nargs=-1)
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False), help="Write the view as a web page."
)
@kinds_model_option
@run_options
@input_options
def show(
    trace_id: str,
    paths: tuple[str, ...],
    html_path: str | None,
    kinds_model: str | None,
    run: RunSettings,
    inputs: InputSettings,
) -> None:
    """Show one trace: its steps coloured by kind, thoughts, tokens and metrics.

    \b
      traceviz show chatcmpl-AqZ1x7Qf3s logs/
      traceviz show 930c60df-bf64-41c9-a88e-3ec75f81e00e samples/ --html trace.html
    """
    paths = input_paths(paths, inputs)
    refuse_overwrite(
        [("--html", html_path), ("--quarantine", inputs.quarantine)], paths, SHOW_QUARANTINE
    )
    if html_path:
        check_output(html_path)
    options = _options(inputs, kinds_model, keep_text=True)
    found: tuple[dict[str, object], pl.DataFrame] | None = None
    with reading(inputs, SHOW_QUARANTINE) as read, run.open() as how:
        for part in analyze_results(paths, options, read.ingest, how):
            hit = part.traces.filter(pl.col(TRACE_ID) == trace_id)
            if hit.height:
                trace = hit.row(0, named=True)
                steps_of = part.steps if part.steps is not None else pl.DataFrame()
                if steps_of.height:
                    # steps come in trace order: the first trace of a repeated id owns
                    # the first of its steps, not the steps of every trace of that id
                    steps_of = steps_of.filter(pl.col(TRACE_ID) == trace_id)
                    steps_of = steps_of.head(trace.get(STEPS) or 0)
                if hit.height > 1:
                    echo_err(
                        f"{hit.height:,} traces have the id '{one_line(trace_id)}':"
                        f" showing the first ({one_line(str(trace[SOURCE]))}:{trace[LINE]})"
                    )
                found = (trace, steps_of)
                break  # the first trace of that id; the rest need not be read
    if found is None:
        finish(read)
        msg = f"no trace {trace_id!r} in {', '.join(paths)}"
        raise InputError(msg, hint="List the ids with `traceviz ingest PATHS -o t.csv`.")
    trace, trace_steps = found
    if html_path:
        write_bytes(html_path, trace_view.html(trace, trace_steps).encode())
        echo_err(f"wrote {html_path}")
        return
    Console(highlight=False).print(trace_view.terminal(trace, trace_steps))
