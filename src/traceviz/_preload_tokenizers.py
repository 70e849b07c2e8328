"""Imported by the local engine's fork server (`engines.py`), never by anything else: it
loads R1's and the o-series' tokenizers there once, before the server forks any worker, so the
workers share the tables (copy-on-write pages) instead of loading ~130 MB each.

It imports only the standard library, tiktoken and `traceviz.tokenizers` (no polars, no
numpy): the server stays one thread, which is what makes forking it safe.
"""

from __future__ import annotations

import ctypes
import gc

from traceviz import tokenizers


def _trim_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's `malloc_trim`; elsewhere
    nothing): what the freed rank dicts leave would be kept, and shared, by every worker."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):  # not glibc
        return
    trim(0)


tokenizers.preload()
tokenizers.shed_vocabularies()
gc.collect()
_trim_free_memory()
# NOTE: out of the collector's sight: a collection in a worker would otherwise write to
# these objects' headers and copy their pages into the worker
gc.freeze()
