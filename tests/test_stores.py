"""Log stores: OpenTelemetry GenAI spans (made by the real SDK), LiteLLM, Langfuse, Helicone,
CSV exports, and the logged cost beside traceviz's price."""

from __future__ import annotations

import copy
import csv
import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from otlp import O1_ANSWER, R1_ANSWER, R1_REASONING, R1_START, Span, otlp_line, sample_lines

import traceviz
from traceviz.cli import main
from traceviz.ingest import RawRecord
from traceviz.normalize import Normalizer
from traceviz.schema import IngestStats, Quarantined, Trace

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DATA = Path(__file__).resolve().parent / "data" / "stores"
R1_TIME = datetime(2025, 3, 11, 10, 15, tzinfo=UTC)
O1_TIME = datetime(2025, 3, 11, 11, 0, tzinfo=UTC)
COLUMNS = (
    "trace_id",
    "format",
    "provider",
    "model",
    "created",
    "usage_input",
    "usage_cached_input",
    "usage_output",
    "usage_reasoning",
    "cost_logged",
    "reasoning_missing_reason",
)


def ingest(path: Path, **options: Any) -> tuple[pl.DataFrame, traceviz.Ingest]:
    run = traceviz.Ingest()
    traces = traceviz.read(path, traceviz.ReadOptions(**options), ingest=run)
    return traces, run


def rows(traces: pl.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    return traces.select(columns or COLUMNS).rows()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


# --- OpenTelemetry ------------------------------------------------------------------------


def test_otel_sample_is_what_the_sdk_writes() -> None:
    assert (SAMPLES / "otel-genai.jsonl").read_text() == "\n".join(sample_lines()) + "\n"


def test_otel_sample_reads_both_eras_and_skips_other_spans() -> None:
    traces, run = ingest(SAMPLES / "otel-genai.jsonl")
    assert rows(traces) == [
        (
            "7c1e2f7a-58a4-4a8e-9f0e-2d3c1b0a9e11",
            "otel-genai (semconv)",
            "deepseek",
            "deepseek-reasoner",
            R1_TIME,
            15,
            None,
            96,
            71,
            None,
            None,
        ),
        (
            "chatcmpl-B9x0Lq2sWm",
            "otel-genai (openllmetry)",
            "openai",
            "o1-2024-12-17",
            O1_TIME,
            1843,
            1792,
            420,
            384,
            None,
            "hidden by provider",
        ),
    ]
    assert rows(traces, "prompt", "reasoning", "answer", "finish_reason") == [
        ("What is 17 * 23?", R1_REASONING, R1_ANSWER, "stop"),
        ("Name the capital of Australia.", None, O1_ANSWER, "stop"),
    ]
    assert json.loads(traces["metadata"][0]) == {
        "service": "support-bot",
        "otel_scope": "opentelemetry.instrumentation.openai_v2",
        "otel_trace_id": "e3e70682c2094cac629f6fbed82c07cd",
        "otel_span_id": "f728b4fa42485e3a",
    }
    stats = run.stats
    assert (stats.read, stats.parsed, stats.skipped, stats.quarantined) == (4, 2, 2, 0)
    assert stats.skip_reasons == {"otel-genai: not an inference span": 2}
    assert stats.by_format == {"otel-genai (semconv)": 1, "otel-genai (openllmetry)": 1}


def test_otel_openllmetry_deepseek_and_anthropic_thinking(tmp_path: Path) -> None:
    deepseek = Span(
        "openai.chat",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.openai.api_base": "https://api.deepseek.com/v1",
            "gen_ai.request.model": "deepseek-reasoner",
            "gen_ai.usage.prompt_tokens": 15,
            "gen_ai.usage.completion_tokens": 96,
            "gen_ai.usage.reasoning_tokens": 71,
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": R1_ANSWER,
            "gen_ai.completion.0.finish_reason": "length",
        },
        R1_START,
    )
    anthropic = Span(
        "anthropic.chat",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "Anthropic",
            "gen_ai.request.model": "claude-3-7-sonnet-20250219",
            "gen_ai.usage.prompt_tokens": 20,
            "gen_ai.usage.cache_read_input_tokens": 300,
            "gen_ai.usage.completion_tokens": 50,
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "Be brief.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Why is the sky blue?",
            "gen_ai.completion.0.role": "thinking",
            "gen_ai.completion.0.content": "Rayleigh scattering.",
            "gen_ai.completion.1.role": "assistant",
            "gen_ai.completion.1.content": "Short wavelengths scatter more.",
        },
        R1_START + 60_000_000_000,
    )
    usage_only = Span(
        "chat deepseek-reasoner",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "deepseek",
            "gen_ai.request.model": "deepseek-reasoner",
            "gen_ai.usage.input_tokens": 15,
            "gen_ai.usage.output_tokens": 96,
            "gen_ai.usage.reasoning.output_tokens": 71,
        },
        R1_START + 120_000_000_000,
    )
    path = write_lines(
        tmp_path / "spans.jsonl",
        [
            otlp_line([deepseek, anthropic], "opentelemetry.instrumentation.openai.v1"),
            otlp_line([usage_only]),
        ],
    )
    traces, run = ingest(path)
    assert run.stats.quarantined == 0
    assert rows(
        traces,
        "format",
        "provider",
        "usage_input",
        "usage_cached_input",
        "usage_output",
        "usage_reasoning",
        "reasoning_missing_reason",
        "truncated",
    ) == [
        ("otel-genai (openllmetry)", "deepseek", 15, None, 96, 71, "dropped by store/plugin", True),
        # Anthropic's input excludes cache reads: more cached than input means they were beside it
        ("otel-genai (openllmetry)", "Anthropic", 320, 300, 50, None, None, False),
        ("otel-genai (semconv)", "deepseek", 15, None, 96, 71, "content not captured", False),
    ]
    assert rows(traces, "prompt", "reasoning", "answer")[1] == (
        "Be brief.\n\nWhy is the sky blue?",
        "Rayleigh scattering.",
        "Short wavelengths scatter more.",
    )


