"""`KeySet`: the driver's set of response keys, as sorted runs that stay few."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from traceviz.response_keys import KeySet

BATCHES = st.lists(st.lists(st.integers(0, 2**64 - 1), max_size=60), max_size=40)


@settings(max_examples=200)
@given(BATCHES, st.lists(st.integers(0, 2**64 - 1), max_size=30))
def test_a_key_set_holds_what_was_added_and_nothing_else(
    batches: list[list[int]], probes: list[int]
) -> None:
    keys = KeySet()
    held: set[int] = set()
    for batch in batches:
        fresh = np.unique(np.array(batch, dtype=np.uint64))
        fresh = fresh[~keys.member(fresh)]
        keys = keys.add(fresh)
        held |= {int(k) for k in fresh}
        assert keys.size == len(held)
    asked = np.array([*probes, *held], dtype=np.uint64)
    assert keys.member(asked).tolist() == [int(k) in held for k in asked]
    assert keys.firsts() == sum(1 for k in held if k & 1)
    for run in keys.runs:
        assert run.dtype == np.uint64
        assert (run[1:] > run[:-1]).all()  # sorted and distinct


@given(BATCHES)
def test_union_takes_keys_already_held_once(batches: list[list[int]]) -> None:
    keys = KeySet()
    for batch in batches:
        keys = keys.union(np.array(batch + batch, dtype=np.uint64))
    assert keys.size == len({k for batch in batches for k in batch})


def test_the_runs_stay_few_and_each_key_is_copied_a_few_times() -> None:
    # one key a result, 100,000 results: one sorted array copied 5e9 keys
    keys = KeySet()
    copied = 0
    for start in range(0, 100_000, 1):
        before = keys.runs
        keys = keys.add(np.array([start * 7919 % 2**61], dtype=np.uint64))
        copied += sum(run.size for run in keys.runs if not any(run is b for b in before))
    assert keys.size == 100_000
    assert len(keys.runs) <= math.ceil(math.log2(100_000)) + 1
    assert copied <= 100_000 * (math.log2(100_000) + 2)
