"""The whole pipeline against the tokenizers' own floor, its memory, and the cache.

    python bench/pipeline_bench.py --size 1GB                 # figures for the README
    python bench/pipeline_bench.py --memory 0.5GB,1GB,2GB     # the peak-memory curve
    python bench/pipeline_bench.py --memory 1GB --cached      # its peak with the cache on
    python bench/pipeline_bench.py --size 1GB --memory 0.5GB,1GB,2GB  # both, the curve's
                                                  # logs cut from or repeating the 1 GB one

One run, so the ratios compare like with like on a shared machine:

1. Writes a mixed log (bench/generate.py's R1 and o1 responses, plus every line-based
   sample shape: streams, SSE, Responses, Anthropic, Ollama, batch... about 2 %).
2. Floor: the bare tokenizers (tiktoken's `encode_to_numpy`, the fastest way it has and
   the one traceviz counts with, on two threads) over exactly the texts traceviz must
   count: prompt, reasoning and answer with each trace's tokenizer, and with
   `--vs o1` the same texts again with o1's. Texts are extracted first, not timed.
3. `traceviz report LOG --format json` end to end on an empty cache, without and with
   `--vs o1`, then a second run that reads the cache. Peak memory is the largest sum
   of the resident sizes of the command and its worker processes, sampled every 0.1 s;
   beside it the largest sum of their proportional sizes (PSS: a page shared by n
   processes counts 1/n in each), which is what the tree really holds when workers
   share pages (the tokenizer tables their fork server loaded once).

Prints MB/s, traces/s and tokens/s for the floor and for traceviz, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import orjson
import psutil
from generate import generate, parse_size

from traceviz import tokens
from traceviz.load import read_batches

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
LINE_SAMPLES = [*sorted(SAMPLES.glob("*.jsonl")), *sorted(SAMPLES.glob("*.sse"))]
SAMPLE_SHARE = 0.02


def mixed_log(path: Path, size: int) -> None:
    """Generated R1/o1 responses with the line-based samples mixed in every few MB."""
    generate(path, int(size * (1 - SAMPLE_SHARE)))
    block = b"".join(p.read_bytes().rstrip(b"\n") + b"\n" for p in LINE_SAMPLES)
    with path.open("ab") as out:
        for _ in range(max(1, int(size * SAMPLE_SHARE) // len(block))):
            out.write(block)


def floor(log: Path, vs: str | None) -> tuple[float, int, int]:
    """Seconds the bare tokenizers take over the texts traceviz counts; traces; tokens."""
    seconds = 0.0
    traces = counted = 0
    for frame in read_batches([log]):
        texts: dict[str, list[str]] = {}
        for model, *parts in frame.select("model", "prompt", "reasoning", "answer").iter_rows():
            name = tokens.tokenizer_for(model)[0]
            texts.setdefault(name, []).extend(p for p in parts if p)
            if vs:
                texts.setdefault(tokens.counter(vs).name, []).extend(p for p in parts if p)
        traces += frame.height
        for name, batch in texts.items():
            encode = partial(
                tokens.encoding(name).encode_to_numpy,
                allowed_special="all" if name == tokens.DEEPSEEK else frozenset(),
                disallowed_special=(),
            )
            started = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:  # as traceviz counts: ids in tiktoken's buffer
                found = list(pool.map(encode, batch))
            seconds += time.perf_counter() - started
            counted += sum(map(len, found))
    return seconds, traces, counted


def run_report(log: Path, extra: list[str], cache_dir: Path) -> tuple[float, int, dict]:
    """Seconds, peak memory of the process tree (bytes, RSS summed), and the JSON report.

    The peak proportional size (PSS summed) is in `PEAK_PSS` after the call.
    """
    out = cache_dir.parent / "report.json"
    command = [sys.executable, "-m", "traceviz", "report", str(log), "--format", "json",
               "-o", str(out), "-q", "--cache-dir", str(cache_dir), *extra]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command)
    peak = [0]
    PEAK_PSS[0] = 0
    PEAK_AT.clear()

    def sample() -> None:
        parent = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                tree = [parent, *parent.children(recursive=True)]
                # a fork server's workers are its children, not the command's: the tree
                # holds the server, so `recursive` finds them
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree))
                sizes = [_pss(p) for p in tree]
                if sum(sizes) > PEAK_PSS[0]:  # who holds it: the command, then the rest
                    PEAK_AT[:] = [sizes[0], *sorted(sizes[1:], reverse=True)]
                PEAK_PSS[0] = max(PEAK_PSS[0], sum(sizes))
            except psutil.Error:
                pass
            time.sleep(0.1)

    watcher = threading.Thread(target=sample)
    watcher.start()
    code = process.wait()
    seconds = time.perf_counter() - started
    watcher.join()
    if code:
        msg = f"traceviz report failed ({code}): {' '.join(command)}"
        raise SystemExit(msg)
    return seconds, peak[0], orjson.loads(out.read_bytes())


PEAK_PSS = [0]
PEAK_AT: list[int] = []  # PSS at the peak: the command's, then its other processes' (largest first)


def _pss(process: psutil.Process) -> int:
    """Proportional set size (Linux), else the resident size."""
    try:
        return int(process.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):
        return int(process.memory_info().rss)


def _peaks(peak: int) -> str:
    return f"peak {peak / 2**20:,.0f} MiB RSS, {PEAK_PSS[0] / 2**20:,.0f} MiB PSS"


def line(label: str, seconds: float, size: int, traces: int, counted: int) -> str:
    return (
        f"{label:<34} {seconds:8.1f} s {size / seconds / 1e6:8.1f} MB/s "
        f"{traces / seconds:9,.0f} traces/s {counted / seconds / 1e6:7.2f} M tokens/s"
    )


def speed(log: Path, work: Path) -> None:
    size = log.stat().st_size
    print(f"log: {log} {size / 1e9:.2f} GB, {os.cpu_count()} cores")
    for vs in (None, "o1"):
        label = " --vs o1" if vs else ""
        f_seconds, traces, counted = floor(log, vs)
        print(line(f"floor (bare tokenizers{label})", f_seconds, size, traces, counted))
        cache = work / f"cache{label.strip()}"
        extra = ["--vs", vs] if vs else []
        seconds, peak, report = run_report(log, extra, cache)  # an empty cache: fills it
        print(line(f"traceviz report{label}", seconds, size, traces, counted))
        print(f"{'':<34} ratio to floor {seconds / f_seconds:.2f}x, {_peaks(peak)}")
        assert report["overall"]["traces"] == traces
        again, peak, _ = run_report(log, extra, cache)
        print(
            f"{'  second run, cache filled':<34} {again:8.1f} s: {seconds / again:.1f}x faster "
            f"than no cache ({_peaks(peak)})"
        )


def sized_copy(base: Path, size: int, path: Path) -> None:
    """`base` repeated (or cut) to about `size` bytes, at a line end."""
    with path.open("wb") as out:
        while out.tell() < size:
            with base.open("rb") as source:
                for record in source:
                    out.write(record)
                    if out.tell() >= size:
                        break


def memory(sizes: list[int], work: Path, base: Path | None, cached: bool) -> None:
    """The peak at each size: `--no-cache`, or with `cached` the default run, which
    writes each file's cache entry as it goes (into an empty cache)."""
    for size in sizes:
        log = work / f"log-{size}.jsonl"
        if base is None:
            mixed_log(log, size)
        else:
            sized_copy(base, size, log)
        cache = work / f"cache-{size}"
        seconds, peak, _ = run_report(log, [] if cached else ["--no-cache"], cache)
        at = ", ".join(f"{b / 2**20:,.0f}" for b in PEAK_AT)
        print(
            f"{size / 1e9:5.2f} GB input{' (cache on)' if cached else ''}: {_peaks(peak)}"
            f" (command and workers), {seconds:7.1f} s;"
            f" PSS at the peak, command first, MiB: {at}"
        )
        log.unlink()
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, help="speed run on a log of this size")
    parser.add_argument("--log", type=Path, help="use this log instead of generating one")
    parser.add_argument("--memory", help="comma-separated sizes for the peak-memory curve")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--no-speed", action="store_true", help="only the memory curve")
    parser.add_argument(
        "--cached", action="store_true", help="the memory curve with the cache on (default run)"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="traceviz-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log = args.log
    if args.size and log is None:
        log = work / "mixed.jsonl"
        mixed_log(log, args.size)
    if log is not None and not args.no_speed:
        speed(log, work)
    if args.memory:
        memory([parse_size(s) for s in args.memory.split(",")], work, log, args.cached)


if __name__ == "__main__":
    main()
