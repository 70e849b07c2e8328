"""Column names, polars schemas and the value types that flow between stages.

Every column name of the public tables is written once, here. Reports, tests and
stages import these constants rather than spelling names again. The canonical
`traces` table is described in DESIGN.md; later stages append their own columns,
declared below in one block per stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import polars as pl

from traceviz.timestamps import whole_day

# --- ingest: the canonical trace columns -------------------------------------------------

TRACE_ID = "trace_id"
SOURCE = "source"
LINE = "line"
FORMAT = "format"
PROVIDER = "provider"
MODEL = "model"
CREATED = "created"
PROMPT = "prompt"
REASONING = "reasoning"
REASONING_SUMMARY = "reasoning_summary"
ANSWER = "answer"
REASONING_VISIBLE = "reasoning_visible"
USAGE_INPUT = "usage_input"
USAGE_CACHED_INPUT = "usage_cached_input"
USAGE_CACHE_WRITE = "usage_cache_write"
# the part of `usage_cache_write` written for an hour (Anthropic `ephemeral_1h_input_tokens`,
# billed at the 1-hour write rate); null where the log does not split its cache writes
USAGE_CACHE_WRITE_1H = "usage_cache_write_1h"
USAGE_OUTPUT = "usage_output"
USAGE_REASONING = "usage_reasoning"
USAGE_REASONING_EXCEEDS_OUTPUT = "usage_reasoning_exceeds_output"
FINISH_REASON = "finish_reason"
TRUNCATED = "truncated"
RESPONSE_ID = "response_id"
CUSTOM_ID = "custom_id"
SERVICE_TIER = "service_tier"
BATCH = "batch"
COST_LOGGED = "cost_logged"
REFERENCE_ANSWER = "reference_answer"
CORRECT_LOGGED = "correct_logged"
METADATA = "metadata"
# Why a trace that billed reasoning carries no reasoning text: "hidden by provider",
# "dropped by store/plugin", "streamed (llm does not keep reasoning of streamed Chat
# responses)", "truncated by store" (LiteLLM cut the logged text), "content not captured"
# (an OpenTelemetry span without message content); null when the text is there or no
# reasoning was billed. Log stores fill it at ingest, so every traces table carries it.
REASONING_MISSING_REASON = "reasoning_missing_reason"
# the usage logged for a whole response with several choices, split among them (the
# per-choice figures are estimates; they add up to the logged ones): normalize/choices.py
USAGE_SPLIT = "usage_split"
# the choice's position in its response's `choices` (0 for the first; null where the shape
# has no choices): the choices of one response share its `response_id`, and tell apart by this
CHOICE = "choice"
CREATED_WHOLE_DAY = "created_whole_day"  # `created` logged as a date alone: 00:00 UTC of it
# the logging proxy answered from its own response cache (LiteLLM's `cache_hit`, Helicone's
# `cache_reference_id`): no call
# reached the provider and nothing was billed, so the price stage prices it at $0
SERVED_FROM_CACHE = "served_from_cache"

TRACE_SCHEMA: dict[str, pl.DataType] = {
    TRACE_ID: pl.String(),
    SOURCE: pl.String(),
    LINE: pl.Int64(),
    FORMAT: pl.String(),
    PROVIDER: pl.String(),
    MODEL: pl.String(),
    CREATED: pl.Datetime("us", "UTC"),
    PROMPT: pl.String(),
    REASONING: pl.String(),
    REASONING_SUMMARY: pl.String(),
    ANSWER: pl.String(),
    REASONING_VISIBLE: pl.Boolean(),
    USAGE_INPUT: pl.Int64(),
    USAGE_CACHED_INPUT: pl.Int64(),
    USAGE_CACHE_WRITE: pl.Int64(),
    USAGE_CACHE_WRITE_1H: pl.Int64(),
    USAGE_OUTPUT: pl.Int64(),
    USAGE_REASONING: pl.Int64(),
    USAGE_REASONING_EXCEEDS_OUTPUT: pl.Boolean(),
    FINISH_REASON: pl.String(),
    TRUNCATED: pl.Boolean(),
    RESPONSE_ID: pl.String(),
    CUSTOM_ID: pl.String(),
    SERVICE_TIER: pl.String(),
    BATCH: pl.Boolean(),
    COST_LOGGED: pl.Float64(),
    REFERENCE_ANSWER: pl.String(),
    CORRECT_LOGGED: pl.Boolean(),
    METADATA: pl.String(),
    REASONING_MISSING_REASON: pl.String(),
    USAGE_SPLIT: pl.Boolean(),
    CREATED_WHOLE_DAY: pl.Boolean(),
    CHOICE: pl.Int64(),
    SERVED_FROM_CACHE: pl.Boolean(),
}

# --- tokens stage -------------------------------------------------------------------------

TOKENS_PROMPT = "tokens_prompt"
TOKENS_REASONING = "tokens_reasoning"
TOKENS_ANSWER = "tokens_answer"
TOKENS_TEMPLATE = "tokens_template"
TOKENIZER = "tokenizer"
TOKENIZER_EXACT = "tokenizer_exact"
USAGE_SOURCE = "usage_source"
USAGE_DRIFT = "usage_drift"
USAGE_REASONING_DRIFT = "usage_reasoning_drift"
INPUT_TOKENS = "input_tokens"
CACHED_INPUT_TOKENS = "cached_input_tokens"
OUTPUT_TOKENS = "output_tokens"
REASONING_TOKENS = "reasoning_tokens"
# where `reasoning_tokens` comes from: "logged" (usage), "counted" (the visible reasoning,
# where the logged split is impossible or disagrees with the count), "clipped" (reasoning
# above the billed output, cut to it: logged with no text to count, or counted from a
# visible reasoning longer than the whole billed output)
REASONING_TOKENS_SOURCE = "reasoning_tokens_source"

TOKENS_SCHEMA: dict[str, pl.DataType] = {
    TOKENS_PROMPT: pl.Int64(),
    TOKENS_REASONING: pl.Int64(),
    TOKENS_ANSWER: pl.Int64(),
    TOKENS_TEMPLATE: pl.Int64(),
    TOKENIZER: pl.String(),
    TOKENIZER_EXACT: pl.Boolean(),
    USAGE_SOURCE: pl.String(),
    USAGE_DRIFT: pl.Int64(),
    USAGE_REASONING_DRIFT: pl.Int64(),
    INPUT_TOKENS: pl.Int64(),
    CACHED_INPUT_TOKENS: pl.Int64(),
    OUTPUT_TOKENS: pl.Int64(),
    REASONING_TOKENS: pl.Int64(),
    REASONING_TOKENS_SOURCE: pl.String(),
}

# --- price stage ----------------------------------------------------------------------------

PRICE_ID = "price_id"  # the catalog entry a trace was priced with
PRICE_BASIS = "price_basis"  # how its time was taken: the logged minute, a whole day, ...
COST_INPUT = "cost_input"
COST_CACHED_INPUT = "cost_cached_input"
COST_CACHE_WRITE = "cost_cache_write"
COST_OUTPUT = "cost_output"  # every output token, reasoning included
COST_REASONING = "cost_reasoning"  # the reasoning part of `cost_output`
COST_CACHE_SAVED = "cost_cache_saved"
COST_TOTAL = "cost_total"
COST_LOGGED_DIFF = "cost_logged_diff"  # cost_total - cost_logged (float)
# report figures: the logged cost of the traces traceviz could not price, and how many
COST_LOGGED_UNPRICED = "cost_logged_unpriced"
TRACES_LOGGED = "traces_logged"
TRACES_LOGGED_UNPRICED = "traces_logged_unpriced"
# the range of `cost_total` over the prices that may have applied when a trace's time of
# day is unknown (equal to it where the time is known or the price does not vary in a day)
COST_LOW = "cost_low"
COST_HIGH = "cost_high"

# --- price stage: the what-if of `--vs MODEL` (price/whatif.py) ----------------------------

WHATIF_MODEL = "whatif_model"
WHATIF_REASONING_TOKENS = "whatif_reasoning_tokens"
WHATIF_OUTPUT_TOKENS = "whatif_output_tokens"
WHATIF_COST_TOTAL = "whatif_cost_total"
WHATIF_COST_LOW = "whatif_cost_low"
WHATIF_COST_HIGH = "whatif_cost_high"
WHATIF_RATIO = "whatif_ratio"
WHATIF_RATIO_SOURCE = "whatif_ratio_source"
# the what-if's prompt is the trace's billed prompt tokens: the log holds no prompt text to
# count with the target's tokenizer (API response logs), so the source's count stands in
WHATIF_PROMPT_LOGGED = "whatif_prompt_logged"
# the visible text recounted with the target's tokenizer (dropped once priced)
WHATIF_PROMPT_TOKENS = "whatif_prompt_tokens"
WHATIF_ANSWER_TOKENS = "whatif_answer_tokens"
WHATIF_RECOUNTED_REASONING = "whatif_recounted_reasoning"

# --- segment stage: the steps table and per-trace behaviour metrics -----------------------

STEP = "step"
START = "start"
END = "end"
TOKENS = "tokens"
KIND = "kind"
MARKER = "marker"
THOUGHT = "thought"
# the step-kind model's probability for the kind it chose (an estimate's own confidence)
KIND_CONFIDENCE = "kind_confidence"
STEPS_SCHEMA: dict[str, pl.DataType] = {
    TRACE_ID: pl.String(),
    STEP: pl.Int64(),
    START: pl.Int64(),
    END: pl.Int64(),
    TOKENS: pl.Int64(),
    KIND: pl.String(),
    KIND_CONFIDENCE: pl.Float64(),
    MARKER: pl.String(),
    THOUGHT: pl.Int64(),
}
# Per trace, each kind's summed step probability: `expected_steps_<kind>` (the expected
# number of steps of that kind; they add up to `steps`). Reports compose kinds from
# these, not from the argmax counts `steps_<kind>`.
EXPECTED_STEPS_PREFIX = "expected_steps_"
KIND_STEPS_PREFIX = "steps_"
# The eight step kinds of the Thought Anchors taxonomy (Bogdan et al. 2025, arXiv
# 2506.19143): the values of `kind`, and the kind columns of the traces, in this order.
KINDS = (
    "problem_setup",
    "plan_generation",
    "fact_retrieval",
    "active_computation",
    "result_consolidation",
    "uncertainty_management",
    "self_checking",
    "final_answer_emission",
)
KIND_STEPS_SCHEMA: dict[str, pl.DataType] = {f"{KIND_STEPS_PREFIX}{k}": pl.Int64() for k in KINDS}
KIND_EXPECTED_SCHEMA: dict[str, pl.DataType] = {
    f"{EXPECTED_STEPS_PREFIX}{k}": pl.Float64() for k in KINDS
}
STEPS = "steps"
THOUGHTS = "thoughts"
REFLECTION_WORDS = "reflection_words"
SELF_CHECKS = "self_checks"
BACKTRACKS = "backtracks"
CORRECT = "correct"
REFERENCE_FIRST_SHARE = "reference_first_share"
REP2 = "rep2"
REP3 = "rep3"
REP4 = "rep4"
LONGEST_REPEAT_RUN = "longest_repeat_run"
LOOPING = "looping"
LANGUAGE_MIXING = "language_mixing"
EMPTY_REASONING = "empty_reasoning"
REFUSAL = "refusal"
# the final answer and the reasoning after it first reaches it (segment/answers.py,
# segment/behaviour.py; an estimate, measured in docs/first-answer.md)
FINAL_ANSWER = "final_answer"
FIRST_ANSWER_SHARE = "first_answer_share"
AFTER_FIRST_ANSWER = "after_first_answer"
FINAL_ANSWER_MISSING_REASON = "final_answer_missing_reason"
REASONING_TOKENS_AFTER_FIRST_ANSWER = "reasoning_tokens_after_first_answer"
ANSWER_CHANGED_AFTER_FIRST = "answer_changed_after_first"
METRICS_SCHEMA: dict[str, pl.DataType] = {
    STEPS: pl.Int64(),
    THOUGHTS: pl.Int64(),
    REFLECTION_WORDS: pl.Int64(),
    SELF_CHECKS: pl.Int64(),
    BACKTRACKS: pl.Int64(),
    FINAL_ANSWER: pl.String(),
    FIRST_ANSWER_SHARE: pl.Float64(),
    AFTER_FIRST_ANSWER: pl.Float64(),
    CORRECT: pl.Boolean(),
    REFERENCE_FIRST_SHARE: pl.Float64(),
    REP2: pl.Float64(),
    REP3: pl.Float64(),
    REP4: pl.Float64(),
    LONGEST_REPEAT_RUN: pl.Int64(),
    LOOPING: pl.Boolean(),
    LANGUAGE_MIXING: pl.Float64(),
    EMPTY_REASONING: pl.Boolean(),
    REFUSAL: pl.Boolean(),
    FINAL_ANSWER_MISSING_REASON: pl.String(),
    REASONING_TOKENS_AFTER_FIRST_ANSWER: pl.Int64(),
    ANSWER_CHANGED_AFTER_FIRST: pl.Boolean(),
}

# --- price stage: the overthinking bill (price/overthinking.py) ---------------------------

# USD per output token the price stage billed the trace at (reasoning included).
OUTPUT_RATE = "output_rate"
# The billed reasoning tokens after the first answer: the counted ones, but never more
# than the trace's billed `reasoning_tokens` (a log whose usage bills less than the
# visible reasoning counts: capped, and the report says on how many traces).
REASONING_TOKENS_AFTER_FIRST_ANSWER_BILLED = "reasoning_tokens_after_first_answer_billed"
# Those tokens after the first answer at the output rate; null (with a reason) when the
# reasoning is hidden, no answer was found, or the trace is not priced.
COST_AFTER_FIRST_ANSWER = "cost_after_first_answer"
COST_AFTER_FIRST_ANSWER_REASON = "cost_after_first_answer_reason"

# --- quarantine -------------------------------------------------------------------------

REASON = "reason"
RAW = "raw"


@dataclass(frozen=True, slots=True)
class Trace:
    """One response, in the canonical shape every normalizer produces.

    `usage_*` follow one convention: `usage_input` counts all prompt tokens including
    cache reads, `usage_cached_input` the cache reads, `usage_output` all output tokens
    including reasoning, `usage_reasoning` the reasoning part. `None` means "not
    reported", never zero.
    """

    source: str
    line: int
    format: str
    provider: str | None = None
    model: str | None = None
    created: datetime | None = None
    prompt: str | None = None
    reasoning: str | None = None
    reasoning_summary: str | None = None
    answer: str | None = None
    usage_input: int | None = None
    usage_cached_input: int | None = None
    usage_cache_write: int | None = None
    usage_cache_write_1h: int | None = None
    usage_output: int | None = None
    usage_reasoning: int | None = None
    finish_reason: str | None = None
    truncated: bool = False
    response_id: str | None = None
    custom_id: str | None = None
    service_tier: str | None = None
    batch: bool = False
    cost_logged: float | None = None
    reference_answer: str | None = None
    correct_logged: bool | None = None
    metadata: str | None = None
    trace_id: str | None = None
    reasoning_missing_reason: str | None = None
    usage_split: bool = False
    choice: int | None = None
    served_from_cache: bool = False

    @property
    def reasoning_visible(self) -> bool:
        return self.reasoning is not None

    @property
    def created_whole_day(self) -> bool:
        """Whether `created` was logged as a date alone (a `timestamps.Day`)."""
        return whole_day(self.created)

    @property
    def usage_reasoning_exceeds_output(self) -> bool:
        return (
            self.usage_reasoning is not None
            and self.usage_output is not None
            and self.usage_reasoning > self.usage_output
        )

    def text_size(self) -> int:
        """Characters of text the trace carries (what a batch of traces weighs)."""
        return sum(
            len(t)
            for t in (self.prompt, self.reasoning, self.reasoning_summary, self.answer)
            if t is not None
        )

    def row(self) -> dict[str, Any]:
        """The trace as a dict keyed by the canonical column names."""
        values = {name: getattr(self, name) for name in _TRACE_FIELDS}
        values[REASONING_VISIBLE] = self.reasoning_visible
        values[CREATED_WHOLE_DAY] = self.created_whole_day
        values[USAGE_REASONING_EXCEEDS_OUTPUT] = self.usage_reasoning_exceeds_output
        return values


_TRACE_FIELDS = tuple(f.name for f in fields(Trace))


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A record that could not become a trace, with where it came from and why."""

    source: str
    line: int
    reason: str
    raw: str = ""

    def row(self) -> dict[str, Any]:
        return {SOURCE: self.source, LINE: self.line, REASON: self.reason, RAW: self.raw}


