"""`traceviz count`: token summaries of logs, or the token count of plain text."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from traceviz import tokens
from traceviz.cli.analysis import RunSettings, run_options
from traceviz.cli.common import EXIT_FAILED, by_keys
from traceviz.cli.inputs import InputSettings, finish, input_options, input_paths, reading
from traceviz.cli.progress import progress_bar
from traceviz.guard import refuse_overwrite
from traceviz.pipeline import AnalysisOptions, analyze
from traceviz.report import token_tables
from traceviz.schema import FORMAT, MODEL, PROVIDER, SOURCE, TOKENIZER

COUNT_QUARANTINE = "count.quarantine.jsonl"

GROUP_KEYS = (MODEL, PROVIDER, FORMAT, SOURCE, TOKENIZER)


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--tokenizer",
    type=click.Choice(tokens.TOKENIZERS),
    default=None,
    help="Count every trace with this tokenizer (default: each model's own).",
)
@click.option(
    "--by",
    type=click.Choice(GROUP_KEYS),
    multiple=True,
    callback=by_keys,
    help="Group by this column.",
)
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
    refuse_overwrite([("--quarantine", inputs.quarantine)], paths, COUNT_QUARANTINE)
    # token counts only: no steps, and no price stage (count shows no money); no steps to
    # keep, so results are kept in the cache (--no-cache, --cache-dir) as report's are
    options = AnalysisOptions(
        read=inputs.read, tokenizer=tokenizer, steps=False, keep_steps=False, prices=False
    )
    with (
        reading(inputs, COUNT_QUARANTINE) as read,
        run.open() as how,
        progress_bar(quiet) as bar,
    ):
        read.ingest.on_progress = bar
        analysis = analyze(paths, options, read.ingest, how)
    finish(read, quiet)
    if analysis.traces.height:
        console = Console()
        for table in token_tables.tables(analysis.traces, list(by)):
            console.print(table)
    if analysis.stats.file_errors:
        ctx.exit(EXIT_FAILED)
