"""traceviz: what reasoning models think and what that thinking costs, from your own logs.

The library does all the command line does; the main entry points:

- `analyze(paths, AnalysisOptions(...))`: the whole pipeline (ingest, tokens, steps,
  prices, what-ifs): the per-response traces table, the steps table if asked for, and
  the ingest totals;
- `read(paths)`: the canonical traces table of the logs under `paths`;
- `read_batches(paths)`: the same table as a stream of frames, in bounded memory.

`paths` is a path (a string or `Path`: a file or a folder) or a list of them.
"""

from traceviz._version import __version__
from traceviz.errors import TracevizError
from traceviz.load import Ingest, ReadOptions, read, read_batches
from traceviz.pipeline import Analysis, AnalysisOptions, RunOptions, analyze
from traceviz.schema import IngestStats, Quarantined, Trace

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
