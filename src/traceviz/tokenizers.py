"""The shipped tokenizers, loaded once per process: rank files checked against a recorded
SHA-256, the tiktoken encodings built from them, and each token's width in bytes.

Only the standard library and tiktoken: no polars, no numpy, no thread started. That is
what lets the local engine's fork server (`engines.py`) load the tables before it forks
the workers, which then share the tables instead of loading ~130 MB each (`preload`;
~90 MB once `shed_vocabularies` frees the Python dicts); `tokens.py` counts with them.

The rank files ship in a packed form (`pack`): every token's length, then the tokens'
bytes, in id order, gzip-compressed; loading it makes one bytes object per token and
nothing else (the published base64 text cost a split, a base64 decode and an int per
token: 2-3x the time). `published_text` rebuilds the published `.tiktoken` file from it
byte for byte, and the tests hold that text to its published SHA-256.

A process's first few texts are encoded with an encoding of only the tokens found in them
(`found_tokens.encoding_for`, which indexes `packed_tokens` with numpy): building the
whole vocabulary's costs ~260 ms, most of a short run.

Invariant: each table and each whole-vocabulary encoding is built once and kept for the
life of the process, so what a fork server loaded is what its workers use.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from array import array
from base64 import b64encode
from binascii import a2b_base64
from functools import cache
from importlib.resources import files
from itertools import accumulate

import tiktoken

from traceviz.errors import ConfigError

O200K = "o200k_base"
CL100K = "cl100k_base"
DEEPSEEK = "deepseek-v3"
TOKENIZERS = (O200K, CL100K, DEEPSEEK)
# Published SHA-256 of OpenAI's rank files (tiktoken_ext/openai_public.py, expected_hash);
# DeepSeek's is `ranks_sha256` in deepseek_v3.json (of the text scripts/build_deepseek_ranks.py
# converts its tokenizer.json to).
_SHA256 = {
    O200K: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    CL100K: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
# What ships: the packed rank file of each tokenizer and the SHA-256 of its packed bytes
# (decompressed), checked at every load. `python tools/pack_ranks.py` writes them from the
# published files and prints these hashes; tests/test_tokenizers.py rebuilds the published
# text from each and checks it against the published SHA-256 above.
_SHIPPED = {
    O200K: (
        "o200k_base.ranks.gz",
        "e5f2276c25daa6e36b224318f1e7170066c6b4275e52533eb51b181dde1a881c",
    ),
    CL100K: (
        "cl100k_base.ranks.gz",
        "70da1f5329bc61643b436828c0e599fc6a93a6ffc5e6d577fbac5ee0ac16629e",
    ),
    DEEPSEEK: (
        "deepseek_v3.ranks.gz",
        "ed91f3658a141bdd622b5bede09a9d57c6dc327bf9ad8e0269ebc69fea150ef8",
    ),
}
# The packed format: this line, the number of ids n (4 bytes, little-endian), n bytes each
# the length of token id i (0: no token has that id), then the tokens' bytes in id order.
PACKED_MAGIC = b"traceviz-ranks 1\n"
_MAX_TOKEN_BYTES = 255  # one byte per length (the longest token of the three is 128)

# Patterns and special tokens as in tiktoken_ext/openai_public.py.
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_SPECIAL = {
    O200K: {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    CL100K: {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
}

# DeepSeek-V3's pre-tokenizer splits, in order: digit runs of 1-3, runs of CJK, then a
# GPT-style pattern. Folded into one alternation, the later branches must not reach
# into what an earlier split would have isolated: CJK is taken out of their classes
# and the white-space lookahead treats a digit or CJK character as a boundary.
_CJK = r"\x{4e00}-\x{9fa5}\x{3040}-\x{309f}\x{30a0}-\x{30ff}"
_DEEPSEEK_PATTERN = "|".join(
    [
        r"\p{N}{1,3}",
        rf"[{_CJK}]+",
        r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+""",
        rf"[^\r\n\p{{L}}\p{{P}}\p{{S}}{_CJK}]?[[\p{{L}}\p{{M}}]&&[^{_CJK}]]+",
        rf" ?[[\p{{P}}\p{{S}}]&&[^{_CJK}]]+[\r\n]*",
        r"\s*[\r\n]+",
        rf"\s+(?![^\s\p{{N}}{_CJK}])",
        r"\s+",
        # Hugging Face keeps the text between matches (format and control characters)
        # as pieces of their own; tiktoken keeps only matches, so match those runs too.
        rf"(?:[^\s\p{{L}}\p{{M}}\p{{N}}\p{{P}}\p{{S}}{_CJK}](?![[\p{{L}}\p{{M}}]&&[^{_CJK}]]))+",
    ]
)