@dataclass(slots=True)
class IngestStats:
    """Running totals of one ingest: `read == parsed + quarantined + skipped` always."""

    files: int = 0
    read: int = 0
    parsed: int = 0
    quarantined: int = 0
    skipped: int = 0
    traces: int = 0
    responses: int = 0  # traces that are a response's first choice (or its only one)
    by_format: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    skip_reasons: dict[str, int] = field(default_factory=dict)
    file_errors: list[str] = field(default_factory=list)
    chunks_merged: int = 0
    filtered: dict[str, int] = field(default_factory=dict)  # traces left out, by reason
    # files a folder's walk did not read (traceviz's own outputs, FIFOs), by reason
    files_passed_over: dict[str, int] = field(default_factory=dict)

    def merge(self, other: IngestStats) -> None:
        self.files += other.files
        self.read += other.read
        self.parsed += other.parsed
        self.quarantined += other.quarantined
        self.skipped += other.skipped
        self.traces += other.traces
        self.responses += other.responses
        self.chunks_merged += other.chunks_merged
        self.file_errors.extend(other.file_errors)
        for mine, theirs in (
            (self.by_format, other.by_format),
            (self.quarantine_reasons, other.quarantine_reasons),
            (self.skip_reasons, other.skip_reasons),
            (self.filtered, other.filtered),
            (self.files_passed_over, other.files_passed_over),
        ):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n


def empty_traces() -> pl.DataFrame:
    """A traces table with no rows and every canonical column."""
    return pl.DataFrame(schema=TRACE_SCHEMA)
