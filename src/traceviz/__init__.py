"""traceviz: what reasoning models think and what that thinking costs, from your own logs.

The library does all the command line does; the main entry points:

- `analyze(paths, AnalysisOptions(...))`: the whole pipeline (ingest, tokens, steps,
  prices, what-ifs): the per-response traces table, the steps table if asked for, and
  the ingest totals;
- `read(paths)`: the canonical traces table of the logs under `paths`;
- `read_batches(paths)`: the same table as a stream of frames, in bounded memory.

`paths` is a path (a string or `Path`: a file or a folder) or a list of them.

NOTE: the names are imported on first use (PEP 562 `__getattr__`), not with the
package: `import traceviz` and `traceviz --help` stay fast, and a command imports
polars, numpy or scikit-learn only when it needs them. `from traceviz import analyze`
and `traceviz.analyze` work as ever; type checkers read the imports below.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from traceviz._version import __version__

if TYPE_CHECKING:
    from traceviz.errors import TracevizError
    from traceviz.load import Ingest, ReadOptions, read, read_batches
    from traceviz.pipeline import Analysis, AnalysisOptions, RunOptions, analyze
    from traceviz.schema import IngestStats, Quarantined, Trace

# Each public name and the module it comes from.
_EXPORTS = {
    "Analysis": "traceviz.pipeline",
    "AnalysisOptions": "traceviz.pipeline",
    "Ingest": "traceviz.load",
    "IngestStats": "traceviz.schema",
    "Quarantined": "traceviz.schema",
    "ReadOptions": "traceviz.load",
    "RunOptions": "traceviz.pipeline",
    "Trace": "traceviz.schema",
    "TracevizError": "traceviz.errors",
    "analyze": "traceviz.pipeline",
    "read": "traceviz.load",
    "read_batches": "traceviz.load",
}

__all__ = [
    "Analysis",
    "AnalysisOptions",
    "Ingest",
    "IngestStats",
    "Quarantined",
    "ReadOptions",
    "RunOptions",
    "Trace",
    "TracevizError",
    "__version__",
    "analyze",
    "read",
    "read_batches",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for; or a
    submodule (`traceviz.pipeline` after a bare `import traceviz`, as when the package
    imported its modules eagerly)."""
    module = _EXPORTS.get(name)
    if module is None:
        if name.startswith("_") or find_spec(f"{__name__}.{name}") is None:
            msg = f"module {__name__!r} has no attribute {name!r}"
            raise AttributeError(msg)
        return import_module(f"{__name__}.{name}")  # the import sets it as an attribute
    value = getattr(import_module(module), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
