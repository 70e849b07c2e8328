"""The report as rich tables for an 80-column terminal."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from traceviz.report.aggregate import Report
from traceviz.report.sections import sections
from traceviz.report.text import rich_text, visible


def renderable(report: Report) -> Group:
    parts: list[Text | Table] = []
    for section in sections(report):
        if not section.header:
            parts.append(rich_text(section.title, style="bold"))
        else:
            table = Table(
                title=rich_text(section.title),
                title_justify="left",
                title_style="bold",
                box=box.SIMPLE_HEAD,
                pad_edge=False,
            )
            for index, name in enumerate(section.header):
                table.add_column(
                    rich_text(name),
                    justify="right" if index >= section.numeric_from else "left",
                    overflow="fold",
                )
            for row in section.rows:
                table.add_row(*[Text(visible(c)) for c in row])
            parts.append(table)
        parts.extend(Text("  " + visible(note), style="dim") for note in section.notes)
        parts.append(Text(""))
    return Group(*parts)


def render(report: Report) -> str:
    """Plain text of the terminal report, 80 columns wide, for writing to a file."""
    console = Console(width=80, record=True, file=io.StringIO(), force_terminal=False)
    console.print(renderable(report))
    return console.export_text()
