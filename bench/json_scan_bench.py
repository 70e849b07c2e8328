"""JSON document scanning: time and peak memory of reading one big JSON array of records.

    python bench/json_scan_bench.py [--mb 200] [--dir /tmp] [--keep]

Writes an array of Chat Completions responses (one in three with a 2-12 kB R1-style
reasoning text, pretty-printed with two-space indents as exports are), then reads it in
a fresh process each way and prints MB/s and peak RSS:

- `scanner`: `traceviz.ingest.json_document.DocumentScanner`, records parsed by orjson;
- `orjson-whole`: the whole file read and parsed at once (what bounded memory avoids);
- `ijson`: `ijson.items(file, "item")`, when ijson is installed (it is not a dependency).
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

SENTENCE = (
    "Let me check this step again: if the sum is 5050 then the pairs add to 101, wait, "
    "that means fifty pairs, so the total holds. "
)

READERS = {
    "scanner": """
from traceviz.ingest.json_document import DocumentScanner
with open(PATH, "rb") as f:
    n = sum(1 for _ in DocumentScanner(PATH, f, 64 * 1024 * 1024, False))
""",
    "orjson-whole": """
import orjson
with open(PATH, "rb") as f:
    n = len(orjson.loads(f.read()))
""",
    "ijson": """
import ijson
with open(PATH, "rb") as f:
    n = sum(1 for _ in ijson.items(f, "item"))
""",
}


def record(i: int, rng: random.Random) -> dict[str, object]:
    reasoning = SENTENCE * rng.randint(15, 90) if i % 3 == 0 else None
    message = {"role": "assistant", "content": f"The answer is {i}."}
    if reasoning:
        message["reasoning_content"] = reasoning
    return {
        "id": f"chatcmpl-{i}",
        "object": "chat.completion",
        "created": 1_740_000_000 + i,
        "model": "deepseek-reasoner",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 300, "total_tokens": 320},
    }


def write(path: Path, mb: int) -> int:
    rng = random.Random(7)
    target = mb * 1024 * 1024
    size = n = 0
    with path.open("wb") as out:
        out.write(b"[\n")
        while size < target:
            data = orjson.dumps(record(n, rng), option=orjson.OPT_INDENT_2)
            out.write((b",\n" if n else b"") + data)
            size += len(data) + 2
            n += 1
        out.write(b"\n]\n")
    return n


def run(name: str, path: Path) -> tuple[float, float, int] | None:
    code = (
        f"PATH = {str(path)!r}\n"
        + READERS[name]
        + ("import resource, sys\nprint(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        return None
    n, rss_kb = (int(x) for x in done.stdout.split())
    return seconds, rss_kb / 1024, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    path = args.dir / "traceviz-json-scan.json"
    records = write(path, args.mb)
    mb = path.stat().st_size / 1024 / 1024
    print(f"{path}: {mb:,.0f} MB, {records:,} records in one array")
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        for name in READERS:
            got = run(name, path)
            if got is None:
                print(f"{name:>13}: not available")
                continue
            seconds, rss, n = got
            print(
                f"{name:>13}: {mb / seconds:6.1f} MB/s, {seconds:6.1f} s,"
                f" peak RSS {rss:,.0f} MB, {n:,} records"
            )
    finally:
        if not args.keep:
            path.unlink()
    print(f"(this process: {baseline:,.0f} MB)")


if __name__ == "__main__":
    main()
