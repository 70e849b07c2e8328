"""`traceviz ingest`: logs in any shape -> the canonical traces table."""

from __future__ import annotations

from pathlib import Path

import click

from traceviz.cli.common import EXIT_FAILED, echo_err, summary_line
from traceviz.cli.inputs import (
    QuarantineFile,
    input_options,
    input_paths,
    llm_option,
    read_options_from,
)
from traceviz.errors import StrictModeError
from traceviz.load import Ingest, read_batches
from traceviz.outputs import check_output
from traceviz.schema import Quarantined
from traceviz.write import TableWriter


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default="traces.parquet",
    show_default=True,
    help="Where to write the table: .parquet, .jsonl or .csv.",
)
@input_options
@llm_option
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], output: str, **options: object) -> None:
    """Read logs of any shape into the traces table.

    \b
      traceviz ingest logs/ -o traces.parquet
      traceviz ingest responses.jsonl.gz --quarantine bad.jsonl --strict
      cat stream.sse | traceviz ingest - --shape openai-chat-stream -o t.parquet
      traceviz ingest --llm -o llm.parquet
    """
    paths = input_paths(paths, options)
    check_output(output)
    read_options = read_options_from(options)
    strict = bool(options["strict"])
    quarantine_path = options["quarantine"] or f"{Path(output).with_suffix('')}.quarantine.jsonl"
    with QuarantineFile(str(quarantine_path)) as quarantine:

        def on_quarantine(item: Quarantined) -> None:
            if strict:
                msg = f"{item.source}:{item.line}: {item.reason}"
                hint = "Drop --strict to quarantine bad records and go on."
                raise StrictModeError(msg, hint=hint)
            quarantine.write(item)

        run = Ingest(on_quarantine=on_quarantine, on_file_error=lambda e: echo_err(f"Error: {e}"))
        with TableWriter(output) as writer:
            for batch in read_batches(paths, read_options, run):
                writer.write(batch)
    echo_err(summary_line(run.stats))
    echo_err(f"wrote {run.stats.traces:,} traces to {output}")
    if quarantine.count:
        echo_err(f"wrote {quarantine.count:,} quarantined records to {quarantine.path}")
    if run.stats.file_errors:
        ctx.exit(EXIT_FAILED)
