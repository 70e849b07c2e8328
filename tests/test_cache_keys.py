"""The result cache knows a file by its stamp (size, mtime, ctime, inode, device) and its
bytes' hash: a warm run reads no input, and a file that changed is counted again however
it changed, unless it kept size, inode, mtime and ctime (the documented limit)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from traceviz import cache as cache_module
from traceviz.cache import ResultCache, file_stamp
from traceviz.pipeline import AnalysisOptions, RunOptions, analyze

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
