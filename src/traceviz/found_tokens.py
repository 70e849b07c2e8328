r"""Encodings of only the tokens found in a few texts: a process's first texts are
encoded with one (`encoding_for`), since building a tokenizer's whole encoding costs
~260 ms, most of a short run, and gives the same ids.

Why the found tokens are enough: tiktoken cuts a text at the special tokens it holds
(DeepSeek's `<think>`...), then into pieces with the pre-tokenizer's pattern, and looks
up only byte strings inside one piece (the piece, then merges of its parts). So any
vocabulary that holds every token inside any piece, and every special token that
occurs, gives the same ids. In all three patterns a space inside a piece is either its
first character or one of a run of white space, so a piece never holds a space that
follows a character other than white space: the text cut before those spaces
(`SEGMENT_CUT`; Python's `\S` is narrower than the patterns' non-white-space) has every
piece inside one segment, and the tokens inside the segments are enough.

Kept apart from `tokenizers` because it uses numpy, which the fork server that imports
that module must not load. The tokens are found without building the ranks dict (128,000
bytes objects and a dict, ~45 ms for DeepSeek's of a cold run's ~450): `TokenIndex` holds
each length's tokens as one sorted numpy array of fixed-width byte strings (~22 ms to
build for DeepSeek's, 15 for cl100k's, 40 for o200k's), which the substrings of the texts
are searched in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import tiktoken

from traceviz import tokenizers

# Text a process encodes with `encoding_for`'s found-token encodings, per tokenizer, before
# it builds the whole one. NOTE: on the 2-core machine of the README's start-up figures,
# finding the tokens costs 4-6 ms per KB of prose (14 per KB of base64, which has no
# spaces) and building a whole encoding 200-260 ms: past 16 KB the whole one is about as
# cheap, and it is built once for all the text that follows.
FOUND_TOKENS_BYTES = 16 * 1024
_found_bytes: dict[str, int] = {}  # text encoded with found-token encodings so far
SCANNED_BYTES = 16  # substrings up to this long are looked up; longer tokens searched for
# Where the text is cut into segments that hold every pre-tokenizer piece whole: before a
# space that follows a character that is not white space (see the module's docstring).
SEGMENT_CUT = re.compile(r"(?<=\S)(?= )")


def encoding_for(name: str, texts: Sequence[str]) -> tiktoken.Encoding:
    """An encoding that gives `texts` exactly the ids `tokenizers.encoding(name)` gives
    them: that one if it is built or the process has encoded `FOUND_TOKENS_BYTES` of
    text, else one built from only the tokens and special tokens found in `texts`."""
    whole = tokenizers.built(name)
    if whole is not None:
        return whole
    try:
        size = sum(len(text.encode()) for text in texts)
    except UnicodeEncodeError:  # a lone surrogate, which only tiktoken's own fallback takes
        return tokenizers.encoding(name)
    if _found_bytes.get(name, 0) + size > FOUND_TOKENS_BYTES:
        return tokenizers.encoding(name)
    _found_bytes[name] = _found_bytes.get(name, 0) + size
    return found_encoding(name, texts)


def found_encoding(name: str, texts: Sequence[str]) -> tiktoken.Encoding:
    """The encoding of only the tokens and special tokens found in `texts` (and the bytes)."""
    joined = "\0".join(texts)  # what it finds across the joins is more, never fewer
    special = tokenizers.special_tokens(name)
    return tiktoken.Encoding(
        name,
        pat_str=tokenizers.pattern(name),
        mergeable_ranks=found_tokens(name, texts),
        special_tokens={text: rank for text, rank in special.items() if text in joined},
    )


def found_tokens(name: str, texts: Sequence[str]) -> dict[bytes, int]:
    """The ranks of every token inside a segment of `texts` (more, never fewer), and of
    every single byte (so that the vocabulary is never empty)."""
    index = token_index(name)
    segments = {s.encode() for text in texts for s in SEGMENT_CUT.split(text)}
    found = dict(index.single_bytes)
    for size in range(1, SCANNED_BYTES + 1):
        inside = set(_substrings(segments, size))
        if inside:
            found.update(index.lookup(size, inside))
    longer = b"\0".join(s for s in segments if len(s) > SCANNED_BYTES)
    if longer:
        found.update((token, rank) for token, rank in index.long_tokens if token in longer)
    return found


def _substrings(segments: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Every substring `size` bytes long of each segment."""
    for segment in segments:
        n = len(segment)
        if n >= size:
            yield from map(segment.__getitem__, map(slice, range(n - size + 1), range(size, n + 1)))


@dataclass(frozen=True, slots=True)
class TokenIndex:
    """A tokenizer's tokens, searchable by their bytes without a dict of them all.

    `by_size[n]` is (the tokens `n` bytes long as one sorted array of numpy `S{n}`
    strings, their ids in the same order). numpy reads an `S` string's trailing NUL
    bytes as padding, which within one width is still exact: two strings of the same
    length compare as their bytes do (a token ending in NUL is found as itself, tested
    on every token of the three vocabularies). `long_tokens` are the
    tokens longer than `SCANNED_BYTES` with their ids, `single_bytes` the one-byte ones.
    """

    by_size: dict[int, tuple[np.ndarray, np.ndarray]]
    long_tokens: tuple[tuple[bytes, int], ...]
    single_bytes: dict[bytes, int]

    def lookup(self, size: int, wanted: Iterable[bytes]) -> Iterator[tuple[bytes, int]]:
        """(token, id) for each of `wanted` (all `size` bytes long) that is a token."""
        if size not in self.by_size:
            return
        tokens, ids = self.by_size[size]
        asked = list(wanted)
        queries = np.array(asked, dtype=f"S{size}")
        at = np.searchsorted(tokens, queries).clip(max=len(tokens) - 1)
        hit = tokens[at] == queries
        yield from zip(
            (asked[i] for i in np.flatnonzero(hit).tolist()), ids[at[hit]].tolist(), strict=True
        )


@cache
def token_index(name: str) -> TokenIndex:
    """The `TokenIndex` of a shipped tokenizer, built from its packed tokens."""
    packed_lengths, body = tokenizers.packed_tokens(name)
    lengths = np.frombuffer(packed_lengths, dtype=np.uint8).astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    data = np.frombuffer(body, dtype=np.uint8)
    by_size = {}
    for size in range(1, SCANNED_BYTES + 1):
        ids = np.flatnonzero(lengths == size)
        if ids.size:
            tokens = np.ascontiguousarray(data[starts[ids][:, None] + np.arange(size)])
            strings = tokens.view(f"S{size}").ravel()
            order = np.argsort(strings, kind="stable")
            by_size[size] = (strings[order], ids[order])
    long_ids = np.flatnonzero(lengths > SCANNED_BYTES).tolist()
    long_tokens = tuple(
        (body[start : start + length], rank)
        for rank, start, length in zip(
            long_ids, starts[long_ids].tolist(), lengths[long_ids].tolist(), strict=True
        )
    )
    single = np.flatnonzero(lengths == 1).tolist()
    single_bytes = {
        body[start : start + 1]: rank
        for rank, start in zip(single, starts[single].tolist(), strict=True)
    }
    return TokenIndex(by_size, long_tokens, single_bytes)
