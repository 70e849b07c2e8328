"""Peak memory and time of `traceviz report` over many tiny records, and over many files.

    python bench/tiny_records.py --size 200MB             # one log of ~165-byte records
    python bench/tiny_records.py --files 20000,100000     # folders of one-record files
    python bench/tiny_records.py --nested 1200            # a folder 1,200 levels deep
    python bench/tiny_records.py --plan 100000            # planning only: walk, sizes, shards

Each run is `traceviz report PATH --format json --no-cache -q` under `/usr/bin/time -v`
(peak RSS of the command; worker processes are counted by `--workers 1`, which keeps
the whole run in one process). Prints records, traces, seconds, peak RSS in MB and
the exit code, one line per run, for docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent


def tiny_record(i: int) -> bytes:
    """One OpenAI Chat Completions response of about 165 bytes."""
    return orjson.dumps(
        {
            "id": f"c{i:09d}",
            "model": "o1-2024-12-17",
            "created": 1737540000 + i % 86400,
            "choices": [{"message": {"content": f"ok {i % 997}"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 30},
        }
    )


def write_log(path: Path, size: int) -> int:
    n = 0
    with path.open("wb") as out:
        written = 0
        while written < size:
            block = b"".join(tiny_record(n + k) + b"\n" for k in range(10_000))
            out.write(block)
            written += len(block)
            n += 10_000
    return n


def write_files(folder: Path, count: int) -> None:
    for i in range(count):
        sub = folder / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"r{i:06d}.jsonl").write_bytes(tiny_record(i) + b"\n")


def write_nested(folder: Path, depth: int) -> None:
    folder.mkdir(parents=True)
    path = folder
    for _ in range(depth):
        path = path / "d"
        path.mkdir()  # one level at a time: mkdir(parents=True) recurses
    (path / "deep.jsonl").write_bytes(tiny_record(0) + b"\n")


def run(target: Path, label: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "traceviz", "report", str(target)]
    cmd += ["--format", "json", "--no-cache", "-q", "--workers", "1"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env, check=False)
    seconds = time.perf_counter() - start
    peak = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    peak_mb = int(peak.group(1)) // 1024 if peak else -1
    try:
        ingest = orjson.loads(done.stdout)["ingest"]
        read, traces = ingest["records_read"], ingest["traces"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        read = traces = -1
        sys.stderr.write(done.stderr.decode("utf-8", "replace")[-2000:])
    print(
        f"{label}: read {read:,} traces {traces:,} in {seconds:.1f} s, "
        f"peak RSS {peak_mb:,} MB, exit {done.returncode}"
    )


def plan(folder: Path, count: int) -> None:
    """Seconds and stat() calls to walk a folder of `count` files and cut it into shards
    (what `analyze` does before any file is read), in this process."""
    sys.path.insert(0, str(ROOT / "src"))
    from traceviz import pipeline
    from traceviz.load import Ingest, sources
    from traceviz.shards import file_shards

    calls = 0
    real_stat = os.stat

    def counting_stat(*args: object, **kwargs: object) -> os.stat_result:
        nonlocal calls
        calls += 1
        return real_stat(*args, **kwargs)  # type: ignore[arg-type]

    os.stat = counting_stat  # type: ignore[assignment]
    start = time.perf_counter()
    files = list(sources([folder], Ingest()))
    shard_bytes = pipeline._shard_bytes(files, pipeline.RunOptions())
    shards = [s for f in files for s in file_shards(f, shard_bytes)]
    seconds = time.perf_counter() - start
    os.stat = real_stat
    print(f"plan {count:,} files: {len(shards):,} shards, {calls:,} stat() calls, {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", help="one log of tiny records this big, e.g. 200MB")
    parser.add_argument("--files", help="comma-separated counts of one-record files")
    parser.add_argument("--nested", type=int, help="a folder this many levels deep")
    parser.add_argument("--plan", type=int, help="plan (walk and shard) this many files")
    parser.add_argument("--keep", help="write the inputs here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(args.keep or scratch)
        base.mkdir(parents=True, exist_ok=True)
        if args.size:
            size = int(float(args.size.upper().removesuffix("MB")) * 1_000_000)
            log = base / "tiny.jsonl"
            if not log.exists():
                write_log(log, size)
            run(log, f"{args.size} of tiny records ({log.stat().st_size:,} bytes)")
        for count in [int(c) for c in args.files.split(",")] if args.files else []:
            folder = base / f"files-{count}"
            if not folder.exists():
                write_files(folder, count)
            run(folder, f"{count:,} one-record files")
        if args.plan:
            folder = base / f"files-{args.plan}"
            if not folder.exists():
                write_files(folder, args.plan)
            plan(folder, args.plan)
        if args.nested:
            folder = base / f"nested-{args.nested}"
            if not folder.exists():
                write_nested(folder, args.nested)
            run(folder, f"{args.nested:,} nested folders")


if __name__ == "__main__":
    main()
