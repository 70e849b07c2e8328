"""`traceviz audit`: rules, violations, and exit codes 0, 1, 2 and 3."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from traceviz.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_rules_that_hold_exit_0(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["audit", str(SAMPLES), "--budget", "100", "--max-looping-share", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 2 rules hold over 44 traces\n"


def test_failing_rules_exit_3_with_worst_traces(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "violations.json"
    args = ["audit", str(SAMPLES), "--max-cost-per-response", "0.05", "--max-reasoning-tokens", "3000",
            "--by", "provider", "--json", str(out)]  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 3, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "FAIL max_reasoning_tokens [openai]: 4,000 > 3,000"
        "  worst: chatcmpl-AqZ2b1LmN0, resp_68a1f0c2d4e8819a, chatcmpl-AqZ1x7Qf3s"
    )
    assert any(line.startswith("FAIL max_cost_per_response [openai]: $0.2414") for line in lines)
    document = json.loads(out.read_text())
    assert {v["rule"] for v in document["violations"]} == {
        "max_cost_per_response",
        "max_reasoning_tokens",
    }


def test_rules_file_and_budget(runner: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "spend.toml"
    rules.write_text("[rules]\nbudget = 0.10\n")
    result = runner.invoke(main, ["audit", str(SAMPLES), "--rules", str(rules)])
    assert result.exit_code == 3
    assert result.stdout.startswith("FAIL budget [all]: $0.5420")


def test_usage_and_run_errors(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["audit", str(SAMPLES)])
    assert result.exit_code == 2
    assert "No rules given." in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("nonsense = 1\n")
    result = runner.invoke(main, ["audit", str(SAMPLES), "--rules", str(bad)])
    assert result.exit_code == 1
    assert "unknown rules ['nonsense']" in result.stderr


def test_a_non_number_in_a_rules_file_names_the_file_and_rule(
    runner: CliRunner, tmp_path: Path
) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text('budget = "abc"\n')
    result = runner.invoke(main, ["audit", str(SAMPLES), "--rules", str(rules)])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: {rules}: rule 'budget' is not a number: 'abc'\n\n"
        "Write it as a number, e.g. `budget = 25.0`.\n"
    )
