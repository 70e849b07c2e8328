"""Final answers and where the reasoning first reaches them (segment/answers.py), and the
answer columns of the metrics; plus agreement with the hand-labelled traces in
tests/data/first-answer/ (run this file with python to print the figures)."""

from __future__ import annotations

import json
import sys
from bisect import bisect_right
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from traceviz.schema import (
    AFTER_FIRST_ANSWER,
    ANSWER_CHANGED_AFTER_FIRST,
    FINAL_ANSWER,
    FINAL_ANSWER_MISSING_REASON,
    FIRST_ANSWER_SHARE,
    METRICS_SCHEMA,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    TRACE_SCHEMA,
)
from traceviz.segment import answers
from traceviz.segment.behaviour import Spans, answer_metrics, tokens_before
from traceviz.segment.split import steps as split_steps

LABELS = Path(__file__).parent / "data" / "first-answer"
DOC = Path(__file__).parent.parent / "docs" / "first-answer.md"

MC_PROMPT = "How many edges does a hexagonal prism have?\n(A) $12$\n(B) $15$\n(C) $18$\n(D) $24$"
MC_REASONING = (
    "A prism has two hexagonal faces. Each has 6 edges, so 12 edges there. "
    "The vertical edges add 6 more. Total 12 + 6 = 18. Looking at the options, C fits."
)


def at(text: str, snippet: str) -> int:
    return text.index(snippet)


# --- the answer forms named in issue 16 -------------------------------------------------


def test_bold_answer_label_with_a_sentence() -> None:
    reasoning = "One plus one: one apple and another. So 1 + 1 = 2. Nothing tricky here."
    final = answers.read("**Answer:** 1 + 1 equals 2", "What is 1 + 1?").final
    assert final is not None
    assert final.text == "2"  # was "1"
    assert answers.first_position(reasoning, final, "What is 1 + 1?") == at(reasoning, "2.")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("The capital of Australia is **Canberra**. It was purpose-built.", "Canberra"),
        (
            "**Final Answer**\n\n*Pride and Prejudice* was written by **Jane Austen**.",
            "Jane Austen",
        ),
        ("The ball costs **5 cents** ($0.05).", "5 cents"),
        ("There are **3** r's in strawberry.", "3"),
        ("The total bonus cost is **$50,000**.", "50000"),
    ],
)
def test_bold_answers(answer: str, expected: str) -> None:
    assert answers.extract(answer) == expected  # was "**" or a stray number


def test_boxed_letter_maps_to_the_option_reached_earlier_by_value() -> None:
    final = answers.read("So the correct answer is \\(\\boxed{C}\\).", MC_PROMPT).final
    assert final is not None
    assert (final.text, final.letter) == ("(C) 18", "C")
    # the capital "A" opening the reasoning is not option A, and 12 (option A) is not 18
    assert answers.first_position(MC_REASONING, final, MC_PROMPT) == at(MC_REASONING, "18.")


def test_answer_colon_letter_with_its_text() -> None:
    prompt = "Which gas makes up most of the air?\nA) Oxygen\nB) Nitrogen\nC) Argon"
    final = answers.read("Answer: B) Nitrogen", prompt).final
    assert final is not None
    assert final.text == "(B) Nitrogen"
    reasoning = (
        "The choices are A) Oxygen, B) Nitrogen, C) Argon. Oxygen is what we breathe. "
        "So most of the air is nitrogen, about 78%."
    )
    # the copied list of choices does not count; a committing clause does
    assert answers.first_position(reasoning, final, prompt) == at(reasoning, "nitrogen, about")


def test_closing_sentence_of_a_puzzle() -> None:
    prompt = "Suspects: the butler, the maid. Exactly one lies. Who did it?"
    reasoning = (
        "Suspects are the butler and the maid. Suppose the butler did it. Then the maid "
        "lies too, two liars, so the maid is wrong. Wait, that works, so the butler is "
        "the murderer."
    )
    final = answers.read("Only one case fits.\n\nSo the murderer is the butler.", prompt).final
    assert final is not None
    assert final.text == "the butler"
    # named in the prompt: only a committing clause counts, not "Suppose the butler…"
    assert answers.first_position(reasoning, final, prompt) == at(reasoning, "the butler is")


