"""The first-answer detector as it was before it was split into modules and its
commitment search stopped lower-casing the whole reasoning (a verbatim copy of
`traceviz.segment.answers` at commit e45f68c), kept only as the reference that
`tests/test_answers_equivalence.py` and `bench/segment_bench.py` compare the current
detector with. Not used by traceviz itself.

Final answers: what a response answers, and where its reasoning first reaches it.

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
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Kind = Literal["math", "text", "choice", "yesno"]

# Why a trace has no final answer / no first position (the `final_answer_missing_reason`
# column): one of these strings.
NO_ANSWER_TEXT = "no answer text"
NO_FINAL_ANSWER = "answer has no recognisable final answer"
NEVER_REACHED = "reasoning never reaches the answer"
REFUSED = "answer is a refusal"
YES_NO_NOT_LOCATED = "yes/no answer: where the reasoning reaches it is not located"

MAX_CANDIDATES = 400  # occurrences of a value looked at before giving up on a trace
_LOOK_BACK = 240  # characters before an occurrence searched for its sentence start
_LAST_LABELS = 20  # "answer" labels of an answer text tried, from its end
_CLOSING_TAIL = 600  # characters at the end of an answer searched for its last sentence

_OPTION_LINE = re.compile(
    r"^[ \t]*(?:\*\*)?(?:\(([A-J])\)|([A-J])[).:])(?:\*\*)?[ \t]+(\S.*?)[ \t]*$", re.MULTILINE
)
_OPTION_INLINE = re.compile(r"\(([A-J])\)[ \t]*(.+?)(?=[ \t,;]*\([A-J]\)|[ \t]*$)", re.MULTILINE)
_BOXED = "\\boxed{"
# what follows the word "answer" in a label ("Answer:", "**Final answer:**", "the answer is")
_LABEL = re.compile(
    r"(?:\*\*|__)?[ \t]*(?:is[ \t]+|would be[ \t]+|should be[ \t]+|=|:|-|–|—)"
    r"(?:\*\*|__)?[ \t:]*([^\n]{0,300})",
    re.IGNORECASE,
)
_BOLD = re.compile(r"\*\*(?!\s)(.+?)(?<!\s)\*\*|__(?!\s)(.+?)(?<!\s)__")
_HEADING = re.compile(
    r"^(?:final answer|answer|solution|explanation|step \d+|summary|conclusion|note|"
    r"reasoning|verification|check|result|approach|analysis)s?\W*$",
    re.IGNORECASE,
)
_YES_NO = re.compile(r"^\W*(yes|no)\b(?=[.,!;:—–-]|\s*$)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|\n\s*\n")
_CLOSING_CUE = re.compile(
    r"^\W*(?:so|therefore|thus|hence|in conclusion|in summary|overall|finally|in short|"
    r"the answer)\b[,:]?\s*",
    re.IGNORECASE,
)
_COPULA = re.compile(r"\b(?:is|are|was|were)\s+")
_CLAUSES = re.compile(r"\s*(?:,\s*and\b|\band\b|;|,)\s*")
_EQUALS = re.compile(r"(?:=|\bequals\b|\bis equal to\b|\\approx|≈)\s*")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_NUMBER_UNIT = re.compile(
    r"(?<![\w^.\\/])(-?\$?\d[\d,]*(?:\.\d+)?%?)(?![\w^/])(?:\s+([A-Za-z][A-Za-z'’-]*))?"
)
_NOT_UNITS = frozenset(
    ("more", "less", "than", "and", "or", "in", "of", "to", "for", "is", "are", "was",
     "were", "times", "so", "then", "the", "a", "an", "at", "by", "on", "with", "from",
     "as", "if", "which", "that", "this", "it")
)  # fmt: skip
_MARKDOWN = re.compile(r"\*\*|__|(?<!\w)[*_](?!\s)|(?<!\s)[*_](?!\w)|`")
_MATH_WRAPPER = re.compile(r"^\s*(?:\\\(|\\\[|\$\$?)\s*(.*?)\s*(?:\\\)|\\\]|\$\$?)\s*$", re.DOTALL)
_TEXT_WRAPPER = re.compile(r"\\(?:text|mathrm|mathbf|textbf|textit|mbox)\{([^{}]*)\}")
_LEADING_LETTER = re.compile(r"^\(?([A-J])\)?(?:[).:,]|\s+|$)(.*)$", re.DOTALL)
_FRACTION = re.compile(r"^(-?)\\frac\{(-?)(\d+)\}\{(\d+)\}$|^(-?)(\d+)/(\d+)$")
_PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?%?$")
_WORD = re.compile(r"(?<!\\)\b[A-Za-z]{2,}\b")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_HEDGE = re.compile(
    r"^(?:probably|likely|definitely|indeed|actually|just|simply|clearly|still|then)\s+",
    re.IGNORECASE,
)

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
_SENTENCE_TAIL = re.compile(r"[^\n]*?(?:[.!?](?=\s)|$|(?=\n))", re.MULTILINE)
# literal first, so the engine scans for it fast; matched on the lower-cased reasoning
_COMMITMENT = re.compile(r"\\boxed\{|answer\s*(?:is|would be|should be|must be|=|:)\s*")


@dataclass(frozen=True, slots=True)
class FinalAnswer:
    """A final answer: `text` is what the `final_answer` column shows, `core` what is
    looked for in the reasoning (a number, expression or phrase), `letter` the chosen
    option of a multiple-choice prompt, `parts` the predicates of a compound answer, each
    of which the reasoning must reach."""

    text: str
    core: str
    kind: Kind
    letter: str | None = None
    parts: tuple[str, ...] = ()  # the predicates of a compound answer ("A is a knave and …")


@dataclass(frozen=True, slots=True)
class Reading:
    """The final answer of a response, or why there is none."""

    final: FinalAnswer | None
    missing_reason: str | None


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
    return {letter: _clean(found[letter]) for letter in letters}


def read(answer: str | None, prompt: str | None = None) -> Reading:
    """The final answer of a response's answer text (see the module docstring), or the
    reason there is none."""
    if not answer or not answer.strip():
        return Reading(None, NO_ANSWER_TEXT)
    choices = options(prompt)
    for phrase in _phrases(answer):
        found = _final(phrase, choices)
        if found is not None:
            return Reading(found, None)
    if choices:
        letter = _letter_in(answer, choices)
        if letter:
            return Reading(_choice(letter, choices), None)
    return Reading(None, NO_FINAL_ANSWER)


def extract(answer: str | None, prompt: str | None = None) -> str | None:
    """The final answer's text (the `final_answer` column), or None."""
    final = read(answer, prompt).final
    return final.text if final else None


