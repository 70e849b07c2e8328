"""Where the reasoning reaches a value: each occurrence of a number, expression or
phrase as the reasoning may write it, kept when it is stated (not negated or supposed)
and, where the prompt already holds the value, committed to (see
`answers.first_position` for the rule).

Invariants: pure functions, total on any text; a value's regex is compiled once (cached);
at most MAX_CANDIDATES occurrences are looked at per search; offsets are into the
reasoning as given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Literal

from traceviz.segment.answer_values import LATEX_COMMAND, PLAIN_NUMBER, WORD, FinalAnswer, Kind

MAX_CANDIDATES = 400  # occurrences of a value looked at before giving up on a trace
_LOOK_BACK = 240  # characters before an occurrence searched for its sentence start
_FRACTION = re.compile(r"^(-?)\\frac\{(-?)(\d+)\}\{(\d+)\}$|^(-?)(\d+)/(\d+)$")
# the words and signs that make a clause commit to what follows them
_CUE = re.compile(
    r"\b(?:so|thus|therefore|hence|answer|must|conclude|means|equals?|gives?|giving|get|gets|"
    r"got|yields?|makes?|correct|result|total|it's|that's|which is|it is|that is|is actually)\b"
    r"|=|≈|\\approx|\\implies",
    re.IGNORECASE,
)
_NEGATION_BEFORE = re.compile(
    r"\b(?:not|never|cannot|neither|nor|isn't|aren't|wasn't|can't|couldn't|won't|suppose|"
    r"if|assume|whether|maybe|perhaps|guess|guessed|think it's|say)\b",
    re.IGNORECASE,
)
_NEGATION_AFTER = re.compile(
    r"^\W{0,3}(?:\w+\s+){0,2}?(?:can't|cannot|isn't|wasn't|is not|was not|couldn't|must not|"
    r"did not|didn't|doesn't)\b",
    re.IGNORECASE,
)
_LIST_AFTER = re.compile(r"\s*(?:,\s*(?:the\s+|a\s+)?\w+\s*(?:,|\band\b|\bor\b)|\band\b|\bor\b|/)")
_SENTENCE_START = re.compile(r".*(?:[.!?](?=\s)|\n)", re.DOTALL)


def value_position(reasoning: str, final: FinalAnswer, prompt: str | None) -> int | None:
    found = _value_pattern(final.core, final.kind)
    if found is None:
        return None
    pattern, sign = found
    needs_commitment = final.kind == "choice" or (
        bool(prompt) and next(_occurrences(prompt or "", pattern, sign), None) is not None
    )
    for start, end in _occurrences(reasoning, pattern, sign):
        if final.letter and _after_label(reasoning, start, final.letter):
            continue
        if final.kind != "math" and _LIST_AFTER.match(reasoning, end):
            continue  # one of several named ("the butler and the maid")
        if needs_commitment:
            if committed(reasoning, start, end):
                return start
        elif final.kind == "math" or _asserted(reasoning, start, end):
            return start
    return None


Sign = Literal["none", "positive", "negative"]


_OPERAND = frozenset(")}]")


_NOT_BEFORE_NUMBER = frozenset(".^_/,-−")


def _occurrences(text: str, pattern: re.Pattern[str], sign: Sign) -> Iterator[tuple[int, int]]:
    """(start, end) of each occurrence of a value, at most MAX_CANDIDATES of them.

    NOTE: number patterns begin with their digits, so the regex engine scans for that
    literal quickly; what may stand before a number (a sign, not a subtraction; not a
    decimal point or another digit) is checked here, on the few characters before it.
    """
    for index, match in enumerate(pattern.finditer(text)):
        if index >= MAX_CANDIDATES:
            return
        start = match.start()
        if sign == "none":
            yield start, match.end()
            continue
        before = text[max(0, start - 3) : start]
        last = before[-1:]
        if sign == "positive":
            if not last or not (last.isalnum() or last == "_" or last in _NOT_BEFORE_NUMBER):
                yield start, match.end()
            continue
        stripped = before.rstrip()
        if not stripped.endswith(("-", "−")):
            continue
        minus = start - (len(before) - len(stripped)) - 1
        ahead = text[max(0, minus - 2) : minus].rstrip()[-1:]
        if not ahead or not (ahead.isalnum() or ahead == "_" or ahead in _OPERAND):
            yield minus, match.end()


@lru_cache(maxsize=4096)
def _value_pattern(core: str, kind: Kind) -> tuple[re.Pattern[str], Sign] | None:
    """A regex for a value as the reasoning may write it, and how to check its sign."""
    if not core:
        return None
    if PLAIN_NUMBER.match(core):
        negative = core.startswith("-")
        return re.compile(_number_pattern(core.lstrip("-"))), "negative" if negative else "positive"
    fraction = _FRACTION.match(core)
    if fraction:
        return re.compile(_fraction_pattern(fraction)), "none"
    if kind == "text" or (kind == "choice" and WORD.search(LATEX_COMMAND.sub(" ", core))):
        words = [re.escape(w) for w in core.split()]
        body = r"(?:(?:the|a|an)\s+)?" + r"[\s\-]+".join(words) + r"(?![\w-])"
        return re.compile(body, re.IGNORECASE), "positive"
    pieces = re.findall(r"\\[A-Za-z]+|\S", core)
    body = r"\s*".join(r"\\[dt]?frac" if p == "\\frac" else re.escape(p) for p in pieces)
    tail = r"(?![\w])" if core[-1:].isalnum() else ""
    return re.compile(body + tail), "positive" if core[:1].isalnum() else "none"


def _number_pattern(digits: str) -> str:
    """Digits (thousands may be grouped with commas), not followed by more of a number,
    an exponent, a fraction bar or a range."""
    whole, _, decimals = digits.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    body = ",?".join([whole, *groups]) + (r"\." + decimals if decimals else "")
    return body + r"(?![\d^_/]|[.,]\d|-\d|\)\^)"


def _fraction_pattern(match: re.Match[str]) -> str:
    if match.group(3) is not None:
        negative = bool(match.group(1)) != bool(match.group(2))
        top, bottom = match.group(3), match.group(4)
    else:
        negative = bool(match.group(5))
        top, bottom = match.group(6), match.group(7)
    frac = rf"\\[dt]?frac\s*\{{\s*{top}\s*\}}\s*\{{\s*{bottom}\s*\}}"
    inner = rf"\\[dt]?frac\s*\{{\s*-\s*{top}\s*\}}\s*\{{\s*{bottom}\s*\}}"
    plain = rf"{top}\s*/\s*{bottom}(?!\d|\.\d)"
    if negative:
        sign = r"(?<![\w)}\]])(?<![\w)}\]]\s)(?:-|−)\s*"
        return rf"{sign}(?:{frac}|\(?{plain})|{inner}"
    return rf"(?<![-−\w{{])(?<![-−]\s)(?:{frac}|(?<![\d./]){plain})"


def sentence_before(reasoning: str, start: int) -> str:
    """The text of the sentence an offset is in, up to that offset."""
    window = reasoning[max(0, start - _LOOK_BACK) : start]
    head = _SENTENCE_START.match(window)
    return window[head.end() :] if head else window


def committed(reasoning: str, start: int, end: int) -> bool:
    """Whether an occurrence sits in a committing clause (see `first_position`)."""
    clause = sentence_before(reasoning, start)
    if not _CUE.search(clause) or _NEGATION_BEFORE.search(clause):
        return False
    return not _NEGATION_AFTER.match(reasoning[end : end + 40])


def _asserted(reasoning: str, start: int, end: int) -> bool:
    """Whether a phrase is stated, not negated or supposed (see `first_position`)."""
    clause = sentence_before(reasoning, start)
    return not _NEGATION_BEFORE.search(clause) and not _NEGATION_AFTER.match(
        reasoning[end : end + 40]
    )


def _after_label(reasoning: str, start: int, letter: str) -> bool:
    """Whether a value is written right after its option label ("C) 18", "C is 18"): a
    copy or a description of the choices, not an answer."""
    before = reasoning[max(0, start - 16) : start]
    return bool(
        re.search(
            rf"(?:\({letter}\)|(?<![\w(]){letter}[).:]|\b{letter}\s+(?:is|=))\**\s*\$?$", before
        )
    )
