"""Reports: the batch report's figures (`build`) and one renderer per format (`FORMATS`).

`collect` builds the report's figures one result of a run at a time (`finish` makes
the `Report`), so the traces table is never held. Every format renders the same
`Report`: terminal (rich), Markdown, a self-contained HTML page with charts, and machine
formats (JSON, CSV, Parquet) with raw numbers.

NOTE: nothing is imported with the package: a name is imported on first use (PEP 562
`__getattr__`), a renderer when `FORMATS` is asked for it, and a submodule
(`report.markdown`) when first named. `traceviz report` to the terminal imports no HTML,
SVG or JSON renderer, and `traceviz count` (its token tables live here) not the report's
figures. Type checkers read the imports below.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING

from traceviz.lazy_names import lazy_names

if TYPE_CHECKING:
    from traceviz.report.aggregate import Partial, Report, build, collect, finish
    from traceviz.report.interface import Renderer

# Each public name and the module it comes from.
_EXPORTS = {
    "Partial": "traceviz.report.aggregate",
    "Report": "traceviz.report.aggregate",
    "build": "traceviz.report.aggregate",
    "collect": "traceviz.report.aggregate",
    "finish": "traceviz.report.aggregate",
}


class Renderers(Mapping[str, "Renderer"]):
    """Each format's renderer by name, its module imported the first time it is asked for."""

    def __init__(self, targets: dict[str, str]) -> None:
        self._targets = targets  # name -> "module:function"
        self._loaded: dict[str, Renderer] = {}

    def __getitem__(self, name: str) -> Renderer:
        found = self._loaded.get(name)
        if found is None:
            module, _, function = self._targets[name].partition(":")
            found = self._loaded[name] = getattr(import_module(module), function)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)


FORMATS: Mapping[str, Renderer] = Renderers(
    {
        "terminal": "traceviz.report.terminal:render",
        "md": "traceviz.report.markdown:render",
        "html": "traceviz.report.html:render",
        "json": "traceviz.report.json:render",
        "csv": "traceviz.report.table:render_csv",
        "parquet": "traceviz.report.table:render_parquet",
    }
)
SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json",
            ".csv": "csv", ".parquet": "parquet", ".txt": "terminal"}  # fmt: skip

__all__ = ["FORMATS", "SUFFIXES", "Partial", "Report", "build", "collect", "finish"]


__getattr__ = lazy_names(__name__, _EXPORTS)
