"""Exact, offline token counts: the tokenizers, the model table, and the counting stage.

Three tokenizers ship with the package, as tiktoken rank files under `traceviz/data/`
checked against their published SHA-256 when loaded:

- `o200k_base` (o1, o3, o4-mini, gpt-4o, gpt-4.1, gpt-5…) and `cl100k_base` (gpt-4,
  gpt-3.5): OpenAI's own rank files, byte for byte those tiktoken downloads;
- `deepseek-v3` (DeepSeek-V3 and R1, `deepseek-reasoner`, `deepseek-chat`): DeepSeek's
  byte-level BPE, whose token ids are in merge order, run as a `tiktoken.Encoding`
  with its three-step pre-tokenizer folded into one regular expression (2-7x faster
  than Hugging Face `tokenizers`, and equal to it token for token: see the tests).

`count` is the pipeline stage: it adds the counted columns and reconciles them with
the logged usage, which stays the billing truth (`usage.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import polars as pl
import tiktoken

from traceviz import found_tokens, tokenizers

# NOTE: loading lives in `tokenizers` (no polars, no numpy), so that a fork server can
# hold the tables for its workers; the names stay importable from here.
from traceviz.errors import ConfigError as ConfigError  # what loading raises
from traceviz.schema import (
    ANSWER,
    MODEL,
    PROMPT,
    REASONING,
    REASONING_TOKENS,
    REASONING_VISIBLE,
    TOKENIZER,
    TOKENIZER_EXACT,
    TOKENS_ANSWER,
    TOKENS_PROMPT,
    TOKENS_REASONING,
    TOKENS_TEMPLATE,
    USAGE_DRIFT,
    USAGE_REASONING_DRIFT,
    USAGE_SPLIT,
)
from traceviz.stats import distribution, grouped
from traceviz.tokenizers import _SHA256 as _SHA256
from traceviz.tokenizers import CL100K as CL100K
from traceviz.tokenizers import DEEPSEEK as DEEPSEEK
from traceviz.tokenizers import O200K as O200K
from traceviz.tokenizers import TOKENIZERS as TOKENIZERS
from traceviz.tokenizers import encoding as encoding
from traceviz.usage import reconcile

THREADS = 2
_threads = [THREADS]


def threads() -> int:
    """Threads each encoding call uses (1 inside a worker process of a parallel run)."""
    return _threads[0]


def use_threads(n: int) -> None:
    _threads[0] = max(1, n)


COUNT_CHUNK = 256


@dataclass(frozen=True, slots=True)
class Counter:
    """Counts tokens of many texts at once with one tokenizer, on both cores."""

    name: str
    exact: bool = True

    def encode(self, text: str) -> list[int]:
        """Token ids as the model sees the text (DeepSeek's added tokens such as `<think>`
        are matched in text; OpenAI's special tokens are plain text in a message)."""
        enc = found_tokens.encoding_for(self.name, [text])
        if self.name == DEEPSEEK:
            return enc.encode(text, allowed_special="all")
        return enc.encode_ordinary(text)

    @overload
    def count_batch(self, texts: Sequence[str]) -> list[int]: ...

    @overload
    def count_batch(self, texts: Sequence[str | None]) -> list[int | None]: ...

    def count_batch(self, texts: Sequence[str | None]) -> list[int] | list[int | None]:
        """Token counts of each text (None stays None), encoded on both cores.

        Texts are encoded COUNT_CHUNK at a time and only their lengths kept, so the
        token ids of a whole batch never sit in memory together.
        """
        present = [t for t in texts if t is not None]
        found: list[int] = []
        if present:
            enc = found_tokens.encoding_for(self.name, present)
            for start in range(0, len(present), COUNT_CHUNK):
                chunk = present[start : start + COUNT_CHUNK]
                found.extend(len(ids) for ids in self._encode_arrays(enc, chunk))
        lengths = iter(found)
        return [None if t is None else next(lengths) for t in texts]

    def count_parts(self, texts: Sequence[str], starts: Sequence[Sequence[int]]) -> list[list[int]]:
        """Token counts of the parts of each text that begin at `starts` (character
        offsets, one list per text), from ONE encoding of the whole text.

        A token belongs to the part its last byte is in, so the parts add up to the
        text's own count exactly; the first part also holds anything before its start.
        """
        if not texts:
            return []
        enc = found_tokens.encoding_for(self.name, texts)
        widths = token_widths(self.name)
        found: list[list[int]] = []
        for first in range(0, len(texts), COUNT_CHUNK):
            chunk = texts[first : first + COUNT_CHUNK]
            for text, ids, cuts in zip(
                chunk, self._encode_arrays(enc, chunk), starts[first:], strict=False
            ):
                ends = np.cumsum(widths[ids])
                inside = np.searchsorted(ends, _byte_offsets(text, cuts[1:]), side="right")
                found.append(np.diff(inside, prepend=0, append=len(ids)).tolist())
        return found

    def _encode_arrays(self, enc: tiktoken.Encoding, texts: Sequence[str]) -> list[np.ndarray]:
        """The token ids of each text (as `encode` gives them), as arrays, on both cores.

        NOTE: tiktoken's `encode_to_numpy` hands over its own buffer: no Python int per
        token (with the lists `encode_batch` builds, `count` took 1.22 s CPU on r1small
        against 0.99, and they hold 36 bytes a token against 4). With no special token
        allowed and none disallowed it encodes as `encode_ordinary` does.
        """
        allowed: Literal["all"] | frozenset[str] = "all" if self.name == DEEPSEEK else frozenset()

        def one(text: str) -> np.ndarray:
            try:
                return enc.encode_to_numpy(text, allowed_special=allowed, disallowed_special=())
            except UnicodeEncodeError:  # a lone surrogate: `encode` replaces it, as ever
                return np.asarray(self.encode(text), dtype=np.uint32)

        # a worker process (no thread pool to hand texts to), or a text or none
        if threads() == 1 or len(texts) < 2:
            return [one(text) for text in texts]
        with ThreadPoolExecutor(threads()) as pool:
            return list(pool.map(one, texts))


def _byte_offsets(text: str, offsets: Sequence[int]) -> list[int]:
    """UTF-8 byte offsets of character offsets (in order) of `text`."""
    if text.isascii():
        return list(offsets)
    found = []
    done = position = 0
    for offset in offsets:
        done += len(text[position:offset].encode("utf-8", "surrogatepass"))
        position = offset
        found.append(done)
    return found


def token_widths(name: str) -> np.ndarray:
    """The length in bytes of every token id of a tokenizer (0 for unused ids), read-only:
    a view of the table `tokenizers.widths` keeps (shared with a fork server's)."""
    return np.frombuffer(tokenizers.widths(name), dtype=np.int64)


def counter(name_or_model: str | None) -> Counter:
    """A counter for a tokenizer name (`o200k_base`, `cl100k_base`, `deepseek-v3`) or a model."""
    if name_or_model in TOKENIZERS:
        return Counter(name_or_model)
    name, exact = tokenizer_for(name_or_model)
    return Counter(name, exact)


# model name (lower case, provider prefix removed) prefix -> (tokenizer, exact)
MODEL_TOKENIZERS: tuple[tuple[str, str, bool], ...] = (
    ("deepseek-r1-distill", DEEPSEEK, False),  # Qwen or Llama vocabularies: a named fallback
    ("deepseek-v4", DEEPSEEK, False),  # V4 ships a new tokenizer not published as data
    ("deepseek-flash", DEEPSEEK, False),
    ("deepseek-reasoner", DEEPSEEK, True),
    ("deepseek-chat", DEEPSEEK, True),
    ("deepseek-r1", DEEPSEEK, True),
    ("r1-1776", DEEPSEEK, True),  # Perplexity's post-trained R1, same tokenizer
    ("deepseek-v3", DEEPSEEK, True),
    ("deepseek", DEEPSEEK, False),
    ("o1", O200K, True),
    ("o3", O200K, True),
    ("o4", O200K, True),
    ("gpt-5", O200K, True),
    ("gpt-4o", O200K, True),
    ("gpt-4.1", O200K, True),
    ("gpt-4.5", O200K, True),
    ("chatgpt-4o", O200K, True),
    ("codex", O200K, True),
    ("gpt-oss", O200K, True),  # o200k_harmony: o200k_base plus format tokens, same on text
    ("gpt-4", CL100K, True),
    ("gpt-3.5", CL100K, True),
    ("text-embedding-3", CL100K, True),
)
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,4}\.)?deepseek\.")
DEFAULT_TOKENIZER = DEEPSEEK  # logs without a model name are mostly raw R1-style output


