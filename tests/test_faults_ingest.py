"""The ingest faults of the second attack (issue 14), each reproduced, then held.

Pipes and FIFOs are read once and never hang; devices are refused; a truncated archive
keeps every whole record decoded before the cut; a folder's walk passes over traceviz's
own outputs and says so; Parquet rows obey `--max-record-bytes` in bounded memory;
planning is linear in files; any depth of folders is walked; a SQLite database in WAL
mode is fingerprinted with its `-wal`.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from click.testing import CliRunner

import traceviz
from traceviz import ingest
from traceviz.cli import main
from traceviz.load import Ingest
from traceviz.pipeline import RunOptions, analyze

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
LOG = SAMPLES / "openai-chat-o1.jsonl"  # two records
VALID_LINE = LOG.read_bytes().splitlines()[0]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def report_json(args: list[str], **kwargs: object) -> tuple[dict[str, object], str, int]:
    """`traceviz report ARGS --format json` in a child process (a hang fails, not waits)."""
    done = subprocess.run(
        [sys.executable, "-m", "traceviz", "report", *args, "--format", "json"],
        capture_output=True,
        env=ENV,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    stats = json.loads(done.stdout)["ingest"] if done.stdout else {}
    return stats, done.stderr.decode(), done.returncode


def read_all(path: Path, options: traceviz.ReadOptions | None = None) -> Ingest:
    run = Ingest()
    traces = traceviz.read(path, options, run)
    stats = run.stats
    assert stats.read == stats.parsed + stats.quarantined + stats.skipped
    assert traces.height == stats.traces
    return run


def distinct_lines(n: int) -> bytes:
    """`n` distinct records (so that they do not compress to back-references of one)."""
    return b"".join(
        VALID_LINE.replace(b"chatcmpl-AqZ1x7Qf3s", f"chatcmpl-{i:010d}".encode()) + b"\n"
        for i in range(n)
    )


# --- pipes, FIFOs and devices ---------------------------------------------------------------


def _feed(fd_or_path: int | str, data: bytes) -> threading.Thread:
    def write() -> None:
        if isinstance(fd_or_path, int):
            with os.fdopen(fd_or_path, "wb") as out:
                out.write(data)
        else:
            with Path(fd_or_path).open("wb") as out:
                out.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("compress", [False, True])
def test_a_pipe_is_read_once_whole(tmp_path: Path, compress: bool) -> None:
    """`traceviz report <(cat f)`: was 0 records (the pipe was drained by the sniff)."""
    data = LOG.read_bytes()
    r, w = os.pipe()
    writer = _feed(w, gzip.compress(data) if compress else data)
    stats, stderr, code = report_json(
        [f"/dev/fd/{r}", "--cache-dir", str(tmp_path / "cache")], pass_fds=(r,)
    )
    os.close(r)
    writer.join(5)
    assert code == 0, stderr
    assert (stats["records_read"], stats["traces"]) == (2, 2)


def test_a_fifo_is_read_once_and_does_not_hang(tmp_path: Path) -> None:
    """`mkfifo p; … traceviz report p`: hung (the FIFO was opened again, with no writer)."""
    fifo = tmp_path / "p.jsonl"
    os.mkfifo(fifo)
    writer = _feed(str(fifo), LOG.read_bytes())
    stats, stderr, code = report_json([str(fifo), "--cache-dir", str(tmp_path / "cache")])
    writer.join(5)
    assert code == 0, stderr
    assert (stats["records_read"], stats["traces"]) == (2, 2)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("meta.json"))


def test_a_folder_walk_passes_over_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "waiting.jsonl")  # nobody will ever write to it
    (tmp_path / "ok.jsonl").write_bytes(LOG.read_bytes())
    stats, stderr, code = report_json([str(tmp_path), "--no-cache"])
    assert code == 0, stderr
    assert stats["traces"] == 2
    assert "1 file passed over (not a regular file 1)" in stderr


def test_streams_are_known() -> None:
    assert ingest.is_stream("-")
    assert ingest.is_stream("/dev/zero")
    assert not ingest.is_stream(str(LOG))
    assert not ingest.is_stream("/no/such/file")


def test_devices_are_refused_not_read_forever(tmp_path: Path) -> None:
    """`/dev/zero` was read forever (a line that never ends, drained a MiB at a time)."""
    stats, stderr, code = report_json(["/dev/zero", str(LOG), "--no-cache"])
    assert code == 1
    assert "Error: /dev/zero: is a character device, not a log file; not read" in stderr
    assert stats["traces"] == 2  # the other file is still read
    with Path("/dev/zero").open("rb") as zero:
        _, stderr, code = report_json(["-", "--no-cache"], stdin=zero)
    assert code == 1
    assert "Error: <stdin>: is a character device, not a log file; not read" in stderr
    with Path(os.devnull).open("rb") as null:  # /dev/null is an empty file, as before
        stats, stderr, code = report_json(["-", "--no-cache"], stdin=null)
    assert (code, stats["records_read"]) == (0, 0), stderr


# --- truncated archives ----------------------------------------------------------------------


def test_gzip_without_its_trailer_keeps_every_record(tmp_path: Path) -> None:
    """A `.gz` missing its 8-byte trailer: was 0 of 39 records."""
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(gzip.compress(distinct_lines(39))[:-8])
    run = read_all(path)
    assert (run.stats.parsed, run.stats.quarantined) == (39, 1)
    size = path.stat().st_size
    assert [(q.line, q.reason) for q in run.quarantined] == [
        (40, f"archive truncated at byte {size}")
    ]


def test_zstd_cut_by_four_bytes_is_counted(tmp_path: Path) -> None:
    """A `.zst` cut by 4 bytes: was 0 read and 0 quarantined."""
    path = tmp_path / "log.jsonl.zst"
    whole = zstandard.ZstdCompressor(write_checksum=True).compress(distinct_lines(39))
    path.write_bytes(whole[:-4])
    run = read_all(path)
    assert (run.stats.parsed, run.stats.quarantined) == (39, 1)
    assert run.quarantined[0].reason == f"archive truncated at byte {len(whole) - 4}"


def test_gzip_cut_in_half_keeps_the_whole_records_before_the_cut(tmp_path: Path) -> None:
    """Was: up to 1 MiB of whole records before the cut dropped without a count."""
    data = distinct_lines(4000)
    whole = gzip.compress(data)
    cut = whole[: len(whole) // 2]
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(cut)
    decodable = zlib.decompressobj(wbits=31).decompress(cut)
    whole_records = decodable.count(b"\n")
    assert 1000 < whole_records < 4000
    run = read_all(path)
    assert run.stats.parsed == whole_records
    assert [(q.line, q.reason) for q in run.quarantined] == [
        (whole_records + 1, f"archive truncated at byte {len(cut)}")
    ]


def test_corrupt_bytes_inside_an_archive_keep_what_came_before(tmp_path: Path) -> None:
    data = distinct_lines(4000)
    whole = bytearray(gzip.compress(data))
    middle = len(whole) // 2
    whole[middle : middle + 64] = b"\xff" * 64
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(bytes(whole))
    run = read_all(path)
    assert run.stats.parsed > 1000
    # bytes decoded from the damage may make a broken record; then the checksum fails
    assert 1 <= run.stats.quarantined <= 2
    assert run.quarantined[-1].reason.startswith("unreadable data: corrupt gzip data at byte ")


def test_whole_archives_of_several_members_and_padding_read_as_before(tmp_path: Path) -> None:
    data = distinct_lines(50)
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(gzip.compress(data) + gzip.compress(data) + b"\x00" * 512)
    assert (read_all(path).stats.parsed, read_all(path).stats.quarantined) == (100, 0)
    zst = tmp_path / "log.jsonl.zst"
    frame = zstandard.ZstdCompressor().compress(data)
    zst.write_bytes(frame + frame)
    assert (read_all(zst).stats.parsed, read_all(zst).stats.quarantined) == (100, 0)


# --- traceviz's own outputs --------------------------------------------------------------


def test_reports_in_a_log_folder_do_not_read_their_own_quarantine(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`traceviz report .` four times counted 2 -> 4 -> 6 -> 8 quarantined."""
    (tmp_path / "log.jsonl").write_bytes(LOG.read_bytes() + b'{"x": 1}\nnot json\n')
    monkeypatch.chdir(tmp_path)
    counts = []
    for _ in range(4):
        result = runner.invoke(main, ["report", ".", "--format", "json", "--no-cache"])
        assert result.exit_code == 0, result.output
        counts.append(orjson.loads(result.stdout)["ingest"]["records_quarantined"])
    assert counts == [2, 2, 2, 2]
    assert "1 file passed over (traceviz quarantine file 1)" in result.stderr
    # named explicitly, it is read (its own quarantine elsewhere: the default one is it)
    args = ["report", "traceviz.quarantine.jsonl", "--format", "json", "--quarantine", "q.jsonl"]
    result = runner.invoke(main, args)
    assert orjson.loads(result.stdout)["ingest"]["records_read"] == 2


