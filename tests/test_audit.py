"""`traceviz audit`: rules, violations, and exit codes 0, 1, 2 and 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tagged_logs import chat, write

from traceviz.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_rules_that_hold_exit_0(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["audit", str(SAMPLES), "--budget", "100", "--max-looping-share", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (  # 10 sample traces name a model the catalog does not price
        "WARNING [all]: 10 of 44 traces not priced; budget checked over the 34 priced\n"
        # and 2 calls are in both the Helicone export and the OTel spans
        "WARNING [all]: 2 responses logged more than once (by logged response_id and"
        " choice), in 4 records: 2 repeats holding $0.0396 (7.3% of the spend) counted"
        " again; rules checked over every copy\n"
        "ok: 2 rules hold over 44 traces (budget: over 34 priced traces of 44; 10 not priced);"
        " 2 traces repeat others (see the WARNING)\n"
    )


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


def test_overthinking_share_rule_per_group() -> None:
    import report_fixtures as fixture

    from traceviz.report import audit

    traces = fixture.priced()  # R1: $0.15 of $0.40 reasoning after the first answer
    outcome = audit.evaluate(traces, {"max_overthinking_share": 0.3}, ["model"], 0, 3)
    assert [v.shown() for v in outcome.violations] == [
        "max_overthinking_share [deepseek-reasoner]: 0.375 > 0.300"
    ]
    assert outcome.violations[0].worst == ["r1-a", "r1-b"]
    # o1 hides its reasoning: nothing measured, so its group cannot fail the rule
    held = audit.evaluate(traces, {"max_overthinking_share": 0.4}, ["model"], 0, 3)
    assert (held.violations, held.evaluated) == ([], ["max_overthinking_share"])


def test_overthinking_rule_without_first_answers_is_not_evaluated(runner: CliRunner) -> None:
    import report_fixtures as fixture

    from traceviz.report import audit

    outcome = audit.evaluate(fixture.traces(), {"max_overthinking_share": 0.1}, [], 0, 3)
    assert outcome.not_evaluated == {
        "max_overthinking_share": "no trace has a priced first answer in visible reasoning"
        " (hidden reasoning, no answer found, or --no-steps)"
    }
    result = runner.invoke(main, ["audit", str(SAMPLES), "--max-overthinking-share", "0.5"])
    assert "--max-overthinking-share" in runner.invoke(main, ["audit", "--help"]).stdout
    if "reasoning_tokens_after_first_answer" not in analyze_columns():
        assert result.exit_code == 1, result.output
        assert result.stdout.startswith("NOT EVALUATED max_overthinking_share: no trace has")
    else:
        assert result.exit_code in (0, 3), result.output


def analyze_columns() -> list[str]:
    from traceviz.pipeline import analyze

    return analyze([SAMPLES / "deepseek-reasoner.json"]).traces.columns


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


def test_a_rules_file_saved_with_a_byte_order_mark_is_read(
    runner: CliRunner, tmp_path: Path
) -> None:
    # Notepad's UTF-8 starts with a BOM: it was refused as invalid TOML
    rules = tmp_path / "r.toml"
    rules.write_bytes("\ufeffbudget = 0.000001\n".encode())
    result = runner.invoke(main, ["audit", str(SAMPLES), "--rules", str(rules), "--no-cache"])
    assert result.exit_code == 3, result.output
    assert "FAIL budget [all]: $0.54208053 > $0.000001" in result.stdout


def test_a_rules_file_not_in_utf8_names_the_file(runner: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_bytes(b"budget = 1.0 # \xe9t\xe9\n")
    result = runner.invoke(main, ["audit", str(SAMPLES), "--rules", str(rules), "--no-cache"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {rules}: cannot read the rules: 'utf-8' codec")


def test_rules_from_a_file_and_flags(tmp_path: Path) -> None:
    """A flag overrides the file's value where it stands; flags not given are not rules."""
    from traceviz.report import audit

    path = tmp_path / "spend.toml"
    path.write_text("[rules]\nbudget = 10\nmax_looping_share = 0.2\n")
    flags = {"max_looping_share": 0.1, "max_reasoning_tokens": 3000, "budget": None}
    rules = audit.Rules.assemble(flags, path)
    assert list(rules.limits.items()) == [
        ("budget", 10.0),
        ("max_looping_share", 0.1),
        ("max_reasoning_tokens", 3000.0),
    ]
    assert not audit.Rules.assemble({"budget": None})
    with pytest.raises(TypeError):
        rules.limits["budget"] = 1.0  # type: ignore[index]
    with pytest.raises(ValueError, match="not audit rules"):
        audit.Rules.assemble({"max_spend": 1.0})


