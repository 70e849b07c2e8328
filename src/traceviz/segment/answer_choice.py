"""Multiple choice: the lettered options of a prompt, and where the reasoning commits
to an option's letter ("the answer is C", "it's C", `\\boxed{C}`, or "option C" /
"(C)" in a committing sentence that lists no other option).

Invariants: pure functions, total on any text; a letter's regexes are compiled once
(cached); at most MAX_CANDIDATES weak references are looked at.
"""

from __future__ import annotations

import re
from functools import lru_cache

from traceviz.segment.answer_position import MAX_CANDIDATES, committed, sentence_before
from traceviz.segment.answer_values import clean

_OPTION_LINE = re.compile(
    r"^[ \t]*(?:\*\*)?(?:\(([A-J])\)|([A-J])[).:])(?:\*\*)?[ \t]+(\S.*?)[ \t]*$", re.MULTILINE
)
_OPTION_INLINE = re.compile(r"\(([A-J])\)[ \t]*(.+?)(?=[ \t,;]*\([A-J]\)|[ \t]*$)", re.MULTILINE)
_SENTENCE_TAIL = re.compile(r"[^\n]*?(?:[.!?](?=\s)|$|(?=\n))", re.MULTILINE)


def options(prompt: str | None) -> dict[str, str]:
    """The lettered options of a multiple-choice prompt, letter to text (as written,
    `$…$` and `\\text{}` unwrapped): lines "(A) …", "A) …", "A. …", "A: …", or an inline
    "(A) … (B) …" list. Empty unless there are at least two, lettered in order from A."""
    if not prompt or ("A)" not in prompt and "A." not in prompt and "A:" not in prompt):
        return {}
    found = {(m.group(1) or m.group(2)): m.group(3) for m in _OPTION_LINE.finditer(prompt)} or {
        m.group(1): m.group(2) for m in _OPTION_INLINE.finditer(prompt)
    }
    letters = "ABCDEFGHIJ"[: len(found)]
    if len(found) < 2 or "".join(sorted(found)) != letters:
        return {}
    return {letter: clean(found[letter]) for letter in letters}


@lru_cache(maxsize=64)
def letter_patterns(letter: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(strong, weak) references to an option letter; weak ones need a committing
    sentence. "A" and "I" must not be followed by a lower-case word (an article)."""
    guard = r"(?![\w'’])" + (r"(?!\s+[a-z])" if letter in "AI" else "")
    strong = re.compile(
        r"\b(?:answer|choice|option)\s*(?:is|would be|should be|must be|=|:)\s*"
        rf"(?:option\s*|choice\s*)?\**\(?{letter}\)?\**{guard}"
        rf"|\\boxed\{{\s*(?:\\text(?:bf)?\{{)?\s*\(?{letter}\)?\s*\}}"
        rf"|\b(?:it|that|this)(?:'s|’s|\s+is|\s+must be|\s+should be|\s+has to be)\s+"
        rf"(?:option\s+|choice\s+)?\(?{letter}\)?{guard}",
        re.IGNORECASE if letter not in "AI" else 0,
    )
    weak = re.compile(
        rf"\b(?:option|choice)\s+\(?{letter}\)?{guard}|\({letter}\)|(?<![\w(]){letter}\)"
    )
    return strong, weak


def letter_position(reasoning: str, letter: str, choices: dict[str, str]) -> int | None:
    strong, weak = letter_patterns(letter)
    match = strong.search(reasoning)
    best = match.start() if match else None
    others = "".join(other for other in choices if other != letter)
    listing = re.compile(rf"\([{others}]\)|(?<![\w(])[{others}]\)") if others else None
    for index, candidate in enumerate(
        weak.finditer(reasoning, 0, len(reasoning) if best is None else best)
    ):
        if index >= MAX_CANDIDATES:
            break
        start = candidate.start()
        before = sentence_before(reasoning, start)
        after = _SENTENCE_TAIL.match(reasoning, start, start + 120)
        sentence = before + (after.group() if after else "")
        if listing and listing.search(sentence):
            continue  # a list of the choices
        if committed(reasoning, start, candidate.end()):
            return start
    return best
