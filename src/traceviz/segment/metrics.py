"""Behaviour metrics of each trace's visible reasoning: one column each, defined below.

Hidden reasoning gives nulls, not zeros. Sources: reflection words from the
DeepSeek-R1 paper (arXiv 2501.12948, its "aha" analysis); thought switches from
"Thoughts Are All Over the Place" (underthinking, arXiv 2501.18585) and EvalScope
ThinkBench; first-answer position as an offline proxy of overthinking ("Do NOT Think
That Much for 2+3=?", arXiv 2412.21187); language mixing as DeepSeek-R1's
language-consistency reward measures it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from traceviz.segment import answers

REFLECTION_WORDS = (
    "wait", "mistake", "however", "but", "retry", "error", "verify", "wrong", "evaluate", "check",
)  # fmt: skip
_REFLECTION = r"(?i)\b(?:" + "|".join(REFLECTION_WORDS) + r")\b"
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


# Writing systems told apart by language_mixing (Unicode scripts; kana count as CJK).
SCRIPTS = {
    "LATIN": r"\p{Latin}",
    "CJK": r"\p{Han}\p{Hiragana}\p{Katakana}",
    "CYRILLIC": r"\p{Cyrillic}",
    "GREEK": r"\p{Greek}",
    "ARABIC": r"\p{Arabic}",
    "HEBREW": r"\p{Hebrew}",
    "HANGUL": r"\p{Hangul}",
    "DEVANAGARI": r"\p{Devanagari}",
    "THAI": r"\p{Thai}",
}
_LETTERS = "".join(SCRIPTS.values())
_OTHER = r"[\p{L}--[" + _LETTERS + "]]"


def _words_in(script_class: str) -> str:
    """A word (a run of \\w) whose first letter is in the class."""
    return r"\b[\d_\p{M}\p{Pc}]*" + script_class


def _script_counts(column: str) -> list[pl.Expr]:
    text = pl.col(column).fill_null("")
    counts = [
        text.str.count_matches(_words_in(f"[{letters}]")).alias(name)
        for name, letters in SCRIPTS.items()
    ]
    return [*counts, text.str.count_matches(_words_in(_OTHER)).alias("OTHER")]


def _dominant(frame: pl.DataFrame) -> pl.Series:
    """The script most words are written in (the first listed on a tie), null if none."""
    names = [*SCRIPTS, "OTHER"]
    counts = frame.select(names).to_numpy()
    best = counts.argmax(axis=1)
    found = [names[i] if counts[row, i] > 0 else None for row, i in enumerate(best)]
    return pl.Series(found, dtype=pl.String)


def text_metrics(reasoning: pl.Series, prompt: pl.Series) -> pl.DataFrame:
    """Metrics of whole reasoning texts, computed by polars over a batch at once:
    `reflection_words`, `rep2`/`rep3`/`rep4` (share of word n-grams that repeat an
    earlier one), `words`, and `language_mixing` (share of the reasoning's words written
    in another script than the prompt's dominant script, or the reasoning's own when the
    prompt has none; a word's script is that of its first letter)."""
    frame = pl.DataFrame({"reasoning": reasoning, "prompt": prompt}).with_row_index("row")
    words = (
        frame.select(
            "row", pl.col("reasoning").str.to_lowercase().str.extract_all(r"\w+").alias("w")
        )
        .explode("w")
        .drop_nulls("w")
    )
    out = frame.select(
        "row",
        pl.col("reasoning").str.count_matches(_REFLECTION).alias("reflection_words"),
    )
    counts = words.group_by("row").agg(pl.len().alias("words"))
    out = out.join(counts, on="row", how="left")
    for n in (2, 3, 4):
        same = [pl.col("row").shift(-k) == pl.col("row") for k in range(1, n)]
        gram = pl.concat_str([pl.col("w").shift(-k) for k in range(n)], separator=" ")
        grams = (
            words.select("row", pl.when(pl.all_horizontal(same)).then(gram).alias("g"))
            .drop_nulls("g")
            .group_by("row")
            .agg((1 - pl.col("g").n_unique() / pl.len()).alias(f"rep{n}"))
        )
        out = out.join(grams, on="row", how="left")
    mine = frame.select(_script_counts("reasoning"))
    theirs = frame.select(_script_counts("prompt"))
    base = pl.select(pl.coalesce(_dominant(theirs), _dominant(mine))).to_series()
    total = mine.sum_horizontal()
    in_base = [None if b is None else int(mine[b][row]) for row, b in enumerate(base.to_list())]
    mixing = [
        None if kept is None else ((t - kept) / t if t else 0.0)
        for kept, t in zip(in_base, total.to_list(), strict=True)
    ]
    return out.sort("row").with_columns(
        pl.col("words").fill_null(0),
        *(pl.col(f"rep{n}").fill_null(0.0) for n in (2, 3, 4)),
        pl.Series("language_mixing", mixing, dtype=pl.Float64),
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


def trace_metrics(
    reasoning: str,
    answer: str | None,
    reference: str | None,
    steps: Sequence[StepView],
    text: dict[str, object],
) -> dict[str, object]:
    """Every metric of one trace with visible reasoning (`text`: its `text_metrics` row)."""
    paras = paragraphs(reasoning)
    markers = [(s.marker or "").lower() for s in steps]
    final = answers.extract(answer)
    first = answers.first_position(reasoning, final) if final else None
    reference_normal = answers.normalise(reference) if reference else None
    reference_first = (
        answers.first_position(reasoning, reference_normal) if reference_normal else None
    )
    duplicates = len(paras) - len(set(paras))
    rep4 = float(text["rep4"])  # type: ignore[arg-type]
    detectors = [
        len(steps) >= LOOP_MIN_STEPS
        and sum(m in _LOOP_MARKERS for m in markers) / len(steps) >= LOOP_MARKER_DENSITY,
        duplicates >= LOOP_DUPLICATE_PARAGRAPHS,
        int(text["words"]) >= LOOP_MIN_WORDS and rep4 >= LOOP_REP4,  # type: ignore[call-overload]
    ]
    first_share = share_before(first, steps) if first is not None else None
    return {
        "steps": len(steps),
        "thoughts": (max(s.thought for s in steps) + 1) if steps else 0,
        "reflection_words": text["reflection_words"],
        "self_checks": sum(s.kind == "self_checking" for s in steps),
        "backtracks": sum(m in BACKTRACK_CUES for m in markers),
        "final_answer": final,
        "first_answer_share": first_share,
        "after_first_answer": None if first_share is None else 1 - first_share,
        "correct": (final == reference_normal) if final and reference_normal else None,
        "reference_first_share": (
            share_before(reference_first, steps) if reference_first is not None else None
        ),
        "rep2": text["rep2"],
        "rep3": text["rep3"],
        "rep4": rep4,
        "longest_repeat_run": longest_repeat_run(paras),
        "looping": sum(detectors) >= 2,
        "language_mixing": text["language_mixing"],
        "empty_reasoning": not reasoning.strip(),
        "refusal": is_refusal(answer),
    }
