"""Every sample and shape: the exact reasoning, answer, model, usage, time and ending read."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import traceviz
from traceviz.ingest import RawRecord
from traceviz.normalize import think_tags
from traceviz.normalize.anthropic import normalize as anthropic_normalize
from traceviz.schema import TRACE_SCHEMA, Trace

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

COLUMNS = [
    "format",
    "model",
    "created",
    "reasoning",
    "answer",
    "usage_input",
    "usage_cached_input",
    "usage_cache_write",
    "usage_output",
    "usage_reasoning",
    "finish_reason",
    "truncated",
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# file -> rows of COLUMNS, in file order
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "openai-chat-o1.jsonl": [
        (
            "openai-chat",
            "o1-2024-12-17",
            at("2025-01-22 10:00:00"),
            None,
            "The sum of the first 100 positive integers is 5050.",
            1843,
            1792,
            None,
            1274,
            1216,
            "stop",
            False,
        ),
        (
            "openai-chat",
            "o1-2024-12-17",
            at("2025-01-22 10:05:12"),
            None,
            "",
            96,
            0,
            None,
            4000,
            4000,
            "length",
            True,
        ),
    ],
    "openai-chat-stream.sse": [
        (
            "openai-chat-stream",
            "gpt-5-mini-2025-08-07",
            at("2025-10-09 08:53:20"),
            None,
            "Hello world.",
            8,
            0,
            None,
            70,
            64,
            "stop",
            False,
        ),
    ],
    "openai-chat-stream-array.json": [
        (
            "openai-chat-stream",
            "gpt-5-mini-2025-08-07",
            at("2025-10-09 08:53:20"),
            None,
            "Hello world.",
            8,
            0,
            None,
            70,
            64,
            "stop",
            False,
        ),
    ],
    "openai-chat-stream-cut.sse": [
        (
            "openai-chat-stream",
            "gpt-5-mini-2025-08-07",
            at("2025-10-09 08:53:20"),
            None,
            "Hello world.",
            None,
            None,
            None,
            None,
            None,
            None,
            True,
        ),
    ],
    "openai-responses.jsonl": [
        (
            "openai-responses",
            "o3-2025-04-16",
            at("2025-08-19 10:40:00"),
            None,
            "Yes, 221 = 13 × 17, so it is not prime.",
            42,
            0,
            None,
            590,
            512,
            "completed",
            False,
        ),
        (
            "openai-responses",
            "gpt-oss-120b",
            at("2026-01-01 00:00:00"),
            "The user wants the 10th Fibonacci number. F1=1, F2=1, F3=2",
            "",
            2048,
            1920,
            None,
            256,
            256,
            "max_output_tokens",
            True,
        ),
    ],
    "openai-batch-output.jsonl": [
        (
            "openai-chat",
            "o4-mini-2025-04-16",
            at("2025-05-01 00:00:00"),
            None,
            "Paris.",
            25,
            0,
            None,
            140,
            128,
            "stop",
            False,
        ),
        (
            "openai-responses",
            "o3-2025-04-16",
            at("2025-05-01 00:01:00"),
            None,
            "42",
            30,
            0,
            None,
            200,
            192,
            "completed",
            False,
        ),
    ],
    "deepseek-reasoner.json": [
        (
            "deepseek",
            "deepseek-reasoner",
            at("2025-01-23 02:40:00"),
            "Okay, I need to compare 9.11 and 9.8. Let me line up the decimals: 9.11 versus "
            "9.80. Wait, 0.11 is less than 0.80. So 9.11 is smaller.",
            "9.11 is smaller than 9.8.",
            18,
            0,
            None,
            62,
            49,
            "stop",
            False,
        ),
    ],
    "deepseek-stream.sse": [
        (
            "deepseek-stream",
            "deepseek-reasoner",
            at("2025-01-27 17:46:40"),
            "Two plus two is four.",
            "4",
            12,
            0,
            None,
            9,
            6,
            "stop",
            False,
        ),
    ],
    "deepseek-cache.jsonl": [
        (
            "deepseek",
            "deepseek-reasoner",
            at("2025-08-24 01:46:40"),
            "Two-sum: store complements.",
            "Use a hash map.",
            1100,
            1024,
            None,
            80,
            60,
            "stop",
            False,
        ),
    ],
    "openrouter.jsonl.gz": [
        (
            "openrouter",
            "deepseek/deepseek-r1",
            at("2025-05-13 12:23:20"),
            "3 squared is 9.",
            "The answer is 9.",
            14,
            0,
            None,
            40,
            30,
            "stop",
            False,
        ),
        (
            "openrouter",
            "openai/o3-mini",
            at("2025-05-13 12:25:00"),
            None,
            "Blue.",
            10,
            None,
            None,
            300,
            320,
            "stop",
            False,
        ),
    ],
    "vllm.jsonl.zst": [
        (
            "vllm",
            "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
            at("2025-02-19 21:20:00"),
            "2x + 3 = 11, so 2x = 8.",
            "x = 4",
            20,
            None,
            None,
            35,
            None,
            "stop",
            False,
        ),
        (
            "vllm",
            "Qwen/Qwen3-32B",
            at("2025-12-06 05:46:40"),
            "Every even number greater than 2 is not prime; 2 is prime.",
            "Yes.",
            16,
            None,
            None,
            28,
            None,
            "stop",
            False,
        ),
    ],
    "sglang.jsonl": [
        (
            "sglang",
            "deepseek-ai/DeepSeek-R1-0528",
            at("2025-06-15 15:06:40"),
            "2^10 = 1024 = 3·341 + 1.",
            "The remainder is 1.",
            19,
            None,
            None,
            50,
            None,
            "stop",
            False,
        ),
    ],
    "llamacpp.jsonl": [
        (
            "llamacpp",
            "DeepSeek-R1-Distill-Llama-8B-Q4_K_M.gguf",
            at("2025-07-08 18:40:00"),
            "A greeting; reply politely.",
            "Hello! How can I help?",
            9,
            None,
            None,
            22,
            None,
            "stop",
            False,
        ),
    ],
    "groq.jsonl": [
        (
            "groq",
            "qwen/qwen3-32b",
            at("2025-05-23 11:33:20"),
            "Days of the week: seven.",
            "Seven.",
            12,
            None,
            None,
            20,
            14,
            "stop",
            False,
        ),
        (
            "groq",
            "deepseek-r1-distill-llama-70b",
            at("2025-05-23 11:35:00"),
            "Seven continents is the usual count.",
            "There are seven continents.",
            11,
            None,
            None,
            25,
            None,
            "stop",
            False,
        ),
    ],
    "together-think.jsonl": [
        (
            "chat-compatible",
            "deepseek-ai/DeepSeek-R1",
            at("2025-03-03 11:06:40"),
            "A dozen is twelve, half is six.",
            "Half a dozen is **6**.",
            13,
            None,
            None,
            27,
            None,
            "stop",
            False,
        ),
    ],
    "ollama-chat.jsonl": [
        (
            "ollama",
            "qwen3:8b",
            at("2025-06-12 09:14:03.482917"),
            "Sydney is the largest city, but the capital is Canberra.",
            "The capital of Australia is Canberra.",
            18,
            None,
            None,
            61,
            None,
            "stop",
            False,
        ),
    ],
    "ollama-generate.jsonl": [
        (
            "ollama",
            "deepseek-r1:14b",
            at("2025-07-01 16:40:11.903512"),
            "17 × 20 = 340, 17 × 3 = 51, 340 + 51 = 391.",
            "17 × 23 = 391.",
            12,
            None,
            None,
            48,
            None,
            "stop",
            False,
        ),
    ],
    "ollama-chat-stream.jsonl": [
        (
            "ollama-stream",
            "qwen3:8b",
            at("2025-09-03 11:02:00.100000"),
            "Two plus two is four.",
            "4",
            14,
            None,
            None,
            9,
            None,
            "stop",
            False,
        ),
    ],
    "anthropic-messages.jsonl": [
        (
            "anthropic",
            "claude-3-7-sonnet-20250219",
            None,
            "Let me factor 391. Try 17: 17 × 23 = 391.",
            "391 = 17 × 23.",
            4524,
            3000,
            1500,
            180,
            None,
            "end_turn",
            False,
        ),
        (
            "anthropic",
            "claude-sonnet-4-20250514",
            None,
            None,
            "I can't share that reasoning, but the answer is 12.",
            50,
            0,
            0,
            300,
            None,
            "end_turn",
            False,
        ),
        (
            "anthropic",
            "claude-opus-4-1-20250805",
            None,
            "Step one: list the cases.\n\nStep two: count each.",
            "",
            100,
            None,
            None,
            2048,
            None,
            "max_tokens",
            True,
        ),
    ],
    "openr1-math.parquet": [
        (
            "openr1-math",
            "deepseek-r1",
            None,
            "We need x with 3x = 12. So x = 4.",
            "The solution is $\\boxed{4}$.",
            None,
            None,
            None,
            None,
            None,
            "stop",
            False,
        ),
        (
            "openr1-math",
            "deepseek-r1",
            None,
            "Try x = 3: 9 ≠ 12. Hmm, keep going",
            "",
            None,
            None,
            None,
            None,
            None,
            "length",
            True,
        ),
        (
            "openr1-math",
            "deepseek-r1",
            None,
            "7 + 5 = 12.",
            "$\\boxed{12}$",
            None,
            None,
            None,
            None,
            None,
            None,
            False,
        ),
    ],
    "openthoughts.jsonl": [
        (
            "openthoughts",
            "deepseek-r1",
            None,
            "Pair 1+10, 2+9, ... five pairs of 11.",
            "The sum is 55.",
            None,
            None,
            None,
            None,
            None,
            None,
            False,
        ),
    ],
    "openthoughts-metadata.jsonl": [
        (
            "openthoughts-metadata",
            "deepseek-r1",
            None,
            "Check primes up to 9: 2, 3, 5, 7 do not divide 97.",
            "Yes, 97 is prime.",
            None,
            None,
            None,
            None,
            None,
            None,
            False,
        ),
    ],
    "logger-wrappers.jsonl": [
        (
            "deepseek",
            "deepseek-reasoner",
            at("2025-11-03 14:22:05"),
            "6 × 7 = 42.",
            "42",
            15,
            0,
            None,
            20,
            12,
            "stop",
            False,
        ),
        (
            "ollama",
            "qwen3:8b",
            at("2025-11-03 14:26:40.5"),
            "11 is the first prime after 10.",
            "11",
            10,
            None,
            None,
            15,
            None,
            "stop",
            False,
        ),
        (
            "chat-compatible",
            None,
            at("2026-01-15 08:00:00"),
            "Short.",
            "OK",
            5,
            None,
            None,
            9,
            None,
            "stop",
            False,
        ),
    ],
    "r1-raw-output.txt": [
        (
            "think-tags",
            None,
            None,
            "The user asks for the capital of Australia. Many people think it is Sydney, but "
            "wait, the capital is Canberra. Let me double-check: Canberra was chosen as a "
            "compromise between Sydney and Melbourne. Yes.",
            "The capital of Australia is **Canberra**.",
            None,
            None,
            None,
            None,
            None,
            None,
            False,
        ),
    ],
    "think-edge-cases/no-opening-tag.txt": [
        (
            "think-tags",
            None,
            None,
            "The user asks for 2+2. That is 4.",
            "The answer is 4.",
            None,
            None,
            None,
            None,
            None,
            None,
            False,
        ),
    ],
    "think-edge-cases/unclosed.txt": [
        (
            "think-tags",
            None,
            None,
            "Let me enumerate the subsets of {a, b, c}: {}, {a}, {b}",
            "",
            None,
            None,
            None,
            None,
            None,
            "length",
            True,
        ),
    ],
    "think-edge-cases/empty-block.txt": [
        (
            "think-tags",
            None,
            None,
            "",
            "Hello! How can I help you today?",
            None,
            None,
            None,
            None,
            None,
            None,
            False,
        ),
    ],
    "think-edge-cases/thinking-tag.md": [
        (
            "think-tags",
            None,
            None,
            "Check units: km/h to m/s divides by 3.6.",
            "36 km/h is 10 m/s.",
            None,
            None,
            None,
            None,
            None,
            None,
            False,
        ),
    ],
    "think-edge-cases/reasoning-tag.txt": [
        (
            "think-tags",
            None,
            None,
            "Odd plus odd is even.",
            "Even.",
            None,
            None,
            None,
            None,
            None,
            None,
            False,
        ),
    ],
    "think-edge-cases/literal-think-in-answer.txt": [
        (
            "think-tags",
            None,
            None,
            None,
            "Wrap the chain of thought in a <think> tag, then close it with </think>.",
            None,
            None,
            None,
            None,
            None,
            None,
            False,
        ),
    ],
}


def expected_frame(rows: list[tuple[object, ...]]) -> pl.DataFrame:
    schema = {name: TRACE_SCHEMA[name] for name in COLUMNS}
    return pl.DataFrame(rows, schema=schema, orient="row")


def test_every_sample_is_covered() -> None:
    files = {
        p.relative_to(SAMPLES).as_posix()
        for p in SAMPLES.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_values(name: str) -> None:
    traces = traceviz.read(SAMPLES / name)
    assert_frame_equal(traces.select(COLUMNS), expected_frame(EXPECTED[name]))
    assert (traces["reasoning_visible"] == traces["reasoning"].is_not_null()).all()


def read_one(name: str) -> pl.DataFrame:
    return traceviz.read(SAMPLES / name)


def test_responses_summary_is_not_reasoning() -> None:
    traces = read_one("openai-responses.jsonl")
    assert traces["reasoning_summary"].to_list() == [
        "**Checking divisibility**\n\nI test small primes up to the square root.",
        None,
    ]
    assert traces["reasoning_visible"].to_list() == [False, True]
    assert traces["trace_id"].to_list() == ["resp_68a1c0f2e4b08190", "resp_69b2d1a0c7e18190"]
    assert traces["service_tier"].to_list() == ["default", "flex"]


def test_batch_lines_keep_custom_id_and_skip_failures() -> None:
    run = traceviz.Ingest()
    traces = traceviz.read(SAMPLES / "openai-batch-output.jsonl", ingest=run)
    assert traces["custom_id"].to_list() == ["q-0001", "q-0003"]
    assert traces["batch"].to_list() == [True, True]
    assert (run.stats.read, run.stats.parsed, run.stats.skipped) == (4, 2, 2)
    assert run.stats.skip_reasons == {
        "batch request failed: rate_limit_exceeded": 1,
        "batch request failed: invalid_prompt": 1,
    }


def test_openrouter_cost_provider_and_reasoning_details() -> None:
    traces = read_one("openrouter.jsonl.gz")
    assert traces["cost_logged"].to_list() == [0.0000952, 0.00133]
    assert traces["metadata"].to_list() == [
        '{"upstream_provider":"DeepInfra"}',
        '{"upstream_provider":"OpenAI"}',
    ]
    assert traces["reasoning_summary"].to_list() == [None, "Considered Rayleigh scattering."]
    # reported reasoning (320) larger than output (300): kept as logged, and flagged
    assert traces["usage_reasoning_exceeds_output"].to_list() == [False, True]


def test_anthropic_redacted_thinking_is_hidden_and_noted() -> None:
    traces = read_one("anthropic-messages.jsonl")
    assert traces["reasoning_visible"].to_list() == [True, False, True]
    assert traces["metadata"].to_list() == [None, '{"redacted_thinking_blocks":1}', None]
    assert traces["service_tier"].to_list() == ["standard", None, None]


def test_anthropic_usage_without_input_stays_null() -> None:
    record = {"type": "message", "content": [], "stop_reason": "end_turn", "usage": {}}
    (trace,) = anthropic_normalize(RawRecord("x", 1, record))
    assert (trace.usage_input, trace.usage_cached_input, trace.usage_output) == (None, None, None)


def test_datasets_keep_prompt_reference_and_verdict() -> None:
    traces = read_one("openr1-math.parquet")
    assert traces.select("prompt", "reference_answer", "correct_logged", "trace_id").rows() == [
        ("Solve 3x = 12.", "4", True, "5a1c9e2b-0d3f-5e8a-9b7c-1f2e3d4c5b6a#0"),
        ("Solve 3x = 12.", "4", False, "5a1c9e2b-0d3f-5e8a-9b7c-1f2e3d4c5b6a#1"),
        ("What is 7 + 5?", "12", True, "6b2d0f3c-1e4a-6f9b-0c8d-2a3b4c5d6e7f#0"),
    ]
    meta = read_one("openthoughts-metadata.jsonl")
    assert meta.select("prompt", "reference_answer").row(0) == ("Is 97 prime?", "97 is prime.")
    assert read_one("openthoughts.jsonl")["prompt"].to_list() == ["Return the sum of 1 to 10."]


def test_wrappers_take_prompt_time_and_extras() -> None:
    traces = read_one("logger-wrappers.jsonl")
    assert traces["prompt"].to_list() == [
        "Be brief.\n\nWhat is 6 × 7?",
        "Name a prime above 10.",
        None,
    ]
    assert [orjson.loads(m) for m in traces["metadata"]] == [
        {"metadata": {"team": "search"}, "user": "alice", "tags": ["eval", "math"]},
        {"user_id": "bob"},
        {"session_id": "s-77"},
    ]


def test_wrapper_model_comes_from_request(tmp_path: Path) -> None:
    record = {
        "request": {"model": "deepseek-r1", "messages": [{"role": "user", "content": "Hi"}]},
        "response": {"choices": [{"message": {"content": "<think>hm</think>Hello"}}]},
        "timestamp": 1767225600,
    }
    log = tmp_path / "w.jsonl"
    log.write_bytes(orjson.dumps(record) + b"\n")
    row = traceviz.read(log).select("model", "prompt", "created", "reasoning", "answer").row(0)
    assert row == ("deepseek-r1", "Hi", at("2026-01-01 00:00:00"), "hm", "Hello")


@pytest.mark.parametrize(
    ("text", "reasoning", "answer", "truncated"),
    [
        ("plan</think>done", "plan", "done", False),
        ("<think>still going", "still going", "", True),
        ("<think></think>hi", "", "hi", False),
        ("<thinking>a</thinking>b", "a", "b", False),
        ("<reasoning>a</reasoning>b", "a", "b", False),
        (
            "<|begin_of_thought|>a<|end_of_thought|><|begin_of_solution|>b<|end_of_solution|>",
            "a",
            "b",
            False,
        ),
        ("<think>r</think>Use a <think> tag here.", "r", "Use a <think> tag here.", False),
        (
            "An answer that mentions <think> once.",
            None,
            "An answer that mentions <think> once.",
            False,
        ),
        ("plain answer", None, "plain answer", False),
    ],
)
def test_think_tag_edge_cases(
    text: str, reasoning: str | None, answer: str, truncated: bool
) -> None:
    assert think_tags.split(text) == think_tags.Split(reasoning, answer, truncated)


def test_forced_shape_reads_ollama(tmp_path: Path) -> None:
    log = tmp_path / "o.jsonl.gz"
    line = (SAMPLES / "ollama-generate.jsonl").read_bytes()
    log.write_bytes(gzip.compress(line))
    traces = traceviz.read(log, traceviz.ReadOptions(shape="ollama"))
    assert traces.select("format", "answer").row(0) == ("ollama", "17 × 23 = 391.")


def test_reasoning_exceeding_output_is_flagged_not_fixed() -> None:
    trace = Trace("x", 1, "openai-chat", usage_output=10, usage_reasoning=12)
    assert trace.row()["usage_reasoning"] == 12
    assert trace.usage_reasoning_exceeds_output is True
    assert Trace("x", 1, "openai-chat").usage_reasoning_exceeds_output is False