def _kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def test_otel_structured_messages_and_bad_spans(tmp_path: Path) -> None:
    """Messages as kvlist/array values (not JSON strings); a bad span is quarantined alone."""
    text_part = {
        "kvlistValue": {
            "values": [_kv("type", {"stringValue": "text"}), _kv("content", {"stringValue": "4"})]
        }
    }
    thought = {
        "kvlistValue": {
            "values": [
                _kv("type", {"stringValue": "reasoning"}),
                _kv("content", {"stringValue": "2+2=4"}),
            ]
        }
    }
    message = {
        "kvlistValue": {
            "values": [
                _kv("role", {"stringValue": "assistant"}),
                _kv("parts", {"arrayValue": {"values": [thought, text_part]}}),
            ]
        }
    }
    good = {
        "spanId": "00000000000000aa",
        "startTimeUnixNano": 1741688100000000000,
        "attributes": [
            _kv("gen_ai.operation.name", {"stringValue": "chat"}),
            _kv("gen_ai.request.model", {"stringValue": "deepseek-reasoner"}),
            _kv("gen_ai.usage.input_tokens", {"intValue": 9}),
            _kv("gen_ai.usage.output_tokens", {"intValue": "12"}),
            _kv("gen_ai.output.messages", {"arrayValue": {"values": [message]}}),
        ],
    }
    bad = {
        "spanId": "00000000000000bb",
        "attributes": [
            _kv("gen_ai.operation.name", {"stringValue": "chat"}),
            _kv("gen_ai.usage.input_tokens", {"intValue": "many"}),
        ],
    }
    line = {"resourceSpans": [{"scopeSpans": [{"spans": [good, bad]}]}]}
    path = write_lines(tmp_path / "structured.jsonl", [json.dumps(line)])
    traces, run = ingest(path)
    assert rows(
        traces, "trace_id", "reasoning", "answer", "usage_input", "usage_output", "created"
    ) == [("00000000000000aa", "2+2=4", "4", 9, 12, R1_TIME)]
    assert [(q.line, q.reason) for q in run.quarantined] == [
        (1, "otel-genai: span.attributes.gen_ai.usage.input_tokens is not an integer: 'many'")
    ]
    assert run.stats.read == run.stats.parsed + run.stats.quarantined + run.stats.skipped == 2


# --- LiteLLM ------------------------------------------------------------------------------


