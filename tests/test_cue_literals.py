"""The cue prefilter (`segment/cue_literals.py`) leaves out no text a cue matches: on
the labelled traces' real steps and on generated text mixing cue words with
non-ASCII letters and the two characters that case-fold to ASCII, every cue flag is
the pattern's own match over every text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from traceviz.segment import features
from traceviz.segment.cue_literals import LITERALS, candidates

LABELS = Path(__file__).parent / "data" / "labelled-sample.jsonl"
PIECES = [
    *(word for words in LITERALS.values() for word in words),
    *(word.upper() for words in LITERALS.values() for word in words),
    "double-check", "oh wait", "Wait", "hmmm", "\\boxed{3}", "**Final Answer**", "okay",
    " ", ", ", ".", "\n", "é", "日本", "\u212a", "\u017f", "ß", "İ", "x", "5", "=", "?", ":",
    "_", "\u00a0", "\u3000", "\u2028", "，", "\u0301", "\u200d", "٣", "ⓐ", "•", "×", "·", "Σ",
    "\x0c", "\x01", "$",
]  # fmt: skip


def _steps() -> list[str]:
    with LABELS.open(encoding="utf-8") as lines:
        return [chunk["text"] for line in lines for chunk in json.loads(line)["chunks"]]


def assert_own_matches(texts: pl.Series) -> None:
    found = features.cue_flags(texts, features.CUES)
    for name, pattern in features.CUES:
        expected = texts.str.contains(pattern).cast(pl.Float64).to_numpy()  # NaN for null
        np.testing.assert_array_equal(found[name].to_numpy(), expected, err_msg=name)


def test_every_literal_table_entry_is_a_shipped_cue() -> None:
    assert set(LITERALS) <= {pattern for _, pattern in features.CUES}


def test_cue_flags_on_labelled_steps_are_the_patterns_own_matches() -> None:
    texts = pl.Series(_steps(), dtype=pl.String)
    assert texts.len() > 500
    assert_own_matches(texts)


def test_candidates_leave_out_texts_without_the_cue_words() -> None:
    texts = pl.Series(["nothing to see", "Let me CHECK", "\u212aelvin"])
    by_name = dict(
        zip([n for n, _ in features.CUES], candidates(texts, features.CUES), strict=True)
    )
    checked = by_name["check"]
    assert checked is not None
    assert checked.tolist() == [1, 2]  # the KELVIN SIGN text is always a candidate
    assert by_name["wait"] is None  # no literal table: every text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=12).map("".join), max_size=20))
@example(["make \u017fure of it", "chec\u212a this", "recall\u00e9", "\u00e9approach"])
@example([])
def test_cue_flags_on_generated_text_are_the_patterns_own_matches(texts: list[str]) -> None:
    assert_own_matches(pl.Series(texts, dtype=pl.String))


@pytest.mark.parametrize(
    ("pattern", "kept"),
    [
        (r"(?i)\b(check|verif\w+)\b", True),
        (r"^\W*(but\s+)?wait\b", True),
        (r"\\boxed|(?i)\*\*final answer", True),
        (r"double[- ]?check", True),
        (r"\d", False),  # `٣` is a digit, its stand-in is not
        (r"a_b", False),  # `_` stands in for every non-ASCII word character
        (r"[A-z]", False),  # so does a range around `_`
        (r"(?-u)\bx", False),
        (r"(?s).", False),
        (r"\b{start}x", False),
        (r"\x41", False),
        (r"\pL", False),
        (r"[-+*/×^·]", False),
    ],
)
def test_only_patterns_that_read_stand_ins_alike_run_on_them(pattern: str, kept: bool) -> None:
    assert features.stands_in(pattern) is kept


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=16).map("".join))
def test_a_pattern_matches_a_stand_in_where_it_matches_the_text(text: str) -> None:
    assume(not any(c in text for c in "\u212a\u017f"))  # those keep their own text
    stand_in = features._stand_ins(pl.Series([text]))
    assert stand_in.str.len_bytes()[0] == stand_in.str.len_chars()[0]  # ASCII
    for _, pattern in features.CUES:
        if features.stands_in(pattern):
            found = stand_in.str.contains(pattern)[0]
            assert found == pl.Series([text]).str.contains(pattern)[0], pattern


def test_null_texts_keep_their_null_flags() -> None:
    assert_own_matches(pl.Series(["let me check", None, "wait"], dtype=pl.String))
