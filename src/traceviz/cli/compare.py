"""`traceviz compare`: paired responses of two models, and the fitted reasoning ratio."""

from __future__ import annotations

import dataclasses

import click
from rich import box
from rich.console import Console
from rich.table import Table

from traceviz.cli.analysis import analysis_from, analysis_options
from traceviz.cli.common import echo_err, summary_line
from traceviz.cli.inputs import input_options
from traceviz.errors import InputError
from traceviz.load import Ingest
from traceviz.pipeline import analyze
from traceviz.price import fit
from traceviz.report.text import rich_name


@click.command()
@click.argument("a")
@click.argument("b")
@click.option(
    "--on",
    type=click.Choice(sorted(fit.KEYS)),
    default="custom_id",
    show_default=True,
    help="How responses pair up.",
)
@click.option(
    "--by", multiple=True, help="Fit one ratio per group (model, format, a metadata key…)."
)
@analysis_options
@input_options
def compare(a: str, b: str, on: str, by: tuple[str, ...], **options: object) -> None:
    """Pair A's and B's responses to the same prompts; fit the reasoning-length ratio A/B.

    \b
      traceviz compare r1-logs/ o1-logs/ --on custom_id
      traceviz compare r1.jsonl o1.jsonl --on prompt --by task
    """
    settings = analysis_from(options)
    settings = dataclasses.replace(settings, keep_text=on == "prompt", steps=False)
    sides = []
    for path in (a, b):
        run = Ingest(on_file_error=lambda e: echo_err(f"Error: {e}"))
        sides.append(analyze([path], settings, run).traces)
        echo_err(f"{path}: {summary_line(run.stats)}")
    pairs = fit.pair(sides[0], sides[1], on, list(by))
    if not pairs.height:
        msg = f"no response of {a} pairs with one of {b} on {on}"
        raise InputError(
            msg, hint="Check that both logs hold the same prompts, or try --on prompt."
        )
    table = Table(
        title=f"Reasoning tokens of A per token of B, paired on {on}",
        title_justify="left",
        box=box.SIMPLE,
    )
    for name in [*by, "pairs", "ratio A/B", "95% interval", "cost B/A"]:
        table.add_column(rich_name(name), justify="left" if name in by else "right")
    fits = fit.fit_groups(pairs, list(by))
    for key, found, cost_ratio in fits:
        cost = "–" if cost_ratio is None else f"{cost_ratio:,.2f}x"
        table.add_row(
            *[rich_name(str(k)) for k in key],
            f"{found.pairs:,}",
            f"{found.ratio:.3f}",
            f"{found.low:.3f}-{found.high:.3f}",
            cost,
        )
    Console().print(table)
    overall = fit.fit_ratio(pairs["reasoning_a"].to_numpy(), pairs["reasoning_b"].to_numpy())
    click.echo(f"--ratio {overall.ratio:.3f}")
