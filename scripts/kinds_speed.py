"""Step-kind inference speed: the labelled traces twice over, 10 runs (docs/kinds.md).

CPU time (all threads) is the figure to compare on a shared machine: wall time there
is mostly waiting for a core.

    PYTHONPATH=src python scripts/kinds_speed.py LABELS.jsonl
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from traceviz.segment import kinds


def main(path: str) -> None:
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    traces = [[c["text"] for c in r["chunks"]] for r in rows] * 2
    steps = sum(map(len, traces))
    model = kinds.load()
    model.predict(traces[:2])  # warm up
    wall, cpu = [], []
    for _ in range(10):
        started, used = time.perf_counter(), time.process_time()
        model.predict(traces)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    wall.sort()
    cpu.sort()
    print(
        f"{steps:,} steps: CPU best {cpu[0] * 1000:.0f} ms, median {cpu[5] * 1000:.0f} ms"
        f" ({steps / cpu[0]:,.0f} steps per CPU second); wall best {wall[0] * 1000:.0f} ms,"
        f" median {wall[5] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main(sys.argv[1])
