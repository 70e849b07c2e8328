"""`--since`, `--until` and `--model`: one command for a weekly audit over a large store."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from traceviz.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _response(rid: str, model: str, created: int | None) -> dict[str, object]:
    record: dict[str, object] = {
        "id": rid,
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "4", "reasoning_content": "2+2=4."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18},
    }
    if created is not None:
        record["created"] = created
    return record


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "week.jsonl"
    rows = [
        _response("a", "deepseek-reasoner", 1740787200),  # 2025-03-01 00:00 UTC
        _response("b", "deepseek-reasoner", 1741305600),  # 2025-03-07 00:00
        _response("c", "o1-2024-12-17", 1741392000),  # 2025-03-08 00:00
        _response("d", "openrouter/deepseek/deepseek-r1", 1741000000),  # 2025-03-03
        _response("e", "deepseek-reasoner", None),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_ingest_keeps_the_week_and_says_what_it_left_out(tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    args = ["ingest", str(_log(tmp_path)), "--since", "2025-03-01", "--until", "2025-03-08"]
    result = CliRunner().invoke(main, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["response_id"].to_list() == ["a", "b", "d"]
    assert "2 traces left out (from --until on 1, no timestamp 1)" in result.output


def test_model_patterns_match_with_or_without_the_provider_prefix(tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    args = ["ingest", str(_log(tmp_path)), "--model", "deepseek-r*", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["response_id"].to_list() == ["a", "b", "d", "e"]
    assert "other model 1" in result.output


def test_report_and_audit_take_the_filters(tmp_path: Path) -> None:
    log = _log(tmp_path)
    week = [
        "--since",
        "2025-03-02T12:00",
        "--until",
        "2025-03-09",
        "--model",
        "o1",
        "--model",
        "*r1",
    ]
    result = CliRunner().invoke(main, ["report", str(log), *week, "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overall"]["traces"] == 2  # c (o1) and d (…/deepseek-r1)
    audit = CliRunner().invoke(main, ["audit", str(log), *week, "--budget", "100"])
    assert audit.exit_code == 0, audit.output


def test_a_bad_date_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(_log(tmp_path)), "--since", "last week"])
    assert result.exit_code == 2
    assert "is not a date or time" in result.output


def test_since_at_or_after_until_is_a_usage_error(tmp_path: Path) -> None:
    for since, until in (("2025-03-08", "2025-03-01"), ("2025-03-01", "2025-03-01")):
        args = ["report", str(_log(tmp_path)), "--since", since, "--until", until]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert f"--since {since} 00:00 is not before --until {until} 00:00" in result.output


def test_headline_says_what_the_filters_left_out() -> None:
    # `report samples/ --since 2025-03-01`: the headline said "Responses read: 44" over
    # figures of 23 traces ("$0.1670 for 15 priced responses; 8 not priced")
    args = ["report", str(SAMPLES), "--no-cache", "--since", "2025-03-01"]
    result = CliRunner().invoke(main, [*args, "--format", "md"])
    assert result.exit_code == 0, result.output
    assert "; 21 left out by filters, 23 reported" in result.stdout
    assert "for 15 priced responses; 8 not priced" in result.stdout
    whole = CliRunner().invoke(main, ["report", str(SAMPLES), "--no-cache", "--format", "md"])
    assert "left out by filters" not in whole.stdout