def from_value(value: str, prompt: str | None = None) -> FinalAnswer | None:
    """A final answer given as a bare value (a reference answer, or a test's)."""
    return _final(value, options(prompt))


def same(a: FinalAnswer, b: FinalAnswer) -> bool:
    """Whether two final answers say the same (option letter, else value)."""
    if a.letter and b.letter:
        return a.letter == b.letter
    return key(a.core) == key(b.core) or key(a.text) == key(b.text)


def normalise(value: str) -> str:
    """An answer in display form: no `$`, `\\text{}`, markdown or final dot; math without
    spaces (`\\dfrac` as `\\frac`, `1,000` as `1000`), words with single spaces."""
    value = _TEXT_WRAPPER.sub(r"\1", value)
    value = value.replace("$", "").replace("\\%", "%").replace("\\!", "").replace("\\,", " ")
    value = _MARKDOWN.sub("", value).strip().strip("\"'“”").strip()
    value = value.rstrip(".").strip()
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", value):
        value = value.replace(",", "")
    if _WORD.search(_LATEX_COMMAND.sub(" ", value)):
        return " ".join(value.split())
    value = re.sub(r"\\[dt]frac", r"\\frac", value).replace("\\left", "").replace("\\right", "")
    return re.sub(r"\s+", "", value)


def key(value: str) -> str:
    """A comparison key: normalised, lower case, no spaces, no leading article."""
    return re.sub(r"\s+", "", _ARTICLE.sub("", normalise(value)).lower())


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
            _value_position(reasoning, FinalAnswer(part, part, "text"), prompt)
            for part in final.parts
        ]
        reached = [p for p in found_parts if p is not None]
        return max(reached) if len(reached) == len(found_parts) else None
    positions = [_value_position(reasoning, final, prompt)]
    if final.letter:
        positions.append(_letter_position(reasoning, final.letter, options(prompt)))
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


# --- reading the answer text ----------------------------------------------------------


def _phrases(answer: str) -> Iterator[str]:
    """Candidate answer phrases, most explicit first (lazily: the first that names an
    answer ends the search)."""
    box = _last_boxed(answer)
    if box is not None:
        yield box
    lowered = answer.lower()
    if "answer" in lowered:  # NOTE: a literal find spares most answers the label regex
        # the last label with content; only the last few are tried, so a text made of
        # labels stays linear
        ends = [at.end() for at in re.finditer("answer", lowered)][-_LAST_LABELS:]
        for end in reversed(ends):
            label = _LABEL.match(answer, end)
            if label and _clean(label.group(1)):
                yield _reduce(label.group(1))
                break
    if "**" in answer or "__" in answer:
        bold = [
            b
            for m in _BOLD.finditer(answer)
            if (b := (m.group(1) or m.group(2)).strip()) and not _heading(b)
        ]
        if bold:
            yield _reduce(bold[-1])
    yes_no = _YES_NO.match(answer)
    if yes_no:
        yield yes_no.group(1)
    closing = _closing(answer)
    if closing:
        yield closing


