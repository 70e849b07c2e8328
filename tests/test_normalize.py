"""Every log shape: the exact reasoning, answer, model, usage and time read from its sample."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import tagged_logs
from click.testing import CliRunner

import traceviz
from traceviz.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FIELDS = (
    "format", "model", "created", "reasoning", "answer", "usage_input", "usage_cached_input",
    "usage_output", "usage_reasoning", "finish_reason", "truncated",
)  # fmt: skip


def t(*values: Any) -> dict[str, Any]:
    return dict(zip(FIELDS, values, strict=True))


R1_REASONING = (
    "Let me compute 17 * 23. 17 * 20 = 340 and 17 * 3 = 51, so 340 + 51 = 391. "
    "Check: 23 * 17 = 230 + 161 = 391. Yes."
)


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


EXPECTED: dict[str, list[dict[str, Any]]] = {
    "openai-chat-o1.jsonl": [
        t("openai-chat", "o1-2024-12-17", at(2025, 1, 22, 10, 0), None,
          "The sum of the first 100 positive integers is 5050.", 1843, 1792, 1230, 1216, "stop", False),
        t("openai-chat", "o1-2024-12-17", at(2025, 1, 22, 10, 5, 12), None, "", 96, 0, 4000, 4000,
          "length", True),
    ],
    "deepseek-reasoner.json": [
        t("deepseek", "deepseek-reasoner", at(2025, 1, 23, 2, 40),
          "Okay, I need to compare 9.11 and 9.8. Let me line up the decimals: 9.11 versus 9.80. "
          "Wait, 0.11 is less than 0.80. So 9.11 is smaller.",
          "9.11 is smaller than 9.8.", 18, 0, 69, 57, "stop", False),
    ],
    "deepseek-stream.sse": [
        t("deepseek-stream", "deepseek-reasoner", at(2025, 1, 27, 17, 46, 40), "Two plus two is four.",
          "4", 12, 0, 9, 6, "stop", False),
    ],
    "deepseek-cached.jsonl.gz": [
        t("deepseek", "deepseek-reasoner", at(2025, 3, 10, 9, 46, 40),
          "Two-sum: store complements in a dict while scanning. Wait, duplicates? Store index before "
          "checking. Fine.", "Use a hash map: O(n).", 1536, 1408, 210, 180, "stop", False),
    ],
    "openai-chat-stream.json": [
        t("openai-chat-stream", "o4-mini-2025-04-16", at(2025, 5, 11, 21, 46, 40), None,
          "Hello there!", 8, 0, 203, 192, "stop", False),
    ],
    "openai-chat-stream-cut.sse": [
        t("openai-chat-stream", "o4-mini-2025-04-16", at(2025, 5, 11, 21, 46, 40), None,
          "Hello there!", None, None, None, None, None, True),
    ],
    "openai-responses.jsonl": [
        t("openai-responses", "o3-2025-04-16", at(2025, 6, 15, 15, 6, 40), None,
          "n^1.5 grows faster than n log n.", 812, 768, 1460, 1408, "completed", False),
        t("openai-responses", "gpt-oss-120b", at(2025, 6, 15, 15, 16, 40),
          "We need to list primes below 30. 2, 3, 5, 7, 11, 13", "", 40, 0, 256, 256,
          "max_output_tokens", True),
    ],
    "openai-batch.jsonl": [
        t("openai-batch", "o1-2024-12-17", at(2025, 2, 19, 21, 20, 1), None, "Paris.", 25, 0, 340, 320,
          "stop", False),
        t("openai-batch", "o1-2024-12-17", at(2025, 2, 19, 21, 20, 3), None, "The integral is 1/3.",
          31, 0, 900, 870, "stop", False),
    ],
    "openrouter.jsonl": [
        t("openrouter", "deepseek/deepseek-r1", at(2025, 1, 27, 17, 46, 40),
          "Check divisors up to 9: 2, 3, 5, 7 do not divide 97. So 97 is prime.",
          "Yes, 97 is prime.", 14, 0, 38, 29, "stop", False),
        t("openrouter", "openai/o3-mini", at(2025, 1, 27, 17, 55), None, "It is 42.", 20, 0, 200, 192,
          "stop", False),
    ],
    "vllm.jsonl": [
        t("vllm", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", at(2025, 3, 3, 11, 6, 40),
          "The square root of 144 is 12 because 12*12 = 144.", "12", 11, None, 29, None, "stop", False),
        t("vllm", "Qwen/QwQ-32B", at(2025, 11, 1, 12, 26, 40),
          "Okay, convert 5 km to miles: 5 * 0.621 = 3.107.", "About 3.1 miles.", 15, None, 36, None,
          "stop", False),
    ],
    "sglang.json": [
        t("sglang", "deepseek-ai/DeepSeek-R1", at(2025, 4, 7, 4, 26, 40),
          "Canada's capital: Ottawa, not Toronto.", "The capital is Ottawa.", 10, None, 22, None,
          "stop", False),
    ],
    "llamacpp.json": [
        t("llamacpp", "DeepSeek-R1-Distill-Llama-8B-Q4_K_M.gguf", at(2025, 4, 18, 18, 13, 20),
          "Let me enumerate the cases one by one. Case 1: n is even. Then", "", 18, None, 64, None,
          "length", True),
    ],
    "groq.jsonl": [
        t("groq", "deepseek-r1-distill-llama-70b", at(2025, 4, 30, 8, 0),
          "At standard pressure, water boils at 100 degrees Celsius.",
          "Water boils at 100 °C at sea level.", 12, None, 30, None, "stop", False),
        t("groq", "qwen-qwq-32b", at(2025, 4, 30, 8, 1, 40),
          "Seven days in a week, so 3 weeks is 21 days.", "21 days.", 14, None, 25, None, "stop", False),
    ],
    "together-think-tags.jsonl": [
        t("chat-compatible", "deepseek-ai/DeepSeek-R1", at(2025, 2, 8, 7, 33, 21),
          "First, 2 + 2 = 4.", "The sum is 4.", 9, None, 40, None, "stop", False),
        # no opening tag: the text before a lone </think> is reasoning
        t("chat-compatible", "deepseek-ai/DeepSeek-R1", at(2025, 2, 8, 7, 33, 22),
          "The user wants a greeting. Hello is fine.", "Hello!", 9, None, 40, None, "stop", False),
        # unclosed tag: truncated, all after it is reasoning
        t("chat-compatible", "deepseek-ai/DeepSeek-R1", at(2025, 2, 8, 7, 33, 23),
          "Let me expand (a+b)^2 = a^2 + 2ab", "", 9, None, 40, None, "length", True),
        # empty block
        t("chat-compatible", "deepseek-ai/DeepSeek-R1", at(2025, 2, 8, 7, 33, 24), "",
          "I am sorry, I cannot answer that question.", 9, None, 40, None, "stop", False),
        t("chat-compatible", "deepseek-ai/DeepSeek-R1", at(2025, 2, 8, 7, 33, 25),
          "Short check: 9 > 8.", "Yes, 9 is larger.", 9, None, 40, None, "stop", False),
        t("chat-compatible", "deepseek-ai/DeepSeek-R1", at(2025, 2, 8, 7, 33, 26),
          "Recall: the Pacific is largest.", "The Pacific Ocean.", 9, None, 40, None, "stop", False),
        # a literal <think> later in the answer is answer text
        t("chat-compatible", "deepseek-ai/DeepSeek-R1", at(2025, 2, 8, 7, 33, 27), None,
          "Use the tag like this: <think>your thoughts</think> then answer.", 9, None, 40, None,
          "stop", False),
    ],
    "ollama-chat.jsonl": [
        t("ollama", "deepseek-r1:8b", datetime(2025, 6, 2, 9, 14, 3, 482391, tzinfo=UTC),
          "3 times 4 is 12. Let me check: 4+4+4 = 12. Yes.", "The answer is 12.", 17, None, 41, None,
          "stop", False),
    ],
    "ollama-generate-stream.jsonl": [
        t("ollama-stream", "qwen3:4b", datetime(2025, 7, 1, 10, 0, 0, 123456, tzinfo=UTC),
          "Hmm, the user wants a haiku.", "Autumn moon rises\nsilver on the still water", 22, None, 18,
          None, "stop", False),
    ],
    "anthropic-messages.json": [
        t("anthropic", "claude-3-7-sonnet-20250219", None,
          "The user asks for 17 * 23. 17 * 20 = 340, 17 * 3 = 51, total 391.", "17 × 23 = 391.",
          21 + 1200 + 3400, 3400, 96, None, "end_turn", False),
    ],
    "r1-raw-output.txt": [
        t("think-tags", None, None,
          "The user asks for the capital of Australia. Many people think it is Sydney, but wait, the "
          "capital is Canberra. Let me double-check: Canberra was chosen as a compromise between "
          "Sydney and Melbourne. Yes.", "The capital of Australia is **Canberra**.",
          None, None, None, None, None, False),
    ],
    "openr1-math.parquet": [
        t("openr1-math", "deepseek-r1", None,
          "2^3 = 8 which is 1 mod 7. 2^10 = (2^3)^3 * 2 = 2 mod 7.", "The remainder is \\boxed{2}.",
          None, None, None, None, None, False),
        t("openr1-math", "deepseek-r1", None,
          "2^10 = 1024. 1024 / 7 = 146 remainder 2. Wait, 7*146 = 1022, so remainder 2.",
          "\\boxed{2}", None, None, None, None, None, False),
    ],
    "openthoughts.jsonl.zst": [
        t("openthoughts", "deepseek-r1", None, "So I need 6 times 7. 6 * 7 = 42.", "\\boxed{42}",
          None, None, None, None, None, False),
        t("openthoughts", "deepseek-r1", None, "Subtract 3: 2x = 8. Divide by 2: x = 4.",
          "x = \\boxed{4}", None, None, None, None, None, False),
    ],
    "otel-genai.jsonl": [
        t("otel-genai (semconv)", "deepseek-reasoner", at(2025, 3, 11, 10, 15), R1_REASONING, "17 × 23 = **391**.",
          15, None, 96, 71, "stop", False),
        t("otel-genai (openllmetry)", "o1-2024-12-17", at(2025, 3, 11, 11, 0), None, "The capital of Australia is Canberra.",
          1843, 1792, 420, 384, "stop", False),
    ],
    "litellm-spendlogs.json": [
        t("litellm (spendlogs)", "deepseek-reasoner", at(2025, 3, 11, 10, 15), R1_REASONING, "17 × 23 = **391**.",
          15, 0, 96, 71, "stop", False),
        t("litellm (spendlogs)", "o1-2024-12-17", at(2025, 3, 11, 11, 0), None, "The capital of Australia is Canberra.",
          1843, 1792, 420, 384, "stop", False),
    ],
    "langfuse-observations.jsonl": [
        t("langfuse (v2)", "o1-2024-12-17", at(2025, 3, 11, 11, 0), None, "The capital of Australia is Canberra.",
          1843, 1792, 420, 384, None, False),
        t("langfuse (v1)", "deepseek-reasoner", at(2025, 3, 11, 10, 15), R1_REASONING, "17 × 23 = **391**.",
          15, None, 96, 71, "stop", False),
    ],
    "helicone-export.jsonl": [
        t("helicone (body)", "deepseek-reasoner", at(2025, 3, 11, 10, 15), R1_REASONING, "17 × 23 = **391**.",
          15, 0, 96, 71, "stop", False),
        t("helicone (body)", "o1-2024-12-17", at(2025, 3, 11, 11, 0), None, "The capital of Australia is Canberra.",
          1843, 1792, 420, 384, "stop", False),
    ],
    "logger-wrappers.jsonl": [
        t("deepseek", "deepseek-reasoner", at(2025, 3, 4, 12, 0), "91 / 7 = 13, so it is composite.",
          "No: 91 = 7 * 13.", 16, 0, 30, 18, "stop", False),
        t("openai-chat", "o3-mini-2025-01-31", at(2025, 3, 4, 14, 53, 21), None, "101.", 13, 0, 150,
          144, "stop", False),
    ],
    "llm-logs.db": [
        t("llm-logsdb (legacy)", "deepseek-reasoner", at(2025, 3, 1, 9, 15),
          "The first 10 odd numbers are 1, 3, 5, ..., 19. The sum of the first n odd numbers is n squared. "
          "Wait, let me verify: 1+3=4, 4+5=9, 9+7=16, so the pattern holds. So the sum is 10^2 = 100.",
          "The sum is **100**.", 27, 0, 72, 60, "stop", False),
        t("llm-logsdb (legacy)", "o1", at(2025, 3, 2, 14, 0), None,
          "Use a hash map from each value to its index. For each number x, check whether target - x is "
          "already in the map; one pass gives O(n) time.", 1843, 1792, 2275, 2176, "stop", False),
        t("llm-logsdb (legacy)", "deepseek-reasoner", at(2025, 3, 3, 8, 30), None, "No: 91 = 7 × 13.",
          22, 0, 48, 36, "stop", False),
        t("llm-logsdb (0.32)", "deepseek-reasoner", at(2025, 8, 10, 12, 0),
          "17 × 23 = 17 × 20 + 17 × 3 = 340 + 51 = 391. Let me double-check: 23 × 17 = 23 × 10 + 23 × 7 "
          "= 230 + 161 = 391.", "17 × 23 = 391.", 30, 16, 70, 55, "stop", False),
        t("llm-logsdb (0.32)", "deepseek-reasoner", at(2025, 8, 11, 16, 45), None, "23", 21, 0, 30, 24,
          "stop", False),
        t("llm-logsdb (0.32)", "o1", at(2025, 8, 12, 9, 0), None,
          "Suppose √2 = p/q in lowest terms; then p² = 2q², so p is even, say p = 2k, giving q² = 2k² "
          "and q even too. Both being even contradicts lowest terms, so √2 is irrational.",
          1843, 1792, 1950, 1856, None, False),
    ],
}  # fmt: skip


def test_every_sample_has_expectations() -> None:
    names = {p.name for p in SAMPLES.iterdir() if p.is_file() and not p.name.endswith(".md")}
    assert names == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_values(name: str) -> None:
    rows = traceviz.read(SAMPLES / name).select(FIELDS).to_dicts()
    assert rows == EXPECTED[name]


def test_extra_fields() -> None:
    traces = traceviz.read(SAMPLES)
    by_id = {row["trace_id"]: row for row in traces.to_dicts()}
    responses = by_id["resp_68a1f0c2d4e8819a"]
    assert responses["reasoning_summary"].startswith("**Comparing growth rates**")
    assert responses["reasoning_visible"] is False
    assert responses["service_tier"] == "flex"
    batch = by_id["chatcmpl-B1"]
    assert (batch["custom_id"], batch["batch"]) == ("q-0001", True)
    assert by_id["gen-1738000000-AbCdEfGh"]["cost_logged"] == pytest.approx(0.0000909)
    anthropic = by_id["msg_01XFDUDYJgAACzvnptvVoYEL"]
    assert anthropic["usage_cache_write"] == 1200
    assert anthropic["metadata"] == '{"redacted_thinking_blocks":1}'
    wrapped = by_id["w-1"]
    assert wrapped["prompt"] == "Be brief.\n\nIs 91 prime?"
    assert wrapped["metadata"] == '{"team":"search","env":"prod","user":"u-17"}'
    assert by_id["w-2"]["metadata"] == '{"tags":["eval"]}'
    openr1 = traces.filter(format="openr1-math")
    assert openr1["reference_answer"].to_list() == ["2", "2"]
    assert openr1["correct_logged"].to_list() == [True, True]
    assert openr1["prompt"][0] == "What is the remainder when 2^10 is divided by 7?"
    assert openr1["trace_id"].n_unique() == 2


def test_failed_batch_line_is_skipped_with_reason() -> None:
    run = traceviz.Ingest()
    traceviz.read(SAMPLES / "openai-batch.jsonl", ingest=run)
    assert (run.stats.read, run.stats.parsed, run.stats.skipped) == (3, 2, 1)
    assert run.stats.skip_reasons == {"batch request failed: rate_limit_exceeded": 1}


def test_streams_count_as_one_record() -> None:
    run = traceviz.Ingest()
    traceviz.read(
        [SAMPLES / "deepseek-stream.sse", SAMPLES / "ollama-generate-stream.jsonl"], ingest=run
    )
    assert (run.stats.read, run.stats.traces, run.stats.chunks_merged) == (2, 2, 10)


def test_forced_shape(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text('{"not": "a log"}')
    traces = traceviz.read(path, traceviz.ReadOptions(shape="think-tags"))
    assert traces["answer"].to_list() == ['{"not": "a log"}']


def test_reasoning_above_output_is_kept_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text(
        '{"object": "chat.completion", "choices": [{"message": {"content": "x"}}],'
        ' "usage": {"completion_tokens": 5, "completion_tokens_details": {"reasoning_tokens": 9}}}\n'
    )
    row = traceviz.read(path).row(0, named=True)
    assert (row["usage_output"], row["usage_reasoning"]) == (5, 9)
    assert row["usage_reasoning_exceeds_output"] is True


# --- more cases per shape, kept out of samples/ so the report goldens stay put ---------------

SHAPES_DATA = Path(__file__).resolve().parent / "data" / "shapes"
MORE_FIELDS = (
    "format", "model", "created", "reasoning", "answer", "usage_input", "usage_cached_input",
    "usage_cache_write", "usage_output", "usage_reasoning", "finish_reason", "truncated",
    "custom_id", "reasoning_summary", "metadata", "prompt", "reference_answer",
)  # fmt: skip


def m(*values: Any) -> dict[str, Any]:
    return dict(zip(MORE_FIELDS, values, strict=True))


def at_us(  # noqa: PLR0913
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


MORE: dict[str, list[dict[str, Any]]] = {
    # thinking + disjoint cache counts; only redacted thinking (hidden); two blocks cut at max_tokens
    "anthropic-messages.jsonl": [
        m("anthropic", "claude-3-7-sonnet-20250219", None, "Let me factor 391. Try 17: 17 × 23 = 391.",
          "391 = 17 × 23.", 24 + 1500 + 3000, 3000, 1500, 180, None, "end_turn", False,
          None, None, None, None, None),
        m("anthropic", "claude-sonnet-4-20250514", None, None,
          "I can't share that reasoning, but the answer is 12.", 50, 0, 0, 300, None, "end_turn",
          False, None, None, '{"redacted_thinking_blocks":1}', None, None),
        m("anthropic", "claude-opus-4-1-20250805", None,
          "Step one: list the cases.\n\nStep two: count each.", "", 100, None, None, 2048, None,
          "max_tokens", True, None, None, None, None, None),
    ],
    # request/response with extras; input/output around Ollama; {body} with the time on the wrapper
    "logger-wrappers.jsonl": [
        m("deepseek", "deepseek-reasoner", at_us(2025, 11, 3, 14, 22, 5), "6 × 7 = 42.", "42",
          15, 0, None, 20, 12, "stop", False, None, None,
          '{"team":"search","user":"alice","tags":["eval","math"]}', "Be brief.\n\nWhat is 6 × 7?",
          None),
        m("ollama", "qwen3:8b", at_us(2025, 11, 3, 14, 26, 40, 500000),
          "11 is the first prime after 10.", "11", 10, None, None, 15, None, "stop", False,
          None, None, '{"user_id":"bob"}', "Name a prime above 10.", None),
        m("chat-compatible", None, at_us(2026, 1, 15, 8, 0), "Short.", "OK", 5, None, None, 9, None,
          "stop", False, None, None, '{"session_id":"s-77"}', None, None),
    ],
    "ollama-chat-stream.jsonl": [
        m("ollama-stream", "qwen3:8b", at_us(2025, 9, 3, 11, 2, 0, 100000), "Two plus two is four.",
          "4", 14, None, None, 9, None, "stop", False, None, None, None, None, None),
    ],
    # /api/generate, not streamed: top-level thinking and response, nanosecond created_at
    "ollama-generate.jsonl": [
        m("ollama", "deepseek-r1:14b", at_us(2025, 7, 1, 16, 40, 11, 903512),
          "17 × 20 = 340, 17 × 3 = 51, 340 + 51 = 391.", "17 × 23 = 391.", 12, None, None, 48,
          None, "stop", False, None, None, None, None, None),
    ],
    # a Chat Completion body, a failed line, a Response body, an HTTP 400 line
    "openai-batch-output.jsonl": [
        m("openai-batch", "o4-mini-2025-04-16", at_us(2025, 5, 1, 0, 0), None, "Paris.",
          25, 0, None, 140, 128, "stop", False, "q-0001", None, None, None, None),
        m("openai-batch", "o3-2025-04-16", at_us(2025, 5, 1, 0, 1), None, "42",
          30, 0, None, 200, 192, "completed", False, "q-0003", None, None, None, None),
    ],
    # SSE with the `choices: []` usage chunk and `obfuscation` padding
    "openai-chat-stream.sse": [
        m("openai-chat-stream", "gpt-5-mini-2025-08-07", at_us(2025, 10, 9, 8, 53, 20), None,
          "Hello world.", 8, 0, None, 70, 64, "stop", False, None, None, None, None, None),
    ],
    # reasoning.text details; summary + encrypted details only (hidden), reasoning above output
    "openrouter.jsonl.gz": [
        m("openrouter", "deepseek/deepseek-r1", at_us(2025, 5, 13, 12, 23, 20), "3 squared is 9.",
          "The answer is 9.", 14, 0, None, 40, 30, "stop", False, None, None,
          '{"upstream_provider":"DeepInfra"}', None, None),
        m("openrouter", "openai/o3-mini", at_us(2025, 5, 13, 12, 25), None, "Blue.",
          10, None, None, 300, 320, "stop", False, None, "Considered Rayleigh scattering.",
          '{"upstream_provider":"OpenAI"}', None, None),
    ],
    "openthoughts-metadata.jsonl": [
        m("openthoughts", "deepseek-r1", None, "Check primes up to 9: 2, 3, 5, 7 do not divide 97.",
          "Yes, 97 is prime.", None, None, None, None, None, None, False, None, None, None,
          "Is 97 prime?", "97 is prime."),
    ],
    "vllm.jsonl.zst": [
        m("vllm", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", at_us(2025, 2, 19, 21, 20),
          "2x + 3 = 11, so 2x = 8.", "x = 4", 20, None, None, 35, None, "stop", False,
          None, None, None, None, None),
        m("vllm", "Qwen/Qwen3-32B", at_us(2025, 12, 6, 5, 46, 40),
          "Every even number greater than 2 is not prime; 2 is prime.", "Yes.",
          16, None, None, 28, None, "stop", False, None, None, None, None, None),
    ],
}  # fmt: skip


def test_every_extra_case_file_has_expectations() -> None:
    assert {p.name for p in SHAPES_DATA.iterdir()} == set(MORE)


@pytest.mark.parametrize("name", sorted(MORE))
def test_more_shape_values(name: str) -> None:
    run = traceviz.Ingest()
    traces = traceviz.read(SHAPES_DATA / name, ingest=run)
    assert run.stats.quarantined == 0, run.quarantined
    assert traces.select(MORE_FIELDS).to_dicts() == MORE[name]
    assert traces["reasoning_visible"].to_list() == traces["reasoning"].is_not_null().to_list()


def test_failed_batch_lines_skip_with_error_code_or_status() -> None:
    run = traceviz.Ingest()
    traces = traceviz.read(SHAPES_DATA / "openai-batch-output.jsonl", ingest=run)
    assert traces["batch"].to_list() == [True, True]
    assert (run.stats.read, run.stats.parsed, run.stats.skipped) == (4, 2, 2)
    assert run.stats.skip_reasons == {
        "batch request failed: rate_limit_exceeded": 1,
        "batch request failed: invalid_prompt": 1,
    }


def test_reasoning_above_output_from_openrouter_is_flagged() -> None:
    traces = traceviz.read(SHAPES_DATA / "openrouter.jsonl.gz")
    assert traces["usage_reasoning_exceeds_output"].to_list() == [False, True]
    assert traces["cost_logged"].to_list() == [0.0000952, 0.00133]


def test_token_counts_as_odd_digit_strings_are_quarantined_with_their_field(
    tmp_path: Path,
) -> None:
    # usage.prompt_tokens "²" and a 5,000-digit string were quarantined as
    # "openai-chat: malformed record (ValueError: invalid literal for int() …)" and
    # "… (ValueError: Exceeds the limit (4300 digits) …)"; "٣" was read as 3 tokens
    records = []
    for i, odd in enumerate(["²", "9" * 5000, "٣", "0012"]):
        record = tagged_logs.chat(i, "a", 30)["response"]
        record["usage"]["prompt_tokens"] = odd
        records.append(record)
    log = tagged_logs.write(tmp_path / "t.jsonl", records)
    quarantine = tmp_path / "q.jsonl"
    args = ["ingest", str(log), "--no-cache", "-o", str(tmp_path / "t.jsonl.out.jsonl")]
    result = CliRunner().invoke(main, [*args, "--quarantine", str(quarantine)])
    assert result.exit_code == 0, result.output
    reasons = [json.loads(line)["reason"] for line in quarantine.read_text().splitlines()]
    assert reasons == [
        "openai-chat: usage.prompt_tokens is not a token count: '²'",
        "openai-chat: usage.prompt_tokens is out of range: 5,000 digits",
        "openai-chat: usage.prompt_tokens is not a token count: '٣'",
    ]
    rows = (tmp_path / "t.jsonl.out.jsonl").read_text().splitlines()
    assert [json.loads(r)["usage_input"] for r in rows] == [12]