def test_audit_outcome_as_lines_and_json() -> None:
    import report_fixtures as fixture

    from traceviz.report import audit

    rules = audit.Rules.assemble({"budget": 1.0, "max_looping_share": 0.9})
    outcome = audit.evaluate(fixture.priced(), rules.limits, [], 0, 3)
    assert outcome.lines() == [
        "FAIL budget [all]: $8.922 > $1  worst: o1-c, r1-b, r1-a",  # 0.122 + 0.43 + 8.37
    ]
    document = json.loads(outcome.json())
    assert list(document) == [
        "rules",
        "traces",
        "traces_unpriced",
        "evaluated",
        "not_evaluated",
        "unpriced_groups",
        "violations",
        "repeats",
    ]
    assert document["rules"] == {"budget": 1.0, "max_looping_share": 0.9}
    assert document["violations"][0]["worst"] == ["o1-c", "r1-b", "r1-a"]
    held = audit.evaluate(fixture.priced(), {"max_looping_share": 0.9}, [], 0, 3)
    assert held.summary() == "ok: 1 rule holds over 3 traces"


def test_an_audit_of_no_trace_says_what_to_try(runner: CliRunner, tmp_path: Path) -> None:
    from traceviz.report import audit

    assert audit.nothing_checked(0, 0).hint == "No record was read: check the paths."
    assert audit.nothing_checked(5, 0).hint == (
        "Every record was quarantined or skipped: open the quarantine file."
    )
    log = tmp_path / "bad.jsonl"
    log.write_text("{}\n")
    result = runner.invoke(main, ["audit", str(log), "--budget", "1"])
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: no trace was evaluated, so no rule was checked\n\n"
        "Every record was quarantined or skipped: open the quarantine file.\n"
    )


def test_rules_both_at_the_top_level_and_in_a_rules_table_are_refused(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A top-level `budget` beside a `[rules]` table was dropped: the audit said ok, exit 0."""
    rules = tmp_path / "mixed.toml"
    rules.write_text("budget = 0.10\n\n[rules]\nmax_reasoning_tokens = 100000000\n")
    result = runner.invoke(main, ["audit", str(SAMPLES), "--rules", str(rules)])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {rules}: rules both at the top level ['budget'] and in the [rules] table\n\n"
        "Move every rule under [rules], or drop the [rules] line.\n"
    )


def _partly_priced(tmp_path: Path) -> Path:
    """3 traces of a model the catalog does not price, 1 of deepseek-reasoner."""
    unpriced = [chat(i, "a", 1_000_000, model="deepseek-r1:671b") for i in range(3)]
    return write(tmp_path / "mixed.jsonl", [*unpriced, chat(3, "a", 10)])


def test_money_rules_say_how_many_traces_they_were_checked_over(
    runner: CliRunner, tmp_path: Path
) -> None:
    """They said "ok: 2 rules hold over 4 traces" when 3 of the 4 had no price."""
    log, out = _partly_priced(tmp_path), tmp_path / "audit.json"
    args = ["audit", str(log), "--budget", "1", "--max-cost-per-response", "0.5"]
    result = runner.invoke(main, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "WARNING [all]: 3 of 4 traces not priced;"
        " max_cost_per_response, budget checked over the 1 priced\n"
        "ok: 2 rules hold over 1 priced trace of 4; 3 not priced\n"
    )
    document = json.loads(out.read_text())
    assert (document["traces"], document["traces_unpriced"]) == (4, 3)
    assert document["unpriced_groups"] == [
        {
            "group": "all",
            "traces": 4,
            "traces_unpriced": 3,
            "rules": ["max_cost_per_response", "budget"],
        }
    ]


def test_a_group_with_no_priced_trace_is_not_evaluated_by_money_rules(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Its budget "held" (exit 0, `not_evaluated` empty): now it is not evaluated, exit 1,
    while the rules that need no price are still checked in it."""
    log, out = _partly_priced(tmp_path), tmp_path / "audit.json"
    args = ["audit", str(log), "--budget", "1", "--max-reasoning-tokens", "5", "--by", "model"]
    result = runner.invoke(main, [*args, "--json", str(out)])
    assert result.exit_code == 3, result.output  # a failed rule outranks one not evaluated
    assert result.stdout.splitlines() == [
        "FAIL max_reasoning_tokens [deepseek-r1:671b]: 8 > 5  worst: r-0, r-1, r-2",
        "FAIL max_reasoning_tokens [deepseek-reasoner]: 8 > 5  worst: r-3",
        "NOT EVALUATED budget: no trace could be priced in 1 of 2 groups:"
        " deepseek-r1:671b (3 traces)",
    ]
    result = runner.invoke(main, ["audit", str(log), "--budget", "1", "--by", "model"])
    assert result.exit_code == 1, result.output
    assert result.stdout == (
        "NOT EVALUATED budget: no trace could be priced in 1 of 2 groups:"
        " deepseek-r1:671b (3 traces)\n"
    )
    document = json.loads(out.read_text())
    assert document["evaluated"] == ["max_reasoning_tokens"]
    assert list(document["not_evaluated"]) == ["budget"]
    assert document["unpriced_groups"] == [
        {"group": "deepseek-r1:671b", "traces": 3, "traces_unpriced": 3, "rules": ["budget"]}
    ]
