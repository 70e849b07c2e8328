"""A long fuzz run of the ingest: mutated real records, checked against the invariants.

    python bench/fuzz.py --records 1000000 --seed 1

Each generated record is one of the sample logs' records, mutated (bytes flipped,
cut, duplicated, keys dropped, values swapped for hostile ones), written to JSON
Lines files in a temporary folder and read back. The run fails (exit 1) if any
invariant breaks: an exception escapes, `read != parsed + quarantined + skipped`,
a quarantined record lacks its line or reason, or the trace count disagrees.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson

import traceviz
from traceviz.ingest import RawRecord, read_file

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
HOSTILE_VALUES: list[object] = [
    None,
    True,
    -1,
    1e308,
    "12",
    "",
    "<script>alert(1)</script>",
    "\x00\x1b[2J",
    [],
    {},
    "\u202e",
    2**63 - 1,
    0.5,
    "</think><think>",
    {"$": "r:1"},
]


def seed_records() -> list[bytes]:
    records: list[bytes] = []
    for path in sorted(SAMPLES.glob("*.json*")):
        if path.suffix in (".gz", ".zst"):
            continue
        records.extend(
            orjson.dumps(item.value) for item in read_file(str(path)) if isinstance(item, RawRecord)
        )
    return records


def mutate_value(value: object, rng: random.Random) -> object:
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        choice = rng.random()
        if choice < 0.3:
            return {k: v for k, v in value.items() if k != key}
        if choice < 0.6:
            return {**value, key: rng.choice(HOSTILE_VALUES)}
        return {**value, key: mutate_value(value[key], rng)}
    if isinstance(value, list) and value:
        i = rng.randrange(len(value))
        return [*value[:i], mutate_value(value[i], rng), *value[i + 1 :]]
    return rng.choice(HOSTILE_VALUES)


def mutate(record: bytes, rng: random.Random) -> bytes:
    choice = rng.random()
    if choice < 0.4:
        return orjson.dumps(mutate_value(orjson.loads(record), rng))
    data = bytearray(record)
    if choice < 0.6 and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data).replace(b"\n", b" ")
    if choice < 0.8:
        return bytes(data[: rng.randrange(len(data) + 1)])
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-file", type=int, default=50_000)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    seeds = seed_records()
    started = time.perf_counter()
    totals = traceviz.IngestStats()
    with tempfile.TemporaryDirectory() as folder:
        written = 0
        n_file = 0
        while written < args.records:
            path = Path(folder) / f"fuzz-{n_file}.jsonl"
            n = min(args.per_file, args.records - written)
            with path.open("wb") as handle:
                for _ in range(n):
                    handle.write(mutate(rng.choice(seeds), rng) + b"\n")
            run = traceviz.Ingest()
            traces = traceviz.read(path, ingest=run)
            stats = run.stats
            problems = []
            if stats.read != stats.parsed + stats.quarantined + stats.skipped:
                problems.append(f"read {stats.read} != parsed+quarantined+skipped")
            if traces.height != stats.traces:
                problems.append("trace count disagrees")
            if any(q.line < 1 or not q.reason for q in run.quarantined):
                problems.append("a quarantined record lacks its line or reason")
            if problems:
                print(f"FAIL {path}: {'; '.join(problems)}", file=sys.stderr)
                return 1
            totals.merge(stats)
            written += n
            n_file += 1
            path.unlink()
    elapsed = time.perf_counter() - started
    print(
        f"fuzz ok: {written:,} generated lines, {totals.read:,} records read, "
        f"{totals.traces:,} traces, {totals.quarantined:,} quarantined, "
        f"{totals.skipped:,} skipped, in {elapsed:,.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