def tokenizer_for(model: str | None) -> tuple[str, bool]:
    """(tokenizer name, exact) for a model name as logged.

    Provider prefixes (`deepseek/deepseek-r1`, `openrouter/openai/o1`) and dated
    suffixes (`o1-2024-12-17`) are handled; a model with no exact tokenizer gets a
    named fallback and `exact` False.

    Examples
    --------
    >>> tokenizer_for("o1-2024-12-17")
    ('o200k_base', True)
    >>> tokenizer_for("openrouter/deepseek/deepseek-r1")
    ('deepseek-v3', True)
    >>> tokenizer_for("deepseek-ai/DeepSeek-R1-Distill-Qwen-14B")
    ('deepseek-v3', False)
    >>> tokenizer_for("deepseek-r1:14b")  # Ollama's 14b is the Qwen distill
    ('deepseek-v3', False)
    """
    if not model:
        return DEFAULT_TOKENIZER, False
    name = model.strip().lower().rsplit("/", 1)[-1].removeprefix("ft:")
    name = _BEDROCK_PREFIX.sub("deepseek-", name)  # us.deepseek.r1-v1:0
    name, _, tag = name.partition(":")  # Ollama tags, Bedrock versions, fine-tune suffixes
    deepseek = name.startswith(("deepseek", "r1-"))
    if deepseek and any(base in name for base in ("qwen", "llama")):
        return DEEPSEEK, False  # R1 distilled into Qwen or Llama (DeepSeek-R1-0528-Qwen3-8B)
    if deepseek and tag and not tag.isdigit() and not tag.startswith("671b"):
        return DEEPSEEK, False  # Ollama's deepseek-r1:8b…70b (and :latest) are distills
    for prefix, tokenizer, exact in MODEL_TOKENIZERS:
        if name.startswith(prefix):
            return tokenizer, exact
    return O200K, False


