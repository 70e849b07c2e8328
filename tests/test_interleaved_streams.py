"""Streamed responses whose chunks interleave, as concurrent requests logged line by
line write them: each chunk joins its own response, read whole or shard by shard."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from traceviz.cli import main
from traceviz.load import Ingest
from traceviz.normalize import STREAM_IDLE
from traceviz.pipeline import AnalysisOptions, RunOptions, analyze
from traceviz.shards import file_shards

OPTIONS = AnalysisOptions()
KEPT = ["trace_id", "model", "tokens_reasoning", "tokens_answer", "steps", "final_answer",
        "usage_output", "cost_total", "truncated"]  # fmt: skip


def _chunks(n: int, words: int = 6) -> list[dict[str, Any]]:
    """Stream `n`: a role chunk, reasoning and answer deltas, then usage."""
    rid = f"chatcmpl-{n}"
    head = {"id": rid, "object": "chat.completion.chunk", "created": 1737500000 + n,
            "model": "deepseek-reasoner"}  # fmt: skip
    out = [head | {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    for i in range(words):
        delta = {"reasoning_content": f"step {n}.{i} checks the sum. "}
        out.append(head | {"choices": [{"index": 0, "delta": delta}]})
    out.append(head | {"choices": [{"index": 0, "delta": {"content": f"answer {n}"}}]})
    out.append(head | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = {"prompt_tokens": 10 + n, "completion_tokens": 40 + n,
             "completion_tokens_details": {"reasoning_tokens": 30 + n}}  # fmt: skip
    out.append(head | {"choices": [], "usage": usage})
    return out


def _write(path: Path, streams: list[list[dict[str, Any]]], interleave: bool) -> Path:
    lines: list[dict[str, Any]] = []
    if interleave:  # round robin: A0 B0 C0 A1 B1 C1 ...
        longest = max(len(s) for s in streams)
        lines = [s[i] for i in range(longest) for s in streams if i < len(s)]
    else:
        lines = [c for s in streams for c in s]
    path.write_text("".join(json.dumps(c) + "\n" for c in lines))
    return path


def _traces(path: Path, run: RunOptions | None = None) -> tuple[pl.DataFrame, Ingest]:
    ingest = Ingest()
    return analyze([path], OPTIONS, ingest, run or RunOptions()).traces, ingest


def test_interleaved_streams_read_as_the_same_streams_one_after_another(
    tmp_path: Path,
) -> None:
    streams = [_chunks(n) for n in range(3)]
    mixed, mixed_ingest = _traces(_write(tmp_path / "mixed.jsonl", streams, True))
    apart, _ = _traces(_write(tmp_path / "apart.jsonl", streams, False))
    assert mixed.height == 3  # one trace per response, not one per run of chunks
    assert mixed_ingest.stats.chunks_merged == sum(len(s) for s in streams)
    assert_frame_equal(mixed.select(KEPT), apart.select(KEPT))
    assert mixed["line"].to_list() == [1, 2, 3]  # each at its first chunk, in that order
    assert mixed["usage_output"].to_list() == [40, 41, 42]  # usage billed once each
    assert mixed["final_answer"].to_list() == ["0", "1", "2"]
    assert mixed["steps"].to_list() == [6, 6, 6]  # its own six reasoning steps each


def test_the_report_counts_interleaved_streams_once(tmp_path: Path) -> None:
    streams = [_chunks(n) for n in range(2)]
    reports = []
    for name, interleave in (("mixed.jsonl", True), ("apart.jsonl", False)):
        log = _write(tmp_path / name, streams, interleave)
        args = ["report", str(log), "--format", "json", "--no-cache", "-q"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        reports.append(json.loads(result.stdout))
    mixed, apart = reports
    assert mixed["headline"]["responses"] == 2
    assert mixed["overall"]["cost_total"] == apart["overall"]["cost_total"]
    assert mixed["overall"]["truncated_share"] == 0


def test_a_stream_silent_for_the_idle_window_is_over(tmp_path: Path) -> None:
    """The same id again after more than STREAM_IDLE other records: a second response
    (memory stays bounded when streams carry no last-chunk marker)."""
    first, other = _chunks(0)[:3], [_chunks(n)[0] for n in range(1, STREAM_IDLE + 2)]
    lines = [*first, *other, *_chunks(0)[3:]]
    log = tmp_path / "late.jsonl"
    log.write_text("".join(json.dumps(c) + "\n" for c in lines))
    traces, _ = _traces(log)
    assert traces.filter(pl.col("trace_id") == "chatcmpl-0").height == 2


def test_shards_of_interleaved_streams_give_what_one_reader_gives(tmp_path: Path) -> None:
    rng = random.Random(7)
    streams = [_chunks(n, words=rng.randint(2, 12)) for n in range(120)]
    lines: list[dict[str, Any]] = []
    for group in range(0, 120, 4):  # bursts of four concurrent streams, in random turns
        pending = [list(s) for s in streams[group : group + 4]]
        while pending:
            stream = rng.choice(pending)
            lines.append(stream.pop(0))
            if not stream:
                pending.remove(stream)
    log = tmp_path / "busy.jsonl"
    log.write_text("".join(json.dumps(c) + "\n" for c in lines))
    assert len(file_shards(str(log), shard_bytes=2_000)) > 10
    whole, whole_ingest = _traces(log)
    sharded, sharded_ingest = _traces(log, RunOptions(shard_bytes=2_000))
    assert whole.height == 120
    assert_frame_equal(whole, sharded)
    assert whole_ingest.stats == sharded_ingest.stats
    assert sorted(whole["usage_output"].to_list()) == sorted(40 + n for n in range(120))
