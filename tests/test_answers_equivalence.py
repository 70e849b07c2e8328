"""The first-answer detector, split into modules and with a commitment search that no
longer lower-cases the reasoning, gives what it gave before (kept as
tests/answers_reference.py): the final answer read from every answer text, the
reference answer's parse, the first positions of both, and whether the answer changed,
on the first-answer traces, the labelled traces, the samples and random text with the
commitment words in odd cases."""

from __future__ import annotations

import json
from pathlib import Path

import answers_reference as reference
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import traceviz
from traceviz.schema import ANSWER, PROMPT, REASONING, REFERENCE_ANSWER
from traceviz.segment import answers

DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"

Case = tuple[str | None, str | None, str | None, str | None]  # reasoning, answer, reference, prompt


def columns(module: object, case: Case) -> tuple[object, ...]:
    """Everything the metrics read from the detector for one trace."""
    reasoning, answer, expected, prompt = case
    api = module  # the reference and the new module have the same public functions
    reading = api.read(answer, prompt)  # type: ignore[attr-defined]
    final = reading.final
    value = api.from_value(expected, prompt) if expected else None  # type: ignore[attr-defined]
    found: tuple[object, ...] = (
        repr(final),
        reading.missing_reason,
        repr(value),
        api.extract(answer, prompt),  # type: ignore[attr-defined]
        api.same(final, value) if final and value else None,  # type: ignore[attr-defined]
    )
    if reasoning is None:
        return found
    return (
        *found,
        api.first_position(reasoning, final, prompt) if final else None,  # type: ignore[attr-defined]
        api.first_position(reasoning, value, prompt) if value else None,  # type: ignore[attr-defined]
        api.changed(reasoning, final, prompt) if final else None,  # type: ignore[attr-defined]
    )


def assert_same(case: Case) -> None:
    assert columns(answers, case) == columns(reference, case)


def jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def first_answer_cases() -> list[Case]:
    return [
        (row["reasoning"], row["answer"], row.get("expected_final_answer"), row["prompt"])
        for path in sorted((DATA / "first-answer").glob("*.jsonl"))
        for row in jsonl(path)
    ]


def labelled_cases() -> list[Case]:
    found: list[Case] = []
    for row in jsonl(DATA / "labelled-sample.jsonl"):
        reasoning, _, answer = row["reasoning_and_answer"].partition("</think>")
        found.append((reasoning, answer or None, row["gt_answer"], row["prompt"]))
    return found


def sample_cases() -> list[Case]:
    traces = traceviz.read(SAMPLES)
    return list(
        zip(
            *(traces[c].to_list() for c in (REASONING, ANSWER, REFERENCE_ANSWER, PROMPT)),
            strict=True,
        )
    )


def test_the_data_is_there() -> None:
    """The comparisons run over traces with final answers found and reached."""
    cases = first_answer_cases() + labelled_cases()
    assert len(cases) >= 50
    assert sum(columns(answers, c)[5] is not None for c in cases) >= 40
    assert sum(columns(answers, c)[7] is True for c in cases) >= 3  # changed answers too
    assert len(sample_cases()) > 20


@pytest.mark.parametrize(
    "cases",
    [first_answer_cases, labelled_cases, sample_cases],
    ids=["first-answer", "labelled", "samples"],
)
def test_same_answers_on_real_traces(cases: object) -> None:
    for case in cases():  # type: ignore[operator]
        assert_same(case)


PIECES = [
    "the answer is 12", "The Answer Is 7", "ANSWER: 5", "answer=3", "answer would be (B)",
    "Answer should be C", "answer must be 9", "\\boxed{12}", "\\BOXED{12}", "\\Boxed{C}",
    "\\boxed{\\frac{1}{2}}", "anſwer is 4", "İ", "K", "Σ", "12", "7", "-3", "1/2", "C", "(B)",
    "option C", "it's C", "So", "Wait, ", "not", "maybe", ". ", "\n", "\n\n", " ", ",", ":",
]  # fmt: skip
PROMPTS = [None, "What is 3 + 4?", "Pick one.\n(A) 5\n(B) 7\n(C) 12\n(D) 9"]
ANSWERS = [
    "The answer is 12.",
    "\\boxed{7}",
    "**Answer:** (C)",
    "So the result is 9.",
    "C",
    "Yes.",
]


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=25).map("".join),
    st.sampled_from(ANSWERS),
    st.sampled_from([None, "12", "7", "C"]),
    st.sampled_from(PROMPTS),
)
@example("ANSWER IS 7 then the answer is 12", "The answer is 12.", "12", None)
@example("İ think the Answer Is 7. Then \\boxed{12}", "\\boxed{12}", None, None)
def test_same_answers_on_random_text(
    reasoning: str, answer: str, expected: str | None, prompt: str | None
) -> None:
    assert_same((reasoning, answer, expected, prompt))
