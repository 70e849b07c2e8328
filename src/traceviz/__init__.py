"""traceviz: what reasoning models think and what that thinking costs, from your own logs.

The library does all the command line does; the main entry points:

- `read(paths)`: the canonical traces table of the logs under `paths`;
- `read_batches(paths)`: the same table as a stream of frames, in bounded memory.
"""

from traceviz.errors import TracevizError
from traceviz.load import Ingest, ReadOptions, read, read_batches
from traceviz.schema import IngestStats, Quarantined, Trace

__version__ = "0.1.0"

__all__ = [
    "Ingest",
    "IngestStats",
    "Quarantined",
    "ReadOptions",
    "Trace",
    "TracevizError",
    "__version__",
    "read",
    "read_batches",
]