def test_compound_answer_is_reached_at_its_last_part() -> None:
    prompt = 'Knights tell the truth, knaves lie. A says: "We are both knaves." What are A and B?'
    reasoning = (
        "If A were a knight, his words would be true, a contradiction. So A must be a knave. "
        "His statement is false, so B must be a knight."
    )
    final = answers.read("A is a knave and B is a knight.", prompt).final
    assert final is not None
    assert (final.text, final.parts) == ("A is a knave and B is a knight", ("knave", "knight"))
    # "If A were a knight" is a hypothesis; the last part is reached in the last sentence
    assert answers.first_position(reasoning, final, prompt) == at(reasoning, "a knight.")
    assert answers.first_position("So A must be a knave.", final, prompt) is None


@pytest.mark.parametrize(
    "prompt",
    [
        "Pick one.\n(A) $\\frac{1}{2}$\n(B) $1$\n(C) $2$",
        "Pick one.\nA) $\\frac{1}{2}$\nB) $1$\nC) $2$",
        "Pick one.\nA. $\\frac{1}{2}$\nB. $1$\nC. $2$",
        "Pick one.\nA: $\\frac{1}{2}$\nB: $1$\nC: $2$",
        "Pick one: (A) $\\frac{1}{2}$ (B) $1$ (C) $2$",
    ],
)
def test_option_forms(prompt: str) -> None:
    assert answers.options(prompt) == {"A": "\\frac{1}{2}", "B": "1", "C": "2"}
    assert answers.extract("The answer is (A).", prompt) == "(A) \\frac{1}{2}"
    assert answers.extract("\\boxed{1}", prompt) == "(B) 1"  # the value picks the option


def test_no_options_without_two_letters_in_order() -> None:
    assert answers.options("A. Smith wrote this.\nC. Jones replied.") == {}
    assert answers.options(None) == {}


@pytest.mark.parametrize(
    ("reasoning", "snippet"),
    [
        (
            "Options: (A) Venus, (B) Mars, (C) Jupiter. It is red from rust. So the answer is B.",
            "answer is B",
        ),
        (
            "Options: (A) Venus, (B) Mars, (C) Jupiter. It is red from rust, so it's option B.",
            "it's option B",
        ),
        ("Options: (A) Venus, (B) Mars, (C) Jupiter. Rust is red, so I pick (B) here.", "(B) here"),
    ],
)
def test_committing_to_the_letter(reasoning: str, snippet: str) -> None:
    prompt = "Which is the Red Planet?\n(A) Venus\n(B) Mars\n(C) Jupiter"
    final = answers.read("The correct answer is (B) Mars.", prompt).final
    assert final is not None
    assert final.text == "(B) Mars"
    assert answers.first_position(reasoning, final, prompt) == at(reasoning, snippet)


def test_a_stray_letter_or_listed_choice_never_counts() -> None:
    prompt = "Which is largest?\n(A) 3\n(B) 5\n(C) 7"
    final = answers.read("Answer: A", prompt).final
    assert final is not None
    reasoning = "A quick look: (A) 3, (B) 5, (C) 7. A number like 3 is small. Option A is 3."
    # "A quick", "(A) 3" in the list, "A number", and "Option A is 3" (no commitment)
    assert answers.first_position(reasoning, final, prompt) is None
    assert answers.first_position(reasoning + " So the answer is A.", final, prompt) == len(
        reasoning
    ) + len(" So the ")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (None, answers.NO_ANSWER_TEXT),
        ("   ", answers.NO_ANSWER_TEXT),
        (
            "Sunlight has every colour. Blue is scattered most by the air. We see it from "
            "every direction.",
            answers.NO_FINAL_ANSWER,
        ),
    ],
)
def test_missing_answers_say_why(answer: str | None, reason: str) -> None:
    assert answers.read(answer) == answers.Reading(None, reason)


