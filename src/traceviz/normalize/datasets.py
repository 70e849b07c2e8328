"""Rows of public reasoning-trace datasets, whose generations were written by DeepSeek-R1.

- OpenR1-Math (`problem`, `answer`, `generations[]`, `finish_reasons[]`,
  `correctness_math_verify[]`): one trace per generation, the lists aligned by index.
- OpenThoughts, `default` config (`system`, `conversations[{from, value}]`, the
  assistant turn in `<|begin_of_thought|>…<|end_of_thought|>` and
  `<|begin_of_solution|>…<|end_of_solution|>`), and its `metadata` config (`problem`,
  `deepseek_reasoning`, `deepseek_solution`, `ground_truth_solution`).

Both datasets were generated with DeepSeek-R1, so the model is `deepseek-r1` (counted
with its tokenizer, priced as `deepseek-reasoner` as of the date the user gives).
They carry no usage: counts fill it in.
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
MODEL = "deepseek-r1"


def detect_openr1(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and "problem" in value
        and isinstance(value.get("generations"), list)
    )


def detect_openthoughts(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    return isinstance(value.get("conversations"), list) or (
        "deepseek_reasoning" in value and "problem" in value
    )


def normalize_openr1(record: RawRecord) -> list[Trace]:
    row: Mapping[str, Any] = record.value
    problem = text(row.get("problem"), "problem")
    reference = _reference(row.get("answer"))
    finish = _aligned(row, "finish_reasons")
    correct = _aligned(row, "correctness_math_verify")
    traces = []
    for index, generation in enumerate(row["generations"]):
        output = text(generation, f"generations[{index}]") or ""
        parts = think_tags.split(output)
        reason = finish[index] if index < len(finish) else None
        verdict = correct[index] if index < len(correct) else None
        traces.append(
            Trace(
                source=record.source,
                line=record.line,
                format=OPENR1,
                provider="deepseek",
                model=MODEL,
                prompt=problem,
                reasoning=parts.reasoning,
                answer=parts.answer,
                finish_reason=text(reason, "finish_reasons[]"),
                truncated=parts.truncated or reason == "length",
                reference_answer=reference,
                correct_logged=verdict if isinstance(verdict, bool) else None,
                batch=record.batch,
            )
        )
    return traces


def normalize_openthoughts(record: RawRecord) -> list[Trace]:
    row: Mapping[str, Any] = record.value
    if "deepseek_reasoning" in row:
        reasoning = text(row.get("deepseek_reasoning"), "deepseek_reasoning")
        answer = text(row.get("deepseek_solution"), "deepseek_solution") or ""
        prompt = text(row.get("problem"), "problem")
        truncated = False
        reference = _reference(row.get("ground_truth_solution"))
    else:
        prompt, output = _conversation(row["conversations"])
        parts = think_tags.split(output)
        reasoning, answer, truncated = parts.reasoning, parts.answer, parts.truncated
        reference = None
    return [
        Trace(
            source=record.source,
            line=record.line,
            format=OPENTHOUGHTS,
            provider="deepseek",
            model=MODEL,
            prompt=prompt,
            reasoning=reasoning,
            answer=answer,
            truncated=truncated,
            reference_answer=reference,
            batch=record.batch,
        )
    ]


def _conversation(turns: list[Any]) -> tuple[str | None, str]:
    prompts: list[str] = []
    output = ""
    for position, turn in enumerate(turns):
        if not isinstance(turn, Mapping):
            msg = f"conversations[{position}] is not an object"
            raise ShapeError(msg)
        body = text(turn.get("value"), f"conversations[{position}].value") or ""
        if turn.get("from") in ("assistant", "gpt"):
            output = body
        else:
            prompts.append(body)
    return ("\n\n".join(prompts) or None), output


def _aligned(row: Mapping[str, Any], key: str) -> list[Any]:
    values = row.get(key)
    if values is None:
        return []
    if not isinstance(values, list):
        msg = f"{key} is not a list"
        raise ShapeError(msg)
    return values


def _reference(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return text(value, "answer")
