"""A synthetic run with every column of the stage contract and hand-checkable values.

Three traces: two DeepSeek-R1 traces with visible reasoning (one looping, one truncated)
and one o1 trace with hidden reasoning. The steps table holds six steps of the two
visible traces. Every figure asserted in tests/test_report_synthetic.py follows from
the numbers below by hand.

The first answer: r1-a reaches it after 25 of its 100 reasoning tokens (75 after) and
keeps it; r1-b after 225 of 300 (75 after), having first committed to another answer;
o1-c hides its reasoning. Output rates: $0.001 a token for R1 (cost_reasoning 0.1 for
100 tokens), $0.006 for o1 (6.0 for 1,000).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl

from traceviz.price import overthinking
from traceviz.schema import (
    ANSWER_CHANGED_AFTER_FIRST,
    FINAL_ANSWER_MISSING_REASON,
    METRICS_SCHEMA,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    STEPS_SCHEMA,
    TOKENS_SCHEMA,
    TRACE_SCHEMA,
    IngestStats,
)

MONEY = pl.Decimal(38, 12)
PRICE_SCHEMA: dict[str, pl.DataType] = {
    "cost_input": MONEY,
    "cost_cached_input": MONEY,
    "cost_cache_write": MONEY,
    "cost_output": MONEY,
    "cost_reasoning": MONEY,
    "cost_total": MONEY,
    "cost_cache_saved": MONEY,
    "cost_logged_diff": pl.Float64(),
    "price_id": pl.String(),
    "price_basis": pl.String(),
    "whatif_model": pl.String(),
    "whatif_reasoning_tokens": pl.Int64(),
    "whatif_output_tokens": pl.Int64(),
    "whatif_cost_total": MONEY,
    "whatif_cost_low": MONEY,
    "whatif_cost_high": MONEY,
    "whatif_ratio": pl.Float64(),
    "whatif_ratio_source": pl.String(),
}


SEGMENT_FIRST_ANSWER: dict[str, pl.DataType] = {
    REASONING_TOKENS_AFTER_FIRST_ANSWER: pl.Int64(),
    ANSWER_CHANGED_AFTER_FIRST: pl.Boolean(),
    FINAL_ANSWER_MISSING_REASON: pl.String(),
}


def _d(text: str) -> Decimal:
    return Decimal(text)


ROWS: list[dict[str, object]] = [
    {
        "trace_id": "r1-a", "source": "logs/r1.jsonl", "line": 1, "format": "deepseek",
        "provider": "deepseek", "model": "deepseek-reasoner",
        "created": datetime(2025, 3, 3, 10, tzinfo=UTC), "prompt": "2+2?",
        "reasoning": "<script>alert(1)</script> wait, 2+2 is 4. wait, 2+2 is 4.",
        "answer": "4", "reasoning_visible": True, "usage_input": 50, "usage_cached_input": 40,
        "usage_output": 110, "truncated": False, "metadata": '{"user": "alice"}',
        "tokens_prompt": 50, "tokens_reasoning": 100, "tokens_answer": 10,
        "usage_source": "logged", "usage_drift": 2, "input_tokens": 50,
        "cached_input_tokens": 40, "output_tokens": 110, "reasoning_tokens": 100,
        "steps": 4, "thoughts": 2, "reflection_words": 2, "first_answer_share": 0.25,
        "looping": True, "empty_reasoning": False, "refusal": False,
        REASONING_TOKENS_AFTER_FIRST_ANSWER: 75, ANSWER_CHANGED_AFTER_FIRST: False,
        "cost_input": _d("0.01"), "cost_cached_input": _d("0.002"), "cost_cache_write": _d("0"),
        "cost_output": _d("0.11"), "cost_reasoning": _d("0.1"), "cost_total": _d("0.122"),
        "cost_cache_saved": _d("0.008"), "whatif_model": "o1", "whatif_reasoning_tokens": 150,
        "whatif_cost_total": _d("1.0"), "whatif_cost_low": _d("0.8"),
        "whatif_cost_high": _d("1.2"), "whatif_ratio": 1.5, "whatif_ratio_source": "preset",
    },
    {
        "trace_id": "r1-b", "source": "logs/r1.jsonl", "line": 2, "format": "deepseek",
        "provider": "deepseek", "model": "deepseek-reasoner",
        "created": datetime(2025, 3, 4, 10, tzinfo=UTC), "prompt": "Prove it.",
        "reasoning": "Let me think. The answer is", "answer": "", "reasoning_visible": True,
        "usage_input": None, "usage_cached_input": None, "usage_output": None,
        "truncated": True, "metadata": '{"user": "bob"}', "tokens_prompt": 100,
        "tokens_reasoning": 300, "tokens_answer": 30, "usage_source": "counted",
        "usage_drift": None, "input_tokens": 100, "cached_input_tokens": 0,
        "output_tokens": 330, "reasoning_tokens": 300, "steps": 2, "thoughts": 1,
        "reflection_words": 0, "first_answer_share": 0.75, "looping": False,
        "empty_reasoning": False, "refusal": False, "cost_input": _d("0.1"),
        REASONING_TOKENS_AFTER_FIRST_ANSWER: 75, ANSWER_CHANGED_AFTER_FIRST: True,
        "cost_cached_input": _d("0"), "cost_cache_write": _d("0"), "cost_output": _d("0.33"),
        "cost_reasoning": _d("0.3"), "cost_total": _d("0.43"), "cost_cache_saved": _d("0"),
        "whatif_model": "o1", "whatif_reasoning_tokens": 450, "whatif_cost_total": _d("3.0"),
        "whatif_cost_low": _d("2.5"), "whatif_cost_high": _d("3.5"), "whatif_ratio": 1.5,
        "whatif_ratio_source": "preset",
    },
    {
        "trace_id": "o1-c", "source": "logs/o1.jsonl", "line": 7, "format": "openai-chat",
        "provider": "openai", "model": "o1-2024-12-17",
        "created": datetime(2025, 3, 10, 10, tzinfo=UTC), "prompt": "=HYPERLINK(\"x\")",
        "reasoning": None, "answer": "@SUM(A1)", "reasoning_visible": False,
        "usage_input": 200, "usage_cached_input": 100, "usage_output": 1020,
        "usage_reasoning": 1000, "truncated": False, "metadata": '{"user": "alice"}',
        "tokens_prompt": 200, "tokens_reasoning": None, "tokens_answer": 20,
        "usage_source": "logged", "usage_drift": -4, "input_tokens": 200,
        "cached_input_tokens": 100, "output_tokens": 1020, "reasoning_tokens": 1000,
        FINAL_ANSWER_MISSING_REASON: "reasoning hidden",
        "cost_input": _d("1.5"), "cost_cached_input": _d("0.75"), "cost_cache_write": _d("0"),
        "cost_output": _d("6.12"), "cost_reasoning": _d("6.0"), "cost_total": _d("8.37"),
        "cost_cache_saved": _d("0.75"),
    },
]  # fmt: skip

STEP_ROWS: list[tuple[str, int, str]] = [
    ("r1-a", 0, "problem_setup"),
    ("r1-a", 1, "problem_setup"),
    ("r1-a", 2, "self_checking"),
    ("r1-a", 3, "final_answer_emission"),
    ("r1-b", 0, "problem_setup"),
    ("r1-b", 1, "active_computation"),
]


def traces() -> pl.DataFrame:
    """The traces table with every column of ingest, tokens, segment and price."""
    schema = {**TRACE_SCHEMA, **TOKENS_SCHEMA, **METRICS_SCHEMA, **SEGMENT_FIRST_ANSWER}
    schema |= PRICE_SCHEMA
    return pl.DataFrame([{c: row.get(c) for c in schema} for row in ROWS], schema=schema)


def priced() -> pl.DataFrame:
    """The traces as the price stage leaves them: with the overthinking bill."""
    return overthinking.apply(traces())


def steps() -> pl.DataFrame:
    """The steps table of the two visible traces, 25 tokens a step."""
    return pl.DataFrame(
        [
            {"trace_id": t, "step": s, "start": 25 * s, "end": 25 * (s + 1), "tokens": 25,
             "kind": k, "marker": None, "thought": 0}
            for t, s, k in STEP_ROWS
        ],
        schema=STEPS_SCHEMA,
    )  # fmt: skip


def stats() -> IngestStats:
    """Four records read: three traces and one quarantined."""
    return IngestStats(
        files=2, read=4, parsed=3, quarantined=1, traces=3, responses=3,
        by_format={"deepseek": 2, "openai-chat": 1},
        quarantine_reasons={"invalid JSON": 1},
    )  # fmt: skip
