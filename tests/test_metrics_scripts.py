"""A text's words per script (`behaviour._scripts`, used for `language_mixing`) are those
of each word's first letter, word by word: checked against that definition written
plainly (over the words polars finds), on generated words mixing ASCII, accented,
Cyrillic, CJK and letterless runs."""

from __future__ import annotations

import string
from collections import Counter

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from traceviz.segment import behaviour

PIECES = [
    "word",
    "Café",
    "é",
    "日本",
    "слово",
    "x_1",
    "42",
    "_",
    "ǅ",
    "İ",
    "²",
    "Ⅷ",
    " ",
    "\n",
    "Ωmega",
]


def plainly(words: pl.DataFrame) -> dict[tuple[int, str], int]:
    """Per (row, script), the words whose first letter is in that script."""
    found: Counter[tuple[int, str]] = Counter()
    for row, word in words.iter_rows():
        letter = next((c for c in word if c.isalpha()), None)  # isalpha: category L*
        if letter is not None:
            found[(row, behaviour.script(letter))] += 1
    return dict(found)


def test_every_ascii_letter_is_latin() -> None:
    assert {behaviour.script(c) for c in string.ascii_letters} == {"LATIN"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=10).map("".join), max_size=8))
@example([])
@example(["", "42 _", "word 日本 слово café"])
def test_scripts_count_each_word_by_its_first_letter(texts: list[str]) -> None:
    words = behaviour._words(pl.Series(texts, dtype=pl.String))
    got = behaviour._scripts(words)
    assert {(r, s): n for r, s, n in got.iter_rows()} == plainly(words)
