"""The step splitter and the first-answer detector, before and after, over the same texts.

    python bench/segment_bench.py --log /path/to/r1.jsonl        # a log of your own
    python bench/segment_bench.py --size 20MB [--repeat 5]       # a generated one

"Before" is the reference copy of each as it was (tests/split_reference.py and
tests/answers_reference.py), "after" the code under src/. Both run in this one process,
alternately, over every trace with visible reasoning; each figure is the best of
`--repeat` runs in CPU seconds (the machine is shared, and the best run is the one least
disturbed). Before timing, the outputs are compared, step for step and answer column by
answer column, so a speed-up that changed a result is reported as a failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
from generate import generate, parse_size

from traceviz.load import read_batches
from traceviz.schema import ANSWER, PROMPT, REASONING, REFERENCE_ANSWER
from traceviz.segment import answers, split

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import answers_reference  # noqa: E402
import split_reference  # noqa: E402

Case = tuple[str, str | None, str | None, str | None]


def cut(module: object, texts: list[str]) -> list[list[tuple[int, int, str | None, int]]]:
    """Every step of every text, as plain fields (the two modules' Step types differ)."""
    steps = module.steps  # type: ignore[attr-defined]
    return [[(s.start, s.end, s.marker, s.thought) for s in steps(text)] for text in texts]


def detect(module: object, cases: list[Case]) -> list[tuple[object, ...]]:
    """What the metrics ask of the detector for each trace: the final answer, the
    reference's, whether they agree, where the reasoning first reaches each, and whether
    the answer changed."""
    api = module
    found = []
    for reasoning, answer, reference, prompt in cases:
        final = api.read(answer, prompt).final  # type: ignore[attr-defined]
        value = api.from_value(reference, prompt) if reference else None  # type: ignore[attr-defined]
        found.append(
            (
                repr(final),
                repr(value),
                api.same(final, value) if final and value else None,  # type: ignore[attr-defined]
                api.first_position(reasoning, final, prompt) if final else None,  # type: ignore[attr-defined]
                api.first_position(reasoning, value, prompt) if value else None,  # type: ignore[attr-defined]
                api.changed(reasoning, final, prompt) if final else None,  # type: ignore[attr-defined]
            )
        )
    return found


def best(run: Callable[[], object], repeat: int) -> float:
    seconds = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        seconds.append(time.process_time() - start)
    return min(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, help="a log to read (default: generate one)")
    parser.add_argument("--size", type=parse_size, default=parse_size("8MB"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        log = args.log
        if log is None:
            log = Path(work) / "log.jsonl"
            generate(log, args.size)
        traces = pl.concat(list(read_batches([log])))
    traces = traces.filter(pl.col(REASONING).is_not_null() & (pl.col(REASONING) != ""))
    texts = traces[REASONING].to_list()
    cases = list(
        zip(
            *(traces[c].to_list() for c in (REASONING, ANSWER, REFERENCE_ANSWER, PROMPT)),
            strict=True,
        )
    )
    steps = cut(split, texts)
    same_steps = steps == cut(split_reference, texts)
    same_answers = detect(answers, cases) == detect(answers_reference, cases)
    print(
        f"log: {log}, {len(texts):,} traces with reasoning, "
        f"{sum(map(len, texts)) / 1e6:.1f} M characters, {sum(map(len, steps)):,} steps; "
        f"best of {args.repeat}, CPU seconds"
    )
    print(f"{'':24}{'before':>9}{'after':>9}{'ratio':>8}  identical")
    for label, old, new, identical in (
        (
            "splitter (steps)",
            lambda: cut(split_reference, texts),
            lambda: cut(split, texts),
            same_steps,
        ),
        (
            "first-answer detector",
            lambda: detect(answers_reference, cases),
            lambda: detect(answers, cases),
            same_answers,
        ),
    ):
        before, after = best(old, args.repeat), best(new, args.repeat)
        print(f"{label:24}{before:9.3f}{after:9.3f}{before / after:7.2f}x  {identical}")
    if not (same_steps and same_answers):
        sys.exit("FAILED: the new code's results differ from the reference's")


if __name__ == "__main__":
    main()
