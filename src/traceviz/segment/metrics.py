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
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from traceviz.segment import answers

REFLECTION_WORDS = (
    "wait", "mistake", "however", "but", "retry", "error", "verify", "wrong", "evaluate", "check",
)  # fmt: skip
_REFLECTION = re.compile(r"\b(?:" + "|".join(REFLECTION_WORDS) + r")\b", re.IGNORECASE)
BACKTRACK_CUES = frozenset(
    {"wait", "but wait", "actually", "on second thought", "let me reconsider"}
)
_WORD = re.compile(r"\w+", re.UNICODE)
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


def reflection_words(text: str) -> int:
    """Occurrences of the R1 paper's reflection words, whole words, case-folded."""
    return len(_REFLECTION.findall(text))


def repetition(words: Sequence[str], n: int) -> float:
    """rep-n: the share of word n-grams that repeat an earlier one (0 = none repeat)."""
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


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
def script(char: str) -> str | None:
    """The writing system of a letter (LATIN, CJK, CYRILLIC…), None for non-letters."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if name.startswith(("CJK", "HIRAGANA", "KATAKANA")):
        return "CJK"
    return name.split(" ", 1)[0] or None


def word_scripts(text: str) -> list[str]:
    """The script of each word (that of its first letter), words without letters left out."""
    found = []
    for word in _WORD.findall(text):
        for char in word:
            kind = script(char)
            if kind is not None:
                found.append(kind)
                break
    return found


def dominant_script(text: str) -> str | None:
    counts = Counter(word_scripts(text))
    return counts.most_common(1)[0][0] if counts else None


def language_mixing(reasoning: str, prompt: str | None) -> float | None:
    """Share of the reasoning's words written in another script than the prompt's
    dominant script (the reasoning's own, when there is no prompt)."""
    words = word_scripts(reasoning)
    base = dominant_script(prompt or "") or (Counter(words).most_common(1)[0][0] if words else None)
    if base is None:
        return None
    return sum(s != base for s in words) / len(words) if words else 0.0


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
    prompt: str | None,
    reference: str | None,
    steps: Sequence[StepView],
) -> dict[str, object]:
    """Every metric of one trace with visible reasoning."""
    words = [w.lower() for w in _WORD.findall(reasoning)]
    paras = paragraphs(reasoning)
    markers = [(s.marker or "").lower() for s in steps]
    final = answers.extract(answer)
    first = answers.first_position(reasoning, final) if final else None
    reference_normal = answers.normalise(reference) if reference else None
    reference_first = (
        answers.first_position(reasoning, reference_normal) if reference_normal else None
    )
    duplicates = len(paras) - len(set(paras))
    rep4 = repetition(words, 4)
    detectors = [
        len(steps) >= LOOP_MIN_STEPS
        and sum(m in _LOOP_MARKERS for m in markers) / len(steps) >= LOOP_MARKER_DENSITY,
        duplicates >= LOOP_DUPLICATE_PARAGRAPHS,
        len(words) >= LOOP_MIN_WORDS and rep4 >= LOOP_REP4,
    ]
    first_share = share_before(first, steps) if first is not None else None
    return {
        "steps": len(steps),
        "thoughts": (max(s.thought for s in steps) + 1) if steps else 0,
        "reflection_words": reflection_words(reasoning),
        "self_checks": sum(s.kind == "self_checking" for s in steps),
        "backtracks": sum(m in BACKTRACK_CUES for m in markers),
        "final_answer": final,
        "first_answer_share": first_share,
        "after_first_answer": None if first_share is None else 1 - first_share,
        "correct": (final == reference_normal) if final and reference_normal else None,
        "reference_first_share": (
            share_before(reference_first, steps) if reference_first is not None else None
        ),
        "rep2": repetition(words, 2),
        "rep3": repetition(words, 3),
        "rep4": rep4,
        "longest_repeat_run": longest_repeat_run(paras),
        "looping": sum(detectors) >= 2,
        "language_mixing": language_mixing(reasoning, prompt),
        "empty_reasoning": not reasoning.strip(),
        "refusal": is_refusal(answer),
    }
