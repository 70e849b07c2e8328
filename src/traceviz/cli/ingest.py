"""`traceviz ingest`: logs in any shape -> the per-response traces table, every stage's
columns included (tokens and drift, steps per kind, behaviour metrics, costs, what-ifs)."""

from __future__ import annotations

import dataclasses

import click

from traceviz.cli.analysis import RunSettings, analysis_options, run_options
from traceviz.cli.common import EXIT_FAILED, echo_err
from traceviz.cli.inputs import InputSettings, finish, input_options, input_paths, reading
from traceviz.cli.outputs import OutputSettings, output_options, table_output
from traceviz.cli.progress import progress_bar
from traceviz.guard import refuse_overwrite
from traceviz.load import read_batches
from traceviz.pipeline import AnalysisOptions, analyze_results, traces_schema
from traceviz.write import TableWriter

TRACES = table_output(
    "traces.parquet",
    "Where to write the table: .parquet, .jsonl or .csv (money as exact decimals).",
)


@click.command()
@click.argument("paths", nargs=-1)
@output_options(TRACES)
@click.option(
    "--raw", is_flag=True, help="Only the ingest columns: no token counts, steps or costs."
)
@click.option("--quiet", "-q", is_flag=True, help="No summary or progress on stderr.")
@analysis_options
@run_options
@input_options
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[str, ...],
    output: OutputSettings,
    raw: bool,
    quiet: bool,
    analysis: AnalysisOptions,
    run: RunSettings,
    inputs: InputSettings,
) -> None:
    """Read logs of any shape into the per-response traces table.

    \b
      traceviz ingest logs/ -o traces.parquet
      traceviz ingest logs/ --vs o1 -o traces.csv
      traceviz ingest responses.jsonl.gz --raw --quarantine bad.jsonl --strict
      cat stream.sse | traceviz ingest - --shape openai-chat-stream -o t.parquet
    """
    paths = input_paths(paths, inputs)
    quarantine = output.beside("quarantine.jsonl")
    refuse_overwrite([("-o", output.path), ("--quarantine", inputs.quarantine)], paths, quarantine)
    output.check()
    options = dataclasses.replace(analysis, read=inputs.read, keep_text=True)
    with reading(inputs, quarantine) as read, progress_bar(quiet) as bar:
        read.ingest.on_progress = bar
        with TableWriter(output.file, traces_schema(options, raw)) as writer:
            if raw:
                for batch in read_batches(paths, inputs.read, read.ingest):
                    writer.write(batch)
            else:
                with run.open() as how:
                    for part in analyze_results(paths, options, read.ingest, how):
                        if part.traces.height:
                            writer.write(part.traces)
    finish(read, quiet)
    if not quiet:
        echo_err(f"wrote {writer.rows:,} traces to {output.path}")
    if read.ingest.stats.file_errors:
        ctx.exit(EXIT_FAILED)
