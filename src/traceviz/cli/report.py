"""`traceviz report` and `traceviz audit`: the batch report, and spend rules with exit codes."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click
import orjson
from rich.console import Console

from traceviz import report as reports
from traceviz.cli.analysis import analysis_from, analysis_options, run_from, run_options
from traceviz.cli.common import EXIT_AUDIT, EXIT_FAILED, echo_err, summary_line
from traceviz.cli.inputs import QuarantineFile, input_options, input_paths, llm_option
from traceviz.cli.kinds import kinds_note
from traceviz.load import Ingest
from traceviz.pipeline import Analysis, analyze
from traceviz.report import audit as audit_rules
from traceviz.report import terminal

BY_HELP = "Group by model, provider, format, source, tokenizer, day, week, or a metadata key."


def _run(
    paths: tuple[str, ...], options: dict[str, object], quiet: bool
) -> tuple[Analysis, QuarantineFile]:
    analysis_options_ = analysis_from(options)
    quarantine = QuarantineFile(str(options["quarantine"] or "traceviz.quarantine.jsonl"))
    with quarantine, run_from(options) as how:
        run = Ingest(
            on_quarantine=quarantine.write, on_file_error=lambda e: echo_err(f"Error: {e}")
        )
        if quiet or not sys.stderr.isatty():
            analysis = analyze(paths, analysis_options_, run, how)
        else:
            from rich.progress import Progress, SpinnerColumn, TextColumn

            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                transient=True,
                console=Console(stderr=True),
            ) as bar:
                task = bar.add_task("reading", total=None)
                analysis = analyze(paths, analysis_options_, run, how)
                bar.update(task, description="done")
    if not quiet:
        echo_err(summary_line(run.stats))
        if quarantine.count:
            echo_err(f"wrote {quarantine.count:,} quarantined records to {quarantine.path}")
    return analysis, quarantine


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the report here; the suffix picks the format.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(reports.FORMATS)),
    help="terminal (default), md, html, json, csv or parquet.",
)
@click.option("--by", multiple=True, help=BY_HELP)
@click.option("--quiet", "-q", is_flag=True, help="No summary or progress on stderr.")
@analysis_options
@run_options
@input_options
@llm_option
@click.pass_context
def report(
    ctx: click.Context,
    paths: tuple[str, ...],
    output: str | None,
    fmt: str | None,
    by: tuple[str, ...],
    quiet: bool,
    **options: object,
) -> None:
    """The batch report: records, tokens, money, what-ifs, reasoning behaviour, outliers.

    \b
      traceviz report samples/
      traceviz report logs/ --by model --vs o1 -o report.html
      traceviz report logs/ --by day --format json > report.json
      traceviz report --llm --by model
    """
    paths = input_paths(paths, options)
    fmt = (
        fmt or (reports.SUFFIXES.get(Path(output).suffix.lower()) if output else None) or "terminal"
    )
    if fmt == "parquet" and not output and sys.stdout.isatty():
        msg = "Parquet is not for a terminal."
        raise click.UsageError(msg + " Give -o FILE.parquet or redirect stdout.")
    analysis, _ = _run(paths, options, quiet)
    built = reports.build(
        analysis.traces,
        analysis.steps,
        analysis.stats,
        list(by),
        kinds_note(options["kinds_model"]),
    )
    if fmt == "terminal" and not output:
        Console(highlight=False).print(terminal.renderable(built))
    else:
        content = reports.FORMATS[fmt](built)
        data = content.encode() if isinstance(content, str) else content
        if output:
            Path(output).write_bytes(data)
            if not quiet:
                echo_err(f"wrote the {fmt} report to {output}")
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    if analysis.stats.file_errors:
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
    type=click.FloatRange(min=0),
    help="Fail if a response costs more (USD).",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0),
    help="Fail if a group's total spend exceeds this (USD).",
)
@click.option(
    "--max-looping-share",
    type=click.FloatRange(0, 1),
    help="Fail if more of a group's traces loop.",
)
@click.option(
    "--max-quarantined-share",
    type=click.FloatRange(0, 1),
    help="Fail if more records are quarantined.",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Rules from a TOML file.",
)
@click.option("--by", multiple=True, help=BY_HELP)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    help="Write the violations as JSON here.",
)
@analysis_options
@run_options
@input_options
@llm_option
@click.pass_context
def audit(
    ctx: click.Context,
    paths: tuple[str, ...],
    rules_file: str | None,
    by: tuple[str, ...],
    json_path: str | None,
    **options: object,
) -> None:
    """Check spend and behaviour rules; exit 3 when one fails.

    \b
      traceviz audit logs/ --budget 25 --by day
      traceviz audit logs/ --max-cost-per-response 0.50 --max-looping-share 0.05
      traceviz audit logs/ --rules spend.toml --json violations.json
    """
    paths = input_paths(paths, options)
    rules = audit_rules.load_rules(rules_file) if rules_file else {}
    for name in audit_rules.RULES:
        if options.get(name) is not None:
            rules[name] = float(options.pop(name))  # type: ignore[arg-type]
        options.pop(name, None)
    if not rules:
        msg = "No rules given."
        raise click.UsageError(msg + " Use --budget, --max-cost-per-response, ... or --rules FILE.")
    analysis, _ = _run(paths, options, quiet=False)
    stats = analysis.stats
    found = audit_rules.evaluate(analysis.traces, rules, list(by), stats.quarantined, stats.read)
    if json_path:
        document = [dataclasses.asdict(v) for v in found]
        Path(json_path).write_bytes(
            orjson.dumps({"rules": rules, "violations": document}, option=orjson.OPT_INDENT_2)
        )
    for v in found:
        worst = f"  worst: {', '.join(v.worst)}" if v.worst else ""
        click.echo(f"FAIL {v.rule} [{v.group}]: {v.value} > {v.limit}{worst}")
    if found:
        ctx.exit(EXIT_AUDIT)
    click.echo(f"ok: {len(rules)} rule{' holds' if len(rules) == 1 else 's hold'}")
    if stats.file_errors:
        ctx.exit(EXIT_FAILED)
