"""The step splitter cuts exactly where the splitter it replaced cut (kept as
tests/split_reference.py): every step's start, end, marker and thought, on the
labelled traces, the first-answer traces, the samples and random text built from the
tricky bits (math, decimals, abbreviations, enumerations, CJK punctuation, blank lines,
cues)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import split_reference as reference
from hypothesis import example, given, settings
from hypothesis import strategies as st

import traceviz
from traceviz.schema import ANSWER, PROMPT, REASONING
from traceviz.segment import split

DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def fields(steps: list[split.Step] | list[reference.Step]) -> list[tuple[object, ...]]:
    return [(s.start, s.end, s.marker, s.thought) for s in steps]


def assert_same_steps(text: str) -> None:
    assert split.spans(text) == reference.spans(text)
    assert fields(split.steps(text)) == fields(reference.steps(text))


def jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def labelled_texts() -> list[str]:
    """The labelled traces' whole outputs (reasoning, `</think>`, answer), their
    reasoning alone, and every labelled chunk."""
    found = []
    for row in jsonl(DATA / "labelled-sample.jsonl"):
        output = str(row["reasoning_and_answer"])
        found += [output, output.split("</think>")[0]]
        found += [str(chunk["text"]) for chunk in row["chunks"]]  # type: ignore[attr-defined]
    return found


def first_answer_texts() -> list[str]:
    """The reasoning, answer and prompt of every trace of tests/data/first-answer/ (its
    thought-anchors file holds the reasoning of all 28 shared labelled traces)."""
    return [
        str(row[key])
        for path in sorted((DATA / "first-answer").glob("*.jsonl"))
        for row in jsonl(path)
        for key in ("reasoning", "answer", "prompt")
        if row.get(key)
    ]


def sample_texts() -> list[str]:
    traces = traceviz.read(SAMPLES)
    return [t for column in (REASONING, ANSWER, PROMPT) for t in traces[column].to_list() if t]


def test_the_data_is_there() -> None:
    """The comparisons below run over real text (not over an empty list)."""
    assert len(labelled_texts()) > 500
    assert sum(len(t) for t in first_answer_texts()) > 250_000
    assert len(sample_texts()) > 30


@pytest.mark.parametrize(
    "texts",
    [labelled_texts, first_answer_texts, sample_texts],
    ids=["labelled", "first-answer", "samples"],
)
def test_same_steps_on_real_text(texts: object) -> None:
    for text in texts():  # type: ignore[operator]
        assert_same_steps(text)


def test_cut_many_is_steps_of_each() -> None:
    texts = [*first_answer_texts()[:6], None, "", "   "]
    assert [fields(s) for s in split.cut_many(texts)] == [
        fields(reference.steps(t)) if t else [] for t in texts
    ]


PIECES = [
    "a", "b", "x", "I", "V", "e", "g", "no", "Dr", "etc", "approx", "word", "The value",
    " ", " ", "  ", "\t", "\n", "\n\n", "\n \n", "\r\n", "\u00a0", "\u3000",
    ".", ". ", "? ", "! ", "...", "?!", ".)", '."', ".]", "'", ")", "]",
    "e.g.", "i.e.", "E.G.", "Dr.", "etc.", "vs.", "Fig.", "x.e.g.", "K.",
    "3.14", "1.", "2.", "12.", "123.", "iv.", "(a)", "a)", "\n1. ", "\n  2. ",
    "\n" + " " * 27 + "3.",
    "$", "$$", "$x. y$", "$$ a.\n\n b $$", "\\[", "\\]", "\\(", "\\)", "\\[ x. y \\]", "\\$",
    "。", "？", "！", "，", "数学。", "好的！",
    "Wait,", "Wait", "wait", "But wait,", "Alternatively,", "So", "Hmm.", "Let me check", "OK",
    "**", "--", "#", "> ", "- ", "\u0661", "\u212a",
]  # fmt: skip
# what a `.` may follow: every abbreviation and enumeration token the splitter knows
WORDS = [*sorted(reference._ABBREVIATIONS), "7", "42", "123", "q", "ii", "xiv", "viii", "mmx"]


def any_case(word: str) -> st.SearchStrategy[str]:
    return st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in word)).map("".join)


# a word, maybe after spaces (up to past the splitter's 30-character window) and maybe
# before a newline, then a `.` and what ends (or does not end) the sentence
DOTTED = st.tuples(
    st.sampled_from(["", "x", "a.", ".", "\n", " ", "(", "\n\t", "\n\n"]),
    st.text(" \t", max_size=34),
    st.sampled_from(WORDS).flatmap(any_case),
    st.sampled_from(["", "\n"]),
    st.sampled_from([". ", ".\n\n", ".) ", ".x", ".. ", "."]),
).map("".join)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), DOTTED), max_size=30).map("".join))
@example("")
@example("Use a value, e.g.\n\nfive apples. Then more text here.")
@example("List:\n1\n. First item here. Second item here.")
@example(" " * 40 + "2. item text follows here. And more.")
@example("----------\n\nWait, what follows is a long step.")
@example("Hmm. $x. y$ and \\(a. b\\). Done here now.")
def test_same_steps_on_random_text(text: str) -> None:
    assert_same_steps(text)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120))
def test_same_steps_on_any_text(text: str) -> None:
    assert_same_steps(text)


@pytest.mark.parametrize("lead", ["x", "\n", "x\n", "\n\t"])
@pytest.mark.parametrize("token", ["7", "42", "iv", "viii", "e.g", "Dr", "approx"])
def test_same_steps_at_the_window_edge(lead: str, token: str) -> None:
    """A `.` is looked back at over 30 characters, whose start counts as a line start."""
    for spaces in range(20, 36):
        for newline in ("", "\n"):
            assert_same_steps(
                f"Some text first{lead}{' ' * spaces}{token}{newline}. Then more text."
            )
