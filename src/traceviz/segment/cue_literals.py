"""Which texts a cue regex can match at all, found for every cue in one pass: a
literal prefilter for `features.cue_flags`.

Every match of a shipped word cue contains one of its literal words (`LITERALS`, read
off the pattern by hand: `(?i)\\b(check|verif\\w+|make sure)\\b` cannot match without
"check", "verif" or "make sure"). One Aho-Corasick scan (polars `str.extract_many`,
ASCII case-insensitive, overlapping) finds every literal of every cue in every text;
the regex then runs only on the texts holding one of its literals. Measured on
r1small (67,764 steps): the 25 regexes over every step took 0.31 s CPU, the scan plus
the regexes on candidates about a fifth of that.

Invariant: a text left out for a cue is one its pattern cannot match. An ASCII
case-insensitive scan misses no match of an ASCII literal under `(?i)` except through
the two non-ASCII characters that Unicode simple case folding maps to ASCII letters
(KELVIN SIGN to k, LATIN SMALL LETTER LONG S to s): texts holding either are candidates
for every cue, and so are null texts (the regexes give them null). Patterns not in
`LITERALS` (a model trained with other cues, or cues cheap to run anyway) run on every
text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

# The literal words of each word cue, keyed by the exact pattern (`features.CUES`):
# an edited pattern no longer matches its key and simply runs on every text.
LITERALS: dict[str, tuple[str, ...]] = {
    r"(?i)\bhmm+\b": ("hmm",),
    r"(?i)\b(check|verify|verif\w+|confirm|double[- ]?check|make sure|sanity)\b": (
        "check", "verif", "confirm", "make sure", "sanity",
    ),
    r"(?i)\banswer\b": ("answer",),
    r"\\boxed|(?i)\*\*final answer": ("\\boxed", "**final answer"),
    r"(?i)\b(the problem|the question|asks|asking|asked|given|we need to find)\b": (
        "the problem", "the question", "ask", "given", "we need to find",
    ),
    r"(?i)\b(let me|let's|i('ll| will| need to| should| can)|we need to|we can)\b": (
        "let me", "let's", "i'll", "i will", "i need to", "i should", "i can", "we need to",
        "we can",
    ),
    r"(?i)\b(approach|strategy|method|way to|idea|step by step|first,|next,)\b": (
        "approach", "strategy", "method", "way to", "idea", "step by step", "first,", "next,",
    ),
    r"(?i)\b(recall|remember|formula|theorem|definition|known|property|rule)\b": (
        "recall", "remember", "formula", "theorem", "definition", "known", "property", "rule",
    ),
    r"(?i)\b(since|because|means that|implies|which is|where)\b": (
        "since", "because", "means that", "implies", "which is", "where",
    ),
    r"(?i)\b(maybe|perhaps|not sure|mistake|wrong|confus\w*|hold on|seems)\b": (
        "maybe", "perhaps", "not sure", "mistake", "wrong", "confus", "hold on", "seems",
    ),
    r"(?i)\bi (think|guess|believe|wonder)\b": ("i think", "i guess", "i believe", "i wonder"),
    r"(?i)\b(so (the|that|we have|it)|in total|altogether|overall|summar|recap)": (
        "so the", "so that", "so we have", "so it", "in total", "altogether", "overall",
        "summar", "recap",
    ),
    r"(?i)\b(correct|right|makes sense|consistent|matches|checks out|same)\b": (
        "correct", "right", "makes sense", "consistent", "matches", "checks out", "same",
    ),
    r"(?i)\b(comput|calculat|multipl|divid|subtract|plug|substitut|expand|simplif)": (
        "comput", "calculat", "multipl", "divid", "subtract", "plug", "substitut", "expand",
        "simplif",
    ),
    r"(?i)\b(alternatively|another (way|approach|method)|instead)\b": (
        "alternatively", "another way", "another approach", "another method", "instead",
    ),
}  # fmt: skip
_FOLDS_TO_ASCII = ("\u212a", "\u017f")  # KELVIN SIGN (k), LATIN SMALL LETTER LONG S (s)


def candidates(texts: pl.Series, cues: Sequence[tuple[str, str]]) -> list[np.ndarray | None]:
    """Per cue, the sorted indices of the texts its pattern may match, or None for
    every text (a pattern without literals)."""
    literals = sorted({word for _, p in cues for word in LITERALS.get(p, ())})
    if not literals or texts.is_empty():
        return [None] * len(cues)
    # NOTE: each literal found, lower-cased and cast to its index (repeats and all: the
    # union below drops them), costs half what deduplicating the lists first did
    found = texts.str.extract_many(literals, ascii_case_insensitive=True, overlapping=True)
    counts = found.list.len().fill_null(0).to_numpy()
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    words = (
        found.explode(empty_as_null=False, keep_nulls=False)
        .str.to_lowercase()
        .cast(pl.Enum(literals))
        .to_physical()
        .cast(pl.Int64)
        .to_numpy()
    )
    folds = np.flatnonzero(texts.str.contains_any(list(_FOLDS_TO_ASCII)).fill_null(True))
    out: list[np.ndarray | None] = []
    for _, pattern in cues:
        own = LITERALS.get(pattern)
        if own is None:
            out.append(None)
            continue
        mine = np.zeros(len(literals), dtype=bool)
        mine[[literals.index(word) for word in own]] = True
        out.append(np.union1d(rows[mine[words]], folds))
    return out
