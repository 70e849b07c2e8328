"""Rows of public reasoning-trace datasets: OpenR1-Math and OpenThoughts.

- OpenR1-Math (`problem`, `answer`, `generations[]`, `finish_reasons[]`,
  `correctness_math_verify[]`): one trace per generation, the lists aligned by index.
  The generations were written by DeepSeek-R1 (the dataset card says so, and the rows
  do not name a model), so provider and model are "deepseek-r1".
- OpenThoughts `default` config (`system`, `conversations[{from, value}]`): the
  assistant turn holds `<|begin_of_thought|>…<|end_of_thought|>` then
  `<|begin_of_solution|>…<|end_of_solution|>`.
- OpenThoughts `metadata` config (`problem`, `deepseek_reasoning`, `deepseek_solution`,
  `ground_truth_solution`).
Datasets log no usage and no time: those columns stay null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traceviz.ingest import RawRecord
from traceviz.normalize import think_tags
from traceviz.normalize.fields import ShapeError, text
from traceviz.schema import Trace

OPENR1 = "openr1-math"
OPENTHOUGHTS = "openthoughts"
OPENTHOUGHTS_METADATA = "openthoughts-metadata"
DATASET_MODEL = "deepseek-r1"


def detect_openr1(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("generations"), list)


def detect_openthoughts(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("conversations"), list)


def detect_openthoughts_metadata(value: Any) -> bool:
    return isinstance(value, Mapping) and "deepseek_reasoning" in value


def normalize_openr1(record: RawRecord) -> list[Trace]:
    row: Mapping[str, Any] = record.value
    generations = row["generations"]
    count = len(generations)
    finish = _aligned(row.get("finish_reasons"), count, "finish_reasons")
    correct = _aligned(row.get("correctness_math_verify"), count, "correctness_math_verify")
    uuid = text(row.get("uuid"), "uuid")
    traces = []
    for i, generation in enumerate(generations):
        parts = think_tags.split(text(generation, f"generations[{i}]") or "")
        finish_reason = text(finish[i], f"finish_reasons[{i}]")
        verdict = correct[i]
        if verdict is not None and not isinstance(verdict, bool):
            msg = f"correctness_math_verify[{i}] is not a boolean"
            raise ShapeError(msg)
        traces.append(
            Trace(
                source=record.source,
                line=record.line,
                format=OPENR1,
                provider=DATASET_MODEL,
                model=DATASET_MODEL,
                prompt=text(row.get("problem"), "problem"),
                reasoning=parts.reasoning,
                answer=parts.answer,
                finish_reason=finish_reason,
                truncated=parts.truncated or finish_reason == "length",
                reference_answer=text(row.get("answer"), "answer"),
                correct_logged=verdict,
                trace_id=f"{uuid}#{i}" if uuid else None,
            )
        )
    return traces


def normalize_openthoughts(record: RawRecord) -> list[Trace]:
    row: Mapping[str, Any] = record.value
    prompt = None
    reply = None
    for turn in row["conversations"]:
        if not isinstance(turn, Mapping):
            msg = "conversations[] is not an object"
            raise ShapeError(msg)
        who = turn.get("from")
        if who in ("user", "human") and prompt is None:
            prompt = text(turn.get("value"), "conversations[].value")
        elif who in ("assistant", "gpt"):
            reply = text(turn.get("value"), "conversations[].value")
    if reply is None:
        msg = "conversations has no assistant turn"
        raise ShapeError(msg)
    parts = think_tags.split(reply)
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=OPENTHOUGHTS,
            provider=DATASET_MODEL,
            model=DATASET_MODEL,
            prompt=prompt,
            reasoning=parts.reasoning,
            answer=parts.answer,
            truncated=parts.truncated,
        )
    ]


def normalize_openthoughts_metadata(record: RawRecord) -> list[Trace]:
    row: Mapping[str, Any] = record.value
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=OPENTHOUGHTS_METADATA,
            provider=DATASET_MODEL,
            model=DATASET_MODEL,
            prompt=text(row.get("problem"), "problem"),
            reasoning=text(row.get("deepseek_reasoning"), "deepseek_reasoning"),
            answer=text(row.get("deepseek_solution"), "deepseek_solution") or "",
            reference_answer=text(row.get("ground_truth_solution"), "ground_truth_solution"),
        )
    ]


def _aligned(values: Any, count: int, name: str) -> list[Any]:
    """A per-generation list, or a list of None when the dataset left it null."""
    if values is None:
        return [None] * count
    if not isinstance(values, list) or len(values) != count:
        msg = f"{name} is not a list aligned with generations"
        raise ShapeError(msg)
    return values
