"""A `.jsonl` that holds pretty-printed JSON (`jq .`, `json.dumps(indent=2)`) is read as
the JSON it is; every line of it was quarantined alone (a 2-record log: 66 quarantined,
0 traces). A real JSON Lines file with a broken first line is still read line by line.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

import traceviz
from traceviz.load import Ingest

LOG = Path(__file__).resolve().parent.parent / "samples" / "openai-chat-o1.jsonl"
RECORDS = [json.loads(line) for line in LOG.read_text().splitlines()]


def read_all(path: Path) -> tuple[pl.DataFrame, Ingest]:
    run = Ingest()
    traces = traceviz.read(path, None, run)
    assert run.stats.read == run.stats.parsed + run.stats.quarantined + run.stats.skipped
    return traces, run


def test_pretty_printed_objects_in_a_jsonl_read_as_the_compact_log(tmp_path: Path) -> None:
    want, _ = read_all(LOG)
    for name, text in (
        ("objects.jsonl", "".join(json.dumps(r, indent=2) + "\n" for r in RECORDS)),
        ("array.jsonl", json.dumps(RECORDS, indent=2)),
        ("tabs.ndjson", "\n" + "\n".join(json.dumps(r, indent="\t") for r in RECORDS)),
    ):
        path = tmp_path / name
        path.write_text(text)
        got, run = read_all(path)
        assert (run.stats.parsed, run.stats.quarantined) == (2, 0), name
        assert_frame_equal(got.drop("source", "line"), want.drop("source", "line"))


def test_a_jsonl_with_a_broken_first_line_is_still_read_line_by_line(tmp_path: Path) -> None:
    lines = LOG.read_text().splitlines()
    path = tmp_path / "log.jsonl"
    for cut in (40, 1):  # a first record cut to its opening brace reads like pretty JSON
        path.write_text(lines[0][:cut] + "\n" + "\n".join(lines) + "\n")
        _, run = read_all(path)
        assert (run.stats.parsed, run.stats.quarantined) == (2, 1)
        assert run.quarantined[0].line == 1
