"""The result cache knows a file by its stamp (size, mtime, ctime, inode, device) and its
bytes' hash: a warm run reads no input, and a file that changed is counted again however
it changed, unless it kept size, inode, mtime and ctime (the documented limit). An entry
is written and read part by part, one a shard, verified whole before any part is used."""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any, cast

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from traceviz import cache as cache_module
from traceviz import pipeline
from traceviz.cache import ResultCache, file_stamp
from traceviz.load import Ingest, read
from traceviz.pipeline import AnalysisOptions, RunOptions, analyze
from traceviz.shards import Shard, file_shards

OPTIONS = AnalysisOptions(keep_steps=False)
HOUR_NS = 3600 * 10**9


def _record(i: int, reasoning: str) -> bytes:
    message = {"role": "assistant", "content": "12", "reasoning_content": reasoning}
    response = {
        "id": f"r-{i}",
        "object": "chat.completion",
        "created": 1741000000,
        "model": "deepseek-reasoner",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }
    return json.dumps(response).encode() + b"\n"


def _log(path: Path, word: str, records: int = 3) -> Path:
    """A log whose size does not depend on `word`'s letters, only on its length."""
    path.write_bytes(b"".join(_record(i, f"{word} so the answer is 12.") for i in range(records)))
    return path


def _age(path: Path, mtime_ns: int | None = None) -> int:
    """Set a file's mtime an hour back (or to `mtime_ns`), as a log written long ago."""
    mtime = mtime_ns if mtime_ns is not None else path.stat().st_mtime_ns - HOUR_NS
    os.utime(path, ns=(mtime, mtime))
    return mtime


