"""`traceviz compare`: paired responses of two models, and the fitted reasoning ratio."""

from __future__ import annotations

import dataclasses

import click
from rich import box
from rich.console import Console
from rich.table import Table

from traceviz.cli.analysis import analysis_options
from traceviz.cli.common import echo_err
from traceviz.cli.inputs import InputSettings, finish, input_options, reading
from traceviz.errors import InputError
from traceviz.guard import refuse_overwrite
from traceviz.pipeline import AnalysisOptions, analyze
from traceviz.price import fit
from traceviz.report.aggregate import group_columns, unknown_keys
from traceviz.report.text import rich_name
from traceviz.schema import PROMPT


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
def compare(
    a: str,
    b: str,
    on: str,
    by: tuple[str, ...],
    analysis: AnalysisOptions,
    inputs: InputSettings,
) -> None:
    """Pair A's and B's responses to the same prompts; fit the reasoning-length ratio A/B.

    \b
      traceviz compare r1-logs/ o1-logs/ --on custom_id
      traceviz compare r1.jsonl o1.jsonl --on prompt --by task
    """
    refuse_overwrite([("--quarantine", inputs.quarantine)], (a, b))
    settings = dataclasses.replace(
        analysis, read=inputs.read, keep_text=fit.KEYS[on] == PROMPT, steps=False
    )
    sides = []
    with reading(inputs, "compare.quarantine.jsonl") as read:
        for path in (a, b):
            traces = analyze([path], settings, read.ingest).traces
            for missing in unknown_keys(traces, list(by)):
                echo_err(f"warning: no trace of {path} has {missing!r}; all are (none)")
            sides.append(group_columns(traces, list(by)))
    finish(read)
    pairs = fit.pair(sides[0], sides[1], on, list(by))
    if not pairs.height:
        msg = f"no response of {a} pairs with one of {b} on {on}"
        other = "prompt" if on == "custom_id" else "custom_id"
        hint = f"Check that both logs hold the same prompts, or try --on {other}."
        raise InputError(msg, hint=hint)
    table = Table(
        title=f"Reasoning tokens of A per token of B, paired on {on}",
        title_justify="left",
        box=box.SIMPLE,
    )
    for name in [*by, "pairs", "ratio A/B", "95% interval", "cost B/A"]:
        table.add_column(rich_name(name), justify="left" if name in by else "right")
    fitted = fit.compare(pairs, list(by))
    for group in fitted.groups:
        found = group.fit
        cost = "–" if group.cost_ratio is None else f"{group.cost_ratio:,.2f}x"
        table.add_row(
            *[rich_name(str(k)) for k in group.key],
            f"{found.pairs:,}",
            f"{found.ratio:.3f}",
            f"{found.low:.3f}-{found.high:.3f}",
            cost,
        )
    Console().print(table)
    click.echo(f"--ratio {fitted.overall.ratio:.3f}")