REASONING_PART_TOKENS = "reasoning_part_tokens"  # see `count`

# --- the counting stage ---------------------------------------------------------------------

# Tokens a chat template adds to the output around what the log shows, by the model's own
# tokenizer family: for DeepSeek R1 the `<think>` and `</think>` tokens around visible
# reasoning and the end-of-sentence token (the newlines around the tags are not added:
# the current template puts `<think>\n` in the prompt); OpenAI does not publish the
# o-series output template, so none is assumed. See docs/tokens.md.
TEMPLATE_OUTPUT_TOKENS = {DEEPSEEK: {"visible": 3, "hidden": 1}}


def count(
    traces: pl.DataFrame,
    tokenizer: str | None = None,
    reasoning_parts: Sequence[Sequence[int]] | None = None,
) -> pl.DataFrame:
    """The traces with counted tokens, the tokenizer used, and usage reconciliation.

    `tokenizer` forces one tokenizer for every trace; otherwise each trace is counted
    with its model's (see `tokenizer_for`). With `reasoning_parts` (the character offsets
    where each part of each trace's reasoning begins, e.g. its steps), the reasoning is
    still encoded once and a list column `REASONING_PART_TOKENS` holds each part's tokens.
    """
    choices = {m: _tokenizer_of(m, tokenizer) for m in traces[MODEL].unique().to_list()}
    models = traces[MODEL].to_list()
    names = [choices[m][0] for m in models]
    exact = [choices[m][1] for m in models]
    families = [choices[m][2] for m in models]
    counts: dict[str, list[int | None]] = {PROMPT: [None] * traces.height}
    counts[REASONING] = [None] * traces.height
    counts[ANSWER] = [None] * traces.height
    parts: list[list[int] | None] = [None] * traces.height
    by_tokenizer: dict[str, list[int]] = {}
    for row, name in enumerate(names):
        by_tokenizer.setdefault(name, []).append(row)
    for name, rows in by_tokenizer.items():
        tool = Counter(name)
        for column in (PROMPT, REASONING, ANSWER):
            texts = traces[column].gather(rows).to_list()
            if column == REASONING and reasoning_parts is not None:
                present = [(r, t) for r, t in zip(rows, texts, strict=True) if t is not None]
                found = tool.count_parts(
                    [t for _, t in present], [reasoning_parts[r] or [0] for r, _ in present]
                )
                for (row, _), numbers in zip(present, found, strict=True):
                    parts[row] = numbers
                    counts[column][row] = sum(numbers)
                continue
            for row, n in zip(rows, tool.count_batch(texts), strict=True):
                counts[column][row] = n
    template = [
        TEMPLATE_OUTPUT_TOKENS.get(family, {}).get("visible" if r is not None else "hidden", 0)
        for family, r in zip(families, counts[REASONING], strict=True)
    ]
    counted = traces.with_columns(
        pl.Series(TOKENS_PROMPT, counts[PROMPT], dtype=pl.Int64),
        pl.Series(TOKENS_REASONING, counts[REASONING], dtype=pl.Int64),
        pl.Series(TOKENS_ANSWER, counts[ANSWER], dtype=pl.Int64),
        pl.Series(TOKENS_TEMPLATE, template, dtype=pl.Int64),
        pl.Series(TOKENIZER, names, dtype=pl.String),
        pl.Series(TOKENIZER_EXACT, exact, dtype=pl.Boolean),
    )
    if reasoning_parts is not None:
        counted = counted.with_columns(
            pl.Series(REASONING_PART_TOKENS, parts, dtype=pl.List(pl.Int64))
        )
    return counted.with_columns(reconcile(USAGE_SPLIT in counted.columns))


