"""The shipped tokenizers, loaded once per process: rank files checked against their
published SHA-256, the tiktoken encodings built from them, and each token's width in bytes.

Only the standard library and tiktoken: no polars, no numpy, no thread started. That is
what lets the local engine's fork server (`engines.py`) load the tables before it forks
the workers, which then share the ~130 MB of tables instead of loading them each
(`preload`); `tokens.py` counts with them.

Invariant: each function returns the same object for the life of the process
(`functools.cache`), so what a fork server loaded is what its workers use.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from array import array
from binascii import a2b_base64
from functools import cache
from importlib.resources import files

import tiktoken

from traceviz.errors import ConfigError

O200K = "o200k_base"
CL100K = "cl100k_base"
DEEPSEEK = "deepseek-v3"
TOKENIZERS = (O200K, CL100K, DEEPSEEK)
# Published SHA-256 of OpenAI's rank files (tiktoken_ext/openai_public.py, expected_hash).
_SHA256 = {
    O200K: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    CL100K: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

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


@cache
def encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken encoding of a tokenizer name, built from the shipped rank files."""
    ranks, special = vocabulary(name)
    pattern = {O200K: _O200K_PATTERN, CL100K: _CL100K_PATTERN, DEEPSEEK: _DEEPSEEK_PATTERN}
    return tiktoken.Encoding(
        name, pat_str=pattern[name], mergeable_ranks=ranks, special_tokens=special
    )


@cache
def vocabulary(name: str) -> tuple[dict[bytes, int], dict[str, int]]:
    """A tokenizer's ranks (token bytes -> id) and special tokens (text -> id)."""
    if name in (O200K, CL100K):
        return _load_ranks(f"{name}.tiktoken.gz", _SHA256[name]), _SPECIAL[name]
    if name == DEEPSEEK:
        meta = json.loads((files("traceviz") / "data" / "deepseek_v3.json").read_text())
        ranks = _load_ranks("deepseek_v3.tiktoken.gz", meta["ranks_sha256"])
        return ranks, meta["added_tokens"]
    msg = f"unknown tokenizer {name!r}"
    raise ConfigError(msg, hint=f"Use one of: {', '.join(TOKENIZERS)}.")


def _load_ranks(filename: str, sha256: str) -> dict[bytes, int]:
    data = gzip.decompress((files("traceviz") / "data" / filename).read_bytes())
    if hashlib.sha256(data).hexdigest() != sha256:
        msg = f"tokenizer data {filename} does not match its SHA-256: the install is damaged"
        raise ConfigError(msg, hint="Reinstall traceviz.")
    fields = data.split()
    return dict(zip(map(a2b_base64, fields[::2]), map(int, fields[1::2]), strict=True))


@cache
def widths(name: str) -> array[int]:
    """The length in bytes of every token id of a tokenizer (0 for unused ids), as
    machine integers (`q`), so that a process can view them without copying."""
    ranks, special = vocabulary(name)
    found = array("q", bytes(8 * encoding(name).n_vocab))
    for token, rank in ranks.items():
        found[rank] = len(token)
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
        widths(name)
