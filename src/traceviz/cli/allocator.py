"""The memory allocator's settings for a traceviz run, set before polars is imported.

polars allocates with its own jemalloc, which keeps freed pages ("dirty") for 500 ms
before handing them back. A run frees and reallocates a batch's frames every few
hundred milliseconds in the command and in every worker, so each process holds its
largest batch's pages and more. Returning dirty pages after 100 ms and purging them at
once (no "muzzy" stage) cut the peak of `traceviz report` over 111 MB of R1 responses
from 750 to 665 MiB PSS (command and workers) at the same speed; returning them at once
(0 ms) cut it to 607 MiB but ran 10-25 % slower. On the mixed log of
`bench/pipeline_bench.py --memory` the gain was within noise (782 against 792 MiB at
0.54 GB): there the peak is a worker's largest batch, not pages kept.

jemalloc reads `_RJEM_MALLOC_CONF` when polars first allocates, so the setting must be
in the environment before polars is imported; the workers and their fork server inherit
it. A value the user set is kept.
"""

from __future__ import annotations

import os

POLARS_ALLOCATOR = "_RJEM_MALLOC_CONF"  # polars' jemalloc reads its options here
SETTINGS = "dirty_decay_ms:100,muzzy_decay_ms:0"


def tune() -> None:
    """Set polars' allocator options for this process and its workers, unless set."""
    os.environ.setdefault(POLARS_ALLOCATOR, SETTINGS)