_PATTERNS = {O200K: _O200K_PATTERN, CL100K: _CL100K_PATTERN, DEEPSEEK: _DEEPSEEK_PATTERN}
_WHOLE: dict[str, tiktoken.Encoding] = {}  # the encodings built so far, by name


def encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken encoding of a tokenizer name, built from the shipped rank files."""
    if name not in _WHOLE:
        ranks, special = vocabulary(name)
        _WHOLE[name] = tiktoken.Encoding(
            name, pat_str=_PATTERNS[name], mergeable_ranks=ranks, special_tokens=special
        )
    return _WHOLE[name]


def pattern(name: str) -> str:
    """The pre-tokenizer pattern of a shipped tokenizer."""
    special_tokens(name)  # raises the unknown-name error
    return _PATTERNS[name]


def built(name: str) -> tiktoken.Encoding | None:
    """The whole-vocabulary encoding of `name` if this process has built it, else None."""
    return _WHOLE.get(name)


@cache
def vocabulary(name: str) -> tuple[dict[bytes, int], dict[str, int]]:
    """A tokenizer's ranks (token bytes -> id) and special tokens (text -> id)."""
    special = special_tokens(name)
    return _ranks_and_lengths(name)[0], special


@cache
def special_tokens(name: str) -> dict[str, int]:
    """A tokenizer's special tokens (text -> id), without building its ranks."""
    if name in (O200K, CL100K):
        return _SPECIAL[name]
    if name == DEEPSEEK:
        meta = json.loads((files("traceviz") / "data" / "deepseek_v3.json").read_text())
        added: dict[str, int] = meta["added_tokens"]
        return added
    msg = f"unknown tokenizer {name!r}"
    raise ConfigError(msg, hint=f"Use one of: {', '.join(TOKENIZERS)}.")


@cache
def packed_tokens(name: str) -> tuple[bytes, bytes]:
    """(the length of each id's token, the tokens' bytes in id order) of a shipped
    tokenizer, checked against its SHA-256: what its ranks are built from, and what
    `found_tokens` indexes without building them."""
    special_tokens(name)  # raises the unknown-name error
    return _unpack(_read_packed(*_SHIPPED[name]))


@cache
def _ranks_and_lengths(name: str) -> tuple[dict[bytes, int], bytes]:
    """A shipped tokenizer's ranks, and the length of each id's token (for `widths`)."""
    lengths, body = packed_tokens(name)
    return _ranks(lengths, body), lengths


