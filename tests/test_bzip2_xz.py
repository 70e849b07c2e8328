"""bzip2 (`.bz2`) and xz (`.xz`) logs are read as their plain text is, with gzip's and
zstd's guarantees: several streams read whole, a cut or damaged archive keeps every whole
record decoded before the damage and quarantines the rest with the byte it stopped at,
and a decompression bomb is stopped. They were one quarantined record ("not a log").
"""

from __future__ import annotations

import bz2
import lzma
import random
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import traceviz
from traceviz.ingest import decompress
from traceviz.load import Ingest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    ".bz2": bz2.compress,
    ".xz": lzma.compress,  # FORMAT_XZ, as xz(1) writes
}
NAMES = {".bz2": "bzip2", ".xz": "xz"}


def distinct_lines(n: int, noise: int = 0) -> bytes:
    """`n` records of one o1 response, each with its own id (and `noise` random hex
    digits in it, so that the archive is not all one repeat)."""
    line = (SAMPLES / "openai-chat-o1.jsonl").read_bytes().splitlines()[0]
    draw = random.Random(7)
    return b"".join(
        line.replace(b'"id":"', f'"id":"{i}-{draw.randbytes(noise // 2).hex()}-'.encode(), 1)
        + b"\n"
        for i in range(n)
    )


def read_all(path: Path) -> tuple[pl.DataFrame, Ingest]:
    run = Ingest()
    traces = traceviz.read(path, None, run)
    assert run.stats.read == run.stats.parsed + run.stats.quarantined + run.stats.skipped
    return traces, run


@pytest.mark.parametrize("suffix", COMPRESSORS)
def test_a_compressed_log_reads_as_its_plain_text(tmp_path: Path, suffix: str) -> None:
    data = (SAMPLES / "openai-chat-o1.jsonl").read_bytes()
    plain = tmp_path / "log.jsonl"
    plain.write_bytes(data)
    packed = tmp_path / f"log.jsonl{suffix}"
    packed.write_bytes(COMPRESSORS[suffix](data))
    (want, _), (got, run) = read_all(plain), read_all(packed)
    assert run.stats.quarantined == 0
    assert_frame_equal(got.drop("source"), want.drop("source"))
    # and the whole pipeline measures and prices them alike
    a, b = traceviz.analyze(plain).traces, traceviz.analyze(packed).traces
    assert_frame_equal(b.drop("source"), a.drop("source"))
    assert b["cost_total"].sum() > 0


@pytest.mark.parametrize("suffix", COMPRESSORS)
def test_several_streams_are_read_whole(tmp_path: Path, suffix: str) -> None:
    data = distinct_lines(50)
    path = tmp_path / f"log.jsonl{suffix}"
    path.write_bytes(COMPRESSORS[suffix](data) * 2)
    _, run = read_all(path)
    assert (run.stats.parsed, run.stats.quarantined) == (100, 0)


@pytest.mark.parametrize("suffix", COMPRESSORS)
def test_a_cut_archive_keeps_the_whole_records_before_the_cut(tmp_path: Path, suffix: str) -> None:
    data = distinct_lines(4000)
    whole = COMPRESSORS[suffix](data)
    cut = whole[: len(whole) * 3 // 4]
    path = tmp_path / f"log.jsonl{suffix}"
    path.write_bytes(cut)
    decoder = bz2.BZ2Decompressor() if suffix == ".bz2" else lzma.LZMADecompressor()
    whole_records = decoder.decompress(cut).count(b"\n")
    assert 0 < whole_records < 4000
    _, run = read_all(path)
    assert run.stats.parsed == whole_records
    assert [(q.line, q.reason) for q in run.quarantined] == [
        (whole_records + 1, f"archive truncated at byte {len(cut)}")
    ]


@pytest.mark.parametrize("suffix", COMPRESSORS)
def test_damaged_bytes_keep_what_came_before(tmp_path: Path, suffix: str) -> None:
    data = distinct_lines(4000, noise=400)  # ~4 MB: bzip2 blocks of 900 KB come before
    whole = bytearray(COMPRESSORS[suffix](data))
    middle = len(whole) // 2
    whole[middle : middle + 64] = b"\xff" * 64
    path = tmp_path / f"log.jsonl{suffix}"
    path.write_bytes(bytes(whole))
    _, run = read_all(path)
    assert run.stats.parsed > 100
    assert 1 <= run.stats.quarantined <= 2
    reason = run.quarantined[-1].reason
    assert reason.startswith(f"unreadable data: corrupt {NAMES[suffix]} data at byte "), reason


@pytest.mark.parametrize("suffix", COMPRESSORS)
def test_a_bomb_is_stopped(tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each decoder call's output is capped, so the check runs before memory grows: with
    the floor lowered to 1 MiB, 16 MiB of one repeated line stops at `MAX_INFLATION`
    times the archive, not at its end."""
    monkeypatch.setattr(decompress, "INFLATION_FLOOR", 2**20)
    line = distinct_lines(1)
    packed = COMPRESSORS[suffix](line * (16 * 2**20 // len(line)))
    assert len(packed) * decompress.MAX_INFLATION < 16 * 2**20
    path = tmp_path / f"bomb.jsonl{suffix}"
    path.write_bytes(packed)
    _, run = read_all(path)
    assert [q.reason.split(":")[0] for q in run.quarantined] == ["decompression bomb"]
    assert run.stats.parsed * len(line) <= decompress.MAX_INFLATION * len(packed) + 2**20


def test_a_folder_walk_takes_them(tmp_path: Path) -> None:
    data = distinct_lines(3)
    for suffix, compress in COMPRESSORS.items():
        (tmp_path / f"log.jsonl{suffix}").write_bytes(compress(data))
    _, run = read_all(tmp_path)
    assert (run.stats.parsed, run.stats.quarantined) == (6, 0)


def test_text_that_begins_like_bzip2_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_bytes(b'BZh9 is not a log\n{"a": 1}\n')
    assert decompress.compression(path.read_bytes()[: decompress.MAGIC_BYTES]) is None
