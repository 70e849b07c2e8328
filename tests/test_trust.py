"""Numbers people can audit (issue 13): the per-response table and its read-back, the
library call, a cache that never changes an answer, gates that never pass on nothing,
flags that do what they say."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

import traceviz
from traceviz.cli import main
from traceviz.pipeline import measured_schema
from traceviz.schema import COST_LOGGED, COST_TOTAL

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
COSTS = ("cost_input", "cost_cached_input", "cost_cache_write", "cost_output", "cost_reasoning",
         "cost_total", "price_id", "price_basis")  # fmt: skip


def _ok(result: object) -> None:
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]


def _report_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(main, ["report", *args, "--format", "json", "-q"])
    _ok(result)
    document = json.loads(result.stdout)
    document.pop("generated", None)
    return document


# --- the per-response table ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_ingest_writes_every_stage_column(runner: CliRunner, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"traces{suffix}"
    _ok(runner.invoke(main, ["ingest", str(SAMPLES), "-o", str(out), "--vs", "o1"]))
    table = {
        ".parquet": lambda: pl.read_parquet(out),
        ".jsonl": lambda: pl.read_ndjson(out, infer_schema_length=None),
        ".csv": lambda: pl.read_csv(out, infer_schema=False),
    }[suffix]()
    assert table.height == 44
    wanted = {"tokens_reasoning", "usage_drift", "steps", "steps_self_checking", "looping",
              "whatif_cost_total", *COSTS}  # fmt: skip
    assert wanted <= set(table.columns)
    row = table.filter(pl.col("trace_id") == "chatcmpl-AqZ1x7Qf3s").row(0, named=True)
    assert row["model"] == "o1-2024-12-17"
    if suffix == ".parquet":
        assert row["cost_total"] == Decimal("0.088005")
    else:  # exact decimal text in JSON Lines and CSV, never a float
        assert row["cost_total"] == "0.088005"


def test_ingest_total_cost_equals_report(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    _ok(runner.invoke(main, ["ingest", str(SAMPLES), "-o", str(out)]))
    document = _report_json(runner, str(SAMPLES), "--no-cache")
    total = pl.read_parquet(out)["cost_total"].sum()
    assert Decimal(str(document["overall"]["cost_total"])) == total  # type: ignore[index]


def test_ingest_no_steps_and_raw(runner: CliRunner, tmp_path: Path) -> None:
    lean = tmp_path / "lean.parquet"
    raw = tmp_path / "raw.parquet"
    _ok(runner.invoke(main, ["ingest", str(SAMPLES), "-o", str(lean), "--no-steps"]))
    _ok(runner.invoke(main, ["ingest", str(SAMPLES), "-o", str(raw), "--raw"]))
    lean_columns = set(pl.read_parquet(lean).columns)
    assert "cost_total" in lean_columns
    assert "steps" not in lean_columns
    raw_columns = set(pl.read_parquet(raw).columns)
    assert "tokens_reasoning" not in raw_columns
    assert "cost_total" not in raw_columns
    assert "reasoning" in raw_columns


def test_empty_ingest_writes_a_table_of_its_kind(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "t.parquet"
    _ok(runner.invoke(main, ["ingest", str(empty), "-o", str(out)]))
    assert {"cost_total", "tokens_reasoning"} <= set(pl.read_parquet(out).columns)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_traces_table_reads_back_to_the_same_report(
    runner: CliRunner, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"traces{suffix}"
    _ok(runner.invoke(main, ["ingest", str(SAMPLES), "-o", str(out)]))
    original = _report_json(runner, str(SAMPLES), "--no-cache")
    again = _report_json(runner, str(out), "--no-cache")
    assert again["ingest"]["records_quarantined"] == 0  # type: ignore[index]
    assert again["ingest"]["by_format"] == original["ingest"]["by_format"]  # type: ignore[index]
    for section in set(original) - {"ingest", "headline"}:
        assert again[section] == original[section], section
    # the headline repeats the ingest counts (records, files), which a table read back lacks
    ingest = {"records_read", "files", "records_quarantined", "records_skipped", "lines"}
    same = [
        {k: v for k, v in doc["headline"].items() if k not in ingest} for doc in (again, original)
    ]
    assert same[0] == same[1]
    assert again["headline"]["lines"][1:] == original["headline"]["lines"][1:]  # type: ignore[index]


# --- the library ---------------------------------------------------------------------------


def test_library_analyze_and_a_plain_string_path() -> None:
    run = traceviz.analyze(str(SAMPLES), traceviz.AnalysisOptions(vs="o1"))
    assert run.stats.read == run.stats.parsed + run.stats.quarantined + run.stats.skipped
    assert run.traces.height == 44
    assert "whatif_cost_total" in run.traces.columns
    assert sum(frame.height for frame in traceviz.read_batches(str(SAMPLES))) == 44
    assert traceviz.read(SAMPLES / "groq.jsonl").height == 2


def test_analyze_docstring_example() -> None:
    import doctest

    import traceviz.pipeline

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(SAMPLES.parent)
        failures, tried = doctest.testmod(traceviz.pipeline)
    assert tried
    assert not failures


# --- a cache that never changes an answer -------------------------------------------------

OPTION_SETS: tuple[tuple[str, ...], ...] = (
    (),
    ("--vs", "o1"),
    ("--vs", "deepseek-reasoner"),
    ("--no-steps",),
    ("--tokenizer", "cl100k_base"),
    ("--at", "2025-03-01"),
    ("--tier", "batch"),
    ("--model", "deepseek*"),
    ("--vs", "o1", "--ratio", "2"),
    ("--dedupe",),  # the samples log 2 calls twice (Helicone and OTel): 2 traces left out
)


def _euler_circuit(n: int) -> Iterator[int]:
    """Vertices of a walk through every ordered pair (i, j), i != j, of n settings."""
    edges = {i: [j for j in range(n) if j != i] for i in range(n)}
    stack, walk = [0], []
    while stack:
        here = stack[-1]
        if edges[here]:
            stack.append(edges[here].pop())
        else:
            walk.append(stack.pop())
    return reversed(walk)


def test_every_pair_of_settings_warm_equals_no_cache(runner: CliRunner, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    cold = {
        i: _report_json(runner, str(SAMPLES), *o, "--no-cache") for i, o in enumerate(OPTION_SETS)
    }
    for index in _euler_circuit(len(OPTION_SETS)):
        warm = _report_json(runner, str(SAMPLES), *OPTION_SETS[index], "--cache-dir", cache)
        assert warm == cold[index], OPTION_SETS[index]


def test_growing_set_of_files_warm_equals_no_cache(runner: CliRunner, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    cache = str(tmp_path / "cache")
    for name in (
        "deepseek-reasoner.json",
        "openai-chat-o1.jsonl",
        "openrouter.jsonl",
        "vllm.jsonl",
    ):
        shutil.copy(SAMPLES / name, logs / name)
        for options in ((), ("--vs", "o1"), ("--vs", "deepseek-reasoner")):
            warm = _report_json(runner, str(logs), *options, "--cache-dir", cache)
            assert warm == _report_json(runner, str(logs), *options, "--no-cache"), (name, options)


def _entries(cache: Path) -> list[Path]:
    return [p for p in cache.glob("*/*") if (p / "meta.json").is_file()]


def test_tampered_cache_is_measured_again(runner: CliRunner, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    truth = _report_json(runner, str(SAMPLES), "--no-cache")
    _report_json(runner, str(SAMPLES), "--cache-dir", str(cache))
    for entry in _entries(cache):  # every token count multiplied by 1,000
        meta = orjson.loads((entry / "meta.json").read_bytes())
        data = (entry / "traces.parts").read_bytes()
        out = io.BytesIO()
        for part in meta["parts"]:
            table = pl.read_parquet(data[part["offset"] : part["offset"] + part["length"]])
            counts = [c for c, t in table.schema.items() if c.endswith("_tokens") and t == pl.Int64]
            table.with_columns(pl.col(counts) * 1000).write_parquet(out)
        (entry / "traces.parts").write_bytes(out.getvalue())
    assert _report_json(runner, str(SAMPLES), "--cache-dir", str(cache)) == truth
    for entry in _entries(cache):  # emptied totals
        meta = orjson.loads((entry / "meta.json").read_bytes())
        meta["stats"] = {}
        (entry / "meta.json").write_bytes(orjson.dumps(meta))
    assert _report_json(runner, str(SAMPLES), "--cache-dir", str(cache)) == truth
    for entry in _entries(cache):  # wrong types
        meta = orjson.loads((entry / "meta.json").read_bytes())
        meta["stats"]["read"] = "many"
        (entry / "meta.json").write_bytes(orjson.dumps(meta))
    assert _report_json(runner, str(SAMPLES), "--cache-dir", str(cache)) == truth
    for entry in _entries(cache):  # parts whose rows are not a count
        meta = orjson.loads((entry / "meta.json").read_bytes())
        for part in meta["parts"]:
            part["rows"] = "many"
        (entry / "meta.json").write_bytes(orjson.dumps(meta))
    assert _report_json(runner, str(SAMPLES), "--cache-dir", str(cache)) == truth


def test_cache_entry_of_other_columns_is_a_miss(tmp_path: Path) -> None:
    cache = traceviz.pipeline.ResultCache(tmp_path)
    run = traceviz.analyze(SAMPLES / "groq.jsonl")
    traces = run.traces.select(measured_schema(traceviz.AnalysisOptions()).names())
    cache.put("k" * 40, traces, run.stats, [])
    entry = cache.get("k" * 40, measured_schema(traceviz.AnalysisOptions()))
    assert entry is not None
    entry.close()
    assert cache.get("k" * 40, measured_schema(traceviz.AnalysisOptions(vs="o1"))) is None


def test_failing_cache_disk_costs_speed_not_the_run(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: pl.DataFrame, *args: object, **kwargs: object) -> None:
        msg = "Invalid thrift"
        raise pl.exceptions.ComputeError(msg)

    cache = tmp_path / "cache"
    monkeypatch.setattr(pl.DataFrame, "write_parquet", broken)
    result = runner.invoke(main, ["report", str(SAMPLES), "--cache-dir", str(cache), "-q"])
    _ok(result)
    assert not list(cache.rglob(".tmp-*")), "staging folders left behind"


# --- gates that never pass on nothing -------------------------------------------------


def test_audit_on_nothing_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(main, ["audit", str(SAMPLES), "--since", "2030-01-01", "--budget", "0"])
    assert result.exit_code == 1, result.output
    assert "ok" not in result.stdout
    assert "Error: no trace was evaluated, so no rule was checked" in result.stderr
    assert "Every trace was left out by --since, --until or --model: widen them." in result.stderr


def test_audit_on_a_missing_file_exits_1_without_report(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["audit", str(tmp_path / "nope.jsonl"), "--budget", "1"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no such file or directory" in result.stderr


def test_audit_on_all_quarantined_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n{"hello": 2}\n')
    result = runner.invoke(
        main, ["audit", str(bad), "--budget", "1", "--quarantine", str(tmp_path / "q.jsonl")]
    )
    assert result.exit_code == 1
    assert "no record could be read as a trace: unknown shape (2)" in result.stderr
    assert f"see {tmp_path / 'q.jsonl'}" in result.stderr


def test_audit_rule_not_computed_is_not_evaluated(runner: CliRunner) -> None:
    args = ["audit", str(SAMPLES), "--no-steps", "--max-looping-share", "0.5", "--budget", "100"]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "NOT EVALUATED max_looping_share: behaviour metrics were not computed"
        " (--no-steps, or no visible reasoning)",
        "WARNING [all]: 10 of 44 traces not priced; budget checked over the 34 priced",
        "WARNING [all]: 2 responses logged more than once (by logged response_id and choice),"
        " in 4 records: 2 repeats holding $0.0396 (7.3% of the spend) counted again;"
        " rules checked over every copy",  # by Helicone and in OTel spans
    ]


def test_audit_json_numbers_are_numbers(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    args = ["audit", str(SAMPLES), "--max-reasoning-tokens", "100", "--budget", "0.1",
            "--json", str(out)]  # fmt: skip
    assert runner.invoke(main, args).exit_code == 3
    document = json.loads(out.read_text())
    by_rule = {v["rule"]: v for v in document["violations"]}
    assert by_rule["max_reasoning_tokens"]["value"] == 4000
    assert by_rule["budget"]["limit"] == 0.1
    assert isinstance(by_rule["budget"]["value"], float)
    assert document["traces"] == 44
    assert document["not_evaluated"] == {}


# --- flags that do what they say -------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["report"],
        ["audit", "--budget", "1"],
        ["steps", "-o", "{tmp}/s.parquet"],
        ["count"],
        ["ingest", "-o", "{tmp}/t.parquet"],
        ["show", "x"],
    ],  # fmt: skip
)
def test_strict_and_quarantine_on_every_command(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text((SAMPLES / "groq.jsonl").read_text() + "not json\n")
    quarantine = tmp_path / "q.jsonl"
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    strict = runner.invoke(main, [*args, str(log), "--strict"])
    assert strict.exit_code == 1, strict.output
    assert f"Error: {log}:3: " in strict.stderr
    assert "Drop --strict to quarantine bad records and go on." in strict.stderr
    runner.invoke(main, [*args, str(log), "--quarantine", str(quarantine)])
    rows = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert [(r["source"], r["line"]) for r in rows] == [(str(log), 3)]


def test_compare_writes_its_quarantine_and_honours_strict(
    runner: CliRunner, tmp_path: Path
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text((SAMPLES / "openai-batch.jsonl").read_text() + "not json\n")
    quarantine = tmp_path / "q.jsonl"
    runner.invoke(main, ["compare", str(log), str(log), "--quarantine", str(quarantine)])
    assert quarantine.is_file()
    assert runner.invoke(main, ["compare", str(log), str(log), "--strict"]).exit_code == 1


def test_by_a_key_no_trace_has_is_said(runner: CliRunner) -> None:
    result = runner.invoke(main, ["report", str(SAMPLES), "--by", "tenant", "--format", "json"])
    _ok(result)
    assert "warning: no trace has 'tenant' (as a column or a metadata key); all are (none)" in (
        result.stderr
    )
    quiet = runner.invoke(main, ["report", str(SAMPLES), "--by", "team", "--format", "json"])
    assert "no trace has 'team'" not in quiet.stderr  # the logger wrappers carry a team


def test_compare_by_a_metadata_key(runner: CliRunner, tmp_path: Path) -> None:
    def line(custom_id: str, model: str, reasoning: int, team: str) -> dict[str, object]:
        body = {"id": f"chatcmpl-{custom_id}{model}", "object": "chat.completion", "model": model,
                "created": 1735000000,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "4"}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": reasoning + 1,
                          "completion_tokens_details": {"reasoning_tokens": reasoning}},
                }  # fmt: skip
        return {"custom_id": custom_id, "request": {"model": model, "messages": []},
                "response": body, "metadata": {"team": team}}  # fmt: skip

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(
        b"\n".join(orjson.dumps(line(str(i), "o1", 200 * (i + 1), "x")) for i in range(4))
    )
    b.write_bytes(
        b"\n".join(orjson.dumps(line(str(i), "o3-mini", 100 * (i + 1), "x")) for i in range(4))
    )
    result = runner.invoke(main, ["compare", str(a), str(b), "--by", "team"])
    _ok(result)
    assert "--ratio 2.000" in result.stdout
    assert "x" in result.stdout


def test_compare_hint_never_suggests_the_option_given(runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        ["compare", str(SAMPLES / "groq.jsonl"), str(SAMPLES / "vllm.jsonl"), "--on", "prompt"],
    )
    assert result.exit_code == 1
    assert "or try --on custom_id." in result.stderr
    assert "--on prompt." not in result.stderr


def test_logger_wrapper_with_custom_id_is_a_wrapper(runner: CliRunner, tmp_path: Path) -> None:
    body = json.loads((SAMPLES / "openai-chat-o1.jsonl").read_text().splitlines()[0])
    log = tmp_path / "wrapped.jsonl"
    log.write_text(
        json.dumps({"custom_id": "task-7", "request": {"model": "o1"}, "response": body})
    )
    traces = traceviz.read(log)
    assert traces.height == 1
    assert traces.row(0, named=True)["custom_id"] == "task-7"
    assert traces.row(0, named=True)["format"] == "openai-chat"


def test_forced_shape_that_does_not_fit_is_a_plain_reason(tmp_path: Path) -> None:
    log = tmp_path / "objects.jsonl"
    log.write_text('{"a": 1}\n')
    ingest = traceviz.Ingest()
    traceviz.read(log, traceviz.ReadOptions(shape="think-tags"), ingest)
    assert [q.reason for q in ingest.quarantined] == [
        "--shape think-tags: the record is not of that shape (unknown shape: an object with keys a)"
    ]


def test_every_record_quarantined_says_so_in_one_line(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n[1]\n")
    quarantine = tmp_path / "q.jsonl"
    result = runner.invoke(main, ["report", str(bad), "--quarantine", str(quarantine)])
    assert result.exit_code == 0
    assert "no record could be read as a trace: " in result.stderr
    assert f"; see {quarantine}" in result.stderr


def test_missing_input_prints_no_empty_report(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["report", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no such file or directory" in result.stderr


# --- outputs never overwrite inputs (issue 14) ------------------------------------------


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        (["ingest"], "-o"),
        (["report"], "--quarantine"),
        (["report"], "-o"),
        (["audit", "--budget", "1"], "--json"),
        (["steps"], "-o"),
        (["count"], "--quarantine"),
    ],  # fmt: skip
)
def test_an_output_onto_an_input_is_refused_before_reading(
    runner: CliRunner, tmp_path: Path, command: list[str], flag: str
) -> None:
    log = tmp_path / "in.jsonl"
    shutil.copy(SAMPLES / "groq.jsonl", log)
    before = log.read_bytes()
    result = runner.invoke(main, [*command, str(log), flag, str(log)])
    assert result.exit_code == 1, result.output
    assert f"Error: {flag} {log} is one of the inputs; writing it would destroy that log" in (
        result.stderr
    )
    assert log.read_bytes() == before


def test_an_output_inside_an_input_folder_walk_is_refused(
    runner: CliRunner, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(SAMPLES / "groq.jsonl", logs / "groq.jsonl")
    result = runner.invoke(main, ["ingest", str(logs), "-o", str(logs / "traces.jsonl")])
    assert result.exit_code == 1
    assert f"lies inside the input folder {logs}" in result.stderr
    assert not (logs / "traces.jsonl").exists()
    # a report page is not a log the walk reads: writing it there is fine
    html = logs / "report.html"
    _ok(runner.invoke(main, ["report", str(logs), "-o", str(html), "-q"]))
    assert html.read_text().startswith("<!doctype html>")


def test_a_failed_run_leaves_the_old_output_whole(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text((SAMPLES / "groq.jsonl").read_text() + "not json\n")
    out = tmp_path / "traces.parquet"
    out.write_bytes(b"an old table")
    result = runner.invoke(main, ["ingest", str(log), "-o", str(out), "--strict"])
    assert result.exit_code == 1
    assert out.read_bytes() == b"an old table"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.jsonl", "traces.parquet"]
    _ok(runner.invoke(main, ["ingest", str(log), "-o", str(out)]))
    assert pl.read_parquet(out).height == 2
    assert out.stat().st_mode & 0o644 == 0o644


def test_settings_key_covers_every_field_and_refuses_unknown_types() -> None:
    from dataclasses import dataclass, replace

    from traceviz.cache import settings_key
    from traceviz.pipeline import measure_key

    base = traceviz.AnalysisOptions()
    changed = [
        replace(base, vs="o1"),
        replace(base, steps=False),
        replace(base, tokenizer="cl100k_base"),
        replace(base, read=traceviz.ReadOptions(max_record_bytes=10)),
        replace(base, read=traceviz.ReadOptions(models=("o1",))),
    ]
    keys = {measure_key(options) for options in [base, *changed]}
    assert len(keys) == 1 + len(changed)
    assert measure_key(replace(base, tier="batch")) == measure_key(base)  # priced after

    @dataclass(frozen=True)
    class Odd:
        handle: object

    with pytest.raises(TypeError, match="cannot key the cache on a object setting"):
        settings_key(Odd(object()))


def test_progress_is_reported_in_bytes_of_the_total() -> None:
    seen: list[tuple[int, int, int]] = []
    ingest = traceviz.Ingest(on_progress=lambda *values: seen.append(values))
    traceviz.analyze(SAMPLES, traceviz.AnalysisOptions(steps=False), ingest)
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert seen, "no progress reported"
    dones = [done for done, _, _ in seen]
    assert dones == sorted(dones)
    assert seen[-1][0] == seen[-1][1] > 0
    assert seen[-1][1] <= total
    assert seen[-1][2] == 44


def test_no_progress_bar_on_a_pipe() -> None:
    from traceviz.cli.progress import progress_bar

    with progress_bar(quiet=False) as bar:  # stderr is not a terminal under pytest
        assert bar is None


def test_a_file_named_twice_is_read_once(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    shutil.copy(SAMPLES / "groq.jsonl", log)
    result = runner.invoke(
        main, ["report", str(log), str(log), str(tmp_path), "--format", "json", "--workers", "2"]
    )
    _ok(result)
    assert json.loads(result.stdout)["ingest"]["traces"] == 2
    assert "2 files passed over (named twice 2)" in result.stderr


def test_a_run_without_prices_measures_the_same_and_prices_nothing() -> None:
    priced = traceviz.analyze(SAMPLES, traceviz.AnalysisOptions(vs="o1"))
    unpriced = traceviz.analyze(SAMPLES, traceviz.AnalysisOptions(vs="o1", prices=False))
    assert COST_TOTAL in priced.traces.columns
    priced_only = set(priced.traces.columns) - set(unpriced.traces.columns)
    assert {COST_TOTAL, "whatif_cost_total", "price_id"} <= priced_only
    assert not [c for c in unpriced.traces.columns if c.startswith("whatif_")]
    measured = [c for c in unpriced.traces.columns if c != COST_LOGGED]
    assert_frame_equal(priced.traces.select(measured), unpriced.traces.select(measured))


# --- a log that bills less than its visible reasoning counts -------------------------------


def test_the_bill_after_the_first_answer_never_exceeds_the_reasoning(
    runner: CliRunner, tmp_path: Path
) -> None:
    """R1 billed 3 output tokens for a reasoning that counts 13, 11 of them after the
    answer first appears: the part cannot cost more than the whole, and the report says
    which figure was cut and on how many traces."""
    record = {
        "model": "deepseek-reasoner",
        "choices": [{"message": {"content": "4", "reasoning_content": "2+2=4. Wait, check: 4."}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3},
    }
    log = tmp_path / "short-bill.jsonl"
    log.write_bytes(orjson.dumps(record) + b"\n")
    table = tmp_path / "traces.parquet"
    _ok(runner.invoke(main, ["ingest", str(log), "-o", str(table), "-q", "--no-cache"]))
    row = pl.read_parquet(table).row(0, named=True)
    assert row["tokens_reasoning"] > row["output_tokens"] == 3
    assert (row["reasoning_tokens"], row["reasoning_tokens_source"]) == (3, "clipped")
    assert row["reasoning_tokens_after_first_answer"] > 3
    assert row["reasoning_tokens_after_first_answer_billed"] == 3
    assert row["cost_after_first_answer"] == row["cost_reasoning"] > 0
    document = _report_json(runner, str(log), "--no-cache")
    assert document["overall"]["overthinking_tokens"] == 3
    assert document["overall"]["overthinking_token_share"] == 1.0
    assert document["overall"]["overthinking_share"] == 1.0
    notes = " ".join(document["estimates"])
    assert "counts more tokens than the whole billed output on 1 trace" in notes
    assert "more tokens after the first answer than billed reasoning on 1 trace" in notes


# --- a log that says more of the prompt was cached than the prompt holds -------------------


def test_cache_reads_and_writes_are_never_billed_above_the_prompt(
    runner: CliRunner, tmp_path: Path
) -> None:
    """o1 logged 50 cached tokens of a 10-token prompt: the prompt is billed once at most,
    and the report says on how many traces the logged split could not be true."""
    record = {
        "id": "o1-cached",
        "model": "o1-2024-12-17",
        "created": 1736000000,
        "choices": [{"message": {"content": "4"}}],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 50},
            "completion_tokens_details": {"reasoning_tokens": 12},
        },
    }
    log = tmp_path / "cached.jsonl"
    log.write_bytes(orjson.dumps(record) + b"\n")
    table = tmp_path / "traces.parquet"
    _ok(runner.invoke(main, ["ingest", str(log), "-o", str(table), "-q", "--no-cache"]))
    row = pl.read_parquet(table).row(0, named=True)
    assert (row["usage_input"], row["usage_cached_input"]) == (10, 50)
    assert row["cached_input_tokens"] == 10  # as the prompt holds at most
    assert row["cost_input"] == 0
    # the ten prompt tokens at o1's cached rate ($7.50 a million), not fifty
    assert row["cost_cached_input"] == Decimal("0.000075")
    assert row["cost_cache_saved"] == Decimal("0.000075")  # 10 at $15, less what they cost
    notes = " ".join(_report_json(runner, str(log), "--no-cache")["estimates"])
    assert "more cached and cache-write tokens than prompt tokens logged (impossible)" in notes
    assert "on 1 trace: the logged prompt billed once" in notes
