"""Responses logged more than once (two copies of a log, a log concatenated twice, one call
kept by two stores) are counted each time by every figure; the report and the audit say
how many, in how many records, and what they hold, by the logged response id and choice
alone, the same however the run is cut, cached or spread over processes."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import pytest
import report_reference
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from traceviz import report as reports
from traceviz.cache import ResultCache
from traceviz.cli import main
from traceviz.engines import LocalProcesses
from traceviz.errors import ConfigError
from traceviz.load import Ingest
from traceviz.pipeline import AnalysisOptions, RunOptions, analyze_results
from traceviz.report.partials import Partial

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
O1 = SAMPLES / "openai-chat-o1.jsonl"


def _json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["report", *args, "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = orjson.loads(result.stdout)
    return document


def _copies(tmp_path: Path, sample: Path = O1, names: tuple[str, ...] = ("a", "b")) -> list[str]:
    paths = []
    for name in names:
        path = tmp_path / f"{name}{sample.suffix}"
        shutil.copy(sample, path)
        paths.append(str(path))
    return paths


def test_two_copies_of_a_log_say_half_the_bill_is_counted_again(tmp_path: Path) -> None:
    # two copies of the o1 sample billed $0.658890 and said nothing of the copies
    one = _json(str(O1), "--no-cache")
    two = _json(*_copies(tmp_path), "--no-cache")
    calls = one["overall"]["traces"]
    assert Decimal(two["overall"]["cost_total"]) == 2 * Decimal(one["overall"]["cost_total"])
    repeats = two["repeats"]
    assert repeats["responses"] == calls
    assert repeats["records"] == 2 * calls
    assert repeats["traces_repeated"] == calls
    assert Decimal(repeats["cost"]) == Decimal(one["overall"]["cost_total"])  # exact money
    assert repeats["share_of_cost"] == 0.5
    assert repeats["share_of_tokens"] == 0.5
    assert (repeats["traces_checked"], repeats["traces_not_checked"]) == (2 * calls, 0)
    assert one["repeats"]["traces_repeated"] == 0
    assert one["repeats"]["cost"] == "0"
    line = f"Logged more than once: {calls} responses in {2 * calls} records (by response id)"
    assert line in two["headline"]["lines"][2]


def test_every_format_says_so(tmp_path: Path) -> None:
    paths = [*_copies(tmp_path), "--no-cache", "-q"]
    headline = "Logged more than once: 2 responses"
    note = "2 responses logged more than once by their logged response"
    for fmt in ("md", "html"):
        result = CliRunner().invoke(main, ["report", *paths, "--format", fmt])
        assert result.exit_code == 0, result.output
        shown = result.stdout.replace("**", "")
        if fmt == "html":  # the headline as a card: label, value, detail
            assert '<div class="label">Logged more than once</div>' in shown
            assert '<div class="value">2 responses</div>' in shown
        else:
            assert headline in shown, fmt
        assert note in result.stdout, fmt
        assert "$0.3294 of the $0.6589 total cost (50.0%)" in result.stdout, fmt
    terminal = CliRunner().invoke(main, ["report", *paths], terminal_width=200)
    assert headline in terminal.stdout
    full = CliRunner().invoke(main, ["report", *paths, "--full"], terminal_width=200)
    assert note in full.stdout


def test_a_duplicate_inside_one_file_counts_too(tmp_path: Path) -> None:
    twice = tmp_path / "twice.jsonl"
    twice.write_bytes(O1.read_bytes() * 2)
    inside = _json(str(twice), "--no-cache")["repeats"]
    across = _json(*_copies(tmp_path), "--no-cache")["repeats"]
    assert inside == across
    assert inside["responses"] == 2


def test_a_file_named_twice_is_read_once_and_is_no_repeat(tmp_path: Path) -> None:
    path = _copies(tmp_path, names=("a",))[0]
    result = CliRunner().invoke(main, ["report", path, path, "--format", "json", "--no-cache"])
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    assert document["repeats"]["traces_repeated"] == 0
    assert document["overall"]["traces"] == 2
    assert "named twice" in result.stderr


def _choices(choices: int, response_id: str) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": 1741000000,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": "391" * (i + 1)},
                "finish_reason": "stop",
            }
            for i in range(choices)
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 90},
    }


def test_the_choices_of_one_response_are_not_copies_of_it(tmp_path: Path) -> None:
    log = tmp_path / "n3.jsonl"
    log.write_text("".join(json.dumps(_choices(3, f"cmpl-{i}")) + "\n" for i in range(2)))
    alone = _json(str(log), "--no-cache")
    assert alone["overall"]["traces"] == 6
    assert alone["repeats"]["traces_repeated"] == 0
    again = tmp_path / "again.jsonl"
    shutil.copy(log, again)
    both = _json(str(log), str(again), "--no-cache")["repeats"]
    # 2 responses of 3 choices, logged twice: 4 records, the 6 choices of the copies again
    assert (both["responses"], both["records"], both["traces_repeated"]) == (2, 4, 6)
    assert Decimal(both["cost"]) == Decimal(alone["overall"]["cost_total"])


def test_traces_without_a_logged_id_are_never_taken_for_copies(tmp_path: Path) -> None:
    # Ollama logs no response id: its trace ids are made up from file and line
    paths = _copies(tmp_path, SAMPLES / "ollama-chat.jsonl")
    repeats = _json(*paths, "--no-cache")["repeats"]
    assert repeats["traces_repeated"] == 0
    assert repeats["traces_checked"] == 0
    assert repeats["traces_not_checked"] > 0


def test_no_logged_id_reaches_an_output_unescaped(tmp_path: Path) -> None:
    """The repeats are said in counts, never ids; the trace ids the outliers table shows
    (a chat trace's id is its response id) are escaped there, as before."""
    hostile = "<img src=x onerror=alert(1)>\x1b[31m|=cmd"
    log = tmp_path / "h.jsonl"
    record = json.loads(O1.read_text().splitlines()[0])
    record["id"] = hostile
    log.write_text((json.dumps(record) + "\n") * 2)
    for fmt in ("md", "html", "json", "terminal"):
        result = CliRunner().invoke(main, ["report", str(log), "--no-cache", "-q", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert hostile not in result.stdout, fmt
        if fmt in ("md", "html"):  # JSON keeps the outliers' ids as text, JSON-escaped
            assert "<img" not in result.stdout.replace("\\<img", ""), fmt
        assert "\x1b" not in result.stdout, fmt
        pieces = re.split("<[^>]*>", result.stdout) if fmt == "html" else result.stdout.splitlines()
        said = [piece for piece in pieces if "more than once" in piece]
        assert said, fmt
        assert not any("img" in line or "onerror" in line for line in said), fmt


def test_grouped_reports_state_the_repeats_of_the_whole_run(tmp_path: Path) -> None:
    paths = [*_copies(tmp_path), "--no-cache"]
    grouped = _json(*paths, "--by", "source")
    assert grouped["repeats"] == _json(*paths)["repeats"]
    assert any("stated for the whole run" in line for line in _md(paths, "--by", "source"))


def _md(paths: list[str], *args: str) -> list[str]:
    result = CliRunner().invoke(main, ["report", *paths, *args, "--format", "md", "-q"])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_audit_warns_of_a_doubled_bill(tmp_path: Path) -> None:
    paths = _copies(tmp_path)
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(
        main, ["audit", *paths, "--budget", "100", "--no-cache", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "WARNING [all]: 2 responses logged more than once (by logged response_id and choice),"
        " in 4 records: 2 repeats holding $0.3294 (50.0% of the spend) counted again;"
        " rules checked over every copy"
    )
    assert lines[1] == "ok: 1 rule holds over 4 traces; 2 traces repeat others (see the WARNING)"
    repeats = orjson.loads(out.read_bytes())["repeats"]
    assert (repeats["responses"], repeats["traces_repeated"], repeats["cost"]) == (
        2,
        2,
        "0.329445000000",
    )
    single = CliRunner().invoke(main, ["audit", paths[0], "--budget", "100", "--no-cache"])
    assert single.stdout.splitlines() == ["ok: 1 rule holds over 2 traces"]


def test_warm_cache_and_no_cache_give_the_same_report_byte_for_byte(tmp_path: Path) -> None:
    paths = [*_copies(tmp_path), str(SAMPLES)]
    cached = ["--cache-dir", str(tmp_path / "cache")]
    args = ["report", *paths, "--format", "json", "-q"]
    runs = [
        CliRunner().invoke(main, [*args, *cached]),  # cold, fills the cache
        CliRunner().invoke(main, [*args, *cached]),  # warm
        CliRunner().invoke(main, [*args, *cached]),  # warm again
        CliRunner().invoke(main, [*args, "--no-cache"]),
        CliRunner().invoke(main, [*args, "--no-cache", "--workers", "2"]),
    ]
    assert all(r.exit_code == 0 for r in runs), [r.output for r in runs]
    assert len({r.stdout for r in runs}) == 1
    # the o1 sample's 2 calls (in a, b and samples/), and the 2 of Helicone's also in OTel
    assert orjson.loads(runs[0].stdout)["repeats"]["responses"] == 2 + 2


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The line samples three times over in one file (copies in other shards), and a
    shard-sized run of the o1 sample between them (copies in the same shard)."""
    path = tmp_path_factory.mktemp("repeats") / "copies.jsonl"
    lines = sorted(SAMPLES.glob("*.jsonl"))
    with path.open("wb") as out:
        for _ in range(3):
            for sample in lines:
                out.write(sample.read_bytes().rstrip(b"\n") + b"\n")
            out.write(O1.read_bytes() * 4)
    return path


def _repeats(paths: list[Path], run: RunOptions) -> reports.Report:
    ingest = Ingest()
    results = analyze_results(paths, AnalysisOptions(keep_steps=False), ingest, run)
    return reports.finish(reports.collect(results), ingest.stats)


def test_any_cut_of_the_run_gives_the_same_repeats(big_log: Path) -> None:
    whole = _repeats([big_log], RunOptions(shard_bytes=10**9))
    traces = pl.concat(
        [
            r.traces
            for r in analyze_results([big_log], AnalysisOptions(keep_steps=False), Ingest())
            if r.traces.height
        ]
    )
    expected = report_reference.repeated(traces)  # by the ids themselves, over the table
    assert whole.repeats == expected
    assert expected.responses > 10
    assert expected.repeats > expected.responses  # three copies and more
    sharded = _repeats([big_log], RunOptions(shard_bytes=700))
    engine = LocalProcesses(2)
    engine.min_bytes = 0  # a small input on two processes all the same
    try:
        spread = _repeats([big_log], RunOptions(engine=engine, shard_bytes=700))
    finally:
        engine.close()
    assert sharded.repeats == expected
    assert spread.repeats == expected
    assert reports.FORMATS["json"](spread) == reports.FORMATS["json"](whole)
    # and merged as a tree of uneven pieces, not left to right
    pieces = [traces[a : a + 7] for a in range(0, traces.height, 7)]
    partials = [Partial.of(p) for p in pieces]
    while len(partials) > 1:
        partials = [
            partials[i].merge(partials[i + 1]) if i + 1 < len(partials) else partials[i]
            for i in range(0, len(partials), 2)
        ]
    assert partials[0].repeats.figures() == expected


def test_a_run_holds_the_keys_alone(big_log: Path) -> None:
    """The driver keeps 8 bytes a logged (id, choice), not the first copies' figures."""
    partial = reports.collect(
        analyze_results([big_log], AnalysisOptions(keep_steps=False), Ingest())
    )
    held = partial.repeats
    assert held.pending is None
    assert all(run.dtype == np.uint64 for run in held.seen.runs)  # 8 bytes a key
    assert held.seen.size == held.keyed - held.repeats


def test_a_traces_table_of_before_the_choice_column_keeps_its_choices_apart(
    tmp_path: Path,
) -> None:
    log = tmp_path / "n3.jsonl"
    log.write_text(json.dumps(_choices(3, "cmpl-0")) + "\n")
    table = tmp_path / "t.jsonl"
    result = CliRunner().invoke(main, ["ingest", str(log), "-o", str(table), "--no-cache"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in table.read_text().splitlines()]
    assert [row.pop("choice") for row in rows] == [0, 1, 2]
    table.write_text("".join(json.dumps(row) + "\n" for row in rows))  # as written before
    repeats = _json(str(table), "--no-cache")["repeats"]
    assert (repeats["traces_checked"], repeats["traces_repeated"]) == (3, 0)


def test_dedupe_counts_each_logged_response_once(tmp_path: Path) -> None:
    one = _json(str(O1), "--no-cache")
    paths = _copies(tmp_path)
    deduped = _json(*paths, "--no-cache", "--dedupe")
    assert deduped["overall"]["cost_total"] == one["overall"]["cost_total"]
    assert deduped["overall"]["traces"] == one["overall"]["traces"]
    assert deduped["ingest"]["traces_left_out"] == {"logged more than once (--dedupe)": 2}
    assert deduped["repeats"]["traces_repeated"] == 0  # none is left to count twice
    assert (
        "2 left out as logged more than once (--dedupe), 2 reported"
        in (deduped["headline"]["lines"][0])
    )
    # one of the samples' two repeated calls is o1's: both reasons leave traces out
    both = _json(str(SAMPLES), "--no-cache", "--dedupe", "--model", "o1*")
    assert both["ingest"]["traces_left_out"]["logged more than once (--dedupe)"] == 1
    assert "37 left out by filters and --dedupe, 7 reported" in both["headline"]["lines"][0]
    # the first copy is kept: the traces of a.jsonl
    table = tmp_path / "t.parquet"
    result = CliRunner().invoke(
        main, ["ingest", *paths, "--dedupe", "--no-cache", "-o", str(table)]
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(table)["source"].to_list() == [paths[0]] * 2


def test_dedupe_warm_equals_no_cache_byte_for_byte(tmp_path: Path) -> None:
    paths = [*_copies(tmp_path), str(SAMPLES)]
    cached = ["--cache-dir", str(tmp_path / "cache")]
    args = ["report", *paths, "--format", "json", "-q", "--dedupe"]
    plain = CliRunner().invoke(main, ["report", *paths, "-q", *cached])  # fills the cache
    runs = [
        CliRunner().invoke(main, [*args, *cached]),  # warm, from entries made without it
        CliRunner().invoke(main, [*args, *cached]),
        CliRunner().invoke(main, [*args, "--no-cache"]),
        CliRunner().invoke(main, [*args, "--no-cache", "--workers", "2"]),
    ]
    assert all(r.exit_code == 0 for r in [plain, *runs]), [r.output for r in runs]
    assert len({r.stdout for r in runs}) == 1
    left_out = orjson.loads(runs[0].stdout)["ingest"]["traces_left_out"]
    # the o1 sample's 2 calls in a, b and samples/, and the 2 of Helicone's also in OTel
    assert left_out == {"logged more than once (--dedupe)": 2 * 2 + 2}


def test_dedupe_on_any_cut_keeps_the_first_copies(big_log: Path) -> None:
    options = AnalysisOptions(keep_steps=False, dedupe=True)
    whole = pl.concat(
        [r.traces for r in analyze_results([big_log], options, Ingest()) if r.traces.height]
    )
    engine = LocalProcesses(2)
    engine.min_bytes = 0
    try:
        run = RunOptions(engine=engine, shard_bytes=700)
        spread = pl.concat(
            [
                r.traces
                for r in analyze_results([big_log], options, Ingest(), run)
                if r.traces.height
            ]
        )
    finally:
        engine.close()
    # (step-kind probabilities are floats that differ with the batches, to rounding)
    assert_frame_equal(whole, spread, check_exact=False)
    assert report_reference.repeated(whole).repeats == 0
    everything = pl.concat(
        [
            r.traces
            for r in analyze_results([big_log], AnalysisOptions(keep_steps=False), Ingest())
            if r.traces.height
        ]
    )
    logged = pl.col("response_id").is_not_null()
    firsts = everything.filter(
        ~logged | pl.struct("response_id", pl.col("choice").fill_null(0)).is_first_distinct()
    )
    assert whole.equals(firsts)


def test_dedupe_cannot_keep_steps() -> None:
    with pytest.raises(ConfigError, match="their steps cannot follow"):
        analyze_results([O1], AnalysisOptions(dedupe=True))


def test_dedupe_reads_the_entries_a_run_without_it_made(tmp_path: Path) -> None:
    """`--dedupe` applies after the cache (the key blanks it): one entry serves both."""
    paths = _copies(tmp_path)
    plain = AnalysisOptions(keep_steps=False)
    list(analyze_results(paths, plain, Ingest(), RunOptions(cache=ResultCache(tmp_path / "c"))))
    cache = ResultCache(tmp_path / "c")
    run = RunOptions(cache=cache)
    ingest = Ingest()
    options = AnalysisOptions(keep_steps=False, dedupe=True)
    kept = sum(r.traces.height for r in analyze_results(paths, options, ingest, run))
    assert (cache.hits, cache.misses, kept) == (2, 0, 2)
    assert ingest.stats.filtered == {"logged more than once (--dedupe)": 2}