def test_numbers_are_whole_values() -> None:
    text = "Try 112, then 0.12, then 12^2 and 12/5, pages 12-19; finally x = 12 works."
    assert answers.first_position(text, "12") == at(text, "12 works")
    assert answers.first_position("x - 1 and then y = -1", "-1") == len("x - 1 and then y = ")
    assert answers.first_position("so 88,572 in all", "88572") == 3
    reasoning = "so p = -120/288 = -5/12. Then \\(-\\dfrac{5}{12}\\)"
    assert answers.first_position(reasoning, "-\\frac{5}{12}") == at(reasoning, "-5/12")


def test_a_value_from_the_prompt_needs_a_committing_clause() -> None:
    prompt = "A rate of 6 percent compounds monthly; what is r to the nearest whole percent?"
    reasoning = "The rate is 6 percent a year. Monthly that's 0.5%. Compounding gives 6 again."
    assert answers.first_position(reasoning, "6", prompt) == at(reasoning, "6 again")


def test_yes_no_answers_are_read_but_not_located() -> None:
    final = answers.read("No. 221 = 13 × 17, so it is not prime.").final
    assert final is not None
    assert (final.text, final.kind) == ("No", "yesno")
    assert answers.first_position("13 × 17 = 221, no.", final) is None


@pytest.mark.parametrize(
    ("reasoning", "expected"),
    [
        ("So the answer is 10 cents. Wait, no: x = 0.05, so 5 cents.", True),
        ("So x = 0.05 and the answer is 5 cents.", False),
        ("We get 5 in the end.", False),  # no commitment, reaches the final answer
        ("Nothing conclusive here.", None),
        ("I'd box \\boxed{7} first. Hmm, recheck: 5.", True),
    ],
)
def test_answer_changed(reasoning: str, expected: bool | None) -> None:
    final = answers.read("The ball costs **5 cents**.").final
    assert final is not None
    assert answers.changed(reasoning, final) is expected


def test_answer_changed_by_letter() -> None:
    prompt = "Next in 2, 6, 12, 20, 30?\n(A) 40\n(B) 42\n(C) 44"
    final = answers.read("**Answer: (B) 42**", prompt).final
    assert final is not None
    first = "Add 10 again: 40, so the answer is (A). Wait, differences grow: 30 + 12 = 42."
    assert answers.changed(first, final, prompt) is True
    assert answers.changed("30 + 12 = 42, so the answer is (B).", final, prompt) is False


PIECES = st.sampled_from(
    ["\\boxed{", "}", "answer is ", "**", "(A) ", "B) ", "C: ", "So ", "the butler", "12", "-",
     "\\frac{1}{2}", "Yes. ", "No, ", "option C", "it's ", "\n", ".", " ", "$", "A", "/"]
)  # fmt: skip
TEXTS = st.lists(PIECES | st.text(max_size=5), max_size=40).map("".join)


@given(prompt=TEXTS, reasoning=TEXTS, answer=TEXTS)
@example(prompt="", reasoning="", answer="")
@example(prompt="Q\n(A) 1\n(B) 2", reasoning="(A) 1, (B) 2", answer="\\boxed{A")
@settings(max_examples=300, deadline=None)
def test_answers_are_total_on_any_text(prompt: str, reasoning: str, answer: str) -> None:
    reading = answers.read(answer, prompt)
    assert (reading.final is None) != (reading.missing_reason is None)
    if reading.final is not None:
        assert reading.final.text.strip()
        position = answers.first_position(reasoning, reading.final, prompt)
        assert position is None or 0 <= position < len(reasoning)
        assert answers.changed(reasoning, reading.final, prompt) in (True, False, None)


# --- the metric columns -------------------------------------------------------------------


