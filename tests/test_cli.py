"""The command line: exit codes, summaries on stderr, errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl
import pytest
import tagged_logs
from click.testing import CliRunner

from traceviz.cli import main
from traceviz.cli.outputs import OutputSettings, table_output

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_ingest_writes_table_and_summary(runner: CliRunner, samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    result = runner.invoke(main, ["ingest", str(samples), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pl.read_parquet(out)
    assert result.stderr.startswith("read ")
    assert f": {table.height:,} traces (" in result.stderr
    assert ", 0 quarantined" in result.stderr
    assert result.stdout == ""


def test_missing_file_is_named_and_others_still_read(
    runner: CliRunner, samples: Path, tmp_path: Path
) -> None:
    out = tmp_path / "t.parquet"
    missing = tmp_path / "nope.jsonl"
    args = ["ingest", str(missing), str(samples / "deepseek-reasoner.json"), "-o", str(out)]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert f"Error: {missing}: no such file or directory" in result.stderr
    assert "Traceback" not in result.output
    assert pl.read_parquet(out).height == 1


def test_bad_records_go_to_quarantine(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "mixed.jsonl"
    good = (Path(__file__).parent.parent / "samples" / "openai-chat-o1.jsonl").read_text()
    log.write_text(good.splitlines()[0] + "\n{not json\n" + '{"hello": 1}\n')
    out = tmp_path / "t.parquet"
    qfile = tmp_path / "q.jsonl"
    result = runner.invoke(main, ["ingest", str(log), "-o", str(out), "--quarantine", str(qfile)])
    assert result.exit_code == 0, result.output
    assert "read 3 records from 1 file: 1 trace (openai-chat 1), 2 quarantined" in result.stderr
    rows = pl.read_ndjson(qfile)
    assert rows["line"].to_list() == [2, 3]
    assert rows["reason"][0].startswith("invalid JSON")
    assert rows["reason"][1].startswith("unknown shape")


def test_strict_stops_at_first_bad_record(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_text("{}\n")
    result = runner.invoke(
        main, ["ingest", str(log), "-o", str(tmp_path / "t.parquet"), "--strict"]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {log}:1: unknown shape: an object with keys (none)\n\n"
        "Drop --strict to quarantine bad records and go on.\n"
    )


def test_output_format_comes_from_the_flag_then_the_suffix_then_the_default() -> None:
    from traceviz.cli.report import REPORT

    assert OutputSettings.resolve(REPORT, None, None).format == "terminal"
    assert OutputSettings.resolve(REPORT, "r.HTML", None).format == "html"
    assert OutputSettings.resolve(REPORT, "r.html", "json").format == "json"
    assert OutputSettings.resolve(REPORT, "r.unknown", None).format == "terminal"
    tables = table_output("steps.parquet", "help")
    assert OutputSettings.resolve(tables, "s.ndjson", None).format == "jsonl"
    assert OutputSettings.resolve(tables, "s.txt", None).format is None
    assert OutputSettings.resolve(tables, "out/traces.csv", None).beside("quarantine.jsonl") == (
        "out/traces.quarantine.jsonl"
    )


def test_parquet_is_not_for_a_terminal(runner: CliRunner, samples: Path) -> None:
    from traceviz.cli.report import REPORT

    settings = OutputSettings.resolve(REPORT, None, "parquet")
    with pytest.raises(click.UsageError, match="Parquet is not for a terminal. Give -o FILE"):
        settings.check(terminal=True)
    settings.check(terminal=False)  # a pipe takes it
    result = runner.invoke(
        main, ["report", str(samples / "deepseek-reasoner.json"), "--format", "parquet"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"PAR1")


def test_an_output_that_cannot_be_written_stops_the_run_before_it_reads(
    runner: CliRunner, tmp_path: Path
) -> None:
    missing = tmp_path / "nope"
    for command in ("report", "ingest", "steps"):
        out = missing / "out.json" if command == "report" else missing / "out.parquet"
        # the input does not exist either: the output is checked first
        result = runner.invoke(main, [command, str(tmp_path / "in.jsonl"), "-o", str(out)])
        assert result.exit_code == 1, (command, result.output)
        assert result.stderr == (
            f"Error: {out}: cannot write: the folder {missing} does not exist\n\n"
            f"Create it first (mkdir -p {missing}) or write elsewhere.\n"
        )


def test_commands_that_write_share_one_output_flag() -> None:
    """`-o/--output` reads the same in every command that writes a result."""
    for name in ("report", "ingest", "steps"):
        params = {p.name: p for p in main.commands[name].params}
        output = params["output_path"]
        assert isinstance(output, click.Option)
        assert output.opts == ["-o", "--output"]
    assert "fmt" in {p.name for p in main.commands["report"].params}


def test_show_a_repeated_id_shows_one_trace_and_says_so(tmp_path: Path) -> None:
    # `show r-1 LOG` where two records share the id r-1 (a retried call logged twice)
    # printed the metadata of the first and the steps of both, "[1] …" twice
    first = tagged_logs.chat(1, "a", 30)
    second = tagged_logs.chat(1, "b", 30)
    second["response"]["choices"][0]["message"]["reasoning_content"] = "Another way: 4."
    log = tagged_logs.write(tmp_path / "t.jsonl", [first, second])
    result = CliRunner().invoke(main, ["show", "r-1", str(log), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("[1] ") == 1
    assert "2 + 2 = 4." in result.stdout
    assert "Another way" not in result.stdout
    assert "2 traces have the id 'r-1': showing the first (" in result.stderr


def test_limits_and_ratios_must_be_finite_numbers(tmp_path: Path) -> None:
    # `audit samples/ --budget nan` and `report samples/ --vs o1 --ratio nan` ended in
    # "Error: internal error: …"; `--ratio inf` priced a what-if; `--budget inf` (flag
    # or rules file) held, written as "budget": null in the --json outcome
    cases = [
        ["audit", "--budget", "nan"],
        ["audit", "--max-looping-share", "nan"],
        ["audit", "--max-cost-per-response", "inf"],
        ["report", "--vs", "o1", "--ratio", "inf"],
        ["report", "--vs", "o1", "--ratio", "nan"],
    ]
    for args in cases:
        result = CliRunner().invoke(main, [*args, str(SAMPLES), "--no-cache"])
        assert result.exit_code == 2, (args, result.output)
        assert "is not a finite number" in result.stderr
    for text in ("budget = inf", "budget = -1.0"):
        rules = tmp_path / "rules.toml"
        rules.write_text(text + "\n")
        args = ["audit", str(SAMPLES), "--no-cache", "--rules", str(rules)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (text, result.output)
        assert "rule 'budget' is not a finite limit of 0 or more" in result.stderr


def test_a_cap_above_any_token_count_is_refused() -> None:
    # `report samples/ --cap 99999999999999999999999 --format json` ended in
    # "Error: internal error: TypeError: Integer exceeds 64-bit range"
    for cap in ("99999999999999999999999", "1000000000001", "²"):
        args = ["report", str(SAMPLES), "--no-cache", "--format", "json", "--cap", cap]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (cap, result.output)
        assert "is neither a number of reasoning tokens nor a percentile" in result.stderr
    args = ["report", str(SAMPLES), "--no-cache", "--format", "json", "--cap", "1000000000000"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cap"]["tokens"] == 10**12
