"""Final answers: what a response answers, and where its reasoning first reaches it.

`read(answer, prompt)` finds the final answer where people write it: the last
`\\boxed{…}`, an "Answer:" / "the answer is" label (bold or not), the last bold phrase,
a leading Yes/No, the closing sentence of a short or concluding answer, and, for
multiple choice, the option the response picks (its letter mapped to the option's text
parsed from the prompt). Where none of these holds, it says why instead of guessing.

`first_position(reasoning, final, prompt)` is the first character offset at which the
reasoning reaches that answer (see its docstring for the rule), and `changed(…)` tells
whether the reasoning first committed to another answer.

Invariants: pure functions, total on any text (never raise on odd input); regexes are
compiled once (a letter's are cached); no per-character Python loops; positions are
offsets into the reasoning as given. This is an estimate, measured against hand labels
in docs/first-answer.md.

The work is split by job: `answer_values` (what a phrase says: `FinalAnswer`,
`normalise`, `key`), `answer_text` (where an answer text names its final answer),
`answer_position` (where the reasoning reaches a value), `answer_choice` (multiple-choice
options and letters); this module puts them together and finds the reasoning's first
commitment (`changed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from traceviz.segment.answer_choice import letter_patterns, letter_position, options
from traceviz.segment.answer_position import MAX_CANDIDATES, value_position
from traceviz.segment.answer_text import letter_in, phrases
from traceviz.segment.answer_values import (
    FinalAnswer,
    Kind,
    boxed,
    choice,
    clean,
    key,
    normalise,
    parse,
    reduce,
    same,
)

__all__ = [
    "MAX_CANDIDATES",
    "NEVER_REACHED",
    "NO_ANSWER_TEXT",
    "NO_FINAL_ANSWER",
    "REFUSED",
    "YES_NO_NOT_LOCATED",
    "FinalAnswer",
    "Kind",
    "Reading",
    "boxed",
    "changed",
    "extract",
    "first_position",
    "from_value",
    "key",
    "normalise",
    "options",
    "read",
    "same",
]

# Why a trace has no final answer / no first position (the `final_answer_missing_reason`
# column): one of these strings.
NO_ANSWER_TEXT = "no answer text"
NO_FINAL_ANSWER = "answer has no recognisable final answer"
NEVER_REACHED = "reasoning never reaches the answer"
REFUSED = "answer is a refusal"
YES_NO_NOT_LOCATED = "yes/no answer: where the reasoning reaches it is not located"

_HEDGE = re.compile(
    r"^(?:probably|likely|definitely|indeed|actually|just|simply|clearly|still|then)\s+",
    re.IGNORECASE,
)


def _either_case(text: str) -> str:
    """A regex for ASCII text in either case, as lower-casing the text would match it
    (re.IGNORECASE would also let the long s `ſ` match `s`)."""
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


# NOTE: one character class first, so the engine skips fast to where a match can start;
# the words in either case, so the reasoning need not be lower-cased (a copy of it all)
_COMMITMENT = re.compile(
    r"[\\aA](?:(?<=\\)(" + _either_case("boxed") + r"\{)"
    r"|(?<=[aA])"
    + _either_case("nswer")
    + r"\s*(?:"
    + "|".join(_either_case(w) for w in ("is", "would be", "should be", "must be"))
    + r"|=|:)\s*)"
)


@dataclass(frozen=True, slots=True)
class Reading:
    """The final answer of a response, or why there is none."""

    final: FinalAnswer | None
    missing_reason: str | None


def read(answer: str | None, prompt: str | None = None) -> Reading:
    """The final answer of a response's answer text (see the module docstring), or the
    reason there is none."""
    if not answer or not answer.strip():
        return Reading(None, NO_ANSWER_TEXT)
    choices = options(prompt)
    for phrase in phrases(answer):
        found = parse(phrase, choices)
        if found is not None:
            return Reading(found, None)
    if choices:
        letter = letter_in(answer, choices)
        if letter:
            return Reading(choice(letter, choices), None)
    return Reading(None, NO_FINAL_ANSWER)


def extract(answer: str | None, prompt: str | None = None) -> str | None:
    """The final answer's text (the `final_answer` column), or None."""
    final = read(answer, prompt).final
    return final.text if final else None


def from_value(value: str, prompt: str | None = None) -> FinalAnswer | None:
    """A final answer given as a bare value (a reference answer, or a test's)."""
    return parse(value, options(prompt))


