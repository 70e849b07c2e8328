"""The command line: exit codes, summaries on stderr, errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl
import pytest
from click.testing import CliRunner

from traceviz.cli import main
from traceviz.cli.outputs import OutputSettings, table_output


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
