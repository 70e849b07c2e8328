"""Where an answer text names its final answer: the last `\\boxed{…}`, an "Answer:" /
"the answer is" label, the last bold phrase, a leading Yes/No, the closing sentence of a
short or concluding answer, and for multiple choice the one option letter it commits to.

Invariants: pure functions, total on any text; candidates are produced lazily, most
explicit first, and each search is bounded (the last few labels, the answer's tail), so
a long answer stays linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from traceviz.segment.answer_values import boxed, clean, reduce

_LAST_LABELS = 20  # "answer" labels of an answer text tried, from its end
_CLOSING_TAIL = 600  # characters at the end of an answer searched for its last sentence
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


def phrases(answer: str) -> Iterator[str]:
    """Candidate answer phrases, most explicit first (lazily: the first that names an
    answer ends the search)."""
    box = boxed(answer)
    if box is not None:
        yield box
    lowered = answer.lower()
    if "answer" in lowered:  # NOTE: a literal find spares most answers the label regex
        # the last label with content; only the last few are tried, so a text made of
        # labels stays linear
        ends = [at.end() for at in re.finditer("answer", lowered)][-_LAST_LABELS:]
        for end in reversed(ends):
            label = _LABEL.match(answer, end)
            if label and clean(label.group(1)):
                yield reduce(label.group(1))
                break
    if "**" in answer or "__" in answer:
        bold = [
            b
            for m in _BOLD.finditer(answer)
            if (b := (m.group(1) or m.group(2)).strip()) and not _heading(b)
        ]
        if bold:
            yield reduce(bold[-1])
    yes_no = _YES_NO.match(answer)
    if yes_no:
        yield yes_no.group(1)
    closing = _closing(answer)
    if closing:
        yield closing


def _heading(bold: str) -> bool:
    text = bold.strip()
    return text.endswith(":") or bool(_HEADING.match(text))


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
    clause = clean(last[cue.end() :] if cue else last)
    if not clause:
        return None
    return reduce(clause, sentence=True)


def letter_in(answer: str, choices: dict[str, str]) -> str | None:
    """The one option letter an answer text commits to, if exactly one."""
    letters = {
        letter
        for m in re.finditer(r"\(([A-J])\)|\boption\s+([A-J])\b", answer)
        if (letter := m.group(1) or m.group(2)) in choices
    }
    return letters.pop() if len(letters) == 1 else None
