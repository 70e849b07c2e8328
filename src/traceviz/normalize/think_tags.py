"""Reasoning inside the text: `<think>…</think>` and its variants.

Open-weights R1 and its distills, Together, Fireworks and Groq's raw format put the
chain of thought in the output text. `split` separates it from the answer:

- an opening tag at the start opens the reasoning, up to its closing tag;
- no opening tag but a closing tag: the text before the lone closing tag is reasoning
  (R1's chat template puts `<think>` in the prompt, so outputs often lack it);
- an opening tag with no closing tag: the output was cut off, all after it is
  reasoning, the answer is empty and the trace is truncated;
- an opening tag later in the text is answer text, not reasoning;
- no tag at all: no visible reasoning.

This module also reads raw text documents (`.txt`, `.md`) as one trace each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from traceviz.ingest import RawRecord
from traceviz.schema import Trace

NAME = "think-tags"

# (opening, closing) pairs, most specific first.
TAG_PAIRS: tuple[tuple[str, str], ...] = (
    ("<|begin_of_thought|>", "<|end_of_thought|>"),
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<reasoning>", "</reasoning>"),
    ("<reason>", "</reason>"),
    ("<thought>", "</thought>"),
)
_SOLUTION = re.compile(
    r"^\s*<\|begin_of_solution\|>(?P<body>.*?)(?:<\|end_of_solution\|>\s*)?$", re.DOTALL
)


@dataclass(frozen=True, slots=True)
class Split:
    """Text cut into reasoning (None when there was no tag) and answer."""

    reasoning: str | None
    answer: str
    truncated: bool = False


def split(text: str) -> Split:
    """Separate tagged reasoning from the answer (see the module docstring)."""
    stripped = text.lstrip()
    for opening, closing in TAG_PAIRS:
        if stripped.startswith(opening):
            body = stripped[len(opening) :]
            end = body.find(closing)
            if end < 0:
                return Split(_trim(body), "", truncated=True)
            return Split(_trim(body[:end]), _answer(body[end + len(closing) :]))
    for opening, closing in TAG_PAIRS:
        end = text.find(closing)
        if end >= 0 and text.find(opening, 0, end) < 0:
            return Split(_trim(text[:end]), _answer(text[end + len(closing) :]))
    return Split(None, _answer(text))


def _trim(reasoning: str) -> str:
    return reasoning.strip("\n").strip() if reasoning.strip() else ""


def _answer(text: str) -> str:
    solution = _SOLUTION.match(text)
    if solution:
        text = solution.group("body")
    return text.strip()


def detect(value: Any) -> bool:
    return isinstance(value, str)


def normalize(record: RawRecord) -> list[Trace]:
    """A raw text document: one trace, reasoning split from the answer."""
    text: str = record.value
    parts = split(text)
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=NAME,
            reasoning=parts.reasoning,
            answer=parts.answer,
            truncated=parts.truncated,
            finish_reason="length" if parts.truncated else None,
            batch=record.batch,
        )
    ]
