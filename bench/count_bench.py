"""How close `traceviz count` comes to the raw tokenizers, in one process run.

    python bench/generate.py --size 200MB -o /tmp/logs.jsonl
    python bench/count_bench.py /tmp/logs.jsonl

(a) the raw tokenizers alone: tiktoken's batch encoding on two threads, over exactly
    the texts `traceviz count` counts (each trace's prompt, reasoning and answer, with
    the tokenizer its model maps to), already in memory: encoding only;
(b) `traceviz count PATH` end to end, in this process: reading and parsing the log,
    normalizing, counting, reconciling and printing the summary.

Both are reported in MB/s of counted text (UTF-8), so (b)/(a) is the ratio of their
times; (b) is also given in MB/s of log. The rank files are loaded once, before both
runs, and that load time is printed apart.
"""

from __future__ import annotations

import argparse
import io
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from traceviz import tokens
from traceviz.cli import main
from traceviz.load import read_batches
from traceviz.schema import ANSWER, MODEL, PROMPT, REASONING

MB = 1_000_000


def counted_texts(path: str) -> dict[str, list[str]]:
    """The texts `traceviz count` counts, grouped by the tokenizer each is counted with."""
    by_tokenizer: dict[str, list[str]] = {}
    for frame in read_batches([path]):
        names = [tokens.tokenizer_for(m)[0] for m in frame[MODEL].to_list()]
        for column in (PROMPT, REASONING, ANSWER):
            for name, text in zip(names, frame[column].to_list(), strict=True):
                if text is not None:
                    by_tokenizer.setdefault(name, []).append(text)
    return by_tokenizer


def raw_encode(by_tokenizer: dict[str, list[str]], chunk: int = 2_000) -> int:
    """Encode every text with tiktoken directly on two threads; returns the token total.

    Texts go in chunks so the token lists of the whole log are never held at once (51 M
    Python ints would cost the raw run gigabytes and time that traceviz does not spend).
    """
    total = 0
    for name, texts in by_tokenizer.items():
        enc = tokens.encoding(name)
        for start in range(0, len(texts), chunk):
            part = texts[start : start + chunk]
            if name == tokens.DEEPSEEK:
                encoded = enc.encode_batch(part, num_threads=tokens.THREADS, allowed_special="all")
            else:
                encoded = enc.encode_ordinary_batch(part, num_threads=tokens.THREADS)
            total += sum(len(ids) for ids in encoded)
    return total


def run_count(path: str) -> str:
    """`traceviz count PATH` in this process; returns what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        main.main(["count", path], prog_name="traceviz", standalone_mode=False)
    return out.getvalue() + err.getvalue()


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    args = parser.parse_args()
    log_mb = Path(args.path).stat().st_size / MB

    start = time.perf_counter()
    for name in tokens.TOKENIZERS:
        tokens.encoding(name)
    load = time.perf_counter() - start

    by_tokenizer = counted_texts(args.path)
    text_mb = sum(len(t.encode()) for texts in by_tokenizer.values() for t in texts) / MB
    n_texts = sum(len(texts) for texts in by_tokenizer.values())

    start = time.perf_counter()
    n_tokens = raw_encode(by_tokenizer)
    raw = time.perf_counter() - start
    del by_tokenizer

    start = time.perf_counter()
    printed = run_count(args.path)
    end_to_end = time.perf_counter() - start

    print(f"log {log_mb:,.1f} MB; counted text {text_mb:,.1f} MB in {n_texts:,} texts")
    print(f"tokenizer data loaded in {load:.2f} s (once, before both runs)")
    print(f"(a) raw tokenizers:      {raw:7.2f} s  {text_mb / raw:6.1f} MB/s of text", end="")
    print(f"  {n_tokens:,} tokens")
    print(
        f"(b) traceviz count:      {end_to_end:7.2f} s  {text_mb / end_to_end:6.1f} MB/s of text"
        f"  ({log_mb / end_to_end:.1f} MB/s of log)"
    )
    print(f"(b)/(a) = {end_to_end / raw:.2f}")
    print("\n`traceviz count` printed:\n" + printed)


if __name__ == "__main__":
    main_()
