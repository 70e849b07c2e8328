"""Ingest throughput: generate a mixed log of at least 100 MB and time `traceviz ingest` on it.

    python bench/ingest_throughput.py [--mb 100] [--dir /tmp]

The log mixes the JSON Lines and SSE files of `samples/` and `tests/data/shapes/` (Chat
Completions dialects, streams, Responses, Batch lines, Ollama, Anthropic, dataset rows,
logger wrappers), with ids made unique and, for one record in three, a long R1-style
reasoning text (2-12 kB) so record sizes look like real reasoning logs. It is written
outside the repository and removed afterwards unless --keep is given. Prints MB/s of one
command-line run.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "samples", ROOT / "tests" / "data" / "shapes")
ID = re.compile(rb'"id": ?"')
SENTENCE = (
    "Let me check this step again: if the sum is 5050 then the pairs add to 101, wait, "
    "that means fifty pairs, so the total holds. "
)


def sample_records() -> list[bytes]:
    records = []
    jsonl = sorted(p for folder in SOURCES for p in folder.glob("*.jsonl"))
    sse = sorted(p for folder in SOURCES for p in folder.glob("*.sse"))
    for path in jsonl:
        lines = [line for line in path.read_bytes().splitlines() if line.strip()]
        if "stream" in path.name:
            records.append(b"\n".join(lines))  # a stream stays together, in order
        else:
            records.extend(lines)
    for path in sse:
        chunks = [
            line[len(b"data: ") :]
            for line in path.read_bytes().splitlines()
            if line.startswith(b"data: {")
        ]
        records.append(b"\n".join(chunks))  # a stream stays together, in order
    return records


def long_r1(rng: random.Random, n: int) -> bytes:
    reasoning = SENTENCE * rng.randint(15, 90)
    record = {
        "id": f"bench-r1-{n}",
        "object": "chat.completion",
        "created": 1767225600 + n,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "The total is 5050.",
                    "reasoning_content": reasoning,
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 40,
            "completion_tokens": len(reasoning) // 4 + 8,
            "prompt_cache_hit_tokens": 0,
            "prompt_cache_miss_tokens": 40,
            "completion_tokens_details": {"reasoning_tokens": len(reasoning) // 4},
        },
    }
    return orjson.dumps(record)


def generate(path: Path, megabytes: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    records = sample_records()
    target = megabytes * 1_000_000
    written = 0
    n = 0
    with path.open("wb") as out:
        while written < target:
            n += 1
            # unique ids, so copies of one stream sample are not merged together
            data = long_r1(rng, n) if n % 3 == 0 else ID.sub(b'"id": "%d-' % n, rng.choice(records))
            out.write(data + b"\n")
            written += len(data) + 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    log = args.dir / "traceviz-bench.jsonl"
    out = args.dir / "traceviz-bench.parquet"
    size = generate(log, args.mb)
    command = [sys.executable, "-m", "traceviz", "ingest", str(log), "-o", str(out)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    print(result.stderr.strip())
    print(f"command: {' '.join(command)}")
    print(f"{size / 1e6:,.1f} MB in {seconds:.1f} s: {size / 1e6 / seconds:,.1f} MB/s")
    if not args.keep:
        log.unlink()
        out.unlink(missing_ok=True)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