def _run(path: Path, cache: ResultCache | None) -> pl.DataFrame:
    return analyze([path], OPTIONS, run=RunOptions(cache=cache)).traces


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stamps trusted however recent (files here are written a moment before the run)."""
    monkeypatch.setattr(cache_module, "RACY_NS", 0)


def test_a_warm_run_hashes_nothing_and_reads_no_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trusting: None
) -> None:
    small = _log(tmp_path / "small.jsonl", "many words here")
    big = _log(tmp_path / "big.jsonl", "many words here", records=8000)  # hashed beside the run
    assert big.stat().st_size > cache_module.BACKGROUND_BYTES
    _age(small), _age(big)
    root = tmp_path / "cache"
    cold = ResultCache(root)
    first = analyze([small, big], OPTIONS, run=RunOptions(cache=cold)).traces
    assert (cold.hits, cold.misses, cold.hashed) == (0, 2, 2)

    def no_reading(path: str) -> str:
        msg = f"a warm run read {path}"
        raise AssertionError(msg)

    monkeypatch.setattr(cache_module, "content_hash", no_reading)
    warm = ResultCache(root)
    again = analyze([small, big], OPTIONS, run=RunOptions(cache=warm)).traces
    assert (warm.hits, warm.misses, warm.hashed) == (2, 0, 0)
    assert_frame_equal(first, again)


def test_same_size_and_restored_mtime_but_new_bytes_is_counted_again(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.jsonl", "x x x x x x x x")
    mtime = _age(log)
    cache = ResultCache(tmp_path / "cache")
    first = _run(log, cache)
    before = log.stat()
    _log(log, "xxxxxxxxxxxxxxx")  # same length, other tokens, same inode
    _age(log, mtime)  # `touch -r` style: the mtime put back
    after = log.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    warm = ResultCache(tmp_path / "cache")
    second = _run(log, warm)
    assert (warm.hits, warm.misses) == (0, 1)  # the ctime told: the bytes were hashed
    assert_frame_equal(second, _run(log, None))
    assert not second.equals(first)


def test_same_size_new_mtime_is_counted_again(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.jsonl", "x x x x x x x x")
    _age(log)
    cache = ResultCache(tmp_path / "cache")
    first = _run(log, cache)
    _log(log, "xxxxxxxxxxxxxxx")
    warm = ResultCache(tmp_path / "cache")
    second = _run(log, warm)
    assert (warm.hits, warm.misses) == (0, 1)
    assert_frame_equal(second, _run(log, None))
    assert not second.equals(first)


def test_a_file_replaced_by_another_of_same_size_and_mtime_is_counted_again(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path / "a.jsonl", "x x x x x x x x")
    mtime = _age(log)
    cache = ResultCache(tmp_path / "cache")
    first = _run(log, cache)
    new = _log(tmp_path / "new.jsonl", "xxxxxxxxxxxxxxx")
    _age(new, mtime)
    inode = log.stat().st_ino
    new.replace(log)  # what editors and `mv` do: a new inode under the old name
    assert log.stat().st_ino != inode
    warm = ResultCache(tmp_path / "cache")
    second = _run(log, warm)
    assert (warm.hits, warm.misses) == (0, 1)
    assert_frame_equal(second, _run(log, None))
    assert not second.equals(first)
    entries = [p for p in (tmp_path / "cache").glob("*/*") if p.is_dir()]
    assert len(entries) == 1, entries  # the new result took the old one's place
    assert not list((tmp_path / "cache").rglob(".old-*"))
    assert not list((tmp_path / "cache").rglob(".tmp-*"))


def test_a_touched_unchanged_file_costs_one_hash_then_nothing(
    tmp_path: Path, trusting: None
) -> None:
    log = _log(tmp_path / "a.jsonl", "x x x x x x x x")
    _age(log)
    first = _run(log, ResultCache(tmp_path / "cache"))
    log.touch()  # a new mtime and ctime, the same bytes (a checkout, a copy without -p)
    touched = ResultCache(tmp_path / "cache")
    assert_frame_equal(_run(log, touched), first)
    assert (touched.hits, touched.misses, touched.hashed) == (1, 0, 1)
    later = ResultCache(tmp_path / "cache")  # the new stamp was recorded
    assert_frame_equal(_run(log, later), first)
    assert (later.hits, later.misses, later.hashed) == (1, 0, 0)


def test_a_stamp_taken_just_after_a_write_is_checked_by_hash_next_time(tmp_path: Path) -> None:
    """Within one timestamp tick a same-size rewrite leaves the stamp unchanged: a stamp
    that recent is never trusted alone (git's racily clean entries)."""
    log = _log(tmp_path / "a.jsonl", "x x x x x x x x")  # written now
    first = _run(log, ResultCache(tmp_path / "cache"))
    warm = ResultCache(tmp_path / "cache")
    assert_frame_equal(_run(log, warm), first)
    assert (warm.hits, warm.hashed) == (1, 1)


def test_a_file_written_during_its_run_is_not_kept(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.jsonl", "x x x x x x x x")
    _age(log)
    cache = ResultCache(tmp_path / "cache")
    key = cache.key(str(log), "settings")
    assert not cache.has(key)
    run = analyze([log], OPTIONS, run=RunOptions(cache=None))
    with log.open("ab") as out:  # appended while it was being measured
        out.write(_record(9, "more"))
    cache.put(key, run.traces, run.stats, [])
    assert not list((tmp_path / "cache").glob("*/*/meta.json"))
    again = ResultCache(tmp_path / "cache")
    assert not again.has(again.key(str(log), "settings"))


def test_a_sqlite_wal_is_part_of_the_stamp_and_the_hash(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    connection = sqlite3.connect(db)
    try:
        connection.execute("PRAGMA journal_mode=wal")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        connection.execute("create table t (x text)")
        connection.commit()
        stamp = file_stamp(str(db))
        content = cache_module.content_hash(str(db))
        assert len(stamp) == 2  # the database, and its -wal
        connection.execute("insert into t values ('a row the database file does not hold')")
        connection.commit()
        assert file_stamp(str(db))[0] == stamp[0]  # the main file is as it was
        assert file_stamp(str(db)) != stamp
        assert cache_module.content_hash(str(db)) != content
    finally:
        connection.close()


def test_an_entry_from_before_stamps_is_not_read(tmp_path: Path) -> None:
    """Entries carry the key format: an entry written by a version that keyed on content
    alone (no stamp, no content hash recorded) is never taken for a file's result."""
    log = _log(tmp_path / "a.jsonl", "x x x x x x x x")
    _age(log)
    cache = ResultCache(tmp_path / "cache")
    key = cache.key(str(log), "s")
    run = analyze([log], OPTIONS, run=RunOptions(cache=None))
    cache.put(key, run.traces, run.stats, [])
    meta_path = next((tmp_path / "cache").glob("*/*/meta.json"))
    meta = json.loads(meta_path.read_bytes())
    assert meta["file"]["stamp"] == file_stamp(str(log))
    del meta["file"]
    meta_path.write_text(json.dumps(meta))
    again = ResultCache(tmp_path / "cache")
    assert not again.has(again.key(str(log), "s"))


# --- entries written and read in parts, one per shard result ----------------------------

SHARD_BYTES = 700  # a few records a shard: the log below is cut into a dozen or more


def _sharded_log(path: Path) -> Path:
    """Records of varied reasoning, with a bad line every few (quarantined)."""
    with path.open("wb") as out:
        for i in range(30):
            out.write(_record(i, " ".join(["first check the sum.", "then", "x " * i] * 2)))
            if i % 7 == 3:
                out.write(b'{"broken": \n')
    _age(path)
    return path


def _sharded(path: Path, cache: ResultCache | None) -> tuple[pl.DataFrame, Any]:
    ingest = Ingest()
    run = RunOptions(cache=cache, shard_bytes=SHARD_BYTES)
    return analyze([path], OPTIONS, ingest, run).traces, ingest


def _entry(root: Path) -> tuple[Path, dict[str, Any]]:
    (folder,) = [m.parent for m in root.glob("*/*/meta.json")]
    return folder, json.loads((folder / "meta.json").read_bytes())


def test_a_warm_run_of_a_sharded_file_equals_no_cache(tmp_path: Path, trusting: None) -> None:
    log = _sharded_log(tmp_path / "a.jsonl")
    truth, truth_ingest = _sharded(log, None)
    assert len(file_shards(str(log), SHARD_BYTES)) > 10
    cold_cache = ResultCache(tmp_path / "cache")
    cold, _ = _sharded(log, cold_cache)
    _, meta = _entry(tmp_path / "cache")
    assert len(meta["parts"]) > 10  # one part a shard, not the file's table at once
    warm_cache = ResultCache(tmp_path / "cache")
    warm, warm_ingest = _sharded(log, warm_cache)
    assert (warm_cache.hits, warm_cache.misses, warm_cache.hashed) == (1, 0, 0)
    assert_frame_equal(cold, truth)
    assert_frame_equal(warm, truth)
    assert warm_ingest.stats == truth_ingest.stats
    assert warm_ingest.quarantined == truth_ingest.quarantined
    assert truth_ingest.stats.quarantined == 4


def test_a_damaged_part_is_a_miss_and_the_file_is_counted_again(
    tmp_path: Path, trusting: None
) -> None:
    log = _sharded_log(tmp_path / "a.jsonl")
    truth, _ = _sharded(log, None)
    _sharded(log, ResultCache(tmp_path / "cache"))
    folder, meta = _entry(tmp_path / "cache")
    last = meta["parts"][-1]  # every part but the last is sound: none may be used
    data = bytearray((folder / "traces.parts").read_bytes())
    data[last["offset"] + last["length"] // 2] ^= 0xFF
    (folder / "traces.parts").write_bytes(bytes(data))
    again = ResultCache(tmp_path / "cache")
    seen = []
    real_measure = pipeline.measure_shard

    def spying(shard: Shard, options: AnalysisOptions) -> pipeline.ShardResult:
        seen.append(shard)
        return real_measure(shard, options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "measure_shard", spying)
        recounted, _ = _sharded(log, again)
    assert len(seen) == 1  # the whole file, measured again
    assert (again.hits, again.misses) == (0, 1)
    assert_frame_equal(recounted, truth)
    third = ResultCache(tmp_path / "cache")  # and its entry written anew
    assert_frame_equal(_sharded(log, third)[0], truth)
    assert (third.hits, third.misses) == (1, 0)


def test_a_run_stopped_mid_file_leaves_no_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trusting: None
) -> None:
    log = _sharded_log(tmp_path / "a.jsonl")
    calls = 0
    real_measure = pipeline.measure_shards

    def failing(shard: Shard, options: AnalysisOptions) -> list[tuple[str, Any]]:
        nonlocal calls
        calls += 1
        if calls == 5:
            msg = "the disk went away"
            raise OSError(msg)
        return real_measure(shard, options)

    monkeypatch.setattr(pipeline, "measure_shards", failing)
    with pytest.raises(OSError, match="the disk went away"):
        _sharded(log, ResultCache(tmp_path / "cache"))
    assert calls == 5
    assert not list((tmp_path / "cache").rglob("meta.json"))
    assert not list((tmp_path / "cache").rglob(".tmp-*")), "staging folders left behind"
    # a reader that stops early (a generator closed after its first result) is the same
    monkeypatch.setattr(pipeline, "PRICE_ROWS", 4)  # results handed on as they come
    run = RunOptions(cache=ResultCache(tmp_path / "cache"), shard_bytes=SHARD_BYTES)
    results = cast("Generator[Any]", pipeline.analyze_results([log], OPTIONS, run=run))
    monkeypatch.setattr(pipeline, "measure_shards", real_measure)
    next(results)
    results.close()
    assert not list((tmp_path / "cache").rglob("meta.json"))
    assert not list((tmp_path / "cache").rglob(".tmp-*"))


def test_an_entry_of_the_layout_before_parts_is_a_miss(tmp_path: Path, trusting: None) -> None:
    """The layout before kept one `traces.parquet` and digests by table name: found under a
    key of today, it is a miss (the file is counted again), never an error."""
    log = _sharded_log(tmp_path / "a.jsonl")
    truth, truth_ingest = _sharded(log, None)
    _sharded(log, ResultCache(tmp_path / "cache"))
    folder, meta = _entry(tmp_path / "cache")
    (folder / "traces.parts").unlink()
    truth.write_parquet(folder / "traces.parquet")
    digest = hashlib.blake2b((folder / "traces.parquet").read_bytes(), digest_size=20)
    old = {k: meta[k] for k in ("stats", "quarantined", "file")}
    old["digests"] = {"traces": digest.hexdigest()}
    (folder / "meta.json").write_text(json.dumps(old))
    again = ResultCache(tmp_path / "cache")
    recounted, ingest = _sharded(log, again)
    assert (again.hits, again.misses) == (0, 1)
    assert_frame_equal(recounted, truth)
    assert ingest.stats == truth_ingest.stats
    assert _entry(tmp_path / "cache")[1]["layout"] == cache_module.LAYOUT


def test_the_driver_holds_a_few_shard_results_not_a_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trusting: None
) -> None:
    """Shard results alive in the driver as the run hands each on: the cache (cold, then
    warm) must not keep a big file's results all at once to write or read its entry."""
    monkeypatch.setattr(pipeline, "PRICE_ROWS", 4)  # results handed on as they come
    log = _sharded_log(tmp_path / "a.jsonl")
    shards = len(file_shards(str(log), SHARD_BYTES))

    def most_alive(cache: ResultCache) -> int:
        run = RunOptions(cache=cache, shard_bytes=SHARD_BYTES)
        alive = [
            sum(isinstance(o, pipeline.ShardResult) for o in gc.get_objects())
            for _ in pipeline.analyze_results([log], OPTIONS, run=run)
        ]
        assert len(alive) > 10
        return max(alive)

    cold = ResultCache(tmp_path / "cache")
    assert most_alive(cold) <= 3 < shards
    warm = ResultCache(tmp_path / "cache")
    assert most_alive(warm) <= 3
    assert warm.hits == 1


SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SHAPING = {  # every setting that changes which columns measuring gives, each value it takes
    "steps": (True, False),
    "vs": (None, "o1"),
    "prices": (True, False),
    "tokenizer": (None, "cl100k_base"),
    "keep_text": (False, True),
}


@pytest.mark.parametrize(
    "values", list(itertools.product(*SHAPING.values())), ids=lambda v: "-".join(map(str, v))
)
def test_the_measured_schema_is_what_measuring_gives(values: tuple[object, ...]) -> None:
    """`measured_schema` is read from schema.py's tables, so that a warm run need not run
    the stages to check its cached results: it must be what `measure` gives, columns and
    types in order, on an empty batch and on a real one."""
    options = AnalysisOptions(**dict(zip(SHAPING, values, strict=True)))  # type: ignore[arg-type]
    static = pipeline.measured_schema(options)
    traces = read(SAMPLES)
    for batch in (traces.clear(), traces):
        measured = pipeline.measure(batch, options).traces.drop(pipeline.TEXT_COLUMNS)
        assert list(static.items()) == list(measured.schema.items())


# --- the code a result was measured by ------------------------------------------------------

PACKAGE = Path(cache_module.__file__).resolve().parent


def _package_copy(where: Path) -> Path:
    """A copy of the installed package's sources and data, as another install would be."""
    target = where / "src" / "traceviz"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_the_package_hash_covers_every_source_file_and_nothing_compiled(tmp_path: Path) -> None:
    copy = _package_copy(tmp_path)
    same = cache_module.package_hash(copy)
    assert same == cache_module.package_hash(PACKAGE)  # another folder, the same code
    (copy / "segment" / "__pycache__").mkdir()
    (copy / "segment" / "__pycache__" / "split.cpython-311.pyc").write_bytes(b"\0" * 8)
    assert cache_module.package_hash(copy) == same  # bytecode is not the code
    split = copy / "segment" / "split.py"  # one module deep in the package, one byte
    split.write_bytes(split.read_bytes().replace(b"def ", b"def  ", 1))
    assert cache_module.package_hash(copy) != same
    split.rename(copy / "segment" / "split2.py")  # the same bytes under another name
    assert cache_module.package_hash(copy) not in (same, cache_module.package_hash(PACKAGE))


def _entries(root: Path) -> int:
    return len(list(root.glob("*/*/meta.json")))


def test_an_entry_measured_by_other_code_of_the_same_version_is_not_used(tmp_path: Path) -> None:
    """Two installs of one version from different commits (or an edited checkout) kept
    their entries under one key: the second read the first's results, measured by other
    code. The key holds the code now: the changed install measures again."""
    copy = _package_copy(tmp_path)
    log = _log(tmp_path / "a.jsonl", "first check the sum then answer")
    _age(log)
    root = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(copy.parent), "TRACEVIZ_CACHE_DIR": str(root)}

    def report() -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "traceviz", "report", str(log), "-q", "--format", "json"],
            capture_output=True,
            env=env,
            timeout=120,
            check=True,
        )
        return cast(dict[str, Any], json.loads(out.stdout))

    first = report()
    assert _entries(root) == 1
    assert report() == first
    assert _entries(root) == 1  # unchanged code: the entry is used
    pipeline_source = copy / "pipeline.py"
    pipeline_source.write_text(pipeline_source.read_text() + "\n# another commit\n")
    assert report() == first  # same figures: the change does not touch them
    assert _entries(root) == 2  # but measured again, under the new code's key
