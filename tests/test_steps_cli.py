"""`traceviz steps` and `traceviz show`."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from click.testing import CliRunner

from traceviz.cli import main

R1_ID = "930c60df-bf64-41c9-a88e-3ec75f81e00e"


def test_steps_writes_table(runner: CliRunner, samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "steps.parquet"
    result = runner.invoke(main, ["steps", str(samples), "-o", str(out), "--kinds"])
    assert result.exit_code == 0, result.output
    table = pl.read_parquet(out)
    assert table.columns == [
        "trace_id",
        "step",
        "start",
        "end",
        "tokens",
        "kind",
        "kind_confidence",
        "marker",
        "thought",
    ]
    r1 = table.filter(trace_id=R1_ID)
    assert r1["marker"].to_list() == ["Okay", None, "Wait", "So"]
    assert "Step kinds (share of steps)" in result.stdout


def test_show_prints_steps_and_metrics(runner: CliRunner, samples: Path) -> None:
    result = runner.invoke(main, ["show", R1_ID, str(samples)], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "[1] " in result.stdout
    assert "Wait, 0.11 is less than 0.80." in result.stdout
    assert "reflection_words" in result.stdout


def test_show_escapes_control_characters(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "evil.jsonl"
    log.write_text(
        '{"id": "evil", "object": "chat.completion", "model": "deepseek-reasoner", "choices": [{"message":'
        ' {"content": "<script>alert(1)</script>", "reasoning_content": "Clear \\u001b[2J the screen now.'
        ' Then ring \\u0007 the bell."}}]}\n'
    )
    result = runner.invoke(main, ["show", "evil", str(log)])
    assert result.exit_code == 0, result.output
    assert "\x1b[2J" not in result.stdout
    assert "\\x1b[2J" in result.stdout
    assert "\x07" not in result.stdout
    page = tmp_path / "t.html"
    result = runner.invoke(main, ["show", "evil", str(log), "--html", str(page)])
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_show_unknown_trace(runner: CliRunner, samples: Path) -> None:
    result = runner.invoke(main, ["show", "nope", str(samples / "deepseek-reasoner.json")])
    assert result.exit_code == 1
    assert "Error: no trace 'nope' in " in result.stderr