def _views(reasoning: str, tokens: list[int]) -> Spans:
    cut = split_steps(reasoning)
    assert len(cut) == len(tokens)
    return Spans(np.array([s.start for s in cut]), np.array([s.end for s in cut]), np.array(tokens))


def test_tokens_after_the_first_answer_are_exact_from_the_steps() -> None:
    reasoning = "First we set up the sum. Then 6 times 7 is 42 for sure. Let me double check it."
    steps = _views(reasoning, [7, 11, 8])
    columns = answer_metrics(reasoning, "The answer is 42.", "42", steps, "What is 6*7?")
    second = split_steps(reasoning)[1]
    position = reasoning.index("42")
    # hand-computed: step 0 whole, step 1 pro rata by characters, rounded
    before = 7 + round(11 * (position - second.start) / (second.end - second.start))
    assert before == tokens_before(position, steps) == 7 + 7  # 11 * 18 / 30 = 6.6
    assert columns[REASONING_TOKENS_AFTER_FIRST_ANSWER] == 26 - before == 12
    share = (7 + 11 * (position - second.start) / (second.end - second.start)) / 26
    assert columns[FIRST_ANSWER_SHARE] == pytest.approx(share)
    assert columns[AFTER_FIRST_ANSWER] == pytest.approx(1 - share)
    assert (columns[FINAL_ANSWER], columns["correct"], columns[FINAL_ANSWER_MISSING_REASON]) == (
        "42",
        True,
        None,
    )
    assert columns[ANSWER_CHANGED_AFTER_FIRST] is False


