"""The step splitter as it was before it became one regular-expression pass per text
(a verbatim copy of `traceviz.segment.split` at commit e45f68c), kept only as the
reference that `tests/test_split_equivalence.py` and `bench/segment_bench.py` compare
the current splitter with. Not used by traceviz itself.

Cutting reasoning text into steps, naming the cue that opens each, grouping thoughts.

A step ends at a paragraph break (a blank line) or at a sentence end (`.`, `?`, `!`
followed by white space), except inside LaTeX math (`$…$`, `$$…$$`, `\\(…\\)`,
`\\[…\\]`), after a common abbreviation (`e.g.`, `i.e.`, `Dr.`…) and after the number
of an enumeration (`1. `). Fragments under 10 characters join a neighbour, and the
last step is kept even without a closing boundary.

Invariant (tested as a property): spans are in order, do not overlap, and together
with the white space between them cover the whole text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

MIN_STEP_CHARS = 10

_MATH = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\\\(.*?\\\)|(?<!\\)\$[^$\n]+?\$", re.DOTALL)
_BOUNDARY = re.compile(r"\n[ \t]*\n\s*|[.?!]+[\"')\]]*\s+")
_ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "etc",
        "vs",
        "cf",
        "al",
        "approx",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "fig",
        "eq",
        "eqs",
        "no",
        "resp",
        "st",
        "jr",
        "sr",
        "ca",
        "ex",
    }  # fmt: skip
)
_WORD_BEFORE = re.compile(r"([A-Za-z]+(?:\.[A-Za-z]+)*)$")
_ENUMERATION = re.compile(r"(?:^|\n)[ \t]*(?:\d{1,2}|[a-zA-Z]|[ivxIVX]{1,4})$")

# Cues that open a step, longest first; the marker column records the cue as written.
CUES = (
    "Let me double-check", "Let me double check", "Let me reconsider", "Let me verify",
    "Let me check", "Let me think", "Let me try", "Let me see", "But wait", "Wait",
    "Hmm", "Alternatively", "Actually", "Another approach", "Another way", "Another method",
    "On second thought", "Therefore", "Thus", "So", "Okay", "OK", "Alright", "First",
    "Then", "Next", "Now", "Finally", "But", "However", "Maybe", "Perhaps",
)  # fmt: skip
CUE_PATTERN = r"^[\s*_#>-]*(" + "|".join(re.escape(c) for c in CUES) + r")\b"
_CUE = re.compile(CUE_PATTERN.removeprefix("^"), re.IGNORECASE)  # used with match(): anchored
# Cues that start a new thought: the model leaves its current line of attack
# (the underthinking paper's and EvalScope ThinkBench's switch markers).
SWITCH_CUES = frozenset(
    c.lower()
    for c in (
        "Alternatively", "But wait", "Let me reconsider", "Another approach", "Another way",
        "Another method", "On second thought",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Step:
    """One step: `text[start:end]`, the cue that opened it, the thought it belongs to."""

    start: int
    end: int
    marker: str | None
    thought: int


def spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each step of `text`, white space at the edges left out."""
    protected = [m.span() for m in _MATH.finditer(text)] if "$" in text or "\\" in text else []
    starts = [a for a, _ in protected]
    cuts = []
    for match in _BOUNDARY.finditer(text):
        end = match.start()
        if _inside(end, protected, starts) or _keeps_sentence(text, match):
            continue
        cuts.append((end + _closing_length(match.group()), match.end()))
    pieces = []
    start = 0
    for stop, resume in cuts:
        pieces.append((start, stop))
        start = resume
    pieces.append((start, len(text)))
    trimmed = [_trim(text, a, b) for a, b in pieces]
    return _merge_short([p for p in trimmed if p[1] > p[0]])


def _closing_length(boundary: str) -> int:
    """The punctuation a sentence boundary keeps in its step (`.`, `?!`, `."`)."""
    return len(boundary) - len(boundary.lstrip(".?!\"')]"))


def _inside(position: int, protected: list[tuple[int, int]], starts: list[int]) -> bool:
    """Whether a position is inside one of the (sorted, disjoint) protected spans."""
    at = bisect_right(starts, position) - 1
    return at >= 0 and position < protected[at][1]


def _keeps_sentence(text: str, match: re.Match[str]) -> bool:
    """A `.` that ends an abbreviation or an enumeration's number does not end a step."""
    if not match.group().startswith("."):
        return False
    begin = max(0, match.start() - 30)
    word = _WORD_BEFORE.search(text, begin, match.start())
    if word and word.group(1).lower() in _ABBREVIATIONS:
        return True
    return bool(_ENUMERATION.search(text[begin : match.start()]))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _merge_short(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Fragments under MIN_STEP_CHARS join the step before (the first joins the next)."""
    merged: list[tuple[int, int]] = []
    for start, end in pieces:
        if merged and (
            end - start < MIN_STEP_CHARS or merged[-1][1] - merged[-1][0] < MIN_STEP_CHARS
        ):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def marker(text: str, start: int = 0, end: int | None = None) -> str | None:
    """The cue that opens a step (`text[start:end]`), as written (`Wait`, `Let me check`…)."""
    found = _CUE.match(text, start, len(text) if end is None else end)
    return found.group(1) if found else None


def steps(text: str) -> list[Step]:
    """The steps of a reasoning text with their markers and thought numbers (from 0)."""
    result = []
    thought = 0
    for index, (start, end) in enumerate(spans(text)):
        cue = marker(text, start, end)
        if index and cue is not None and cue.lower() in SWITCH_CUES:
            thought += 1
        result.append(Step(start, end, cue, thought))
    return result
