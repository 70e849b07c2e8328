"""OTLP/JSON lines made by the real OpenTelemetry SDK, as the Collector's file exporter
writes them: spans recorded by a `TracerProvider`, encoded by the OTLP exporter's own
encoder, then mapped to proto3 JSON with the OTLP deviations (lowerCamelCase keys,
enums as integers, int64 as decimal strings, trace and span ids in hex).

`python tests/otlp.py > samples/otel-genai.jsonl` rewrites the sample from `SAMPLE`.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind

_IDS = ("traceId", "spanId", "parentSpanId")


class _SeededIds(IdGenerator):
    """Ids from a seeded generator, so a test's spans are the same on every run."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self.random.getrandbits(64)

    def generate_trace_id(self) -> int:
        return self.random.getrandbits(128)


@dataclass
class Span:
    """A span to record: its name, GenAI attributes, start (Unix ns) and children."""

    name: str
    attributes: Mapping[str, Any]
    start_ns: int
    kind: SpanKind = SpanKind.CLIENT
    duration_ns: int = 2_500_000_000
    children: list[Span] = field(default_factory=list)


def otlp_line(
    spans: Sequence[Span], scope: str = "opentelemetry.instrumentation.openai_v2", seed: int = 7
) -> str:
    """One JSON line holding `spans` (and their children) as the file exporter writes it."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource({"service.name": "support-bot"}), id_generator=_SeededIds(seed)
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer(scope, "2.1b0")

    def record(span: Span) -> None:
        with tracer.start_as_current_span(
            span.name,
            kind=span.kind,
            attributes=dict(span.attributes),
            start_time=span.start_ns,
            end_on_exit=False,
        ) as live:
            for child in span.children:
                record(child)
            live.end(end_time=span.start_ns + span.duration_ns)

    for span in spans:
        record(span)
    request = encode_spans(exporter.get_finished_spans())
    document = MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for item in scope_spans["spans"]:
                for key in _IDS:
                    if key in item:
                        item[key] = base64.b64decode(item[key]).hex()
    provider.shutdown()
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


# The sample: a DeepSeek-R1 call under an agent span with a tool call (current semantic
# conventions, content as JSON strings), then an o1 call logged by OpenLLMetry's legacy
# attributes (indexed prompt and completion, its own usage names).
R1_REASONING = (
    "Let me compute 17 * 23. 17 * 20 = 340 and 17 * 3 = 51, so 340 + 51 = 391. "
    "Check: 23 * 17 = 230 + 161 = 391. Yes."
)
R1_ANSWER = "17 × 23 = **391**."
O1_ANSWER = "The capital of Australia is Canberra."
R1_START = 1741688100_000_000_000  # 2025-03-11T10:15:00Z
O1_START = 1741690800_000_000_000  # 2025-03-11T11:00:00Z

SAMPLE = [
    [
        Span(
            "invoke_agent math-helper",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "math-helper"},
            R1_START - 1_000_000_000,
            kind=SpanKind.INTERNAL,
            duration_ns=9_000_000_000,
            children=[
                Span(
                    "chat deepseek-reasoner",
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "deepseek",
                        "gen_ai.request.model": "deepseek-reasoner",
                        "gen_ai.response.model": "deepseek-reasoner",
                        "gen_ai.response.id": "7c1e2f7a-58a4-4a8e-9f0e-2d3c1b0a9e11",
                        "gen_ai.response.finish_reasons": ("stop",),
                        "gen_ai.usage.input_tokens": 15,
                        "gen_ai.usage.output_tokens": 96,
                        "gen_ai.usage.reasoning.output_tokens": 71,
                        "gen_ai.input.messages": json.dumps(
                            [
                                {
                                    "role": "user",
                                    "parts": [{"type": "text", "content": "What is 17 * 23?"}],
                                }
                            ]
                        ),
                        "gen_ai.output.messages": json.dumps(
                            [
                                {
                                    "role": "assistant",
                                    "parts": [
                                        {"type": "reasoning", "content": R1_REASONING},
                                        {"type": "text", "content": R1_ANSWER},
                                    ],
                                    "finish_reason": "stop",
                                }
                            ],
                            ensure_ascii=False,
                        ),
                    },
                    R1_START,
                ),
                Span(
                    "execute_tool calculator",
                    {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "calculator"},
                    R1_START + 3_000_000_000,
                    kind=SpanKind.INTERNAL,
                    duration_ns=10_000_000,
                ),
            ],
        )
    ],
    [
        Span(
            "openai.chat",
            {
                "llm.request.type": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "o1",
                "gen_ai.response.model": "o1-2024-12-17",
                "gen_ai.response.id": "chatcmpl-B9x0Lq2sWm",
                "gen_ai.usage.prompt_tokens": 1843,
                "gen_ai.usage.completion_tokens": 420,
                "gen_ai.usage.cache_read_input_tokens": 1792,
                "gen_ai.usage.reasoning_tokens": 384,
                "llm.usage.total_tokens": 2263,
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": "Name the capital of Australia.",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": O1_ANSWER,
                "gen_ai.completion.0.finish_reason": "stop",
            },
            O1_START,
        )
    ],
]
SAMPLE_SCOPES = (
    "opentelemetry.instrumentation.openai_v2",
    "opentelemetry.instrumentation.openai.v1",
)


def sample_lines() -> list[str]:
    return [
        otlp_line(spans, scope, seed=index)
        for index, (spans, scope) in enumerate(zip(SAMPLE, SAMPLE_SCOPES, strict=True))
    ]


if __name__ == "__main__":
    print("\n".join(sample_lines()))
