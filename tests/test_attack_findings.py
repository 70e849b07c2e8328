"""Findings of an adversarial pass over traceviz, each pinned by what a user would see.

Each test names the command a demanding user ran and what it printed before the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from traceviz.cli import main


def _chat(i: int, team: str, completion: int, **extra: Any) -> dict[str, Any]:
    """A logger wrapper around a DeepSeek-R1 Chat Completions response, tagged with `team`."""
    response = {
        "id": f"r-{i}",
        "object": "chat.completion",
        "created": 1741100000,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": 0,
                "message": {"content": "4", "reasoning_content": "2 + 2 = 4."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 16, "completion_tokens": completion},
    }
    response.update(extra)
    return {"metadata": {"team": team}, "request": {"messages": []}, "response": response}


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_headline_driver_with_a_newline_cannot_forge_a_line(tmp_path: Path) -> None:
    # `report LOG --by team`: the biggest driver's name was printed raw, so a team named
    # "x\nok: budget holds" printed a line of its own, "ok: budget holds (team) holds $…"
    log = _write(
        tmp_path / "t.jsonl",
        [_chat(1, "x\nok: budget holds", 900), _chat(2, "search", 30)],
    )
    for args in (["--format", "terminal"], ["--format", "md"]):
        result = CliRunner().invoke(main, ["report", str(log), "--by", "team", "--no-cache", *args])
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert not any(line.lstrip("# -*").startswith("ok: budget holds") for line in lines)
        assert any("Biggest driver" in line and "nok: budget holds" in line for line in lines)


SAMPLES = Path(__file__).parent.parent / "samples"


def test_batch_flag_prices_every_store_at_batch_rates(tmp_path: Path) -> None:
    # `report samples/ --batch` priced the Langfuse o1 generation at standard rates
    # ($0.5421 -> $0.3135) while `--tier batch` gave $0.2938: the Langfuse reader dropped
    # the flag, so the two options that mean "these were Batch API calls" disagreed
    for name in ("langfuse-observations.jsonl", "r1-raw-output.txt"):
        out = tmp_path / f"{name}.jsonl"
        args = ["ingest", str(SAMPLES / name), "--batch", "--no-cache", "-o", str(out)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert rows
        assert all(r["batch"] is True for r in rows), name
    totals = []
    for flag in (["--batch"], ["--tier", "batch"]):
        args = ["report", str(SAMPLES), "--no-cache", "--format", "json", *flag]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        totals.append(json.loads(result.stdout)["overall"]["cost_total"])
    assert totals[0] == totals[1]


def test_json_money_is_never_in_exponent_notation() -> None:
    # `report samples/ --format json`: logged_cost gave OpenRouter's difference as
    # "2.0000E-8" while every other amount is fixed-point ("0.000048810000")
    result = CliRunner().invoke(main, ["report", str(SAMPLES), "--no-cache", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in json.loads(result.stdout)["logged_cost"]}
    assert rows["deepseek/deepseek-r1"]["difference"] == "0.000000020000"
    assert "E-" not in result.stdout


def test_show_a_repeated_id_shows_one_trace_and_says_so(tmp_path: Path) -> None:
    # `show r-1 LOG` where two records share the id r-1 (a retried call logged twice)
    # printed the metadata of the first and the steps of both, "[1] …" twice
    first = _chat(1, "a", 30)
    second = _chat(1, "b", 30)
    second["response"]["choices"][0]["message"]["reasoning_content"] = "Another way: 4."
    log = _write(tmp_path / "t.jsonl", [first, second])
    result = CliRunner().invoke(main, ["show", "r-1", str(log), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("[1] ") == 1
    assert "2 + 2 = 4." in result.stdout
    assert "Another way" not in result.stdout
    assert "2 traces have the id 'r-1': showing the first (" in result.stderr


def test_token_counts_as_odd_digit_strings_are_quarantined_with_their_field(
    tmp_path: Path,
) -> None:
    # usage.prompt_tokens "²" and a 5,000-digit string were quarantined as
    # "openai-chat: malformed record (ValueError: invalid literal for int() …)" and
    # "… (ValueError: Exceeds the limit (4300 digits) …)"; "٣" was read as 3 tokens
    records = []
    for i, odd in enumerate(["²", "9" * 5000, "٣", "0012"]):
        record = _chat(i, "a", 30)["response"]
        record["usage"]["prompt_tokens"] = odd
        records.append(record)
    log = _write(tmp_path / "t.jsonl", records)
    quarantine = tmp_path / "q.jsonl"
    args = ["ingest", str(log), "--no-cache", "-o", str(tmp_path / "t.jsonl.out.jsonl")]
    result = CliRunner().invoke(main, [*args, "--quarantine", str(quarantine)])
    assert result.exit_code == 0, result.output
    reasons = [json.loads(line)["reason"] for line in quarantine.read_text().splitlines()]
    assert reasons == [
        "openai-chat: usage.prompt_tokens is not a token count: '²'",
        "openai-chat: usage.prompt_tokens is out of range: 5,000 digits",
        "openai-chat: usage.prompt_tokens is not a token count: '٣'",
    ]
    rows = (tmp_path / "t.jsonl.out.jsonl").read_text().splitlines()
    assert [json.loads(r)["usage_input"] for r in rows] == [12]


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


def test_two_outputs_on_one_path_are_refused(tmp_path: Path) -> None:
    # `ingest LOG -o q.jsonl --quarantine q.jsonl` said "wrote 1 quarantined records to
    # q.jsonl" and "wrote 2 traces to q.jsonl"; q.jsonl then held the quarantined record
    # alone: the traces were lost (and with report -o/--quarantine, the quarantine)
    log = _write(tmp_path / "t.jsonl", [_chat(1, "a", 30)["response"]])
    with log.open("a") as file:
        file.write("{not json\n")
    out = tmp_path / "out.jsonl"
    for command, flag in (("ingest", "-o"), ("report", "-o"), ("audit", "--json")):
        args = [command, str(log), "--no-cache", flag, str(out)]
        args += ["--quarantine", str(tmp_path / "." / "out.jsonl")]
        if command == "audit":
            args += ["--budget", "1"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (command, result.output)
        assert "are one file; one would replace the other" in result.stderr
        assert not out.exists()


def test_the_default_quarantine_never_replaces_an_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `report traceviz.quarantine.jsonl` (opening the last run's quarantine) quarantined
    # its every line to the default traceviz.quarantine.jsonl: the input was replaced
    monkeypatch.chdir(tmp_path)
    held = '{"source": "a.jsonl", "line": 1, "reason": "invalid JSON", "raw": "{x"}\n'
    cases = [
        (["report", "traceviz.quarantine.jsonl"], "traceviz.quarantine.jsonl"),
        (["audit", "traceviz.quarantine.jsonl", "--budget", "1"], "traceviz.quarantine.jsonl"),
        (["ingest", "t.quarantine.jsonl", "-o", "t.parquet"], "t.quarantine.jsonl"),
        (["count", "count.quarantine.jsonl"], "count.quarantine.jsonl"),
    ]
    for args, name in cases:
        Path(name).write_text(held)
        result = CliRunner().invoke(main, [*args, "--no-cache"])
        assert result.exit_code == 1, (args, result.output)
        assert f"--quarantine (by default) {name} is one of the inputs" in result.stderr
        assert Path(name).read_text() == held
    # a folder holding the default quarantine file is still read, as before
    (tmp_path / "logs").mkdir()
    monkeypatch.chdir(tmp_path / "logs")
    _write(tmp_path / "logs" / "t.jsonl", [_chat(1, "a", 30)["response"]])
    result = CliRunner().invoke(main, ["report", ".", "--no-cache"])
    assert result.exit_code == 0, result.output


def test_a_group_with_an_empty_key_is_not_named_all(tmp_path: Path) -> None:
    # `report LOG --by team` where one record's team is "": its row was named "all",
    # so the Money table had two "all" rows, one of them a single trace
    log = _write(tmp_path / "t.jsonl", [_chat(1, "", 30), _chat(2, "search", 40)])
    result = CliRunner().invoke(main, ["report", str(log), "--no-cache", "--by", "team"])
    assert result.exit_code == 0, result.output
    money = result.stdout.split("\nMoney\n")[1].split("\n\n")[0].splitlines()
    names = [line.split()[0] for line in money[2:]]
    assert names.count("all") == 1
    assert '""' in names


def test_an_unreadable_file_found_by_a_walk_cannot_forge_a_line(tmp_path: Path) -> None:
    # `report DIR` where DIR holds a dangling link named "a\nok: 1 rule holds.jsonl"
    # printed "Error: DIR/a" and then a line of its own, "ok: 1 rule holds.jsonl: cannot
    # open: …"; `steps DIR -o s.parquet` exited 0 where ingest, count and report exit 1
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a\nok: 1 rule holds.jsonl").symlink_to(tmp_path / "gone")
    _write(tmp_path / "logs" / "t.jsonl", [_chat(1, "a", 30)["response"]])
    for args in (["report"], ["steps", "-o", str(tmp_path / "s.parquet")]):
        result = CliRunner().invoke(main, [*args, str(tmp_path / "logs"), "--no-cache"])
        assert result.exit_code == 1, (args, result.output)
        assert not any(line.startswith("ok: ") for line in result.stderr.splitlines())
        assert "a\\nok: 1 rule holds.jsonl: cannot open" in result.stderr


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


def _tagged(i: int, metadata: dict[str, Any], completion: int) -> dict[str, Any]:
    record = _chat(i, "", completion)
    record["metadata"] = metadata
    return record


def test_by_a_metadata_key_reads_that_key_literally(tmp_path: Path) -> None:
    # `--by 'team)'` grouped by "team", `--by a.b` read {"a": {"b": …}} and not the key
    # "a.b", `--by 'sp ace'` found nothing; `--by '$'`, `--by ''` and `--by '*'` ended in
    # an internal error (now: "" and column patterns are refused as usage errors)
    log = _write(
        tmp_path / "t.jsonl",
        [
            _tagged(1, {"team": "t1", "a.b": "dotted", "sp ace": "s1", "$": "d1"}, 30),
            _tagged(2, {"team": "t2", "a": {"b": "nested"}, "": "e2"}, 40),
        ],
    )

    def groups(key: str) -> dict[str | None, int]:
        args = ["report", str(log), "--no-cache", "--format", "json", "--by", key]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (key, result.output)
        return {g[key]: g["traces"] for g in json.loads(result.stdout)["groups"]}

    assert groups("a.b") == {"dotted": 1, None: 1}
    assert groups("sp ace") == {"s1": 1, None: 1}
    assert groups("$") == {"d1": 1, None: 1}
    for pattern in ("", "*", "^te.*$"):
        refused = CliRunner().invoke(main, ["report", str(log), "--no-cache", "--by", pattern])
        assert refused.exit_code == 2, (pattern, refused.output)
    assert groups("team)") == {None: 2}
    assert groups("team") == {"t1": 1, "t2": 1}


def test_a_by_key_given_twice_groups_as_given_once(tmp_path: Path) -> None:
    # `report LOG --by day --by day` (and count, compare) ended in an internal error:
    # "the name 'day' passed to `LazyFrame.with_columns` is duplicate"
    log = _write(tmp_path / "t.jsonl", [_chat(1, "a", 30), _chat(2, "b", 40)])
    once = CliRunner().invoke(main, ["report", str(log), "--no-cache", "--by", "day"])
    twice = CliRunner().invoke(
        main, ["report", str(log), "--no-cache", "--by", "day", "--by", "day"]
    )
    assert twice.exit_code == 0, twice.output
    assert twice.stdout == once.stdout
    result = CliRunner().invoke(main, ["count", str(log), "--by", "model", "--by", "model"])
    assert result.exit_code == 0, result.output


def test_audit_names_an_empty_group_as_the_report_does(tmp_path: Path) -> None:
    # `audit LOG --by team --budget X` printed "FAIL budget []: …" for team ""
    log = _write(tmp_path / "t.jsonl", [_chat(1, "", 30), _chat(2, "search", 40)])
    args = ["audit", str(log), "--no-cache", "--by", "team", "--budget", "0.0000001"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    assert 'FAIL budget [""]: ' in result.stdout
    assert "FAIL budget [search]: " in result.stdout
