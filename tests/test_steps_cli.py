"""`traceviz steps` and `traceviz show`."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from traceviz import report
from traceviz.cli import main
from traceviz.pipeline import analyze
from traceviz.report import kind_shares
from traceviz.schema import KIND, MODEL, STEPS_SCHEMA, TRACE_ID

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

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


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_steps_of_no_trace_is_an_empty_steps_table(
    runner: CliRunner, tmp_path: Path, suffix: str
) -> None:
    """A run without a step still writes the steps table's columns, not the traces'."""
    log = tmp_path / "hidden.jsonl"  # o1: billed reasoning, none of it shown
    log.write_text((SAMPLES / "openai-chat-o1.jsonl").read_text())
    out = tmp_path / f"steps{suffix}"
    result = runner.invoke(main, ["steps", str(log), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.endswith(f"wrote 0 steps of 2 traces to {out}\n")
    if suffix == ".parquet":
        assert pl.read_parquet(out).schema == pl.Schema(STEPS_SCHEMA)
    elif suffix == ".csv":
        assert out.read_text().splitlines() == [",".join(STEPS_SCHEMA)]
    else:  # JSON Lines name their columns in each row, so no row: nothing
        assert out.read_bytes() == b""


def test_an_unknown_table_suffix_is_refused_before_reading(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "steps.txt"
    result = runner.invoke(main, ["steps", str(tmp_path / "missing.jsonl"), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {out}: cannot write a table with suffix '.txt'\n\n"
        "Use a name ending in .parquet, .jsonl or .csv.\n"
    )
    assert not out.exists()


def test_kind_mix_is_the_reports(samples: Path) -> None:
    """`steps --kinds` and the report's step-kind section share one composition: the
    streamed counts of batches, combined, give the report's shares exactly."""
    analysis = analyze([samples])
    built = report.build(analysis.traces, analysis.steps, analysis.stats, [MODEL])
    halves = [analysis.traces.head(20), analysis.traces.tail(analysis.traces.height - 20)]
    counts = kind_shares.combine([kind_shares.count(t, None, [MODEL]) for t in halves], [MODEL])
    assert counts is not None
    assert counts.summed
    streamed = kind_shares.shares(counts, [MODEL])
    assert_frame_equal(streamed, built.kinds, check_exact=False, rel_tol=1e-12)
    one_go = kind_shares.shares(kind_shares.count(analysis.traces, None, [MODEL]), [MODEL])
    assert_frame_equal(one_go, built.kinds)
    shares = streamed.group_by(MODEL).agg(pl.col(kind_shares.SHARE).sum())
    assert all(abs(total - 1) < 1e-9 for total in shares[kind_shares.SHARE])


def test_kind_shares_fall_back_to_the_steps_table() -> None:
    """Without per-trace kind columns, each step of the table counts once."""
    traces = pl.DataFrame({TRACE_ID: ["a", "b"], MODEL: ["m", "n"]})
    steps = pl.DataFrame({TRACE_ID: ["a", "a", "a", "b"], KIND: ["plan", "plan", "final", "plan"]})
    counts = kind_shares.count(traces, steps, [MODEL])
    assert not counts.summed
    shares = kind_shares.shares(counts, [MODEL])
    assert shares.rows() == [
        ("m", "final", 1.0, 1 / 3),
        ("m", "plan", 2.0, 2 / 3),
        ("n", "plan", 1.0, 1.0),
    ]
    assert kind_shares.combine([], [MODEL]) is None


def test_kind_table_orders_ties_by_name(runner: CliRunner, samples: Path, tmp_path: Path) -> None:
    """Models with as many steps are listed by name, the same on every run."""
    args = ["steps", str(samples), "--kinds", "-o", str(tmp_path / "s.parquet")]
    result = runner.invoke(main, args, terminal_width=100)
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if line.rstrip().endswith("%")]
    steps = [int(row[1].replace(",", "")) for row in rows]
    assert steps == sorted(steps, reverse=True)
    ones = [row[0] for row in rows if row[1] == "1"]
    assert ones == ["Qwen/QwQ-32B", "deepseek-ai/D…", "deepseek-r1-d…", "qwen-qwq-32b", "qwen3:4b"]