def first_position(
    reasoning: str, final: FinalAnswer | str, prompt: str | None = None
) -> int | None:
    """The first offset at which the reasoning reaches the final answer, or None.

    A number or expression is reached where it is written as a whole value (not inside
    a longer number, an exponent or a fraction; `\\dfrac`, `a/b` and `1,000` forms
    included; not the base of a power, nor `-1` in `x - 1`). Words are reached where
    they are stated: not in a clause with a negation or a hypothesis before them (not,
    if, suppose, maybe…) nor with a negation after them ("… can't be"). Where the prompt
    already contains the value (always so for multiple choice), the occurrence must also
    sit in a committing clause: the text before it in its sentence holds a cue (so,
    therefore, =, gives, the answer, it's…). Words followed by "and", "or" or a list are
    one of several named, not the answer. For multiple choice, the option's value counts
    unless it is written after its own label ("C) 18", "C is 18": the choices copied),
    and so does a commitment to the letter: "the answer is C", "it's C", `\\boxed{C}`, or
    "option C" / "(C)" in a committing sentence that names no other option. A bare
    letter never counts. A compound answer ("A is a knave and B is a knight") is reached
    where the last of its predicates is. Yes/No answers are not located.
    """
    if isinstance(final, str):
        parsed = from_value(final, prompt)
        if parsed is None:
            return None
        final = parsed
    if final.kind == "yesno":
        return None
    if final.parts:  # reached when its last part is
        found_parts = [
            value_position(reasoning, FinalAnswer(part, part, "text"), prompt)
            for part in final.parts
        ]
        reached = [p for p in found_parts if p is not None]
        return max(reached) if len(reached) == len(found_parts) else None
    positions = [value_position(reasoning, final, prompt)]
    if final.letter:
        positions.append(letter_position(reasoning, final.letter, options(prompt)))
    found = [p for p in positions if p is not None]
    return min(found) if found else None


def changed(reasoning: str, final: FinalAnswer, prompt: str | None = None) -> bool | None:
    """Whether the reasoning first committed to another answer and ended on this one.

    Commitments are explicit answer statements in the reasoning: a `\\boxed{…}`, "the
    answer is / would be / should be …", "answer: …", and, for multiple choice, a
    commitment to a letter (as in `first_position`). True when the first commitment names
    a different answer than the final one; False when it names the final one, or when
    there is none and the reasoning reaches the final answer; None when neither tells
    (no commitment and the final answer never reached).
    """
    choices = options(prompt)
    first = _first_commitment(reasoning, final, choices)
    if first is not None:
        return not first
    if final.kind == "yesno":
        return None
    return False if first_position(reasoning, final, prompt) is not None else None


def _first_commitment(reasoning: str, final: FinalAnswer, choices: dict[str, str]) -> bool | None:
    """Whether the reasoning's first explicit commitment names the final answer (None
    when it commits to nothing)."""
    first: tuple[int, bool] | None = None
    for index, match in enumerate(_COMMITMENT.finditer(reasoning)):
        if index >= MAX_CANDIDATES:
            break
        if match.group(1) is not None:  # `\\boxed{`, in any case
            phrase = boxed(reasoning[match.start() : match.start() + 400]) or ""
        else:
            phrase = re.split(
                r"(?<=[^\d])[.!?](?:\s|$)|\n|[,:;]\s", reasoning[match.end() : match.end() + 120]
            )[0]
        phrase = _HEDGE.sub("", clean(phrase))
        candidate = parse(reduce(phrase), choices) if phrase else None
        if candidate is None or not _comparable(candidate, final):
            continue
        first = (match.start(), same(candidate, final) or _contains(candidate, final))
        break
    if final.letter:
        for letter in choices:
            strong, _ = letter_patterns(letter)
            hit = strong.search(reasoning)
            if hit and (first is None or hit.start() < first[0]):
                first = (hit.start(), letter == final.letter)
    return None if first is None else first[1]


def _comparable(candidate: FinalAnswer, final: FinalAnswer) -> bool:
    """Whether a commitment is an answer of the same sort as the final one."""
    if final.kind in ("math", "choice") and candidate.kind == "text":
        return bool(re.match(r"^-?\d", candidate.core)) or candidate.letter is not None
    if final.kind == "text":
        return len(candidate.text.split()) <= 8
    return True


def _contains(candidate: FinalAnswer, final: FinalAnswer) -> bool:
    return final.kind == "text" and key(final.core) in key(candidate.text)