def _ranks(lengths: bytes, body: bytes) -> dict[bytes, int]:
    ends = list(accumulate(lengths))
    tokens = [body[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
    ranks = dict(zip(tokens, range(len(lengths)), strict=True))
    if 0 in lengths:  # ids no token has (DeepSeek's 0-2 are added tokens) all sliced b""
        del ranks[b""]
    return ranks


def _read_packed(filename: str, sha256: str) -> bytes:
    data = gzip.decompress((files("traceviz") / "data" / filename).read_bytes())
    if hashlib.sha256(data).hexdigest() != sha256:
        msg = f"tokenizer data {filename} does not match its SHA-256: the install is damaged"
        raise ConfigError(msg, hint="Reinstall traceviz.")
    return data


def _unpack(packed: bytes) -> tuple[bytes, bytes]:
    """(the length of each id's token, the tokens' bytes) of a packed rank file."""
    if not packed.startswith(PACKED_MAGIC):
        msg = "not a packed rank file"
        raise ConfigError(msg, hint="Reinstall traceviz.")
    start = len(PACKED_MAGIC) + 4
    n = int.from_bytes(packed[len(PACKED_MAGIC) : start], "little")
    lengths, body = packed[start : start + n], packed[start + n :]
    if len(lengths) != n or sum(lengths) != len(body):
        msg = "a packed rank file whose lengths do not add up to its tokens"
        raise ConfigError(msg, hint="Reinstall traceviz.")
    return lengths, body


def pack(published: bytes) -> bytes:
    """The packed form of a published `.tiktoken` rank file (lines `base64 rank`, ranks
    rising); `unpack_text` gives the text back byte for byte."""
    ranks: dict[int, bytes] = {}
    for line in published.splitlines():
        token, rank = line.split()
        ranks[int(rank)] = a2b_base64(token)
    n = max(ranks) + 1
    tokens = [ranks.get(i, b"") for i in range(n)]
    if any(len(t) > _MAX_TOKEN_BYTES for t in tokens) or b"" in ranks.values():
        msg = "a token of 0 or more than 255 bytes: the packed format cannot hold it"
        raise ConfigError(msg)
    if len(set(ranks.values())) != len(ranks):
        msg = "two ranks of one token"
        raise ConfigError(msg)
    packed = PACKED_MAGIC + n.to_bytes(4, "little") + bytes(map(len, tokens)) + b"".join(tokens)
    if unpack_text(packed) != published:
        msg = "the rank file is not in the published form (ranks rising, one line each)"
        raise ConfigError(msg)
    return packed


def unpack_text(packed: bytes) -> bytes:
    """The published `.tiktoken` text of a packed rank file."""
    lengths, body = _unpack(packed)
    lines = []
    start = 0
    for rank, length in enumerate(lengths):
        if length:
            token = body[start : start + length]
            lines.append(b64encode(token) + b" " + str(rank).encode() + b"\n")
            start += length
    return b"".join(lines)


def published_text(name: str) -> bytes:
    """The rank file of a tokenizer as published (what tiktoken downloads for OpenAI's),
    rebuilt from the shipped one."""
    if name not in _SHIPPED:
        vocabulary(name)  # raises the unknown-name error
    return unpack_text(_read_packed(*_SHIPPED[name]))


@cache
def widths(name: str) -> array[int]:
    """The length in bytes of every token id of a tokenizer (0 for unused ids), as
    machine integers (`q`), so that a process can view them without copying."""
    special = special_tokens(name)
    lengths = packed_tokens(name)[0]
    found = array("q", iter(lengths))  # the ranks' widths, id by id
    ids = max([len(lengths.rstrip(b"\0")), *(rank + 1 for rank in special.values())])  # n_vocab
    found.frombytes(bytes(found.itemsize * (ids - len(found))))
    for text, rank in special.items():
        found[rank] = len(text.encode())
    return found


# What a fork server loads for its workers: R1's and the o-series' tables, ~130 MB, the
# two a mixed log or a `--vs o1` run needs in every worker. NOTE: not cl100k (gpt-4,
# gpt-3.5; 32 MB): rare in reasoning logs, a worker that meets it loads it; and a table
# preloaded but unused costs its size once, where a shared one saves it once per worker.
PRELOADED = (DEEPSEEK, O200K)


def preload() -> None:
    """Load the `PRELOADED` tokenizers now (a fork server does, before forking workers)."""
    for name in PRELOADED:
        encoding(name)
        widths(name)


def shed_vocabularies() -> None:
    """Free the Python rank dicts the built encodings were made from, keeping the
    encodings (whose Rust core holds its own copy) and the token widths.

    NOTE: for a fork server, after `preload`: its workers find the whole encodings built
    and never look at the dicts (~40 MB for R1's and the o-series' tables, shared by the
    server and every worker: 48 MiB less PSS in all with glibc's free memory trimmed).
    tiktoken keeps the dict it was given only to pickle the encoding, which nothing here
    does; the dicts are emptied in place (the encodings hold the same objects) and a later
    `vocabulary` call builds them again."""
    for name in _WHOLE:
        vocabulary(name)[0].clear()
    vocabulary.cache_clear()
    _ranks_and_lengths.cache_clear()
    packed_tokens.cache_clear()
