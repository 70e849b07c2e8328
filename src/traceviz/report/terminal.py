"""The report as rich text for an 80-column terminal: the headline, then compact tables.

Tables show the top groups by spend (`--full`: all). Names and ids are never wrapped
mid-word: the text columns share the width the numbers leave, and a name longer than
its share is shortened with an ellipsis in the middle (whole with `--full`, and always
in the JSON).
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from traceviz.escape import one_line, rich_text, shorten, visible
from traceviz.report import headline
from traceviz.report.aggregate import Report
from traceviz.report.sections import TOP, Section, sections

WIDTH = 80
MIN_TEXT = 8  # no text column is cut below this many characters
FULL_WIDTH = 160  # a --full report written to a file or pipe: room for whole ids
KEEP = 16  # a text column this narrow is never cut (tags, short names)


def fit(natural: list[int], budget: int) -> list[int]:
    """Widths for text columns sharing `budget` characters: a column that fits in an
    equal share keeps its width, the rest split what is left (water-filling).

    >>> fit([5, 30, 30], 45), fit([5, 30, 18], 45)
    ([5, 20, 20], [5, 22, 18])
    """
    widths = list(natural)
    left = budget - sum(n for n in natural if n <= KEEP)
    open_ = [i for i, n in enumerate(natural) if n > KEEP]
    while open_:
        each = left // len(open_)
        small = [i for i in open_ if natural[i] <= each]
        if not small:
            for i in open_:
                widths[i] = max(MIN_TEXT, each)
            break
        for i in small:
            left -= natural[i]
            open_.remove(i)
    return widths


def _cells(section: Section, width: int, full: bool) -> list[list[str]]:
    """The section's rows with control characters made visible and long names shortened."""
    rows = [[one_line(c) for c in row] for row in section.rows]
    if full or not rows:
        return rows
    columns = len(section.header)
    natural = [max(len(section.header[i]), *(len(r[i]) for r in rows)) for i in range(columns)]
    text = list(range(section.numeric_from))
    numbers = sum(natural[i] for i in range(section.numeric_from, columns))
    budget = width - numbers - (columns - 1)  # one space between columns
    widths = fit([natural[i] for i in text], budget)
    return [
        [shorten(c, widths[i]) if i < len(widths) else c for i, c in enumerate(r)] for r in rows
    ]


def _table(section: Section, width: int, full: bool) -> Table:
    table = Table(
        title=rich_text(section.title),
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0),  # the box puts one space between columns
    )
    for index, name in enumerate(section.header):
        table.add_column(
            rich_text(name),
            justify="right" if index >= section.numeric_from else "left",
            no_wrap=not full,
            overflow="fold" if full else "ellipsis",
        )
    for row in _cells(section, width, full):
        table.add_row(*[Text(c) for c in row])
    return table


def renderable(report: Report, width: int = WIDTH) -> Group:
    """The whole report: headline first, then each section, sized to `width` columns."""
    parts: list[Text | Table | Padding] = [Text("At a glance", style="bold")]
    for item in headline.items(report, width=28):
        line = Text()
        line.append(f"{visible(item.label)}: ", style="bold")
        line.append(visible(item.value))
        if item.detail:
            line.append(f" {visible(item.detail)}")
        parts.append(Padding(line, (0, 0, 0, 2), expand=False))
    parts.append(Text(""))
    for section in sections(report, TOP):
        if not section.header:
            parts.append(rich_text(section.title, style="bold"))
        else:
            parts.append(_table(section, width, report.full))
        if section.more:
            parts.append(Padding(Text(section.more, style="italic"), (0, 0, 0, 2), expand=False))
        parts.extend(
            Padding(Text(visible(note), style="dim"), (0, 0, 0, 2), expand=False)
            for note in section.notes
        )
        parts.append(Text(""))
    return Group(*parts)


def render(report: Report, width: int = WIDTH) -> str:
    """Plain text of the terminal report, 80 columns wide, for a file or a pipe; with
    `--full` as wide as whole names need (a file can scroll sideways)."""
    if report.full:
        width = max(width, FULL_WIDTH)
    console = Console(width=width, record=True, file=io.StringIO(), force_terminal=False)
    console.print(renderable(report, width))
    return "".join(line.rstrip() + "\n" for line in console.export_text().splitlines())
