"""Behaviour metrics of each trace's visible reasoning: one column each, defined below.

Hidden reasoning gives nulls, not zeros. Sources: reflection words from the
DeepSeek-R1 paper (arXiv 2501.12948, its "aha" analysis); thought switches from
"Thoughts Are All Over the Place" (underthinking, arXiv 2501.18585) and EvalScope
ThinkBench; first-answer position as an offline proxy of overthinking ("Do NOT Think
That Much for 2+3=?", arXiv 2412.21187); language mixing as DeepSeek-R1's
language-consistency reward measures it.

What needs the steps is counted over the whole batch at once (`step_counts`, numpy over
the steps table); what reads a trace's text as a whole (its answer, its paragraphs) is
done trace by trace (`trace_metrics`), with the trace's steps as arrays (`Spans`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from traceviz.schema import (
    AFTER_FIRST_ANSWER,
    ANSWER_CHANGED_AFTER_FIRST,
    BACKTRACKS,
    CORRECT,
    EMPTY_REASONING,
    FINAL_ANSWER,
    FINAL_ANSWER_MISSING_REASON,
    FIRST_ANSWER_SHARE,
    KIND,
    LANGUAGE_MIXING,
    LONGEST_REPEAT_RUN,
    LOOPING,
    MARKER,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    REFERENCE_FIRST_SHARE,
    REP2,
    REP3,
    REP4,
    SELF_CHECKS,
    STEPS,
    THOUGHT,
    THOUGHTS,
)
from traceviz.schema import REFLECTION_WORDS as REFLECTION_WORDS_COLUMN
from traceviz.schema import REFUSAL as REFUSAL_COLUMN
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
LOOP_MARKERS = "loop_markers"  # a `step_counts` column: steps opening with one of them


@dataclass(frozen=True, slots=True)
class Spans:
    """The steps of one trace as arrays, in order: where each starts and ends
    (character offsets into the reasoning) and its tokens."""

    start: np.ndarray
    end: np.ndarray
    tokens: np.ndarray

    @property
    def total(self) -> int:
        return int(self.tokens.sum())


def step_counts(step_table: pl.DataFrame, owner: np.ndarray, traces: int) -> pl.DataFrame:
    """Per trace (`owner`: the trace of every step): `steps`, `thoughts`, `self_checks`,
    `backtracks`, and `loop_markers` (steps opening with a loop marker), zero without
    steps."""
    markers = step_table[MARKER]
    lower = {m: m.lower() for m in markers.drop_nulls().unique().to_list()}
    cue = markers.replace_strict(lower, default=None, return_dtype=pl.String)
    thought = np.zeros(traces, dtype=np.int64)
    np.maximum.at(thought, owner, step_table[THOUGHT].to_numpy() + 1)

    def per_trace(flags: pl.Series) -> np.ndarray:
        return np.bincount(owner, flags.fill_null(False).to_numpy(), minlength=traces)

    return pl.DataFrame(
        {
            STEPS: np.bincount(owner, minlength=traces),
            THOUGHTS: thought,
            SELF_CHECKS: per_trace(step_table[KIND] == "self_checking"),
            BACKTRACKS: per_trace(cue.is_in(sorted(BACKTRACK_CUES))),
            LOOP_MARKERS: per_trace(cue.is_in(sorted(_LOOP_MARKERS))),
        },
        schema=dict.fromkeys((STEPS, THOUGHTS, SELF_CHECKS, BACKTRACKS, LOOP_MARKERS), pl.Int64),
    )


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


_LATIN = script("a")  # the script of every ASCII letter


def _words(texts: pl.Series) -> pl.DataFrame:
    """(row, w): every word (a run of \\w) of every text, lower-cased, in order."""
    return (
        pl.DataFrame({"text": texts})
        .with_row_index("row")
        .select("row", pl.col("text").str.to_lowercase().str.extract_all(r"\w+").alias("w"))
        .explode("w")
        .drop_nulls("w")
    )


def words_of_steps(runs: pl.Series, owner: np.ndarray) -> pl.DataFrame:
    """The reasoning's words as `_words` gives them, from its steps' runs of `\\w`
    (`features.word_runs`: a list per step, all the steps of the batch in order) and
    the trace of every step (`owner`).

    The same words: only white space lies between and around a trace's steps (the
    splitter's invariant), and no run of `\\w` holds white space, so a trace's runs
    are its steps' runs one after the other; a text's lower case is that of its pieces
    cut at white space (even a final sigma's, which looks no further than it)."""
    counts = runs.list.len().fill_null(0).to_numpy()
    return pl.DataFrame(
        {
            "row": pl.Series(np.repeat(owner, counts), dtype=pl.UInt32),
            "w": runs.explode(empty_as_null=False, keep_nulls=False),
        }
    )


def _scripts(words: pl.DataFrame) -> pl.DataFrame:
    """(row, script, n): how many words of each text are written in each script (that of
    a word's first letter; words without letters are left out)."""
    # NOTE: an ASCII word's first letter is an ASCII one, so it is LATIN when it has a
    # letter at all: only the other words need a letter looked up (once per distinct
    # word), which halves the time on R1 logs (0.08 -> 0.04 s CPU on r1small).
    plain = pl.col("w").str.len_bytes() == pl.col("w").str.len_chars()
    latin = (
        words.filter(plain & pl.col("w").str.contains("[A-Za-z]"))
        .group_by("row")
        .agg(pl.len().alias("n"))
        .select("row", pl.lit(_LATIN).alias("script"), "n")
    )
    counted = words.filter(~plain).group_by("row", "w").agg(pl.len().alias("n"))
    letters = (
        counted.select(pl.col("w").unique())
        .with_columns(pl.col("w").str.extract(r"(\p{L})", 1).alias("c"))
        .drop_nulls("c")
    )
    names = {c: script(c) for c in letters["c"].unique().to_list()}
    other = (
        counted.join(
            letters.select("w", pl.col("c").replace_strict(names, return_dtype=pl.String)),
            on="w",
            how="inner",
        )
        .group_by("row", "c")
        .agg(pl.col("n").sum())
        .rename({"c": "script"})
    )
    return pl.concat([latin, other]).group_by("row", "script").agg(pl.col("n").sum())


def _dominant(scripts: pl.DataFrame) -> pl.DataFrame:
    """(row, script): each text's most used script (the first in name order on a tie)."""
    return (
        scripts.sort(["row", "n", "script"], descending=[False, True, False])
        .group_by("row", maintain_order=True)
        .first()
        .select("row", "script")
    )


def text_metrics(
    reasoning: pl.Series, prompt: pl.Series, words: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Metrics of whole reasoning texts, computed by polars over a batch at once:
    `reflection_words`, `rep2`/`rep3`/`rep4` (share of word n-grams that repeat an
    earlier one), `words`, and `language_mixing` (share of the reasoning's words written
    in another script than the prompt's dominant script, or the reasoning's own when the
    prompt has none; a word's script is that of its first letter). `words`: the
    reasoning's words as `_words` gives them, when already at hand."""
    words = _words(reasoning) if words is None else words
    out = pl.DataFrame({"row": pl.int_range(len(reasoning), eager=True, dtype=pl.UInt32)})
    counts = words.group_by("row").agg(
        pl.len().alias("words"),
        pl.col("w").is_in(REFLECTION_WORDS).sum().alias(REFLECTION_WORDS_COLUMN),
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
        .select("row", (pl.col("other") / pl.col("letter_words")).alias(LANGUAGE_MIXING))
    )
    return (
        out.join(base, on="row", how="left")
        .join(mixing, on="row", how="left")
        .sort("row")
        .select(
            pl.col(REFLECTION_WORDS_COLUMN).fill_null(0).cast(pl.Int64),
            pl.col("words").fill_null(0).cast(pl.Int64),
            *(pl.col(f"rep{n}").fill_null(0.0) for n in (2, 3, 4)),
            pl.when(pl.col("base").is_null())
            .then(None)
            .otherwise(pl.col(LANGUAGE_MIXING).fill_null(0.0))
            .alias(LANGUAGE_MIXING),
        )
    )


def is_refusal(answer: str | None) -> bool:
    """A reply that declines, including R1's canned "beyond my current scope" refusal."""
    return bool(answer and REFUSAL.search(answer[:300]))


def share_before(position: int, steps: Spans) -> float:
    """Share of the reasoning's tokens that come before a character position."""
    total = steps.total
    if not total:
        return 0.0
    whole = steps.end <= position
    # steps are in order and disjoint: the whole ones first, then at most one that
    # holds the position (so this adds in the order a loop over the steps would)
    before = float(steps.tokens[whole].sum())
    inside = np.flatnonzero(~whole & (steps.start < position))
    if inside.size:
        at = int(inside[0])
        start, end, tokens = int(steps.start[at]), int(steps.end[at]), int(steps.tokens[at])
        before += tokens * (position - start) / (end - start)
    return before / total


def tokens_before(position: int, steps: Spans) -> int:
    """Reasoning tokens before a character position, a whole number: every step that
    ends at or before it, and of the step it falls in the share of its characters that
    come before it (rounded to the nearest token). So `tokens_before + tokens after`
    is exactly the steps' total, which is the trace's `tokens_reasoning`."""
    whole = steps.end <= position
    before = int(steps.tokens[whole].sum())
    inside = np.flatnonzero(~whole & (steps.start < position))
    if inside.size:
        at = int(inside[0])
        start, end, tokens = int(steps.start[at]), int(steps.end[at]), int(steps.tokens[at])
        before += round(tokens * (position - start) / (end - start))
    return before


NO_STEPS = Spans(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


def answer_metrics(
    reasoning: str | None,
    answer: str | None,
    reference: str | None,
    steps: Spans,
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
        CORRECT: answers.same(final, expected) if final and expected else None,
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
            None if first is None else steps.total - tokens_before(first, steps)
        ),
        ANSWER_CHANGED_AFTER_FIRST: answers.changed(reasoning, final, prompt) if final else None,
        REFERENCE_FIRST_SHARE: (
            share_before(reference_first, steps) if reference_first is not None else None
        ),
    }
    return columns


def trace_metrics(
    reasoning: str,
    answer: str | None,
    reference: str | None,
    steps: Spans,
    text: dict[str, object],
    counts: dict[str, int],
    prompt: str | None = None,
) -> dict[str, object]:
    """Every metric of one trace with visible reasoning (`text`: its `text_metrics`
    row; `counts`: its `step_counts` row; `prompt` gives multiple-choice options their
    text)."""
    paras = paragraphs(reasoning)
    duplicates = len(paras) - len(set(paras))
    rep4 = float(text[REP4])  # type: ignore[arg-type]
    size = counts[STEPS]
    detectors = [
        size >= LOOP_MIN_STEPS and counts[LOOP_MARKERS] / size >= LOOP_MARKER_DENSITY,
        duplicates >= LOOP_DUPLICATE_PARAGRAPHS,
        int(text["words"]) >= LOOP_MIN_WORDS and rep4 >= LOOP_REP4,  # type: ignore[call-overload]
    ]
    return answer_metrics(reasoning, answer, reference, steps, prompt) | {
        STEPS: size,
        THOUGHTS: counts[THOUGHTS],
        REFLECTION_WORDS_COLUMN: text[REFLECTION_WORDS_COLUMN],
        SELF_CHECKS: counts[SELF_CHECKS],
        BACKTRACKS: counts[BACKTRACKS],
        REP2: text[REP2],
        REP3: text[REP3],
        REP4: rep4,
        LONGEST_REPEAT_RUN: longest_repeat_run(paras),
        LOOPING: sum(detectors) >= 2,
        LANGUAGE_MIXING: text[LANGUAGE_MIXING],
        EMPTY_REASONING: not reasoning.strip(),
        REFUSAL_COLUMN: is_refusal(answer),
    }