def _heading(bold: str) -> bool:
    text = bold.strip()
    return text.endswith(":") or bool(_HEADING.match(text))


def _last_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{…}` (nested braces allowed), or None."""
    start = text.rfind(_BOXED)
    if start < 0:
        return None
    begin = start + len(_BOXED)
    depth = 0
    for match in re.finditer(r"[{}]", text[begin:]):
        if match.group() == "{":
            depth += 1
        elif depth == 0:
            return text[begin : begin + match.start()]
        else:
            depth -= 1
    return None


def boxed(text: str) -> str | None:
    """The content of the last `\\boxed{…}` (nested braces allowed), or None."""
    return _last_boxed(text)


def _closing(answer: str) -> str | None:
    """The answer of a closing sentence that concludes ("So …", "Therefore …") or of
    an answer that is one short sentence."""
    text = answer.strip()
    tail = text[-_CLOSING_TAIL:]  # the last sentence is all that is read
    sentences = [s for s in _SENTENCE_END.split(tail) if s.strip()]
    if not sentences:
        return None
    last = sentences[-1].strip()
    cue = _CLOSING_CUE.match(last)
    several = len(sentences) > 1 or len(text) > len(tail)
    if not cue and (several or len(last.split()) > 16):
        return None
    clause = _clean(last[cue.end() :] if cue else last)
    if not clause:
        return None
    return _reduce(clause, sentence=True)


def _reduce(phrase: str, *, sentence: bool = False) -> str:
    """The answer inside a phrase: a boxed value, the value after `=` / "equals", the
    number (with its unit) of a sentence, or the predicate of "X is Y"."""
    box = _last_boxed(phrase)
    if box is not None:
        return box
    text = _clean(phrase)
    math = _MATH_WRAPPER.match(text)
    if math:
        text = math.group(1)
    if _LEADING_LETTER.match(text) and len(text) < 80:
        return text  # a multiple-choice pick: mapped by _final
    parts = _EQUALS.split(text)
    if len(parts) > 1 and 0 < len(parts[-1]) <= 40:
        return parts[-1]
    if not sentence and len(text.split()) <= 6:
        return text
    numbers = list(_NUMBER_UNIT.finditer(text))
    if numbers:
        last = numbers[-1]
        unit = last.group(2)
        if unit and unit.lower() not in _NOT_UNITS:
            return f"{last.group(1)} {unit}"
        return last.group(1)
    copulas = list(_COPULA.finditer(text))
    if len(copulas) == 1 and len(text[copulas[0].end() :].split()) <= 8:
        return text[copulas[0].end() :]
    return text


def _clean(text: str) -> str:
    """Text without markdown, math delimiters, wrappers and final punctuation."""
    text = _MARKDOWN.sub("", text).strip()
    math = _MATH_WRAPPER.match(text)
    if math:
        text = math.group(1)
    text = _TEXT_WRAPPER.sub(r"\1", text).strip()
    return text.rstrip(".;,!").strip().strip("\"'“”").strip()


def _final(phrase: str, choices: dict[str, str]) -> FinalAnswer | None:
    """The final answer a phrase names (for multiple choice: the option it picks)."""
    phrase = _clean(phrase)
    if not phrase:
        return None
    if choices:
        picked = _LEADING_LETTER.match(phrase)
        if picked and picked.group(1) in choices:
            rest = _clean(picked.group(2))
            if not rest or key(rest) == key(choices[picked.group(1)]) or len(rest) < 60:
                return _choice(picked.group(1), choices)
        for letter, value in choices.items():
            if key(value) == key(phrase):
                return _choice(letter, choices)
    if re.fullmatch(r"(?i)yes|no", phrase):
        return FinalAnswer(phrase.capitalize(), phrase.lower(), "yesno")
    text = normalise(phrase)
    if not text:
        return None
    core = _core(text)
    kind: Kind = "math" if _PLAIN_NUMBER.match(core) else _kind(text)
    return FinalAnswer(text, core, kind, parts=_parts(text) if kind == "text" else ())


def _parts(text: str) -> tuple[str, ...]:
    """The predicates of "X is Y and Z is W" (two clauses or more, each "… is …")."""
    clauses = _CLAUSES.split(text)
    if len(clauses) < 2:
        return ()
    predicates = []
    for clause in clauses:
        copula = _COPULA.search(clause)
        predicate = clause[copula.end() :].strip() if copula else ""
        if not predicate or len(predicate.split()) > 6:
            return ()
        predicates.append(_ARTICLE.sub("", predicate))
    return tuple(predicates)


def _choice(letter: str, choices: dict[str, str]) -> FinalAnswer:
    value = normalise(choices[letter])
    return FinalAnswer(f"({letter}) {value}", _core(value), "choice", letter)


def _core(text: str) -> str:
    """What to look for in the reasoning: a leading number without its unit, else the
    text without a leading article."""
    number = re.match(r"^(-?)\$?(\d[\d,]*(?:\.\d+)?)%?(?:\s+[A-Za-z'’-]+)?$", text)
    if number:
        return number.group(1) + number.group(2).replace(",", "")
    return _ARTICLE.sub("", text)


def _kind(text: str) -> Kind:
    return "text" if _WORD.search(_LATEX_COMMAND.sub(" ", text)) else "math"


def _letter_in(answer: str, choices: dict[str, str]) -> str | None:
    """The one option letter an answer text commits to, if exactly one."""
    letters = {
        letter
        for m in re.finditer(r"\(([A-J])\)|\boption\s+([A-J])\b", answer)
        if (letter := m.group(1) or m.group(2)) in choices
    }
    return letters.pop() if len(letters) == 1 else None


# --- finding the answer in the reasoning -----------------------------------------------


def _value_position(reasoning: str, final: FinalAnswer, prompt: str | None) -> int | None:
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
            if _committed(reasoning, start, end):
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
    if _PLAIN_NUMBER.match(core):
        negative = core.startswith("-")
        return re.compile(_number_pattern(core.lstrip("-"))), "negative" if negative else "positive"
    fraction = _FRACTION.match(core)
    if fraction:
        return re.compile(_fraction_pattern(fraction)), "none"
    if kind == "text" or (kind == "choice" and _WORD.search(_LATEX_COMMAND.sub(" ", core))):
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


def _sentence_before(reasoning: str, start: int) -> str:
    """The text of the sentence an offset is in, up to that offset."""
    window = reasoning[max(0, start - _LOOK_BACK) : start]
    head = _SENTENCE_START.match(window)
    return window[head.end() :] if head else window


def _committed(reasoning: str, start: int, end: int) -> bool:
    """Whether an occurrence sits in a committing clause (see `first_position`)."""
    clause = _sentence_before(reasoning, start)
    if not _CUE.search(clause) or _NEGATION_BEFORE.search(clause):
        return False
    return not _NEGATION_AFTER.match(reasoning[end : end + 40])


def _asserted(reasoning: str, start: int, end: int) -> bool:
    """Whether a phrase is stated, not negated or supposed (see `first_position`)."""
    clause = _sentence_before(reasoning, start)
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


@lru_cache(maxsize=64)
def _letter_patterns(letter: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
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


def _letter_position(reasoning: str, letter: str, choices: dict[str, str]) -> int | None:
    strong, weak = _letter_patterns(letter)
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
        before = _sentence_before(reasoning, start)
        after = _SENTENCE_TAIL.match(reasoning, start, start + 120)
        sentence = before + (after.group() if after else "")
        if listing and listing.search(sentence):
            continue  # a list of the choices
        if _committed(reasoning, start, candidate.end()):
            return start
    return best


def _first_commitment(reasoning: str, final: FinalAnswer, choices: dict[str, str]) -> bool | None:
    """Whether the reasoning's first explicit commitment names the final answer (None
    when it commits to nothing)."""
    first: tuple[int, bool] | None = None
    lowered = reasoning.lower()
    if len(lowered) != len(reasoning):  # a few letters change length in lower case
        lowered = re.sub(r"[A-Z]", lambda m: m.group().lower(), reasoning)
    for index, match in enumerate(_COMMITMENT.finditer(lowered)):
        if index >= MAX_CANDIDATES:
            break
        if match.group().startswith("\\boxed"):
            phrase = _last_boxed(reasoning[match.start() : match.start() + 400]) or ""
        else:
            phrase = re.split(
                r"(?<=[^\d])[.!?](?:\s|$)|\n|[,:;]\s", reasoning[match.end() : match.end() + 120]
            )[0]
        phrase = _HEDGE.sub("", _clean(phrase))
        candidate = _final(_reduce(phrase), choices) if phrase else None
        if candidate is None or not _comparable(candidate, final):
            continue
        first = (match.start(), same(candidate, final) or _contains(candidate, final))
        break
    if final.letter:
        for letter in choices:
            strong, _ = _letter_patterns(letter)
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
