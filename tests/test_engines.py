"""Parallel and distributed runs give exactly what one process gives; the cache reuses work."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from traceviz import engines, tokenizers
from traceviz.cache import ResultCache
from traceviz.cli import main
from traceviz.engines import LocalProcesses
from traceviz.load import Ingest, ReadOptions
from traceviz.pipeline import AnalysisOptions, RunOptions, analyze
from traceviz.shards import file_shards

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
LINE_SAMPLES = sorted(SAMPLES.glob("*.jsonl")) + [
    SAMPLES / "deepseek-stream.sse",
    SAMPLES / "openai-chat-stream-cut.sse",
]
OPTIONS = AnalysisOptions(keep_steps=False, vs="o1")


def _mixed_log(path: Path, copies: int) -> Path:
    """Every line-based sample (whole responses, streams, SSE) repeated, plus bad lines."""
    with path.open("wb") as out:
        for copy in range(copies):
            for sample in LINE_SAMPLES:
                out.write(sample.read_bytes().rstrip(b"\n") + b"\n")
            out.write(b'{"broken": \n')
            out.write(json.dumps({"copy": copy}).encode() + b"\n")
    return path


def _run(paths: list[Path], run: RunOptions) -> tuple[pl.DataFrame, Ingest]:
    ingest = Ingest()
    analysis = analyze(paths, OPTIONS, ingest, run)
    return analysis.traces, ingest


def test_shards_cut_at_lines_and_never_inside_a_stream(tmp_path: Path) -> None:
    log = _mixed_log(tmp_path / "mixed.jsonl", copies=3)
    shards = file_shards(str(log), shard_bytes=700)
    assert len(shards) > 10
    data = log.read_bytes()
    for before, after in zip(shards, shards[1:], strict=False):
        assert before.end == after.start
        assert data[after.start - 1 : after.start] == b"\n"
        assert after.first_line == data[: after.start].count(b"\n")
    # read shard by shard, the log gives what one reader gives: same traces, same lines
    whole = _run([log], RunOptions())
    sharded = _run([log], RunOptions(shard_bytes=700))
    assert_frame_equal(whole[0], sharded[0])
    assert whole[1].stats == sharded[1].stats
    assert whole[1].quarantined == sharded[1].quarantined
    assert whole[1].stats.chunks_merged > 0


def test_two_worker_processes_give_the_one_process_result(tmp_path: Path) -> None:
    logs = [_mixed_log(tmp_path / f"mixed{i}.jsonl", copies=4) for i in range(2)]
    one = _run([*logs, SAMPLES], RunOptions(shard_bytes=2_000))
    engine = LocalProcesses(2)
    engine.min_bytes = 0  # small input, processes all the same
    try:
        two = _run([*logs, SAMPLES], RunOptions(engine=engine, shard_bytes=2_000))
    finally:
        engine.close()
    assert_frame_equal(one[0], two[0])
    assert one[1].stats == two[1].stats
    assert one[1].quarantined == two[1].quarantined
    assert one[1].stats.quarantined >= 8  # the broken lines, in file order, with their lines
    lines = [q.line for q in two[1].quarantined if q.source == str(logs[0])]
    assert lines == sorted(lines)


def _worker_view(_: int) -> tuple[int, int, int, int, int]:
    """In a worker: its parent, tokenizers loaded before it counted, the parent's threads,
    and its memory shared with other processes and its own (MiB)."""
    from traceviz import tokenizers, tokens

    loaded = len(tokenizers._WHOLE)  # the whole encodings built
    tokens.counter("deepseek-v3").count_parts(["Okay. So 2 + 2 = 4."], [[0, 6]])
    tokens.counter("o1").count_batch(["the answer is 4"])
    memory = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_unit = line.split()
        memory[name.rstrip(":")] = int(value) // 1024
    threads = len(list(Path(f"/proc/{os.getppid()}/task").iterdir()))
    time.sleep(0.3)  # both workers up at once
    return os.getppid(), loaded, threads, memory["Shared_Dirty"], memory["Private_Dirty"]


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux /proc")
def test_workers_share_the_tokenizer_tables_their_fork_server_loaded() -> None:
    engine = LocalProcesses(2)
    views = list(engine.map(_worker_view, range(4)))
    servers = {parent for parent, *_ in views}
    assert len(servers) == 1  # forked by one server...
    (server,) = servers
    assert server != os.getpid()  # ...not by this process (its polars threads)
    for _, loaded, threads, shared, private in views:
        assert loaded == len(tokenizers.PRELOADED)  # the worker loaded none itself
        assert threads == 1  # the server forks with no other thread alive
        assert shared >= 70  # the ~90 MiB of tables (rank dicts shed), held once for all
        assert private < shared
    assert not Path(f"/proc/{server}").exists()  # stopped with its workers


def test_cache_reuses_unchanged_files_and_rereads_changed_ones(tmp_path: Path) -> None:
    log = _mixed_log(tmp_path / "a.jsonl", copies=2)
    other = _mixed_log(tmp_path / "b.jsonl", copies=1)
    cache = ResultCache(tmp_path / "cache")
    first = _run([log, other], RunOptions(cache=cache))
    assert (cache.hits, cache.misses) == (0, 2)
    second = _run([log, other], RunOptions(cache=cache))
    assert (cache.hits, cache.misses) == (2, 2)
    assert_frame_equal(first[0], second[0])
    assert first[1].stats == second[1].stats
    assert first[1].quarantined == second[1].quarantined
    with log.open("ab") as out:
        out.write((SAMPLES / "openai-chat-o1.jsonl").read_bytes())
    third = _run([log, other], RunOptions(cache=cache))
    assert (cache.hits, cache.misses) == (3, 3)
    assert third[0].height == first[0].height + 2


def test_report_reads_the_cache_on_a_second_run(tmp_path: Path) -> None:
    log = _mixed_log(tmp_path / "a.jsonl", copies=2)
    cache_dir = tmp_path / "cache"
    outputs = []
    for _ in range(2):
        out = tmp_path / "report.json"
        args = ["report", str(log), "--cache-dir", str(cache_dir), "-q", "-o", str(out)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(list(cache_dir.glob("*/*/meta.json"))) == 1


def test_unknown_engine_settings_are_clear_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(SAMPLES), "--engine", "dask"])
    assert result.exit_code == 1
    assert "--engine dask needs --address" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_dask_cluster_report_is_byte_for_byte_the_local_one(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    logs = [_mixed_log(tmp_path / f"mixed{i}.jsonl", copies=3) for i in range(2)]
    paths = [str(p) for p in logs] + [str(SAMPLES)]
    common = ["--vs", "o1", "--by", "model", "--no-cache", "-q", "--format", "json"]
    local = CliRunner().invoke(main, ["report", *paths, *common, "--workers", "1"])
    assert local.exit_code == 0, local.output
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = CliRunner().invoke(
            main,
            ["report", *paths, *common, "--engine", "dask", "--address", cluster.scheduler_address],
        )
    assert remote.exit_code == 0, remote.output
    assert remote.stdout_bytes == local.stdout_bytes
    assert json.loads(remote.stdout_bytes)["overall"]["traces"] > 50


def test_a_huge_line_at_a_cut_is_quarantined_once(tmp_path: Path) -> None:
    log = _mixed_log(tmp_path / "big.jsonl", copies=1)
    with log.open("ab") as out:
        out.write(b'{"pad": "' + b"x" * 3_000_000 + b'"}\n')
    _mixed_log(tmp_path / "tail.jsonl", copies=1)
    with log.open("ab") as out:
        out.write((tmp_path / "tail.jsonl").read_bytes())
    options = AnalysisOptions(keep_steps=False, read=ReadOptions(max_record_bytes=1_000_000))
    whole, sharded = Ingest(), Ingest()
    one = analyze([log], options, whole, RunOptions())
    many = analyze([log], options, sharded, RunOptions(shard_bytes=50_000))
    assert_frame_equal(one.traces, many.traces)
    assert whole.quarantined == sharded.quarantined
    assert [q.reason.split(":")[0] for q in sharded.quarantined].count("record too large") == 1


def test_a_map_closed_while_another_runs_leaves_it_its_fork_server() -> None:
    first = LocalProcesses(2).map(abs, [-1, -2, -3, -4, -5])
    assert next(first) == 1
    second = LocalProcesses(2).map(abs, [-6, -7, -8, -9, -10])
    assert next(second) == 6
    server = engines._fork_server_pid()
    assert server is not None
    assert isinstance(first, Generator)
    first.close()  # an unfinished map ends while the second still uses the server
    assert engines._fork_server_pid() == server
    assert list(second) == [7, 8, 9, 10]
    assert engines._fork_server_pid() is None  # stopped with the last map on it
