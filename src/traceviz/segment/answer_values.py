"""What an answer says: a phrase (a boxed value, a label's text, a sentence) reduced to
the final answer it names, in display form (`normalise`), as a comparison key (`key`)
and as the core looked for in the reasoning.

Invariants: pure functions, total on any text; regexes compiled once; an option letter
is mapped to its option's text only through the `choices` a caller parsed from the
prompt (answer_choice.options).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["math", "text", "choice", "yesno"]

_BOXED = "\\boxed{"
_COPULA = re.compile(r"\b(?:is|are|was|were)\s+")
_CLAUSES = re.compile(r"\s*(?:,\s*and\b|\band\b|;|,)\s*")
_EQUALS = re.compile(r"(?:=|\bequals\b|\bis equal to\b|\\approx|≈)\s*")
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
PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?%?$")
WORD = re.compile(r"(?<!\\)\b[A-Za-z]{2,}\b")
LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)


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
    if WORD.search(LATEX_COMMAND.sub(" ", value)):
        return " ".join(value.split())
    value = re.sub(r"\\[dt]frac", r"\\frac", value).replace("\\left", "").replace("\\right", "")
    return re.sub(r"\s+", "", value)


def key(value: str) -> str:
    """A comparison key: normalised, lower case, no spaces, no leading article."""
    return re.sub(r"\s+", "", _ARTICLE.sub("", normalise(value)).lower())


def boxed(text: str) -> str | None:
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


def reduce(phrase: str, *, sentence: bool = False) -> str:
    """The answer inside a phrase: a boxed value, the value after `=` / "equals", the
    number (with its unit) of a sentence, or the predicate of "X is Y"."""
    box = boxed(phrase)
    if box is not None:
        return box
    text = clean(phrase)
    math = _MATH_WRAPPER.match(text)
    if math:
        text = math.group(1)
    if _LEADING_LETTER.match(text) and len(text) < 80:
        return text  # a multiple-choice pick: mapped by parse
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


def clean(text: str) -> str:
    """Text without markdown, math delimiters, wrappers and final punctuation."""
    text = _MARKDOWN.sub("", text).strip()
    math = _MATH_WRAPPER.match(text)
    if math:
        text = math.group(1)
    text = _TEXT_WRAPPER.sub(r"\1", text).strip()
    return text.rstrip(".;,!").strip().strip("\"'“”").strip()


def parse(phrase: str, choices: dict[str, str]) -> FinalAnswer | None:
    """The final answer a phrase names (for multiple choice: the option it picks)."""
    phrase = clean(phrase)
    if not phrase:
        return None
    if choices:
        picked = _LEADING_LETTER.match(phrase)
        if picked and picked.group(1) in choices:
            rest = clean(picked.group(2))
            if not rest or key(rest) == key(choices[picked.group(1)]) or len(rest) < 60:
                return choice(picked.group(1), choices)
        for letter, value in choices.items():
            if key(value) == key(phrase):
                return choice(letter, choices)
    if re.fullmatch(r"(?i)yes|no", phrase):
        return FinalAnswer(phrase.capitalize(), phrase.lower(), "yesno")
    text = normalise(phrase)
    if not text:
        return None
    core = core_of(text)
    kind: Kind = "math" if PLAIN_NUMBER.match(core) else kind_of(text)
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


def choice(letter: str, choices: dict[str, str]) -> FinalAnswer:
    value = normalise(choices[letter])
    return FinalAnswer(f"({letter}) {value}", core_of(value), "choice", letter)


def core_of(text: str) -> str:
    """What to look for in the reasoning: a leading number without its unit, else the
    text without a leading article."""
    number = re.match(r"^(-?)\$?(\d[\d,]*(?:\.\d+)?)%?(?:\s+[A-Za-z'’-]+)?$", text)
    if number:
        return number.group(1) + number.group(2).replace(",", "")
    return _ARTICLE.sub("", text)


def kind_of(text: str) -> Kind:
    return "text" if WORD.search(LATEX_COMMAND.sub(" ", text)) else "math"