def test_tables_and_reports_traceviz_wrote_are_passed_over(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written elsewhere, then moved into the log folder (an output named inside an input
    folder is refused before the run, see `guard.py`)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "log.jsonl").write_bytes(LOG.read_bytes())
    monkeypatch.chdir(logs)
    for args in (
        ["ingest", ".", "-o", "../traces.parquet"],
        ["ingest", ".", "-o", "../traces.jsonl"],
        ["ingest", ".", "-o", "../traces.csv"],
        ["report", ".", "-o", "../report.md"],
        ["report", ".", "-o", "../report.json"],
        ["report", ".", "-o", "../report.csv"],
        ["report", ".", "-o", "../report.parquet"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert "read 2 records from 1 file: 2 traces" in result.stderr, args
        name = args[-1].removeprefix("../")
        (tmp_path / name).rename(logs / name)
    assert pq.read_schema("traces.parquet").metadata[ingest.OWN_TABLE_KEY] == (
        traceviz.__version__.encode()
    )
    result = runner.invoke(main, ["report", ".", "-q", "--format", "json"])
    assert orjson.loads(result.stdout)["ingest"]["files"] == 1
    for name, kind in [
        ("traces.parquet", "traceviz traces table"),
        ("traces.jsonl", "traceviz traces table"),
        ("traces.csv", "traceviz traces table"),
        ("report.md", "traceviz report"),
        ("report.json", "traceviz report"),
        ("report.csv", "traceviz report"),
        ("report.parquet", "traceviz report"),
        ("log.jsonl", None),
    ]:
        assert ingest.own_output(name) == kind, name
    # a traces table named explicitly is read
    run = read_all(Path("traces.parquet"))
    assert run.stats.read == 2


# --- bounded work ----------------------------------------------------------------------------


def _peak_mb(script: str) -> tuple[str, int]:
    code = (
        "import re\n" + script + "\nstatus = open('/proc/self/status').read()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True
    )
    *out, peak = done.stdout.split("\n")[:-1]
    return "\n".join(out), int(peak)


def test_parquet_rows_obey_max_record_bytes_in_bounded_memory(tmp_path: Path) -> None:
    """A few-KB Parquet file with a constant 1 MiB column: reached 2.9 GB, ignored the cap."""
    path = tmp_path / "big.parquet"
    value = "x" * (1 << 20)
    table = pa.table({"model": ["o1"] * 3000, "text": pa.array([value] * 3000).dictionary_encode()})
    pq.write_table(table, path, row_group_size=3000)
    assert path.stat().st_size < 100_000
    out, peak = _peak_mb(
        "import traceviz\n"
        "run = traceviz.Ingest()\n"
        f"t = traceviz.read({str(path)!r}, traceviz.ReadOptions(max_record_bytes=1000), run)\n"
        "print(run.stats.read, run.stats.quarantined, run.quarantined[0].reason)"
    )
    assert out == "3000 3000 record too large: 1,048,578 bytes (limit 1,000)"
    assert peak < 400, f"peak RSS {peak} MB"


def test_parquet_rows_under_the_cap_are_read_and_over_it_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "mixed.parquet"
    rows = [json.loads(line) for line in LOG.read_text().splitlines()]
    table = pa.Table.from_pylist([*rows, {**rows[0], "id": "y" * 5000}])
    pq.write_table(table, path)
    run = read_all(path, traceviz.ReadOptions(max_record_bytes=4000))
    assert run.stats.traces == 2
    assert [q.line for q in run.quarantined] == [3]


def test_parquet_from_a_pipe_is_read(tmp_path: Path) -> None:
    data = (SAMPLES / "openr1-math.parquet").read_bytes()
    r, w = os.pipe()
    writer = _feed(w, data)
    stats, stderr, code = report_json([f"/dev/fd/{r}", "--no-cache"], pass_fds=(r,))
    os.close(r)
    writer.join(5)
    expected, _, _ = report_json([str(SAMPLES / "openr1-math.parquet"), "--no-cache"])
    assert code == 0, stderr
    assert isinstance(expected["traces"], int)
    assert stats["traces"] == expected["traces"] > 0


def test_planning_stats_each_file_a_bounded_number_of_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`_shard_bytes` was recomputed per file: 4,002,000 stat() calls for 2,000 files."""
    for i in range(400):
        (tmp_path / f"r{i:04d}.jsonl").write_bytes(VALID_LINE + b"\n")
    calls = 0
    real_stat = os.stat

    def counting_stat(*args: object, **kwargs: object) -> os.stat_result:
        nonlocal calls
        calls += 1
        return real_stat(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", counting_stat)
    analysis = analyze([tmp_path], run=RunOptions(cache=None))
    assert analysis.stats.traces == 400
    assert calls < 20 * 400, f"{calls:,} stat() calls for 400 files"


def test_folders_nested_1200_deep_are_walked(tmp_path: Path) -> None:
    """Was a RecursionError (os.walk recurses once per level)."""
    deep = tmp_path
    for _ in range(1200):
        deep = deep / "d"
        deep.mkdir()  # one level at a time: mkdir(parents=True) recurses too
    (deep / "log.jsonl").write_bytes(LOG.read_bytes())
    try:
        run = read_all(tmp_path)
    finally:  # bottom up: shutil.rmtree (pytest's clean-up) recurses too
        (deep / "log.jsonl").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent
    assert run.stats.traces == 2


# --- SQLite in WAL mode --------------------------------------------------------------------


def test_rows_committed_to_the_wal_are_not_missed_by_the_cache(tmp_path: Path) -> None:
    """Was: 7 records from the cache, 547 without it (the key ignored `logs.db-wal`)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import llm_dbs
    import sqlite_utils

    db = llm_dbs.legacy_db(tmp_path / "logs.db")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    connection = sqlite3.connect(db)  # held open: llm still running, no checkpoint
    try:
        connection.execute("PRAGMA journal_mode=wal")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        first, stderr, code = report_json([str(db), *cache])
        assert code == 0, stderr
        llm_dbs.log_legacy(sqlite_utils.Database(connection), "r1-legacy", "added-later")
        connection.commit()
        assert Path(f"{db}-wal").stat().st_size > 0
        second, stderr, code = report_json([str(db), *cache])
        fresh, _, _ = report_json([str(db), "--no-cache"])
    finally:
        connection.close()
    assert code == 0, stderr
    assert second["traces"] == fresh["traces"] == first["traces"] + 1  # type: ignore[operator]


def test_small_files_are_measured_together_and_match_reading_them_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """100,000 one-record files: measuring each alone cost ~15 ms a file (25 minutes)."""
    import polars as pl
    from polars.testing import assert_frame_equal

    from traceviz import pipeline
    from traceviz.cache import ResultCache

    folder = tmp_path / "logs"
    folder.mkdir()
    lines = LOG.read_bytes().splitlines()
    for i in range(120):
        (folder / f"r{i:03d}.jsonl").write_bytes(lines[i % 2] + b"\n")
    (folder / "r050.jsonl").write_bytes(lines[0] + b"\nnot json\n")
    (folder / "r060.jsonl").write_bytes(b"")
    calls = 0
    real_measure = pipeline.measure

    def counting_measure(*args: object, **kwargs: object) -> pipeline.Batch:
        nonlocal calls
        calls += 1
        return real_measure(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "measure", counting_measure)
    together = analyze([folder], run=RunOptions(cache=None))
    assert calls == 1
    apart = [analyze([f], run=RunOptions(cache=None)) for f in sorted(folder.iterdir())]
    assert calls == 1 + 119  # r060 is empty: nothing to measure
    assert_frame_equal(together.traces, pl.concat([a.traces for a in apart if a.traces.height]))
    assert (together.stats.read, together.stats.quarantined) == (120, 1)
    assert together.steps is not None
    steps_apart = [a.steps for a in apart if a.steps is not None]
    assert_frame_equal(together.steps, pl.concat(steps_apart))
    cache = ResultCache(tmp_path / "cache")
    no_steps = pipeline.AnalysisOptions(keep_steps=False)  # the cache keeps no steps
    first = analyze([folder], no_steps, run=RunOptions(cache=cache))
    again = analyze([folder], no_steps, run=RunOptions(cache=cache))
    assert cache.hits == 120
    assert_frame_equal(first.traces, together.traces)
    assert_frame_equal(again.traces, together.traces)
    assert again.stats.quarantined == 1