LITELLM_ROWS = [
    (
        "d3b07384-d9a0-4c9b-8f1e-6a2b5c7e9f10",
        "litellm (spendlogs)",
        "deepseek",
        "deepseek-reasoner",
        R1_TIME,
        15,
        0,
        96,
        71,
        0.00016968,
        None,
    ),
    (
        "chatcmpl-B9y7Tn4kQe",
        "litellm (spendlogs)",
        "openai",
        "o1-2024-12-17",
        O1_TIME,
        1843,
        1792,
        420,
        384,
        0.039405,
        "hidden by provider",
    ),
]


def test_litellm_spend_logs_json() -> None:
    traces, run = ingest(SAMPLES / "litellm-spendlogs.json")
    assert rows(traces) == LITELLM_ROWS
    assert rows(traces, "prompt", "reasoning", "answer") == [
        ("What is 17 * 23?", R1_REASONING, R1_ANSWER),
        ("Name the capital of Australia.", None, O1_ANSWER),
    ]
    metadata = json.loads(traces["metadata"][0])
    assert metadata["model_group"] == "r1"
    assert metadata["api_key_alias"] == "support-bot"
    assert metadata["litellm_cost_breakdown"]["output_cost"] == 0.00016128


def _csv(path: Path, records: list[dict[str, Any]]) -> Path:
    columns = list(records[0])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for record in records:
            writer.writerow(
                ""
                if record.get(c) is None
                else json.dumps(record[c])
                if isinstance(record.get(c), dict | list)
                else record[c]
                for c in columns
            )
    return path


def test_litellm_spend_logs_csv_reads_like_json(tmp_path: Path) -> None:
    records = json.loads((SAMPLES / "litellm-spendlogs.json").read_text())
    path = _csv(tmp_path / "spend.csv", records)
    traces, run = ingest(path)
    assert rows(traces) == LITELLM_ROWS
    assert traces["line"].to_list() == [2, 3]
    assert traces["reasoning"][0] == R1_REASONING


def test_litellm_truncated_reasoning_failures_and_logging_payload(tmp_path: Path) -> None:
    records = json.loads((SAMPLES / "litellm-spendlogs.json").read_text())
    cut = records[0]
    cut["response"]["choices"][0]["message"]["reasoning_content"] = (
        "Let me ... (litellm_truncated skipped 5120 chars) ... = 391."
    )
    failed = dict(records[1], request_id="failed-1", status="failure", response={})
    embedding = dict(records[1], request_id="emb-1", call_type="aembedding")
    payload = {
        "id": "chatcmpl-C1",
        "litellm_call_id": "7d0b-11",
        "call_type": "acompletion",
        "stream": False,
        "response_cost": 0.0012,
        "status": "success",
        "custom_llm_provider": "deepseek",
        "model": "deepseek-reasoner",
        "model_group": "r1",
        "startTime": 1741688100.25,
        "prompt_tokens": 15,
        "completion_tokens": 96,
        "total_tokens": 111,
        "metadata": {
            "usage_object": {
                "prompt_tokens": 15,
                "completion_tokens": 96,
                "completion_tokens_details": {"reasoning_tokens": 71},
            }
        },
        "messages": [{"role": "user", "content": "What is 17 * 23?"}],
        "response": {
            "id": "chatcmpl-C1",
            "model": "deepseek-reasoner",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": R1_ANSWER},
                    "finish_reason": "stop",
                }
            ],
        },
    }
    path = tmp_path / "litellm.json"
    path.write_text(json.dumps([cut, failed, embedding, payload]))
    traces, run = ingest(path)
    assert rows(
        traces,
        "trace_id",
        "format",
        "reasoning_missing_reason",
        "usage_reasoning",
        "cost_logged",
        "prompt",
    ) == [
        (
            "d3b07384-d9a0-4c9b-8f1e-6a2b5c7e9f10",
            "litellm (spendlogs)",
            "truncated by store",
            71,
            0.00016968,
            "What is 17 * 23?",
        ),
        (
            "chatcmpl-C1",
            "litellm (standard-logging)",
            "dropped by store/plugin",
            71,
            0.0012,
            "What is 17 * 23?",
        ),
    ]
    assert json.loads(traces["metadata"][0])["litellm_reasoning_chars_cut"] == 5120
    assert traces["created"][1] == datetime(2025, 3, 11, 10, 15, 0, 250000, tzinfo=UTC)
    assert run.stats.skip_reasons == {
        "litellm: failed request": 1,
        "litellm: not a completion call": 1,
    }


