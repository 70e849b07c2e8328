"""Steps, cues, thoughts, and each behaviour metric on small traces with known values."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from traceviz import segment, tokens
from traceviz.schema import TRACE_SCHEMA
from traceviz.segment import answers
from traceviz.segment.behaviour import (
    _words,
    is_refusal,
    longest_repeat_run,
    paragraphs,
    text_metrics,
    words_of_steps,
)
from traceviz.segment.features import word_runs
from traceviz.segment.split import cut_many, spans, steps


def texts(text: str) -> list[str]:
    return [text[a:b] for a, b in spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("First sentence here. Second sentence here.", ["First sentence here.", "Second sentence here."]),
        ("Is it odd? Yes it is! Done now.", ["Is it odd?", "Yes it is! Done now."]),
        ("Paragraph one has text\n\nParagraph two has text", ["Paragraph one has text", "Paragraph two has text"]),
        ("The rate is 3.5 percent today. Then more.", ["The rate is 3.5 percent today.", "Then more."]),
        ("Use a value, e.g. five apples. Or i.e. six.", ["Use a value, e.g. five apples.", "Or i.e. six."]),
        ("Steps:\n1. Add the numbers\n2. Divide them all", ["Steps:\n1. Add the numbers\n2. Divide them all"]),
        ("We get $x = 1. y$ here. And more text.", ["We get $x = 1. y$ here.", "And more text."]),
        ("So \\[ a. b \\] holds. Next one is fine.", ["So \\[ a. b \\] holds.", "Next one is fine."]),
        ("Then $$ x. \n\n y $$ ok. Last sentence.", ["Then $$ x. \n\n y $$ ok.", "Last sentence."]),
        ("A long enough sentence. Hmm. Another one follows.", ["A long enough sentence. Hmm.", "Another one follows."]),
        ("Short. A much longer sentence follows.", ["Short. A much longer sentence follows."]),
        ("No closing boundary at the end", ["No closing boundary at the end"]),
        ("He said \"yes.\" Then he left.", ["He said \"yes.\"", "Then he left."]),
        ("", []),
        ("   \n\n  ", []),
        ("Dr. Smith arrived late today. He sat down at once.", ["Dr. Smith arrived late today.", "He sat down at once."]),
        ("First paragraph here   \n \n  Second paragraph here", ["First paragraph here", "Second paragraph here"]),
        # a blank line after an abbreviation does not end the step (as the first splitter did)
        ("We use it, e.g.\n\nfive apples in all. Then we stop here.", ["We use it, e.g.\n\nfive apples in all.", "Then we stop here."]),
        ("这是第一句。这是第二句！Then an English sentence. And one more here.", ["这是第一句。这是第二句！Then an English sentence.", "And one more here."]),
        ("Results:\n  iv. the fourth item is here\n  v. the fifth one", ["Results:\n  iv. the fourth item is here\n  v. the fifth one"]),
        ("Is it 3.14? Or maybe it is 2.71! Who knows really.", ["Is it 3.14?", "Or maybe it is 2.71!", "Who knows really."]),
    ],
)  # fmt: skip
def test_splitting(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


@given(st.text(alphabet=st.sampled_from(list("ab .?!\n$\\[]()1e.g")), max_size=200))
@example("")
@example("a. b. c. d.")
def test_spans_cover_text_in_order(text: str) -> None:
    result = spans(text)
    position = 0
    for start, end in result:
        assert start < end
        assert text[position:start].strip() == ""  # only white space between steps
        assert not text[start].isspace()
        assert not text[end - 1].isspace()
        position = end
    assert text[position:].strip() == ""


# letters whose lower case depends on their neighbours or is longer (final sigma, dotted
# I), white space `str.split` and `\s` know (NBSP, ideographic space, separators,
# U+001C), a combining mark (a word character), punctuation that ends steps
WORDY = list("aΣσςİK\u212aſ_1. ?!\n\t\u00a0\u3000\u2028\x1c\u0301'-") + ["ΟΔΟΣ", "Wait", "e.g."]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDY), max_size=80).map("".join), max_size=6))
@example(["ΟΔΟΣ.\n\nΣ. ΑΣ ΣΑ. İİ x\u00a0y\x1cz."])
def test_the_steps_words_are_the_texts_words(reasonings: list[str]) -> None:
    """The metrics read a trace's words off its steps' (`segment.measure`): the same
    words, in the same order and the same lower case, as read off the whole text."""
    cuts = cut_many(reasonings)
    pieces = [
        text[s.start : s.end] for text, cut in zip(reasonings, cuts, strict=True) for s in cut
    ]
    runs = word_runs(pl.Series(pieces, dtype=pl.String))
    owner = np.repeat(np.arange(len(reasonings)), [len(c) for c in cuts])
    expected = _words(pl.Series(reasonings, dtype=pl.String))
    assert_frame_equal(words_of_steps(runs, owner), expected)


def test_cut_many_cuts_each_text() -> None:
    texts = ["First sentence here. Second sentence here.", None, "", "Wait, one more step here."]
    assert [[(s.start, s.end) for s in cut] for cut in cut_many(texts)] == [
        [(0, 20), (21, 42)],
        [],
        [],
        [(0, 25)],
    ]
    assert cut_many(texts)[3][0].marker == "Wait"


def test_markers_and_thoughts() -> None:
    text = (
        "Okay, let me solve this carefully. Wait, that is wrong somehow. "
        "Alternatively, we can factor the expression. Let me check the result again. "
        "But wait, the sign flipped somewhere."
    )
    result = steps(text)
    assert [s.marker for s in result] == [
        "Okay",
        "Wait",
        "Alternatively",
        "Let me check",
        "But wait",
    ]
    assert [s.thought for s in result] == [0, 0, 1, 1, 2]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Thus \\boxed{\\frac{1}{2}} is it.", "\\frac{1}{2}"),
        ("The answer is 1,024.", "1024"),
        ("So we get 7 and then 12", "12"),
        ("Final answer: $42$", "42"),
        ("No number here. It explains instead, at some length.", None),
        (None, None),
    ],
)
def test_final_answer_extraction(answer: str | None, expected: str | None) -> None:
    assert answers.extract(answer) == expected


def test_first_position_matches_whole_numbers() -> None:
    assert answers.first_position("try 112 then 12 works", "12") == 13
    assert answers.first_position("x = \\frac{1}{2} so", "\\frac{1}{2}") == 4
    assert answers.first_position("nothing", "5") is None


def test_metric_helpers() -> None:
    measured = text_metrics(
        pl.Series(
            [
                "Wait, but WAIT. Let me check; butter is not but.",
                "a b a b a b",
                "a",
                "hello 你好 world",
                "только русский",
                "x2 ÉCOLE 123 école",
            ]
        ),
        pl.Series([None, None, None, "Say hello", None, "Всё"]),
    ).to_dicts()
    assert measured[0]["reflection_words"] == 5
    assert measured[1]["rep2"] == pytest.approx(1 - 2 / 5)
    assert measured[1]["rep4"] == pytest.approx(1 - 2 / 3)
    assert (measured[2]["rep2"], measured[2]["words"]) == (0.0, 1)
    assert measured[3]["language_mixing"] == pytest.approx(1 / 3)
    assert measured[4]["language_mixing"] == 0.0
    # words without letters do not count; the prompt's script (Cyrillic) is the base
    assert measured[5]["language_mixing"] == 1.0
    paras = paragraphs("one\n\ntwo\n\none\n\ntwo\n\ntwo")
    assert longest_repeat_run(paras) == 3
    assert is_refusal("Sorry, that's beyond my current scope. Let's talk about something else.")
    assert is_refusal("I am sorry, I cannot answer that question.")
    assert not is_refusal("The answer is 4.")


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    base = dict.fromkeys(TRACE_SCHEMA)
    full = [
        base | {"source": "t", "line": i + 1, "format": "x", "truncated": False} | r
        for i, r in enumerate(rows)
    ]
    return tokens.count(pl.DataFrame(full, schema=TRACE_SCHEMA))


def test_stage_on_hand_made_traces() -> None:
    reasoning = (
        "We need 6 times 7 here.\n\nSix sevens are 42 in total. Wait, let me verify that value.\n\n"
        "Yes, 7 times 6 is 42 again."
    )
    traces = _frame(
        [
            {"trace_id": "a", "model": "deepseek-reasoner", "prompt": "What is 6*7?", "reasoning": reasoning,
             "answer": "The answer is \\boxed{42}.", "reference_answer": "42"},
            {"trace_id": "b", "model": "o1", "reasoning": None, "answer": "42"},
            {"trace_id": "c", "model": "deepseek-reasoner", "reasoning": "",
             "answer": "Sorry, that's beyond my current scope."},
        ]
    )  # fmt: skip
    table = segment.steps(traces)
    assert table.filter(trace_id="a")["marker"].to_list() == [None, None, "Wait", None]
    assert table.filter(trace_id="a")["thought"].to_list() == [0, 0, 0, 0]
    counter = tokens.Counter("deepseek-v3")
    step_texts = [
        reasoning[s:e] for s, e in table.filter(trace_id="a").select("start", "end").rows()
    ]
    assert table.filter(trace_id="a")["tokens"].to_list() == counter.count_batch(step_texts)
    assert set(table["kind"]) <= set(segment.kinds.KINDS)
    out = segment.metrics(traces, table).to_dicts()
    a, b, c = out
    assert (a["steps"], a["thoughts"], a["reflection_words"], a["backtracks"]) == (4, 1, 2, 1)
    assert (a["final_answer"], a["correct"]) == ("42", True)
    before = table.filter(trace_id="a")["tokens"].to_list()
    first = reasoning.index("42")
    share = (
        before[0]
        + before[1] * (first - reasoning.index("Six")) / len("Six sevens are 42 in total.")
    ) / sum(before)
    assert a["first_answer_share"] == pytest.approx(share)
    assert a["after_first_answer"] == pytest.approx(1 - share)
    assert a["reference_first_share"] == pytest.approx(share)
    assert (a["looping"], a["empty_reasoning"], a["refusal"]) == (False, False, False)
    assert (b["steps"], b["looping"], b["refusal"]) == (None, None, False)
    assert (c["empty_reasoning"], c["refusal"], c["steps"]) == (True, True, 0)


def test_looping_needs_two_detectors() -> None:
    loop = "\n\n".join(["Wait, maybe the answer is 5. Hmm, let me recompute the total sum."] * 12)
    traces = _frame(
        [{"trace_id": "l", "model": "deepseek-reasoner", "reasoning": loop, "answer": "5"}]
    )
    row = segment.metrics(traces, segment.steps(traces)).row(0, named=True)
    assert row["looping"] is True
    assert row["longest_repeat_run"] == 11
    assert row["rep4"] > 0.9


def test_step_tokens_add_up_to_the_reasoning_tokens() -> None:
    from traceviz.pipeline import analyze

    analysis = analyze(["samples"])
    assert analysis.steps is not None
    per_trace = analysis.steps.group_by("trace_id").agg(pl.col("tokens").sum())
    joined = per_trace.join(analysis.traces.select("trace_id", "tokens_reasoning"), on="trace_id")
    assert joined.height > 10
    assert (joined["tokens"] == joined["tokens_reasoning"]).all()
