"""The reference copy of `segment/metrics.py` at commit e45f68c (see `__init__.py`).

Behaviour metrics of each trace's visible reasoning: one column each, defined below.

Hidden reasoning gives nulls, not zeros. Sources: reflection words from the
DeepSeek-R1 paper (arXiv 2501.12948, its "aha" analysis); thought switches from
"Thoughts Are All Over the Place" (underthinking, arXiv 2501.18585) and EvalScope
ThinkBench; first-answer position as an offline proxy of overthinking ("Do NOT Think
That Much for 2+3=?", arXiv 2412.21187); language mixing as DeepSeek-R1's
language-consistency reward measures it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from traceviz.schema import (
    AFTER_FIRST_ANSWER,
    ANSWER_CHANGED_AFTER_FIRST,
    FINAL_ANSWER,
    FINAL_ANSWER_MISSING_REASON,
    FIRST_ANSWER_SHARE,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
)
from traceviz.segment import answers

REFLECTION_WORDS = (
    "wait", "mistake", "however", "but", "retry", "error", "verify", "wrong", "evaluate", "check",
)  # fmt: skip
BACKTRACK_CUES = frozenset(
    {"wait", "but wait", "actually", "on second thought", "let me reconsider"}
)
_PARAGRAPH = re.compile(r"\n\s*\n")
REFUSAL = re.compile(
    r"^\W*(?:i(?:'m| am) sorry|sorry,|i can(?:no|')t (?:help|assist|answer|provide|comply)"
    r"|i (?:cannot|can't|won't) (?:help|assist|answer|provide|comply)"
    r"|i must decline|i'm not able to (?:help|answer))|beyond my current scope",
    re.IGNORECASE,
)

# looping: at least two of three independent detectors must fire
LOOP_MIN_STEPS = 20
LOOP_MARKER_DENSITY = 0.35  # share of steps opening with wait/hmm/alternatively/but wait
LOOP_DUPLICATE_PARAGRAPHS = 3  # paragraphs repeating an earlier one, word for word
LOOP_MIN_WORDS = 200
LOOP_REP4 = 0.30  # share of repeated word 4-grams
_LOOP_MARKERS = frozenset({"wait", "hmm", "alternatively", "but wait"})


@dataclass(frozen=True, slots=True)
class StepView:
    """What the metrics need of one step."""

    start: int
    end: int
    tokens: int
    kind: str
    marker: str | None
    thought: int


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()).lower() for p in _PARAGRAPH.split(text) if p.strip()]


def longest_repeat_run(paras: Sequence[str]) -> int:
    """The longest run of consecutive paragraphs each repeating an earlier one."""
    seen: set[str] = set()
    best = run = 0
    for para in paras:
        run = run + 1 if para in seen else 0
        best = max(best, run)
        seen.add(para)
    return best


@lru_cache(maxsize=1 << 16)
def script(char: str) -> str:
    """The writing system of a letter (LATIN, CJK, CYRILLIC…), by its Unicode name."""
    name = unicodedata.name(char, "")
    if name.startswith(("CJK", "HIRAGANA", "KATAKANA")):
        return "CJK"
    return name.split(" ", 1)[0] or "UNKNOWN"


def _words(texts: pl.Series) -> pl.DataFrame:
    """(row, w): every word (a run of \\w) of every text, lower-cased, in order."""
    return (
        pl.DataFrame({"text": texts})
        .with_row_index("row")
        .select("row", pl.col("text").str.to_lowercase().str.extract_all(r"\w+").alias("w"))
        .explode("w")
        .drop_nulls("w")
    )


def _scripts(words: pl.DataFrame) -> pl.DataFrame:
    """(row, script, n): how many words of each text are written in each script (that of
    a word's first letter; words without letters are left out)."""
    letters = words.select("row", pl.col("w").str.extract(r"(\p{L})", 1).alias("c"))
    counted = letters.drop_nulls("c").group_by("row", "c").agg(pl.len().alias("n"))
    names = {c: script(c) for c in counted["c"].unique().to_list()}
    return (
        counted.with_columns(pl.col("c").replace_strict(names, return_dtype=pl.String))
        .group_by("row", "c")
        .agg(pl.col("n").sum())
        .rename({"c": "script"})
    )


def _dominant(scripts: pl.DataFrame) -> pl.DataFrame:
    """(row, script): each text's most used script (the first in name order on a tie)."""
    return (
        scripts.sort(["row", "n", "script"], descending=[False, True, False])
        .group_by("row", maintain_order=True)
        .first()
        .select("row", "script")
    )


def text_metrics(reasoning: pl.Series, prompt: pl.Series) -> pl.DataFrame:
    """Metrics of whole reasoning texts, computed by polars over a batch at once:
    `reflection_words`, `rep2`/`rep3`/`rep4` (share of word n-grams that repeat an
    earlier one), `words`, and `language_mixing` (share of the reasoning's words written
    in another script than the prompt's dominant script, or the reasoning's own when the
    prompt has none; a word's script is that of its first letter)."""
    words = _words(reasoning)
    out = pl.DataFrame({"row": pl.int_range(len(reasoning), eager=True, dtype=pl.UInt32)})
    counts = words.group_by("row").agg(
        pl.len().alias("words"),
        pl.col("w").is_in(REFLECTION_WORDS).sum().alias("reflection_words"),
    )
    out = out.join(counts, on="row", how="left")
    hashed = words.select("row", pl.col("w").hash(seed=0).alias("h"))
    for n in (2, 3, 4):
        same = [pl.col("row").shift(-k) == pl.col("row") for k in range(1, n)]
        gram = pl.struct([pl.col("h").shift(-k).alias(str(k)) for k in range(n)]).hash(seed=0)
        grams = (
            hashed.select("row", pl.when(pl.all_horizontal(same)).then(gram).alias("g"))
            .drop_nulls("g")
            .group_by("row")
            .agg((1 - pl.col("g").n_unique() / pl.len()).alias(f"rep{n}"))
        )
        out = out.join(grams, on="row", how="left")
    mine = _scripts(words)
    base = (
        out.select("row")
        .join(_dominant(_scripts(_words(prompt))).rename({"script": "p"}), on="row", how="left")
        .join(_dominant(mine).rename({"script": "r"}), on="row", how="left")
        .select("row", pl.coalesce("p", "r").alias("base"))
    )
    mixing = (
        mine.join(base, on="row")
        .group_by("row")
        .agg(
            ((pl.col("script") != pl.col("base")) * pl.col("n")).sum().alias("other"),
            pl.col("n").sum().alias("letter_words"),
        )
        .select("row", (pl.col("other") / pl.col("letter_words")).alias("language_mixing"))
    )
    return (
        out.join(base, on="row", how="left")
        .join(mixing, on="row", how="left")
        .sort("row")
        .select(
            pl.col("reflection_words").fill_null(0).cast(pl.Int64),
            pl.col("words").fill_null(0).cast(pl.Int64),
            *(pl.col(f"rep{n}").fill_null(0.0) for n in (2, 3, 4)),
            pl.when(pl.col("base").is_null())
            .then(None)
            .otherwise(pl.col("language_mixing").fill_null(0.0))
            .alias("language_mixing"),
        )
    )


def is_refusal(answer: str | None) -> bool:
    """A reply that declines, including R1's canned "beyond my current scope" refusal."""
    return bool(answer and REFUSAL.search(answer[:300]))


def share_before(position: int, steps: Sequence[StepView]) -> float:
    """Share of the reasoning's tokens that come before a character position."""
    total = sum(s.tokens for s in steps)
    if not total:
        return 0.0
    before = 0.0
    for step in steps:
        if step.end <= position:
            before += step.tokens
        elif step.start < position:
            before += step.tokens * (position - step.start) / (step.end - step.start)
    return before / total


def tokens_before(position: int, steps: Sequence[StepView]) -> int:
    """Reasoning tokens before a character position, a whole number: every step that
    ends at or before it, and of the step it falls in the share of its characters that
    come before it (rounded to the nearest token). So `tokens_before + tokens after`
    is exactly the steps' total, which is the trace's `tokens_reasoning`."""
    before = 0
    for step in steps:
        if step.end <= position:
            before += step.tokens
        elif step.start < position:
            before += round(step.tokens * (position - step.start) / (step.end - step.start))
    return before


def answer_metrics(
    reasoning: str | None,
    answer: str | None,
    reference: str | None,
    steps: Sequence[StepView],
    prompt: str | None = None,
) -> dict[str, object]:
    """The answer columns of one trace (reasoning None when hidden: only `final_answer`,
    its missing reason and `correct` are then filled).

    - `final_answer`: what the answer text answers (`answers.read`); for multiple choice
      "(C) value", the picked option with its text from the prompt.
    - `final_answer_missing_reason`: why `final_answer` is null ("no answer text",
      "answer has no recognisable final answer", "answer is a refusal"), or, with visible
      reasoning, why its first position is ("reasoning never reaches the answer", or
      that a yes/no answer is not located); null when both were found.
    - `first_answer_share` / `after_first_answer`: the share of the reasoning's tokens
      before / after the first position where the reasoning reaches the final answer
      (`answers.first_position`; the step containing it split pro rata by characters).
    - `reasoning_tokens_after_first_answer`: those tokens after it, exact from the step
      token counts: the trace's steps add up to `tokens_reasoning`, and this is their sum
      minus `tokens_before` (whole steps before the position, plus the containing step's
      tokens times the share of its characters before the position, rounded).
    - `answer_changed_after_first`: whether the reasoning's first explicit commitment
      (a `\\boxed{}`, "the answer is …", or a committed option letter) named another
      answer than the final one; False when it named the final one, or when there is no
      commitment and the reasoning reaches the final answer; null when that cannot be
      told (no final answer, hidden reasoning, or no commitment and never reached).
    - `correct`: the final answer matches the reference (option letter, else value).
    - `reference_first_share`: as `first_answer_share`, for the reference answer.
    """
    reading = (
        answers.Reading(None, answers.REFUSED)
        if is_refusal(answer)
        else answers.read(answer, prompt)
    )
    final = reading.final
    expected = answers.from_value(reference, prompt) if reference else None
    columns: dict[str, object] = {
        FINAL_ANSWER: final.text if final else None,
        FINAL_ANSWER_MISSING_REASON: reading.missing_reason,
        "correct": answers.same(final, expected) if final and expected else None,
    }
    if reasoning is None:
        return columns
    first = answers.first_position(reasoning, final, prompt) if final else None
    if final and first is None:
        columns[FINAL_ANSWER_MISSING_REASON] = (
            answers.YES_NO_NOT_LOCATED if final.kind == "yesno" else answers.NEVER_REACHED
        )
    share = share_before(first, steps) if first is not None else None
    reference_first = answers.first_position(reasoning, expected, prompt) if expected else None
    columns |= {
        FIRST_ANSWER_SHARE: share,
        AFTER_FIRST_ANSWER: None if share is None else 1 - share,
        REASONING_TOKENS_AFTER_FIRST_ANSWER: (
            None if first is None else sum(s.tokens for s in steps) - tokens_before(first, steps)
        ),
        ANSWER_CHANGED_AFTER_FIRST: answers.changed(reasoning, final, prompt) if final else None,
        "reference_first_share": (
            share_before(reference_first, steps) if reference_first is not None else None
        ),
    }
    return columns


def trace_metrics(
    reasoning: str,
    answer: str | None,
    reference: str | None,
    steps: Sequence[StepView],
    text: dict[str, object],
    prompt: str | None = None,
) -> dict[str, object]:
    """Every metric of one trace with visible reasoning (`text`: its `text_metrics` row;
    `prompt` gives multiple-choice options their text)."""
    paras = paragraphs(reasoning)
    markers = [(s.marker or "").lower() for s in steps]
    duplicates = len(paras) - len(set(paras))
    rep4 = float(text["rep4"])  # type: ignore[arg-type]
    detectors = [
        len(steps) >= LOOP_MIN_STEPS
        and sum(m in _LOOP_MARKERS for m in markers) / len(steps) >= LOOP_MARKER_DENSITY,
        duplicates >= LOOP_DUPLICATE_PARAGRAPHS,
        int(text["words"]) >= LOOP_MIN_WORDS and rep4 >= LOOP_REP4,  # type: ignore[call-overload]
    ]
    return answer_metrics(reasoning, answer, reference, steps, prompt) | {
        "steps": len(steps),
        "thoughts": (max(s.thought for s in steps) + 1) if steps else 0,
        "reflection_words": text["reflection_words"],
        "self_checks": sum(s.kind == "self_checking" for s in steps),
        "backtracks": sum(m in BACKTRACK_CUES for m in markers),
        "rep2": text["rep2"],
        "rep3": text["rep3"],
        "rep4": rep4,
        "longest_repeat_run": longest_repeat_run(paras),
        "looping": sum(detectors) >= 2,
        "language_mixing": text["language_mixing"],
        "empty_reasoning": not reasoning.strip(),
        "refusal": is_refusal(answer),
    }