def _cache_hit(record: dict[str, Any], value: object = "True") -> dict[str, Any]:
    """A spend-log row as LiteLLM writes a call its own cache answered: `spend` 0, the
    cached response's usage, the original id with `_cache_hit<time>` (its
    spend_tracking_utils.get_logging_payload)."""
    return dict(
        record,
        request_id=f"{record['request_id']}_cache_hit1741688160.5",
        spend="0.0",
        cache_hit=value,
        startTime="2025-03-11T10:16:00Z",
    )


def test_litellm_cache_hits_cost_nothing_and_are_said_to(tmp_path: Path) -> None:
    # a call LiteLLM served from its response cache reached no provider: it was priced as
    # a full call ($0.000218) against a logged spend of 0
    records = json.loads((SAMPLES / "litellm-spendlogs.json").read_text())
    path = tmp_path / "hits.json"
    path.write_text(json.dumps([records[0], _cache_hit(records[0])]))
    args = ["report", str(path), "--no-cache", "--vs", "o1", "-q"]
    traces = traceviz.analyze(path, traceviz.AnalysisOptions(vs="o1")).traces
    assert traces["served_from_cache"].to_list() == [False, True]
    paid, hit = traces.row(0, named=True), traces.row(1, named=True)
    assert paid["cost_total"] > 0
    assert hit["output_tokens"] == paid["output_tokens"]  # its tokens still counted
    for column in ("cost_total", "cost_low", "cost_high", "cost_reasoning", "whatif_cost_total"):
        assert hit[column] == 0, column
    assert hit["cost_after_first_answer"] == 0
    assert hit["cost_logged_diff"] == 0  # LiteLLM logged it at 0 too
    assert hit["price_basis"].endswith(
        "; served from the proxy's response cache: no provider call, $0"
    )
    document = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    assert Decimal(document["overall"]["cost_total"]) == paid["cost_total"]
    note = next(n for n in document["estimates"] if "response cache" in n)
    assert note.startswith("1 trace answered by the logging proxy from its own response cache")
    # the cached result and a traces table read back give the same
    cache = tmp_path / "cache"
    for _ in range(2):
        warm = CliRunner().invoke(main, [*args[:2], "--vs", "o1", "-q", "--format", "json",
                                         "--cache-dir", str(cache)])  # fmt: skip
        assert json.loads(warm.stdout)["overall"] == document["overall"]
    # the hit carries the original's response id but is no copy of its record
    assert document["repeats"]["traces_repeated"] == 0
    deduped = CliRunner().invoke(main, [*args, "--dedupe", "--format", "json"])
    assert json.loads(deduped.stdout)["overall"]["traces"] == 2
    table = tmp_path / "traces.parquet"
    CliRunner().invoke(main, ["ingest", str(path), "-o", str(table), "--no-cache"])
    again = CliRunner().invoke(main, ["report", str(table), "--no-cache", "-q", "--format", "json"])
    assert Decimal(json.loads(again.stdout)["overall"]["cost_total"]) == paid["cost_total"]


def test_litellm_cache_hit_flags_as_logged(tmp_path: Path) -> None:
    records = json.loads((SAMPLES / "litellm-spendlogs.json").read_text())
    values = [True, "true", "False", "None", "maybe"]
    path = tmp_path / "flags.json"
    path.write_text(json.dumps([_cache_hit(dict(records[0], request_id=f"r{i}"), v)
                                for i, v in enumerate(values)]))  # fmt: skip
    traces, run = ingest(path)
    assert traces["served_from_cache"].to_list() == [True, True, False, False]
    (bad,) = run.quarantined
    assert "cache_hit is 'maybe', not true or false" in bad.reason


