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

from typing import TYPE_CHECKING

from traceviz._version import __version__
from traceviz.lazy_names import lazy_names

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


__getattr__ = lazy_names(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted(__all__)
