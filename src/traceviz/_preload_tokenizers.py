"""Imported by the local engine's fork server (`engines.py`), never by anything else: it
loads every shipped tokenizer there once, before the server forks any worker, so the
workers share the tables (copy-on-write pages) instead of loading ~160 MB each.

It imports only the standard library, tiktoken and `traceviz.tokenizers` (no polars, no
numpy): the server stays one thread, which is what makes forking it safe.
"""

from __future__ import annotations

import gc

from traceviz import tokenizers

tokenizers.load_all()
# NOTE: out of the collector's sight: a collection in a worker would otherwise write to
# these objects' headers and copy their pages into the worker
gc.freeze()
