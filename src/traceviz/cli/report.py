"""`traceviz report` and `traceviz audit`: the batch report, and spend rules with exit codes.

Both parse their flags, run the pipeline one result at a time (`collect_run`: the
traces table is never held) and hand what they reduced to the library: `report.finish`
and a renderer, or the audit partial's `check`; what comes back is printed or written
as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import TypeVar

import click
from rich.console import Console

from traceviz import report as reports
from traceviz.cli.analysis import RunSettings, analysis_options, run_options
from traceviz.cli.common import EXIT_AUDIT, EXIT_FAILED, FiniteRange, by_keys, echo_err
from traceviz.cli.inputs import InputSettings, finish, input_options, input_paths, reading
from traceviz.cli.outputs import OutputSettings, OutputSpec, output_options
from traceviz.cli.progress import progress_bar
from traceviz.errors import InputError
from traceviz.guard import refuse_overwrite
from traceviz.outputs import check_output, write_bytes
from traceviz.pipeline import AnalysisOptions, ShardResult, analyze_results
from traceviz.price import overthinking
from traceviz.report import audit as audit_rules
from traceviz.report import terminal
from traceviz.schema import IngestStats

T = TypeVar("T")  # what a command reduces the results to

BY_HELP = "Group by model, provider, format, source, tokenizer, day, week, or a metadata key."
QUARANTINE = "traceviz.quarantine.jsonl"
TERMINAL = "terminal"
REPORT = OutputSpec(
    suffixes=reports.SUFFIXES,
    output_help="Write the report here; the suffix picks the format.",
    formats=tuple(sorted(reports.FORMATS)),
    format_help="terminal (default), md, html, json, csv or parquet.",
    default_format=TERMINAL,
)


def collect_run(
    paths: tuple[str, ...],
    inputs: InputSettings,
    analysis: AnalysisOptions,
    run: RunSettings,
    quiet: bool,
    reduce: Callable[[Iterator[ShardResult]], T],
) -> tuple[T, IngestStats]:
    """The whole pipeline over PATHS reduced one priced result at a time (`reduce`: the
    report's or the audit's partial; the traces table is never held), and the ingest
    totals; exit 1 when nothing could be read at all."""
    options = dataclasses.replace(analysis, read=inputs.read)
    with reading(inputs, QUARANTINE) as read, run.open() as how, progress_bar(quiet) as bar:
        read.ingest.on_progress = bar
        reduced = reduce(analyze_results(paths, options, read.ingest, how))
    finish(read, quiet)
    _check_read(read.ingest.stats)
    return reduced, read.ingest.stats


def _check_read(stats: IngestStats) -> None:
    if not stats.traces and stats.file_errors:
        msg = f"nothing was read: {len(stats.file_errors):,} input(s) could not be opened"
        raise InputError(msg, hint="Check the paths above.")


@click.command()
@click.argument("paths", nargs=-1)
@output_options(REPORT)
@click.option("--by", multiple=True, callback=by_keys, help=BY_HELP)
@click.option(
    "--cap",
    "cap_text",
    metavar="N|pNN",
    help="Estimate what a cap of N reasoning tokens (or the pNN of the traces) would save.",
)
@click.option("--full", is_flag=True, help="Every group and whole ids (default: top groups).")
@click.option("--quiet", "-q", is_flag=True, help="No summary or progress on stderr.")
@analysis_options
@run_options
@input_options
@click.pass_context
def report(
    ctx: click.Context,
    paths: tuple[str, ...],
    output: OutputSettings,
    by: tuple[str, ...],
    cap_text: str | None,
    full: bool,
    quiet: bool,
    analysis: AnalysisOptions,
    run: RunSettings,
    inputs: InputSettings,
) -> None:
    """The batch report: records, tokens, money, what-ifs, reasoning behaviour, outliers.

    \b
      traceviz report samples/
      traceviz report logs/ --by model --vs o1 --cap p90 -o report.html
      traceviz report logs/ --by day --format json > report.json
      traceviz report --llm --by model --full
    """
    paths = input_paths(paths, inputs)
    refuse_overwrite([("-o", output.path), ("--quarantine", inputs.quarantine)], paths, QUARANTINE)
    cap = overthinking.parse_cap(cap_text) if cap_text else None
    output.check()
    partial, stats = collect_run(
        paths, inputs, analysis, run, quiet, lambda results: reports.collect(results, list(by), cap)
    )
    for key in partial.unknown_keys():
        echo_err(f"warning: no trace has {key!r} (as a column or a metadata key); all are (none)")
    note = analysis.kinds_model.note if analysis.kinds_model else None
    built = reports.finish(partial, stats, note, cap=cap, full=full)
    fmt = output.format or TERMINAL
    if fmt == TERMINAL and output.path is None:
        console = Console(highlight=False)
        if console.is_terminal:
            console.print(terminal.renderable(built, console.width))
        else:  # a pipe or a file: plain lines, no trailing blanks
            click.echo(terminal.render(built, console.width), nl=False)
    else:
        content = reports.FORMATS[fmt](built)
        output.write(content.encode() if isinstance(content, str) else content)
        if output.path is not None and not quiet:
            echo_err(f"wrote the {fmt} report to {output.path}")
    if stats.file_errors:
        ctx.exit(EXIT_FAILED)


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--max-reasoning-tokens",
    type=click.IntRange(min=0),
    help="Fail if a trace's reasoning exceeds this.",
)
@click.option(
    "--max-cost-per-response",
    type=FiniteRange(min=0),
    help="Fail if a response costs more (USD).",
)
@click.option(
    "--budget",
    type=FiniteRange(min=0),
    help="Fail if a group's total spend exceeds this (USD).",
)
@click.option(
    "--max-looping-share",
    type=FiniteRange(0, 1),
    help="Fail if more of a group's traces loop.",
)
@click.option(
    "--max-overthinking-share",
    type=FiniteRange(0, 1),
    help="Fail if more of a group's reasoning spend comes after the first answer (a proxy).",
)
@click.option(
    "--max-quarantined-share",
    type=FiniteRange(0, 1),
    help="Fail if more records are quarantined.",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Rules from a TOML file (flags given override it).",
)
@click.option("--by", multiple=True, callback=by_keys, help=BY_HELP)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    help="Write the outcome of every rule as JSON here.",
)
@analysis_options
@run_options
@input_options
@click.pass_context
def audit(
    ctx: click.Context,
    paths: tuple[str, ...],
    max_reasoning_tokens: int | None,
    max_cost_per_response: float | None,
    budget: float | None,
    max_looping_share: float | None,
    max_overthinking_share: float | None,
    max_quarantined_share: float | None,
    rules_file: str | None,
    by: tuple[str, ...],
    json_path: str | None,
    analysis: AnalysisOptions,
    run: RunSettings,
    inputs: InputSettings,
) -> None:
    """Check spend and behaviour rules; exit 3 when one fails, 1 when none could be checked.

    \b
      traceviz audit logs/ --budget 25 --by day
      traceviz audit logs/ --max-cost-per-response 0.50 --max-looping-share 0.05
      traceviz audit logs/ --rules spend.toml --json violations.json
    """
    paths = input_paths(paths, inputs)
    refuse_overwrite(
        [("--json", json_path), ("--quarantine", inputs.quarantine)], paths, QUARANTINE
    )
    flags = {
        "max_reasoning_tokens": max_reasoning_tokens,
        "max_cost_per_response": max_cost_per_response,
        "budget": budget,
        "max_looping_share": max_looping_share,
        "max_overthinking_share": max_overthinking_share,
        "max_quarantined_share": max_quarantined_share,
    }
    rules = audit_rules.Rules.assemble(flags, rules_file)
    if not rules:
        msg = "No rules given."
        raise click.UsageError(msg + " Use --budget, --max-cost-per-response, ... or --rules FILE.")
    if json_path:
        check_output(json_path)
    partial, stats = collect_run(
        paths, inputs, analysis, run, False, lambda results: audit_rules.collect(results, list(by))
    )
    for key in partial.unknown_keys():
        echo_err(f"warning: no trace has {key!r} (as a column or a metadata key); all are (none)")
    outcome = partial.check(rules.limits, stats.quarantined, stats.read)
    if json_path:
        write_bytes(json_path, outcome.json())
    for line in outcome.lines():
        click.echo(line)
    if outcome.violations:
        ctx.exit(EXIT_AUDIT)
    if not outcome.traces:
        raise audit_rules.nothing_checked(stats.read, stats.traces)
    if outcome.not_evaluated:
        ctx.exit(EXIT_FAILED)
    click.echo(outcome.summary())
    if stats.file_errors:
        ctx.exit(EXIT_FAILED)
