"""A response with several choices (`n > 1`) is billed once: its logged usage is shared
among its choices' traces, so the traces add up to the bill, whatever the shape (a
response, a stream, an OTel span) and however many choices it has."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner

import traceviz
from traceviz.cli import main
from traceviz.normalize.choices import shares

REASONING = "Let me compute 17 times 23. 17 times 20 is 340, and 3 more 17s are 51: 391."


def _response(choices: int, usage: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "cmpl-n",
        "object": "chat.completion",
        "created": 1741000000,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": "391" * (i + 1), **extra},
                "finish_reason": "stop",
            }
            for i in range(choices)
        ],
        "usage": usage,
    }


def _traces(tmp_path: Path, records: list[dict[str, Any]], name: str = "t.jsonl") -> pl.DataFrame:
    log = tmp_path / name
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    return traceviz.analyze(log).traces


USAGE = {
    "prompt_tokens": 20,
    "completion_tokens": 192,
    "prompt_tokens_details": {"cached_tokens": 8},
    "completion_tokens_details": {"reasoning_tokens": 150},
}


def test_a_response_costs_its_bill_however_many_choices_it_has(tmp_path: Path) -> None:
    # 4 choices with usage 20 / 192 were priced as 20 / 192 on choice 0 plus each other
    # choice counted again from its text: $0.000819 for a bill of $0.000431
    one = _traces(tmp_path, [_response(1, USAGE, reasoning_content=REASONING)], "one.jsonl")
    four = _traces(tmp_path, [_response(4, USAGE, reasoning_content=REASONING)], "four.jsonl")
    assert four.height == 4
    for column in ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens"):
        assert four[column].sum() == one[column].sum(), column
    assert four["cost_total"].sum() == one["cost_total"].sum()
    assert four["usage_split"].to_list() == [True] * 4
    assert one["usage_split"].to_list() == [False]
    # the prompt is billed with the first choice, and no choice shows a drift it cannot have
    assert four["input_tokens"].to_list() == [20, 0, 0, 0]
    assert four["usage_drift"].null_count() == 4


def test_hidden_reasoning_is_shared_evenly_and_answers_by_their_length(tmp_path: Path) -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 600}
    usage["completion_tokens_details"] = {"reasoning_tokens": 400}  # type: ignore[assignment]
    record = _response(2, usage)
    record["model"] = "o1-2024-12-17"
    traces = _traces(tmp_path, [record])
    assert traces["reasoning_tokens"].to_list() == [200, 200]
    assert traces["output_tokens"].sum() == 600
    # answers "391" and "391391": 200 answer tokens in proportion 1 : 2
    assert (traces["output_tokens"] - traces["reasoning_tokens"]).to_list() == [67, 133]


def test_a_stream_of_two_choices_adds_up_to_its_usage(tmp_path: Path) -> None:
    chunks = []
    for index, piece in [(0, "Zero thinks "), (1, "One thinks "), (0, "hard."), (1, "softly.")]:
        delta = {"reasoning_content": piece}
        chunks.append({"index": index, "delta": delta, "finish_reason": None})
    chunks += [{"index": i, "delta": {"content": f"A{i}"}, "finish_reason": "stop"} for i in (0, 1)]
    lines = [
        {
            "id": "chatcmpl-s2",
            "object": "chat.completion.chunk",
            "created": 1741000000,
            "model": "deepseek-reasoner",
            "choices": [chunk],
        }
        for chunk in chunks
    ]
    lines.append(
        {**lines[0], "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 20}}
    )
    sse = tmp_path / "s.sse"
    sse.write_text("".join(f"data: {json.dumps(line)}\n\n" for line in lines) + "data: [DONE]\n\n")
    traces = traceviz.analyze(sse).traces
    assert traces.height == 2
    assert traces["output_tokens"].sum() == 20
    assert traces["input_tokens"].sum() == 10


def test_a_prompt_text_is_counted_once_when_no_usage_is_logged(tmp_path: Path) -> None:
    response = _response(3, {}, reasoning_content=REASONING)
    del response["usage"]
    prompt = {"messages": [{"role": "user", "content": "What is 17 times 23?"}]}
    wrapped = _traces(tmp_path, [{"request": prompt, "response": response}])
    assert wrapped.height == 3
    assert wrapped["tokens_prompt"][0] > 0
    assert wrapped["input_tokens"].to_list() == [wrapped["tokens_prompt"][0], 0, 0]
    # with no usage at all, each choice's output is its own text, counted
    counted = wrapped.select(
        pl.sum_horizontal("tokens_reasoning", "tokens_answer", "tokens_template")
    )
    assert wrapped["output_tokens"].to_list() == counted.to_series().to_list()


def test_the_report_says_the_usage_was_split(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text(json.dumps(_response(4, USAGE, reasoning_content=REASONING)) + "\n")
    result = CliRunner().invoke(main, ["report", str(log), "--no-cache", "--format", "md"])
    assert result.exit_code == 0, result.output
    assert "the usage of 1 response with several choices split among their 4 choices" in (
        result.stdout
    )


def test_shares_add_up_and_follow_the_weights() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        weights = [rng.choice([0, 0, 1, 5, 40, 1000]) for _ in range(rng.randint(1, 6))]
        total = rng.randint(0, 10_000)
        found = shares(total, weights)
        assert sum(found) == total
        if any(weights):
            exact = [total * w / sum(weights) for w in weights]
            assert all(abs(f - e) < 1 for f, e in zip(found, exact, strict=True))
            assert all(f == 0 for f, w in zip(found, weights, strict=True) if w == 0)


def test_the_headline_counts_responses_not_choices(tmp_path: Path) -> None:
    # "Responses read: 6" was printed for 2 responses of 3 choices each
    log = tmp_path / "n3.jsonl"
    log.write_text(
        "".join(
            json.dumps(_response(3, USAGE, reasoning_content=REASONING) | {"id": f"c-{i}"}) + "\n"
            for i in range(2)
        )
    )
    args = ["report", str(log), "--no-cache", "-q"]
    document = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    assert (document["headline"]["responses"], document["headline"]["choices"]) == (2, 6)
    assert (document["ingest"]["responses"], document["ingest"]["traces"]) == (2, 6)
    line = "Responses read: 2 (6 choices) from 2 records in 1 files (0 quarantined, 0 skipped)"
    assert document["headline"]["lines"][0] == line
    assert document["headline"]["lines"][1].endswith("for 6 priced choices")
    for fmt in ("md", "html", "terminal"):
        result = CliRunner().invoke(main, [*args, "--format", fmt], terminal_width=200)
        assert result.exit_code == 0, result.output
        text = result.stdout.replace("**", "")
        assert "Responses read: 2 (6 choices)" in text or (
            '<div class="value">2 (6 choices)</div>' in text
        ), fmt
        assert "6 traces (2 responses)" in text, fmt


def test_the_cost_per_response_is_a_whole_response_however_many_choices(tmp_path: Path) -> None:
    # "per response" divided by the choices: a quarter of the bill for 1 response of 4
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(_response(1, USAGE, reasoning_content=REASONING)) + "\n")
    four = tmp_path / "four.jsonl"
    four.write_text(json.dumps(_response(4, USAGE, reasoning_content=REASONING)) + "\n")
    figures = {}
    for log in (one, four):
        args = ["report", str(log), "--no-cache", "-q", "--vs", "o1", "--format", "json"]
        figures[log.stem] = json.loads(CliRunner().invoke(main, args).stdout)
    for name, document in figures.items():
        overall = document["overall"]
        assert overall["cost_per_response"] == overall["cost_total"], name
    assert figures["four"]["overall"]["cost_total"] == figures["one"]["overall"]["cost_total"]
    # the what-if compares 4 choices (traces), and says so
    for name, ending in (("four", "actual, 4 choices"), ("one", "actual, 1 response")):
        lines = figures[name]["headline"]["lines"]
        (whatif,) = (line for line in lines if line.startswith("What if"))
        assert whatif.endswith(ending), whatif


def test_the_audit_holds_a_whole_response_to_the_cost_limit(tmp_path: Path) -> None:
    # 4 choices of one $0.000431 response, each under $0.0003: audit said ok
    log = tmp_path / "four.jsonl"
    log.write_text(json.dumps(_response(4, USAGE, reasoning_content=REASONING)) + "\n")
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(_response(1, USAGE, reasoning_content=REASONING)) + "\n")
    costs = _traces(tmp_path, [_response(4, USAGE, reasoning_content=REASONING)], "t.jsonl")
    each: list[Decimal] = costs["cost_total"].to_list()
    whole = sum(each, Decimal(0))
    assert max(each) < Decimal("0.0003") < whole
    for path in (one, log):
        args = ["audit", str(path), "--no-cache", "--max-cost-per-response", "0.0003"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 3, result.output
        assert result.stdout.startswith(
            f"FAIL max_cost_per_response [all]: ${whole.normalize()} >"
        ), result.stdout
        assert "worst: cmpl-n\n" in result.stdout  # the response, named by its first choice
