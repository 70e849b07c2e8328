"""The command line: exit codes, summaries on stderr, errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from click.testing import CliRunner

from traceviz.cli import main


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
