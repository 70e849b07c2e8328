"""`traceviz compare`: paired responses of two models, and the fitted reasoning ratio."""

from __future__ import annotations

import dataclasses

import click
import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

from traceviz.cli.analysis import RunSettings, analysis_options, run_options
from traceviz.cli.common import by_keys, echo_err
from traceviz.cli.inputs import InputSettings, finish, input_options, reading
from traceviz.errors import InputError
from traceviz.escape import rich_name
from traceviz.guard import refuse_overwrite
from traceviz.load import Ingest
from traceviz.pipeline import AnalysisOptions, RunOptions, analyze_results
from traceviz.price import fit
from traceviz.report.aggregate import group_columns
from traceviz.report.groups import column, columns, metadata_keys
from traceviz.schema import PROMPT
from traceviz.wording import count_of

COMPARE_QUARANTINE = "compare.quarantine.jsonl"

MERGE_EVERY = 16  # results reduced before their sums are merged
# NOTE: a bootstrap over fewer pairs has too few distinct resamples to give an interval
# (over one pair every draw is that pair: a 95% interval of zero width)
MIN_INTERVAL_PAIRS = 5


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
    "--by",
    multiple=True,
    callback=by_keys,
    help="Fit one ratio per group (model, format, a metadata key…).",
)
@analysis_options
@run_options
@input_options
def compare(
    a: str,
    b: str,
    on: str,
    by: tuple[str, ...],
    analysis: AnalysisOptions,
    run: RunSettings,
    inputs: InputSettings,
) -> None:
    """Pair A's and B's responses to the same prompts; fit the reasoning-length ratio A/B.

    \b
      traceviz compare r1-logs/ o1-logs/ --on custom_id
      traceviz compare r1.jsonl o1.jsonl --on prompt --by task
    """
    refuse_overwrite([("--quarantine", inputs.quarantine)], (a, b), COMPARE_QUARANTINE)
    settings = dataclasses.replace(
        analysis,
        read=inputs.read,
        keep_text=fit.KEYS[on] == PROMPT,
        steps=False,
        keep_steps=False,
    )
    sides = []
    with reading(inputs, COMPARE_QUARANTINE) as read, run.open() as options:
        for path in (a, b):
            sums, missing = _side(path, settings, read.ingest, options, on, list(by))
            for key in missing:
                echo_err(f"warning: no trace of {path} has {key!r}; all are (none)")
            sides.append(sums)
    finish(read)
    pairs = fit.pair_sides(sides[0], sides[1], on, columns(by))
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
    fitted = fit.compare(pairs, columns(by))
    for group in fitted.groups:
        found = group.fit
        cost = "–" if group.cost_ratio is None else f"{group.cost_ratio:,.2f}x"
        table.add_row(
            *[rich_name(str(k)) for k in group.key],
            f"{found.pairs:,}",
            f"{found.ratio:.3f}",
            _interval(found),
            cost,
        )
    Console().print(table)
    for note in _notes(fitted, sides[0], sides[1], pairs):
        echo_err(note)
    click.echo(f"--ratio {fitted.overall.ratio:.3f}")


def _interval(found: fit.Fit) -> str:
    """`1.900-2.100`, or `–` over fewer pairs than a bootstrap can give an interval from."""
    if found.pairs < MIN_INTERVAL_PAIRS:
        return "–"
    return f"{found.low:.3f}-{found.high:.3f}"


def _notes(
    fitted: fit.Comparison, a: pl.DataFrame | None, b: pl.DataFrame | None, pairs: pl.DataFrame
) -> list[str]:
    """What the fit stands on: intervals not given, responses left unpaired on each side,
    and prompt keys whose responses were averaged over several samples."""
    notes = []
    few = [g for g in fitted.groups if g.fit.pairs < MIN_INTERVAL_PAIRS]
    if few:
        fewest = min(g.fit.pairs for g in few)
        notes.append(
            f"note: no 95% interval for {count_of(len(few), 'fit')} of fewer than"
            f" {MIN_INTERVAL_PAIRS} pairs (fewest: {fewest:,}): a bootstrap over so few"
            " pairs cannot show their spread; the ratio is a point estimate"
        )
    for side, sums in (("A", a), ("B", b)):
        responses = int(sums[fit.SUMS[3]].sum()) if sums is not None else 0
        paired = int(pairs[f"samples_{side.lower()}"].sum())
        averaged = pairs.filter(pl.col(f"samples_{side.lower()}") > 1).height
        if responses > paired:
            notes.append(
                f"note: {responses - paired:,} of {responses:,} {side} responses with"
                " reasoning have no partner on the other side and are left out"
            )
        if averaged:
            notes.append(
                f"note: {count_of(averaged, 'prompt key')} of {side} with several responses:"
                " each averaged into one pair"
            )
    return notes


def _side(
    path: str,
    settings: AnalysisOptions,
    ingest: Ingest,
    run: RunOptions,
    on: str,
    by: list[str],
) -> tuple[pl.DataFrame | None, list[str]]:
    """One side's sums per prompt key (`fit.side_sums`), one result at a time (its traces
    table is never held), and the metadata `--by` keys no trace of it has."""
    held: list[pl.DataFrame] = []
    seen: dict[str, bool] = {}
    for result in analyze_results([path], settings, ingest, run):
        if not result.traces.height:
            continue
        keyed = group_columns(result.traces, by)
        for key in metadata_keys(result.traces.columns, by):
            seen[key] = seen.get(key, False) or keyed[column(key)].null_count() < keyed.height
        held.append(fit.side_sums(keyed, on, columns(by)))
        if len(held) > MERGE_EVERY:
            merged = fit.merge_sides(held, on, columns(by))
            held = [merged] if merged is not None else []
    return fit.merge_sides(held, on, columns(by)), [k for k, found in seen.items() if not found]
