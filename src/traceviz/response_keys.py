"""A logged response as one 64-bit key: its logged `response_id` and its `choice`, for
finding the responses a run reads more than once (`report/repeats.py` counts them,
`--dedupe` drops them), and sorted sets of keys (8 bytes a key, membership by binary search).

Only an id the log carries makes a key: a trace with no `response_id` (or a blank one) has
none, and is never taken for a copy of another; the trace id is never used (it may be made
up from file and line). The choices of one response share its id and differ in `choice`
(null, in shapes without choices, is the first).

NOTE: the key is polars' 64-bit `hash` (fixed seed) of `id NUL choice`, its lowest bit
replaced by whether the choice is the first (so the records a set of keys stands for can
be counted from the keys alone). Two different (id, choice) pairs share a key with odds of
about n^2 / 2^64 for n of them: 1 in 18 million for a million responses, 1 in 1,800 for 100
million; a shared key reads as one response logged twice. Keys are made and compared in
one process (the driver) within one run, never stored, so polars' hash need not be stable
across versions or machines.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from traceviz.schema import CHOICE, RESPONSE_ID

SEED = 0x7261_6365  # any fixed seed: keys are compared within one run


def logged(columns: list[str]) -> pl.Expr:
    """Whether a trace has a logged response id (not null, not blank)."""
    if RESPONSE_ID not in columns:
        return pl.lit(False)
    ids = pl.col(RESPONSE_ID)
    return ids.is_not_null() & (ids.str.strip_chars() != "")


def first_choice(columns: list[str]) -> pl.Expr:
    """Whether a trace is its response's first (or only) choice."""
    return pl.col(CHOICE).fill_null(0) == 0 if CHOICE in columns else pl.lit(True)


def key(columns: list[str]) -> pl.Expr:
    """Each trace's key (UInt64), null where it has no logged response id."""
    if RESPONSE_ID not in columns:
        return pl.lit(None, pl.UInt64)
    choice = pl.col(CHOICE).fill_null(0) if CHOICE in columns else pl.lit(0, pl.Int64)
    hashed = pl.concat_str([pl.col(RESPONSE_ID), pl.lit("\x00"), choice.cast(pl.String)]).hash(SEED)
    keyed = (hashed // 2) * 2 + first_choice(columns).cast(pl.UInt64)
    return pl.when(logged(columns)).then(keyed)


def is_first(key: int) -> bool:
    """Whether a key stands for a response's first choice (one a record)."""
    return bool(key & 1)


def empty() -> np.ndarray:
    """An empty sorted set of keys."""
    return np.empty(0, dtype=np.uint64)


def member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Which of `keys` are in `sorted_keys` (a binary search each, no set built)."""
    if not sorted_keys.size or not keys.size:
        return np.zeros(keys.size, dtype=bool)
    at = np.searchsorted(sorted_keys, keys).clip(max=sorted_keys.size - 1)
    return np.asarray(sorted_keys[at] == keys)


def insert(sorted_keys: np.ndarray, new: np.ndarray) -> np.ndarray:
    """`sorted_keys` with the distinct keys `new` (none of them in it already) added."""
    if not new.size:
        return sorted_keys
    new = np.sort(new)
    return np.insert(sorted_keys, np.searchsorted(sorted_keys, new), new)


def repeats(traces: pl.DataFrame, seen: np.ndarray) -> tuple[pl.Series, np.ndarray]:
    """Which traces repeat an earlier one (in `seen`, the keys of the traces before them,
    or earlier in `traces`), and `seen` with the keys of these traces added."""
    keys = traces.select(key(traces.columns).alias("key")).to_series()
    values = keys.fill_null(0).to_numpy()
    present = keys.is_not_null().to_numpy()
    again = present & (~keys.is_first_distinct().to_numpy() | member(seen, values))
    new = values[present & ~again]
    return pl.Series("repeat", again), insert(seen, new)