def _tokenizer_of(model: str | None, forced: str | None) -> tuple[str, bool, str]:
    """The tokenizer a trace is counted with, whether the counts are its model's own, and
    the model's own tokenizer family (which decides the chat template's tokens).

    A forced tokenizer is exact for traces that name no model (forcing `deepseek-v3` on
    raw R1 text is the user's word that it is R1's) and for models whose own exact
    tokenizer it is; forcing `cl100k_base` on `o1` logs counts them with a foreign
    vocabulary, so those counts are marked inexact.
    """
    own, own_exact = tokenizer_for(model)
    if forced is None:
        return own, own_exact, own
    tokenizers.vocabulary(forced)  # fail early on an unknown name
    if not model:
        return forced, True, forced
    return forced, forced == own and own_exact, own


DRIFT_STATISTICS = ("traces", "mean", "min", "p10", "p50", "p90", "max")


def summarize(traces: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
    """Token distributions per group: reasoning, answer and prompt, and the usage drift.

    Token columns are `<part>_<statistic>` (see `traceviz.stats.STATISTICS`); drift
    columns are `drift_<statistic>` for the output and `reasoning_drift_<statistic>`
    for the reasoning, over the traces whose log carries that usage (`DRIFT_STATISTICS`).
    """
    exprs = [pl.len().alias("traces")]
    for column, name in (
        (TOKENS_REASONING, "reasoning"),
        (TOKENS_ANSWER, "answer"),
        (TOKENS_PROMPT, "prompt"),
    ):
        exprs += distribution(column, name)
    exprs += _drift_distribution(USAGE_DRIFT, "drift")
    exprs += _drift_distribution(USAGE_REASONING_DRIFT, "reasoning_drift")
    exprs.append(pl.col(TOKENIZER_EXACT).not_().sum().alias("inexact_traces"))
    if {REASONING_VISIBLE, REASONING_TOKENS} <= set(traces.columns):
        # billed reasoning with no text to count
        hidden = pl.col(REASONING_VISIBLE).not_() & (pl.col(REASONING_TOKENS) > 0)
        exprs += [
            hidden.sum().alias("hidden_traces"),
            pl.col(REASONING_TOKENS).filter(hidden).sum().alias("hidden_reasoning_tokens"),
        ]
    return grouped(traces, by or [], exprs)


def _drift_distribution(column: str, name: str) -> list[pl.Expr]:
    col = pl.col(column)
    return [
        col.count().alias(f"{name}_traces"),
        col.mean().alias(f"{name}_mean"),
        col.min().alias(f"{name}_min"),
        col.quantile(0.1, "linear").alias(f"{name}_p10"),
        col.quantile(0.5, "linear").alias(f"{name}_p50"),
        col.quantile(0.9, "linear").alias(f"{name}_p90"),
        col.max().alias(f"{name}_max"),
    ]
