"""A logged response as one 64-bit key: its logged `response_id` and its `choice`, for
finding the responses a run reads more than once (`report/repeats.py` counts them,
`--dedupe` drops them), and sets of keys (`KeySet`: 8 bytes a key, membership by binary
search).

Only an id the log carries makes a key: a trace with no `response_id` (or a blank one) has
none, and is never taken for a copy of another, nor is a response a logging proxy replayed
from its cache (`served_from_cache`: a call of its own, free, with the first call's id);
the trace id is never used (it may be made up from file and line). The choices of one
response share its id and differ in `choice` (null, in shapes without choices, is the
first).

NOTE: the key is polars' 64-bit `hash` (fixed seed) of `id NUL choice`, its lowest bit
replaced by whether the choice is the first (so the records a set of keys stands for can
be counted from the keys alone). Two different (id, choice) pairs share a key with odds of
about n^2 / 2^64 for n of them: 1 in 18 million for a million responses, 1 in 1,800 for 100
million; a shared key reads as one response logged twice. Keys are made and compared in
one process (the driver) within one run, never stored, so polars' hash need not be stable
across versions or machines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from traceviz.schema import CHOICE, RESPONSE_ID, SERVED_FROM_CACHE

SEED = 0x7261_6365  # any fixed seed: keys are compared within one run


def logged(columns: list[str]) -> pl.Expr:
    """Whether a trace has a logged response id (not null, not blank) that makes a key: not
    one a proxy's cache replayed (`served_from_cache`), a call of its own with an earlier
    call's response and id, which is no copy of that call's record."""
    if RESPONSE_ID not in columns:
        return pl.lit(False)
    ids = pl.col(RESPONSE_ID)
    keyed = ids.is_not_null() & (ids.str.strip_chars() != "")
    if SERVED_FROM_CACHE in columns:
        keyed = keyed & ~pl.col(SERVED_FROM_CACHE).fill_null(False)
    return keyed


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


@dataclass(frozen=True, slots=True)
class KeySet:
    """Distinct keys, 8 bytes each, as sorted runs: membership is a binary search per run.

    NOTE: one sorted array grown with `np.insert` copied every key at each addition, O(n)
    per result: 2.4 s for 2 M responses in 400 results, 33.5 s for 10 M in 2,000 (the
    inserts alone; with the lookups, 1.3 s and 12.9 s now).
    The runs are kept as a binary counter keeps its digits: a new run is merged with the
    one before it while that one is no more than twice its size, so there are at most
    about log2(n) runs and each key is copied O(log n) times in all."""

    runs: tuple[np.ndarray, ...] = ()

    @property
    def size(self) -> int:
        return sum(run.size for run in self.runs)

    def member(self, keys: np.ndarray) -> np.ndarray:
        """Which of `keys` are in the set (searched for in order: half the time of keys
        in any order, whose searches miss the cache at every step)."""
        order = np.argsort(keys)
        ordered = keys[order]
        found = np.zeros(keys.size, dtype=bool)
        for run in self.runs:
            found |= _in_sorted(run, ordered)
        found[order] = found.copy()
        return found

    def add(self, new: np.ndarray) -> KeySet:
        """The set with the distinct keys `new` (none of them in it already) added."""
        if not new.size:
            return self
        runs = [*self.runs, np.sort(new.astype(np.uint64, copy=False))]
        while len(runs) > 1 and runs[-2].size <= 2 * runs[-1].size:
            last = runs.pop()
            # NOTE: two sorted runs joined: numpy's stable sort (timsort for 64-bit keys)
            # finds the two runs and merges them in linear time
            runs[-1] = np.sort(np.concatenate([runs[-1], last]), kind="stable")
        return KeySet(tuple(runs))

    def union(self, keys: np.ndarray) -> KeySet:
        """The set with `keys` added, whether or not some are in it already."""
        fresh = np.unique(keys)
        return self.add(fresh[~self.member(fresh)])

    def firsts(self) -> int:
        """How many keys stand for a response's first choice (`is_first`)."""
        return sum(int(np.count_nonzero(run & np.uint64(1))) for run in self.runs)


def _in_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Which of `keys` are in `sorted_keys`."""
    if not sorted_keys.size or not keys.size:
        return np.zeros(keys.size, dtype=bool)
    at = np.searchsorted(sorted_keys, keys).clip(max=sorted_keys.size - 1)
    return np.asarray(sorted_keys[at] == keys)


def repeats(traces: pl.DataFrame, seen: KeySet) -> tuple[pl.Series, KeySet]:
    """Which traces repeat an earlier one (in `seen`, the keys of the traces before them,
    or earlier in `traces`), and `seen` with the keys of these traces added."""
    keys = traces.select(key(traces.columns).alias("key")).to_series()
    values = keys.fill_null(0).to_numpy()
    present = keys.is_not_null().to_numpy()
    again = present & (~keys.is_first_distinct().to_numpy() | seen.member(values))
    return pl.Series("repeat", again), seen.add(values[present & ~again])
