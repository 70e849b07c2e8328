"""`traceviz count`: summaries of logs and plain-text counts."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from generated_logs import generate

from traceviz import pipeline, tokens
from traceviz.cli import main
from traceviz.pipeline import analyze


def test_count_text_prints_the_number_last(runner: CliRunner) -> None:
    text = "The answer is \\boxed{42}.\n"
    for name in tokens.TOKENIZERS:
        result = runner.invoke(main, ["count", "--text", "--tokenizer", name], input=text)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == str(len(tokens.Counter(name).encode(text)))


def test_count_by_model(runner: CliRunner, samples: Path) -> None:
    result = runner.invoke(main, ["count", str(samples), "--by", "model"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "deepseek-reasoner" in result.stdout
    assert "o1-2024-12-17" in result.stdout
    assert "counted with a fallback tokenizer (estimates)" in result.stdout
    assert result.stderr.startswith("read ")


def test_a_second_count_reads_the_cache_and_prints_the_same(
    runner: CliRunner, samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["count", str(samples), "--by", "model", "--cache-dir", str(tmp_path / "cache")]
    cold = runner.invoke(main, args)
    assert cold.exit_code == 0, cold.output
    assert any((tmp_path / "cache").iterdir())

    def measured(*_: object) -> None:
        msg = "a file was measured"
        raise AssertionError(msg)

    monkeypatch.setattr(pipeline, "measure", measured)
    warm = runner.invoke(main, args)
    assert warm.exit_code == 0, warm.output
    assert (warm.stdout, warm.stderr) == (cold.stdout, cold.stderr)
    uncached = runner.invoke(main, [*args, "--no-cache"])
    assert "AssertionError: a file was measured" in uncached.stderr  # --no-cache measures


def test_count_needs_paths_or_text(runner: CliRunner) -> None:
    result = runner.invoke(main, ["count"])
    assert result.exit_code == 2
    assert "Give PATHS to count, or --text to count stdin." in result.stderr


def test_generated_log_reconciles(tmp_path: Path) -> None:
    log = tmp_path / "logs.jsonl"
    records = generate(log, 150_000, seed=3)
    traces = analyze([log]).traces
    assert traces.height == records
    assert set(traces["tokenizer"]) == {"deepseek-v3", "o200k_base"}
    # the generator bills exact counts (R1: + 3 template tokens) with noise in {-1, 0, 1, 2}
    assert set(traces["usage_drift"]) <= {-2, -1, 0, 1}
    r1 = traces.filter(pl.col("tokenizer") == "deepseek-v3")
    assert r1["usage_reasoning_drift"].to_list() == [0] * r1.height
    o1 = traces.filter(pl.col("tokenizer") == "o200k_base")
    assert o1["usage_reasoning_drift"].null_count() == o1.height
    assert (o1["reasoning_tokens"] == o1["usage_reasoning"]).all()


def test_count_prints_the_drift_distribution(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "logs.jsonl"
    generate(log, 60_000, seed=3)
    result = runner.invoke(main, ["count", str(log), "--by", "tokenizer"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Usage drift: counted minus billed tokens" in result.stdout
    assert "│ deepseek-v3 │ reasoning │" in result.stdout
    assert ", 0 quarantined" in result.stderr


def test_count_text_defaults_to_o200k(runner: CliRunner) -> None:
    result = runner.invoke(main, ["count", "--text"], input="hello world")
    assert result.exit_code == 0, result.output
    assert result.stdout == "2\n"


def test_count_strict_stops_at_a_bad_record(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_text('{"id":"x","object":"chat.completion","choices":"oops"}\n')
    result = runner.invoke(main, ["count", str(log), "--strict"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {log}:1: openai-chat: choices is not a list\n\n"
        "Drop --strict to quarantine bad records and go on.\n"
    )
    quarantine = tmp_path / "q.jsonl"
    result = runner.invoke(main, ["count", str(log), "--quarantine", str(quarantine)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote 1 quarantined records to {quarantine}" in result.stderr


def test_count_says_what_hidden_reasoning_bills_beside_the_text() -> None:
    # `count o1.jsonl` showed "–" for o1's reasoning and "2 traces": nothing said that
    # o1 billed reasoning the text does not hold, which `report` counts
    log = Path(__file__).resolve().parent.parent / "samples" / "openai-chat-o1.jsonl"
    billed = sum(
        json.loads(line)["usage"]["completion_tokens_details"]["reasoning_tokens"]
        for line in log.read_text().splitlines()
    )
    result = CliRunner().invoke(main, ["count", str(log)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Tokens in the text")
    caption = " ".join(result.stdout.split())  # the caption wraps at the table's width
    assert (
        f"all: 2 traces; 2 with hidden reasoning, not in the text ({billed:,} tokens billed;"
        in caption
    )
