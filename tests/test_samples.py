"""Every file in samples/ reads with no record lost and none quarantined."""

from __future__ import annotations

from pathlib import Path

import pytest

import traceviz
from traceviz.ingest import SKIPPED_NAMES

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_FILES = sorted(
    p for p in SAMPLES.rglob("*") if p.is_file() and not SKIPPED_NAMES.match(p.name)
)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_reads_cleanly(path: Path) -> None:
    run = traceviz.Ingest()
    traces = traceviz.read(path, ingest=run)
    assert run.stats.quarantined == 0, run.quarantined
    assert run.stats.read == run.stats.parsed + run.stats.skipped
    assert traces.height >= 1
    assert traces["trace_id"].null_count() == 0
    assert set(traces["format"]) <= set(run.stats.by_format)
