"""`traceviz prices`: the price catalog in force, or one model's price history."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import click
from rich import box
from rich.console import Console
from rich.table import Table

from traceviz import price
from traceviz.errors import ConfigError
from traceviz.price.catalog import Price
from traceviz.report.text import rich_name, rich_text


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
    book = price.load(catalog)
    at = price.parse_at(at_text) if at_text is not None else None
    if model:
        key = book.key(model)
        if key is None:
            msg = f"no price for model {model!r}"
            raise ConfigError(msg, hint="Run `traceviz prices` to list the models in the catalog.")
        rows = [
            p
            for p in book.prices
            if p.model == key and (at is None or p.in_force(at) or _plain_at(p, at))
        ]
        title = f"{key}: " + (
            f"prices in force at {at:%Y-%m-%d %H:%M} UTC" if at else "price history"
        )
    else:
        when = at or datetime.now(UTC)
        rows = [p for p in book.prices if _plain_at(p, when) or (p.daily and _span_at(p, when))]
        title = f"Prices in force at {when:%Y-%m-%d %H:%M} UTC (USD per 1M tokens)"
    rows.sort(key=lambda p: (p.model, p.start, bool(p.daily)))
    console = Console()
    console.print(_table(rows, title, history=bool(model)))
    if sources:
        for entry in rows:
            flag = " (single source)" if entry.single_source else ""
            note = f" Note: {entry.notes}" if entry.notes else ""
            line = rich_text(entry.id, style="bold")
            line.append_text(rich_text(f"{flag}: {entry.source}{note}"))
            console.print(line, highlight=False)


def _span_at(entry: Price, at: datetime) -> bool:
    return entry.start <= at and (entry.until is None or at < entry.until)


def _plain_at(entry: Price, at: datetime) -> bool:
    return not entry.daily and not entry.weekdays and _span_at(entry, at)


def _table(rows: list[Price], title: str, history: bool) -> Table:
    """One row per entry; a history shows from/until, a listing shows each model."""
    table = Table(
        title=rich_text(title),
        title_justify="left",
        box=box.SIMPLE,
        pad_edge=False,
        collapse_padding=True,
    )
    first = ("from", "until") if history else ("model", "since")
    for name in (*first, "input", "cached", "output", "batch", "window"):
        right = name in ("input", "cached", "output", "batch")
        width = 20 if name == "model" else None
        table.add_column(name, justify="right" if right else "left", no_wrap=True, max_width=width)
    for entry in rows:
        batch_in, batch_out = entry.rate("batch_input"), entry.rate("batch_output")
        batch = f"{_rate(batch_in)}/{_rate(batch_out)}" if batch_in is not None else ""
        name = entry.model + ("" if entry.currency == "USD" else f" ({entry.currency})")
        since = f"{entry.start:%Y-%m-%d}"
        if history:
            cells = [since, f"{entry.until:%Y-%m-%d %H:%M}" if entry.until else ""]
        else:
            cells = [name, since]
        if history and entry.currency != "USD":
            cells[0] += f" ({entry.currency})"
        table.add_row(
            *[rich_name(c) for c in cells],
            _rate(entry.rate("input")),
            _rate(entry.rate("cached_input")),
            _rate(entry.rate("output")),
            batch,
            _window(entry),
        )
    return table


def _rate(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def _window(entry: Price) -> str:
    spans = ", ".join(
        f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in entry.daily
    )
    days = " Mon-Fri" if entry.weekdays == (1, 2, 3, 4, 5) else ""
    return spans + days
