"""Final answers: extracting them from answer text, normalising, finding them in reasoning."""

from __future__ import annotations

import re

_ANSWER_IS = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:)\s*[:\s]*"
    r"(\$[^$\n]+\$|-?\d[\d,]*(?:\.\d+)?|[^\n.;,]+)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_TEXT_WRAPPER = re.compile(r"\\(?:text|mathrm|mathbf|textbf)\{([^{}]*)\}")


def boxed(text: str) -> str | None:
    """The content of the last `\\boxed{…}` (nested braces allowed), or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth = 0
    begin = start + len("\\boxed{")
    for index in range(begin, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return text[begin:index]
            depth -= 1
    return None


def extract(answer: str | None) -> str | None:
    """The final answer of a response: `\\boxed{…}`, "the answer is …", or the last number."""
    if not answer:
        return None
    found = boxed(answer)
    if found is None:
        match = _ANSWER_IS.search(answer)
        found = match.group(1) if match else None
    if found is None:
        numbers = _NUMBER.findall(answer)
        found = numbers[-1] if numbers else None
    normal = normalise(found) if found is not None else ""
    return normal or None


def normalise(value: str) -> str:
    """An answer in comparable form: no `$`, `\\text{}`, spaces or final dot; `1,000` is `1000`."""
    value = _TEXT_WRAPPER.sub(r"\1", value)
    value = value.replace("$", "").replace("\\%", "%").replace("\\!", "").strip()
    value = value.rstrip(".").strip()
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", value):
        value = value.replace(",", "")
    return re.sub(r"\s+", "", value)


def first_position(reasoning: str, answer: str) -> int | None:
    """Where an answer first appears in the reasoning (numbers as whole numbers), or None."""
    if re.fullmatch(r"-?\d+(?:\.\d+)?", answer):
        match = re.search(rf"(?<![\d.]){re.escape(answer)}(?![\d]|\.\d)", reasoning)
        return match.start() if match else None
    # the answer with any white space between its characters, as written in the reasoning
    spaced = r"\s*".join(re.escape(char) for char in answer if not char.isspace())
    match = re.search(spaced, reasoning) if spaced else None
    return match.start() if match else None
