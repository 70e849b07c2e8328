"""How the notes and outputs write a count in a sentence: `count_of(1, "trace")` is
"1 trace", `count_of(1200, "trace")` "1,200 traces" (thousands separated, the noun's
plural by an "s", which every noun counted here takes)."""

from __future__ import annotations


def count_of(n: int, noun: str) -> str:
    """`n` and `noun`, plural unless `n` is 1.

    >>> count_of(1, "trace"), count_of(0, "priced trace"), count_of(1200, "response")
    ('1 trace', '0 priced traces', '1,200 responses')
    """
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