def test_helicone_cache_hits_cost_nothing(tmp_path: Path) -> None:
    # a row Helicone served from its cache names the request it replays; its cost may be
    # the original's, which was read as billed
    rows_in = [
        json.loads(line) for line in (SAMPLES / "helicone-export.jsonl").read_text().splitlines()
    ]
    original = rows_in[0]
    none = dict(original, cache_reference_id="00000000-0000-0000-0000-000000000000")
    hit = dict(original, request_id="9e8d-hit", cache_reference_id=original["request_id"])
    path = tmp_path / "helicone.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (none, hit)))
    traces = traceviz.analyze(path).traces
    assert traces["served_from_cache"].to_list() == [False, True]
    assert traces["cost_total"][0] > 0
    assert traces["cost_total"][1] == 0
    assert traces["cost_logged"][1] == traces["cost_logged"][0]  # as exported


# --- Langfuse -----------------------------------------------------------------------------


def test_langfuse_pages_and_rows() -> None:
    traces, run = ingest(SAMPLES / "langfuse-observations.jsonl")
    assert rows(traces) == [
        # usageDetails is disjoint: input 51 + input_cached_tokens 1792, output 36 + reasoning 384
        (
            "obs-5b1d2e",
            "langfuse (v2)",
            None,
            "o1-2024-12-17",
            O1_TIME,
            1843,
            1792,
            420,
            384,
            0.039405,
            "hidden by provider",
        ),
        # OpenLLMetry's reasoning_tokens key is not subtracted from output; no price: no cost
        (
            "f728b4fa42485e3a",
            "langfuse (v1)",
            None,
            "deepseek-reasoner",
            R1_TIME,
            15,
            None,
            96,
            71,
            None,
            None,
        ),
    ]
    assert rows(traces, "prompt", "reasoning", "answer") == [
        ("Name the capital of Australia.", None, O1_ANSWER),
        ("What is 17 * 23?", R1_REASONING, R1_ANSWER),
    ]
    assert run.stats.skip_reasons == {"langfuse: observation of another type": 1}


def test_langfuse_export_csv_with_dropped_reasoning(tmp_path: Path) -> None:
    row = {
        "id": "obs-9",
        "traceId": "tr-9",
        "type": "GENERATION",
        "startTime": "2025-03-11T10:15:00.000Z",
        "name": "OpenAI-generation",
        "traceName": "math",
        "userId": "u-7",
        "input": json.dumps([{"role": "user", "content": "What is 17 * 23?"}]),
        "output": json.dumps({"role": "assistant", "content": R1_ANSWER}),
        "model": "deepseek-reasoner",
        "usageDetails": {"input": 15, "output": 25, "output_reasoning_tokens": 71, "total": 111},
        "inputUsage": 15,
        "outputUsage": 96,
        "totalUsage": 111,
        "costDetails": {},
        "totalCost": 0,
    }
    traces, run = ingest(_csv(tmp_path / "export.csv", [row]))
    assert rows(traces) == [
        (
            "obs-9",
            "langfuse (export)",
            None,
            "deepseek-reasoner",
            R1_TIME,
            15,
            None,
            96,
            71,
            None,
            "dropped by store/plugin",
        )
    ]
    assert json.loads(traces["metadata"][0]) == {
        "langfuse_trace_id": "tr-9",
        "name": "OpenAI-generation",
        "trace_name": "math",
        "user_id": "u-7",
    }


# --- Helicone -----------------------------------------------------------------------------


