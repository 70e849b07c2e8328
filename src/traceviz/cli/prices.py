"""`traceviz prices`: the price catalog in force, or one model's price history."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import click
from rich import box
from rich.console import Console
from rich.table import Table

from traceviz import timestamps
from traceviz.escape import one_line, rich_name, rich_text
from traceviz.price import catalog as catalogs
from traceviz.price.catalog import Price
from traceviz.price.in_force import Listing, listing


@click.command()
@click.argument("model", required=False)
@click.option("--at", "at_text", help="Prices in force at this UTC date or time (default: now).")
@click.option(
    "--catalog", type=click.Path(exists=True, dir_okay=False), envvar="TRACEVIZ_CATALOG",
    help="A TOML file of price entries that add to or override the shipped catalog.",
)  # fmt: skip
@click.option("--sources", is_flag=True, help="List each price's source under the table.")
def prices(model: str | None, at_text: str | None, catalog: str | None, sources: bool) -> None:
    """List the prices in force (per million tokens), or one model's whole history.

    \b
      traceviz prices
      traceviz prices deepseek-reasoner
      traceviz prices o3 --at 2025-05-01 --sources
    """
    book = catalogs.load(catalog)  # NOTE: the catalog alone: no polars, no tokenizer
    at = timestamps.parse_at(at_text) if at_text is not None else None
    found = listing(book, datetime.now(UTC), model, at)
    console = Console()
    console.print(_table(found))
    if sources:
        for entry in found.entries:
            flag = " (single source)" if entry.single_source else ""
            note = f" Note: {entry.notes}" if entry.notes else ""
            line = rich_text(entry.id, style="bold")
            line.append_text(rich_text(f"{flag}: {entry.source}{note}"))
            console.print(line, highlight=False)


def _title(found: Listing) -> str:
    if found.model is None:
        return f"Prices in force at {found.at:%Y-%m-%d %H:%M} UTC (USD per 1M tokens)"
    when = f"prices in force at {found.at:%Y-%m-%d %H:%M} UTC" if found.at else "price history"
    return f"{found.model}: {when}"


def _table(found: Listing) -> Table:
    """One row per entry; a history shows from/until, a listing shows each model."""
    history = found.history
    table = Table(
        title=rich_text(_title(found)),
        title_justify="left",
        box=box.SIMPLE,
        pad_edge=False,
        padding=(0, 0),  # the box keeps one space between columns
    )
    first = ("from", "until") if history else ("model", "since")
    names = (*first, "input", "cached", "output", "batch", "window")
    rows_ = [_cells(entry, history) for entry in found.entries]
    for index, name in enumerate(names):
        right = name in ("input", "cached", "output", "batch")
        # every column but the window keeps its whole width (so 80 columns never cut a
        # rate to "0…"); the window wraps between its spans
        widest = max([len(name), *(len(one_line(r[index])) for r in rows_)])
        table.add_column(
            name,
            justify="right" if right else "left",
            no_wrap=name != "window",
            min_width=min(widest, 12) if name == "window" else widest,
        )
    for cells in rows_:
        table.add_row(*[rich_name(c) for c in cells[:2]], *cells[2:])
    return table


def _cells(entry: Price, history: bool) -> list[str]:
    batch_in, batch_out = entry.rate("batch_input"), entry.rate("batch_output")
    batch = f"{_rate(batch_in)}/{_rate(batch_out)}" if batch_in is not None else ""
    name = entry.model + ("" if entry.currency == "USD" else f" ({entry.currency})")
    since = f"{entry.start:%Y-%m-%d}"
    if history:
        cells = [since, f"{entry.until:%Y-%m-%d %H:%M}" if entry.until else ""]
        if entry.currency != "USD":
            cells[0] += f" ({entry.currency})"
    else:
        cells = [name, since]
    rates = (_rate(entry.rate(r)) for r in ("input", "cached_input", "output"))
    return [*cells, *rates, batch, _window(entry)]


def _rate(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def _window(entry: Price) -> str:
    spans = ", ".join(
        f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in entry.daily
    )
    days = " Mon-Fri" if entry.weekdays == (1, 2, 3, 4, 5) else ""
    return spans + days
