"""Reports: the batch report's figures (`build`) and one renderer per format (`FORMATS`).

`collect` builds the report's figures one result of a run at a time (`finish` makes
the `Report`), so the traces table is never held. Every format renders the same
`Report`: terminal (rich), Markdown, a self-contained HTML page with charts, and machine
formats (JSON, CSV, Parquet) with raw numbers.
"""

from __future__ import annotations

from traceviz.report import html, json, markdown, table, terminal
from traceviz.report.aggregate import Partial, Report, build, collect, finish
from traceviz.report.interface import Renderer

FORMATS: dict[str, Renderer] = {
    "terminal": terminal.render,
    "md": markdown.render,
    "html": html.render,
    "json": json.render,
    "csv": table.render_csv,
    "parquet": table.render_parquet,
}
SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json",
            ".csv": "csv", ".parquet": "parquet", ".txt": "terminal"}  # fmt: skip

__all__ = ["FORMATS", "SUFFIXES", "Partial", "Report", "build", "collect", "finish"]