def test_langfuse_parquet_export_with_map_columns(tmp_path: Path) -> None:
    """Blob-storage exports in Parquet keep usageDetails and costDetails as map columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": ["obs-1"],
            "traceId": ["tr-1"],
            "type": ["GENERATION"],
            "startTime": ["2025-03-11T11:00:00.000Z"],
            "providedModelName": ["o1-2024-12-17"],
            "output": [json.dumps({"role": "assistant", "content": O1_ANSWER})],
            "usageDetails": pa.array(
                [
                    [
                        ("input", 51),
                        ("input_cached_tokens", 1792),
                        ("output", 36),
                        ("output_reasoning_tokens", 384),
                    ]
                ],
                pa.map_(pa.string(), pa.int64()),
            ),
            "costDetails": pa.array([[("total", 0.039405)]], pa.map_(pa.string(), pa.float64())),
        }
    )
    pq.write_table(table, tmp_path / "observations.parquet")
    traces, run = ingest(tmp_path / "observations.parquet")
    assert rows(traces) == [
        (
            "obs-1",
            "langfuse (v2)",
            None,
            "o1-2024-12-17",
            O1_TIME,
            1843,
            1792,
            420,
            384,
            0.039405,
            "hidden by provider",
        )
    ]


def test_helicone_export_with_bodies() -> None:
    traces, run = ingest(SAMPLES / "helicone-export.jsonl")
    assert rows(traces) == [
        (
            "0f9c2d1e-7a3b-4c5d-8e9f-0a1b2c3d4e5f",
            "helicone (body)",
            "deepseek",
            "deepseek-reasoner",
            R1_TIME,
            15,
            0,
            96,
            71,
            0.00021849,
            None,
        ),
        (
            "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            "helicone (body)",
            "openai",
            "o1-2024-12-17",
            O1_TIME,
            1843,
            1792,
            420,
            384,
            0.039405,
            "hidden by provider",
        ),
    ]
    assert traces["reasoning"][0] == R1_REASONING
    assert run.stats.skip_reasons == {"helicone: failed request": 1}


def test_helicone_csv_has_columns_only(tmp_path: Path) -> None:
    path = tmp_path / "helicone.csv.gz"
    path.write_bytes(
        gzip.compress(
            b"response_id,response_created_at,response_status,request_created_at,request_body,request_properties,request_user_id,model,prompt_tokens,completion_tokens,latency,cost\n"
            b'resp-1,2025-03-11T10:15:02Z,200,2025-03-11T10:15:00Z,"{""model"": ""deepseek-reasoner"", ""messages"": [{""role"": ""user"", ""content"": ""What is 17 * 23?""}]}",{},u-1,deepseek-reasoner,15,96,2500,218490\n'
        )
    )
    traces, run = ingest(path)
    assert rows(traces, *COLUMNS, "prompt", "reasoning", "answer") == [
        (
            "resp-1",
            "helicone (columns)",
            None,
            "deepseek-reasoner",
            R1_TIME,
            15,
            None,
            96,
            None,
            0.00021849,
            None,
            "What is 17 * 23?",
            None,
            None,
        )
    ]


# --- CSV container ------------------------------------------------------------------------


def test_csv_rows_keep_their_lines_and_broken_rows_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "request_id,call_type,spend,prompt_tokens,completion_tokens,startTime,model,response\n"
        'r1,acompletion,0.1,10,20,2025-03-11T10:15:00Z,deepseek-reasoner,"{""choices"": [\n'
        '{""message"": {""content"": ""line one\\nline two""}}]}"\n'
        "r2,acompletion,0.1,10\n"
        "r3,acompletion,0.2,11,21,2025-03-11T10:16:00Z,o1,\n"
    )
    traces, run = ingest(path)
    assert rows(traces, "trace_id", "line", "answer", "usage_input", "cost_logged") == [
        ("r1", 2, "line one\nline two", 10, 0.1),
        ("r3", 5, None, 11, 0.2),
    ]
    assert [(q.line, q.reason) for q in run.quarantined] == [
        (4, "broken CSV row: 4 fields, the header has 8")
    ]
    assert run.stats.read == 3


def test_csv_row_of_undecodable_bytes_is_quarantined_alone(tmp_path: Path) -> None:
    path = tmp_path / "bytes.csv"
    path.write_bytes(
        b"request_id,call_type,spend,prompt_tokens\n"
        b"r1,acompletion,0.1,10\n"
        b"\xff\xfe,acompletion,0.1,10\n"
        b"r3,acompletion,0.2,11\n"
    )
    traces, run = ingest(path)
    assert traces["trace_id"].to_list() == ["r1", "r3"]
    assert [(q.line, q.reason) for q in run.quarantined] == [(3, "undecodable bytes: not UTF-8")]


def test_csv_oversize_row_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("request_id,call_type,spend,response\nr1,acompletion,0.1," + "x" * 500 + "\n")
    traces, run = ingest(path, max_record_bytes=200)
    assert traces.height == 0
    assert [q.line for q in run.quarantined] == [2]
    assert run.quarantined[0].reason.startswith(
        "broken CSV row: field larger than field limit"
    ) or run.quarantined[0].reason.startswith("record too large")


# --- detection, --shape, summary ------------------------------------------------------------


def test_ingest_summary_names_store_and_era(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["ingest", str(SAMPLES / "otel-genai.jsonl"), "-o", str(tmp_path / "t.parquet")]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "read 4 records from 1 file: 2 traces (otel-genai (semconv) 1, otel-genai (openllmetry) 1),"
        " 0 quarantined, 2 skipped (otel-genai: not an inference span 2)"
    )


def test_shape_option_forces_a_store(tmp_path: Path) -> None:
    """A Langfuse row whose type field was dropped is only read when --shape says so."""
    row = json.loads((SAMPLES / "langfuse-observations.jsonl").read_text().splitlines()[0])["data"][
        1
    ]
    row.pop("traceId")
    path = write_lines(tmp_path / "row.jsonl", [json.dumps(row)])
    _, detected = ingest(path)
    assert detected.stats.quarantined == 1
    traces, forced = ingest(path, shape="langfuse")
    assert rows(traces, "trace_id", "usage_input", "usage_output") == [("obs-5b1d2e", 1843, 420)]


# --- the same figures as the raw responses ------------------------------------------------------

FIGURES = (
    "traces",
    "tokens_reasoning_sum",
    "tokens_answer_sum",
    "tokens_prompt_sum",
    "tokens_cached_prompt_sum",
    "cost_total",
    "cost_input",
    "cost_cached_input",
    "cost_reasoning",
    "cost_answer",
)


def _report(path: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["report", str(path), "--format", "json", "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "sample",
    [
        "otel-genai.jsonl",
        "litellm-spendlogs.json",
        "langfuse-observations.jsonl",
        "helicone-export.jsonl",
    ],
)
def test_store_sample_reports_the_figures_of_the_raw_responses(sample: str) -> None:
    raw = _report(DATA / "raw-responses.jsonl")["overall"]
    store = _report(SAMPLES / sample)["overall"]
    assert {k: store[k] for k in FIGURES} == {k: raw[k] for k in FIGURES}
    assert raw["cost_total"] == "0.039623490000"
    assert raw["tokens_reasoning_sum"] == 455


def test_report_shows_logged_cost_beside_traceviz_price() -> None:
    logged = _report(SAMPLES / "litellm-spendlogs.json")["logged_cost"]
    assert logged == [
        # LiteLLM priced R1 from its undated map (September 2025 prices): traceviz's dated
        # catalog gives the March 2025 price
        {
            "model": "deepseek-reasoner",
            "traces": 1,
            "cost_logged": "0.000169680000",
            "cost_traceviz": "0.000218490000",
            "difference": "0.000048810000",
            "difference_share": 0.287659,
        },
        {
            "model": "o1-2024-12-17",
            "traces": 1,
            "cost_logged": "0.039405000000",
            "cost_traceviz": "0.039405000000",
            "difference": "0",
            "difference_share": 0.0,
        },
    ]
    result = CliRunner().invoke(
        main, ["report", str(SAMPLES / "litellm-spendlogs.json"), "--format", "md", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "| deepseek-reasoner | 1 | $0.000170 | $0.000218 | $0.000049 | 28.8% |" in result.stdout
    assert Decimal(logged[0]["cost_traceviz"]) == Decimal("0.00021849")


# --- damaged store records are quarantined or skipped, never a crash ------------------------

STORE_RECORDS = [
    json.loads(line)
    for name in ("otel-genai.jsonl", "langfuse-observations.jsonl", "helicone-export.jsonl")
    for line in (SAMPLES / name).read_text().splitlines()
] + json.loads((SAMPLES / "litellm-spendlogs.json").read_text())
JUNK = st.sampled_from(
    [None, 0, -1, 1.5, "", "x", "{bad", "[1]", [], {}, [1, 2], {"a": 1}, True, "9" * 20]
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, inner in items:
        found += _paths(inner, (*path, key))
    return found


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.data())
def test_damaged_store_records_never_crash(data: st.DataObject) -> None:
    record = copy.deepcopy(data.draw(st.sampled_from(STORE_RECORDS)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(record)))
        target = record
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = copy.deepcopy(data.draw(JUNK))
    stats = IngestStats()
    out = list(Normalizer(stats).run([RawRecord("damaged.jsonl", 1, record)]))
    assert stats.read == stats.parsed + stats.quarantined + stats.skipped
    assert all(isinstance(o, Trace | Quarantined) for o in out)