def test_answer_columns_say_why_they_are_null() -> None:
    reasoning = "Hmm, tricky. I think about it for a while and stop."
    steps = _views(reasoning, [4, 9])
    never = answer_metrics(reasoning, "The answer is 17.", None, steps)
    assert never[FINAL_ANSWER] == "17"
    assert never[FINAL_ANSWER_MISSING_REASON] == answers.NEVER_REACHED
    assert never[REASONING_TOKENS_AFTER_FIRST_ANSWER] is None
    assert never[ANSWER_CHANGED_AFTER_FIRST] is None
    refused = answer_metrics(reasoning, "I'm sorry, I can't help with that.", None, steps)
    assert (refused[FINAL_ANSWER], refused[FINAL_ANSWER_MISSING_REASON]) == (None, answers.REFUSED)
    no_steps = Spans(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    hidden = answer_metrics(None, "**Answer:** 12", "12", no_steps)
    assert (hidden[FINAL_ANSWER], hidden["correct"]) == ("12", True)
    assert REASONING_TOKENS_AFTER_FIRST_ANSWER not in hidden  # null in the table


def test_metrics_table_carries_the_answer_columns() -> None:
    from traceviz import segment

    rows: list[dict[str, str | None]] = [
        {"trace_id": "r1", "model": "deepseek-reasoner", "prompt": MC_PROMPT,
         "reasoning": MC_REASONING, "answer": "The correct answer is \\(\\boxed{C}\\).",
         "reference_answer": "C"},
        {"trace_id": "o1", "model": "o1", "prompt": "What is 6*7?", "reasoning": None,
         "answer": "**Answer:** 42", "reference_answer": "42"},
    ]  # fmt: skip
    traces = pl.DataFrame(rows, schema={name: TRACE_SCHEMA[name] for name in rows[0]}).with_columns(
        pl.lit(None, TRACE_SCHEMA[name]).alias(name) for name in TRACE_SCHEMA if name not in rows[0]
    )
    table = segment.steps(traces)
    out = segment.metrics(traces, table)
    for name in (
        FINAL_ANSWER_MISSING_REASON,
        REASONING_TOKENS_AFTER_FIRST_ANSWER,
        ANSWER_CHANGED_AFTER_FIRST,
    ):
        assert out.schema[name] == METRICS_SCHEMA[name]
    r1, o1 = out.to_dicts()
    steps_tokens = table["tokens"].to_list()
    assert (r1[FINAL_ANSWER], r1["correct"], r1[ANSWER_CHANGED_AFTER_FIRST]) == (
        "(C) 18",
        True,
        False,
    )
    assert 0 < r1[REASONING_TOKENS_AFTER_FIRST_ANSWER] < sum(steps_tokens)
    assert (o1[FINAL_ANSWER], o1["correct"], o1[REASONING_TOKENS_AFTER_FIRST_ANSWER]) == (
        "42",
        True,
        None,
    )


# --- agreement with the hand labels ---------------------------------------------------------


def labels() -> list[dict[str, object]]:
    rows = []
    for path in sorted(LABELS.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return rows


def judge(row: dict[str, object]) -> dict[str, object]:
    """The detector's reading of one labelled trace, and whether it agrees: final answer
    exact; first position in the same step, and within one step (traceviz's steps)."""
    reasoning, prompt = str(row["reasoning"]), row["prompt"]
    final = answers.read(row["answer"], prompt).final  # type: ignore[arg-type]
    found = answers.first_position(reasoning, final, prompt) if final else None  # type: ignore[arg-type]
    expected = row["expected_first_offset"]
    starts = [s.start for s in split_steps(reasoning)] or [0]

    def step(position: int) -> int:
        return bisect_right(starts, position) - 1

    if found is None or expected is None:
        same = near = found is None and expected is None
    else:
        same = step(found) == step(expected)  # type: ignore[arg-type]
        near = abs(step(found) - step(expected)) <= 1  # type: ignore[arg-type]
    changed = answers.changed(reasoning, final, prompt) if final else None  # type: ignore[arg-type]
    return {
        "id": row["id"],
        "final": final.text if final else None,
        "final_ok": (final.text if final else None) == row["expected_final_answer"],
        "found": found,
        "expected": expected,
        "same_step": same,
        "within_one_step": near,
        "changed_ok": None
        if row["expected_answer_changed"] is None
        else changed is row["expected_answer_changed"],
    }


def figures(judged: list[dict[str, object]]) -> str:
    n = len(judged)
    changed = [j["changed_ok"] for j in judged if j["changed_ok"] is not None]
    return (
        f"final answer exact {sum(bool(j['final_ok']) for j in judged)}/{n}; "
        f"first position in the same step {sum(bool(j['same_step']) for j in judged)}/{n}, "
        f"within one step {sum(bool(j['within_one_step']) for j in judged)}/{n}; "
        f"answer changed {sum(map(bool, changed))}/{len(changed)} labelled"
    )


def test_labels_are_well_formed() -> None:
    rows = labels()
    assert len(rows) >= 40
    assert sum(r["source"] == "written" and "\\boxed" not in str(r["answer"]) for r in rows) >= 12
    for row in rows:
        offset, snippet = row["expected_first_offset"], row["expected_first_snippet"]
        assert (offset is None) == (snippet is None), row["id"]
        if offset is not None:
            assert str(row["reasoning"])[offset:].startswith(str(snippet)), row["id"]  # type: ignore[index]


def test_agreement_with_hand_labels_is_as_documented() -> None:
    judged = [judge(row) for row in labels()]
    line = figures(judged)
    assert line in DOC.read_text(encoding="utf-8"), line
    # and it is no worse than this (every final answer right, 40 of 48 in the step)
    assert all(j["final_ok"] for j in judged)
    assert sum(bool(j["same_step"]) for j in judged) >= 40


if __name__ == "__main__":
    results = [judge(row) for row in labels()]
    for j in results:
        mark = "ok " if j["final_ok"] and j["same_step"] else "-- "
        sys.stdout.write(
            f"{mark}{str(j['id'])[-44:]:44} final={j['final']!r} first={j['found']} "
            f"label={j['expected']} same_step={j['same_step']} within_one={j['within_one_step']}\n"
        )
    sys.stdout.write(figures(results) + "\n")
