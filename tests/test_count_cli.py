"""`traceviz count`: summaries of logs and plain-text counts."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from traceviz import tokens
from traceviz.cli import main


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


def test_count_needs_paths_or_text(runner: CliRunner) -> None:
    result = runner.invoke(main, ["count"])
    assert result.exit_code == 2
    assert "Give PATHS to count, or --text to count stdin." in result.stderr
