"""`--by` a metadata key named like one of the report's own columns (`kind`, `traces`,
`cost_per_response`): report, audit and compare group by it as by any other key.

`report LOG --by kind` ended in "internal error: DuplicateError: duplicate column name
'kind'", `--by traces --format json` in "projections contained duplicate output name".
Each key is checked against the same metadata under a harmless key of the same length,
so the terminal's tables are laid out alike and differ only in the key's name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import tagged_logs
from click.testing import CliRunner

from traceviz.cli import main

# metadata keys that name a column the report makes of its own (a figure, a kind table's)
CLASHING = ("kind", "traces", "steps_mean", "cost_per_response", "share")
# and the names audit's and compare's own sums go by (each ended in a DuplicateError)
AUDIT_CLASHING = (*CLASHING, "_spent", "_rows", "_looping_n")
COMPARE_CLASHING = (*CLASHING, "_reasoning_s", "_samples", "_cost_n")
TEAMS = ("search", "search", "ads", "", "ads")


def _harmless(key: str) -> str:
    """A key no column has, as long as `key` and with its underscores (Markdown escapes)."""
    return re.sub("[a-z]", "z", key)


def _record(i: int, key: str, team: str, model: str) -> dict[str, Any]:
    """A logger wrapper around a DeepSeek-R1-style response to prompt `q{i}`."""
    reasoning = "First, 2 + 2 = 4. Wait, let me check: 2 + 2 is 4. So the answer is 4."
    response = {
        "id": f"{model}-{i}",
        "object": "chat.completion",
        "created": 1741100000 + 86400 * i,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"content": "4", "reasoning_content": reasoning},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 16, "completion_tokens": 100 * (i + 1)},
    }
    metadata = {key: team} if i != 4 else {}  # the last trace has no key: "(none)"
    request = {"messages": [{"role": "user", "content": f"q{i}: what is 2 + 2?"}]}
    return {"metadata": metadata, "request": request, "response": response}


def _log(path: Path, key: str, model: str = "deepseek-reasoner") -> Path:
    """The log under `path`'s name in a folder of its own, named `t.jsonl` (the report
    shows a trace's file name: the same in every log)."""
    path.mkdir()
    path = path / "t.jsonl"
    records = [_record(i, key, team, model) for i, team in enumerate(TEAMS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _run(*args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--no-cache"])
    assert result.exit_code in (0, 3), result.output
    return result


def _renamed(rows: list[dict[str, Any]], name: str, to: str) -> list[dict[str, Any]]:
    return [{to if k == name else k: v for k, v in row.items()} for row in rows]


@pytest.mark.parametrize("key", CLASHING)
def test_report_json_groups_by_a_key_named_like_a_figure(tmp_path: Path, key: str) -> None:
    harmless = _harmless(key)
    clash = json.loads(_run("report", str(_log(tmp_path / "a", key)), "--by", key,
                            "--format", "json").stdout)  # fmt: skip
    plain = json.loads(_run("report", str(_log(tmp_path / "b", harmless)), "--by",
                            harmless, "--format", "json").stdout)  # fmt: skip
    assert clash["by"] == [key]
    # groups and step kinds hold the key's value under the key, or under "by:<key>" where
    # either has a figure of that name (`traces`: a trace count; `kind`: a step kind)
    taken = {*plain["groups"][0], *plain["step_kinds"][0]}
    name = f"by:{key}" if key in taken else key
    assert _renamed(clash["groups"], name, harmless) == plain["groups"]
    assert _renamed(clash["step_kinds"], name, harmless) == plain["step_kinds"]
    assert plain["step_kinds"], "the log's traces have steps of some kind"
    assert clash["overall"] == plain["overall"]
    groups = {g[name]: g["traces"] for g in clash["groups"]}
    assert groups == {"search": 2, "ads": 1, "": 1, None: 1}
    if key == "traces":
        assert name == "by:traces"
    driver = clash["headline"]["biggest_driver"]
    assert driver["by"] == key
    assert driver == plain["headline"]["biggest_driver"] | {"by": key}


@pytest.mark.parametrize("key", CLASHING)
def test_report_terminal_and_table_group_by_a_key_named_like_a_figure(
    tmp_path: Path, key: str
) -> None:
    harmless = _harmless(key)
    a, b = _log(tmp_path / "a", key), _log(tmp_path / "b", harmless)
    for fmt in ("terminal", "md"):
        clash = _run("report", str(a), "--by", key, "--format", fmt, "--full").stdout
        plain = _run("report", str(b), "--by", harmless, "--format", fmt, "--full").stdout
        assert harmless not in clash
        escaped = harmless.replace("_", "\\_"), key.replace("_", "\\_")  # Markdown's
        assert clash == plain.replace(harmless, key).replace(*escaped)
        assert "search" in clash
        assert "(none)" in clash
    csv = _run("report", str(a), "--by", key, "--format", "csv").stdout.splitlines()
    plain_csv = _run("report", str(b), "--by", harmless, "--format", "csv").stdout.splitlines()
    header, figures = csv[0].split(","), plain_csv[0].split(",")[:-2]
    # the key is named as in the whole report: by:<key> where the groups or the step kinds
    # (their kind, steps and share) have a column of that name; the last column says
    # which row is the overall one
    taken = {*figures, "kind", "steps", "share"}
    assert header == [*figures, f"by:{key}" if key in taken else key, "overall"]
    assert csv[1:] == plain_csv[1:]
    assert sorted(line.split(",")[-2] for line in csv[1:]) == ["", '""', "(all)", "ads", "search"]


def test_the_data_tables_overall_row_is_marked_not_only_named(tmp_path: Path) -> None:
    # a logged team "(all)" made a second "(all)" row in the CSV: a spreadsheet summing
    # the rows that are not "(all)" left it out, one filtering on "(all)" counted it twice
    log = _log(tmp_path / "a", "team")
    log.write_text(log.read_text().replace('"team": "ads"', '"team": "(all)"'))
    for fmt in ("csv", "parquet"):
        out = tmp_path / f"report.{fmt}"
        _run("report", str(log), "--by", "team", "--format", fmt, "-o", str(out))
        table = pl.read_csv(out) if fmt == "csv" else pl.read_parquet(out)
        assert table.columns[-2:] == ["team", "overall"]
        assert table.filter(pl.col("team") == "(all)")["overall"].to_list() == [False, True]
        total = table.filter("overall")["traces"].item()
        assert table.filter(~pl.col("overall"))["traces"].sum() == total == len(TEAMS)
    # a key named like that column is named by:overall, in every output alike
    json_report = json.loads(_run("report", str(log), "--by", "overall", "--format", "json").stdout)
    assert "by:overall" in json_report["groups"][0]
    csv = _run("report", str(log), "--by", "overall", "--format", "csv").stdout.splitlines()
    assert csv[0].split(",")[-2:] == ["by:overall", "overall"]


@pytest.mark.parametrize("key", AUDIT_CLASHING)
def test_audit_groups_by_a_key_named_like_a_figure(tmp_path: Path, key: str) -> None:
    harmless = _harmless(key)
    a, b = _log(tmp_path / "a", key), _log(tmp_path / "b", harmless)
    rules = ["--budget", "0.0000001", "--max-reasoning-tokens", "150"]
    clash = _run("audit", str(a), "--by", key, *rules)
    plain = _run("audit", str(b), "--by", harmless, *rules)
    assert clash.exit_code == 3, clash.output
    assert clash.stdout == plain.stdout
    for group in ("search", "ads", '""', "(none)"):
        assert f"FAIL budget [{group}]: " in clash.stdout


@pytest.mark.parametrize("key", COMPARE_CLASHING)
def test_compare_groups_by_a_key_named_like_a_figure(tmp_path: Path, key: str) -> None:
    harmless = _harmless(key)
    clash = _run("compare", str(_log(tmp_path / "a1", key)),
                 str(_log(tmp_path / "a2", key, "o1")), "--on", "prompt", "--by", key)  # fmt: skip
    plain = _run("compare", str(_log(tmp_path / "b1", harmless)),
                 str(_log(tmp_path / "b2", harmless, "o1")), "--on", "prompt", "--by",
                 harmless)  # fmt: skip
    assert clash.exit_code == 0, clash.output
    assert clash.stdout == plain.stdout.replace(harmless, key)
    assert "search" in clash.stdout
    assert clash.stdout.splitlines()[-1].startswith("--ratio ")


def test_a_key_naming_a_column_still_groups_by_that_column(tmp_path: Path) -> None:
    # `--by model` and `--by cost_total` are the traces' columns, not metadata keys
    log = _log(tmp_path / "a", "model")
    report = json.loads(_run("report", str(log), "--by", "model", "--format", "json").stdout)
    assert [(g["model"], g["traces"]) for g in report["groups"]] == [("deepseek-reasoner", 5)]
    report = json.loads(_run("report", str(log), "--by", "cost_total", "--format", "json").stdout)
    costs = [g["by:cost_total"] for g in report["groups"]]
    assert len(costs) == 5
    assert costs == sorted(costs)
    assert [g["cost_total"] for g in report["groups"]] == costs


def test_audit_by_a_column_it_ranks_by(tmp_path: Path) -> None:
    # `audit LOG --by trace_id` ended in "projections contained duplicate output name
    # 'trace_id'": the worst traces were selected as (*keys, trace_id, ranked column)
    log = _log(tmp_path / "a", "team")
    result = _run("audit", str(log), "--by", "trace_id", "--max-reasoning-tokens", "1")
    assert result.exit_code == 3, result.output
    for i in range(5):
        assert f"[deepseek-reasoner-{i}]: 33 > 1  worst: deepseek-reasoner-{i}" in result.stdout


def test_a_group_with_an_empty_key_is_not_named_all(tmp_path: Path) -> None:
    # `report LOG --by team` where one record's team is "": its row was named "all",
    # so the Money table had two "all" rows, one of them a single trace
    log = tagged_logs.write(
        tmp_path / "t.jsonl", [tagged_logs.chat(1, "", 30), tagged_logs.chat(2, "search", 40)]
    )
    result = CliRunner().invoke(main, ["report", str(log), "--no-cache", "--by", "team"])
    assert result.exit_code == 0, result.output
    money = result.stdout.split("\nMoney\n")[1].split("\n\n")[0].splitlines()
    names = [line.split()[0] for line in money[2:]]
    assert names.count("all") == 1
    assert '""' in names


def test_by_a_metadata_key_reads_that_key_literally(tmp_path: Path) -> None:
    # `--by 'team)'` grouped by "team", `--by a.b` read {"a": {"b": …}} and not the key
    # "a.b", `--by 'sp ace'` found nothing; `--by '$'`, `--by ''` and `--by '*'` ended in
    # an internal error (now: "" and column patterns are refused as usage errors)
    log = tagged_logs.write(
        tmp_path / "t.jsonl",
        [
            tagged_logs.tagged(1, {"team": "t1", "a.b": "dotted", "sp ace": "s1", "$": "d1"}, 30),
            tagged_logs.tagged(2, {"team": "t2", "a": {"b": "nested"}, "": "e2"}, 40),
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
        if pattern:
            assert "a column named so reads as a pattern of columns" in refused.stderr
    assert groups("team)") == {None: 2}
    assert groups("team") == {"t1": 1, "t2": 1}


def test_a_by_key_given_twice_groups_as_given_once(tmp_path: Path) -> None:
    # `report LOG --by day --by day` (and count, compare) ended in an internal error:
    # "the name 'day' passed to `LazyFrame.with_columns` is duplicate"
    log = tagged_logs.write(
        tmp_path / "t.jsonl", [tagged_logs.chat(1, "a", 30), tagged_logs.chat(2, "b", 40)]
    )
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
    log = tagged_logs.write(
        tmp_path / "t.jsonl", [tagged_logs.chat(1, "", 30), tagged_logs.chat(2, "search", 40)]
    )
    args = ["audit", str(log), "--no-cache", "--by", "team", "--budget", "0.0000001"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    assert 'FAIL budget [""]: ' in result.stdout
    assert "FAIL budget [search]: " in result.stdout


def test_a_group_named_like_the_reports_own_rows_is_quoted(tmp_path: Path) -> None:
    # teams "all" and "(none)" printed as `all` and `(none)`, like the totals row and the
    # row of traces without a team, in the terminal, Markdown and `FAIL budget [all]`
    records = [
        tagged_logs.chat(1, "all", 30),
        tagged_logs.chat(2, "(none)", 40),
        tagged_logs.chat(3, '"all"', 50),
        tagged_logs.tagged(4, {}, 60),
    ]
    log = tagged_logs.write(tmp_path / "t.jsonl", records)
    expected = ["(none)", '"\\"all\\""', '"(none)"', '"all"', "all"]  # most spent first
    result = CliRunner().invoke(main, ["report", str(log), "--no-cache", "--by", "team"])
    assert result.exit_code == 0, result.output
    money = result.stdout.split("\nMoney\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in money[2:]] == expected
    args = ["report", str(log), "--no-cache", "--by", "team", "--format", "md"]
    markdown = CliRunner().invoke(main, args).stdout.split("## Money\n\n")[1]
    rows = markdown.split("\n\n")[0].splitlines()
    names = [row.split(" | ")[0].removeprefix("| ") for row in rows[2:]]
    assert names == [n.replace("\\", "\\\\") for n in expected]  # Markdown escapes "\\"
    args = ["report", str(log), "--no-cache", "--by", "team", "--format", "html"]
    page = CliRunner().invoke(main, args).stdout
    assert '<td class="">&quot;all&quot;</td>' in page
    assert '<td class="">&quot;(none)&quot;</td>' in page
    args = ["report", str(log), "--no-cache", "--by", "team", "--format", "json"]
    groups = json.loads(CliRunner().invoke(main, args).stdout)["groups"]
    assert sorted(str(g["team"]) for g in groups) == ['"all"', "(none)", "None", "all"]
    args = ["audit", str(log), "--no-cache", "--by", "team", "--max-reasoning-tokens", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    assert [line.split("]:")[0] for line in result.stdout.splitlines()] == [
        'FAIL max_reasoning_tokens ["all"',
        'FAIL max_reasoning_tokens ["(none)"',
        'FAIL max_reasoning_tokens ["\\"all\\""',
        "FAIL max_reasoning_tokens [(none)",
    ]
