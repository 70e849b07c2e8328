"""Hostile and broken input: nothing crashes, nothing is lost, nothing executes.

Each test feeds damaged or adversarial input and checks the ingest invariant
`read == parsed + quarantined + skipped`, that each quarantined record names its
source, line and reason, and that the command line answers with a message, never a
traceback.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import traceviz
from traceviz.cli import main
from traceviz.ingest import INFLATION_FLOOR, MAX_INFLATION

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
VALID_LINE = (SAMPLES / "openai-chat-o1.jsonl").read_bytes().splitlines()[0]


def ingest_bytes(tmp_path: Path, data: bytes, name: str = "log.jsonl") -> traceviz.Ingest:
    path = tmp_path / name
    path.write_bytes(data)
    run = traceviz.Ingest()
    traces = traceviz.read(path, ingest=run)
    stats = run.stats
    assert stats.read == stats.parsed + stats.quarantined + stats.skipped
    assert traces.height == stats.traces
    assert len(run.quarantined) == stats.quarantined
    for item in run.quarantined:
        assert item.source == str(path)
        assert item.line >= 1
        assert item.reason
    return run


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=2000), suffix=st.sampled_from([".jsonl", ".json", ".txt", ".sse", ""])
)
@example(data=b"", suffix=".jsonl")
@example(data=b"\x00\x00\x00", suffix=".json")
@example(data=b"\xef\xbb\xbf" + VALID_LINE + b"\r\n" + VALID_LINE, suffix=".jsonl")
@example(data=b"[" + VALID_LINE + b",", suffix=".json")
@example(data=b"data: " + VALID_LINE + b"\n\ndata: [DONE]\n", suffix=".sse")
def test_random_bytes_never_crash_and_lose_nothing(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    ingest_bytes(tmp_path, data, f"log{suffix}")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "choices",
                        "message",
                        "usage",
                        "content",
                        "reasoning_content",
                        "prompt_tokens",
                        "completion_tokens",
                        "object",
                        "id",
                        "model",
                        "created",
                        "delta",
                        "finish_reason",
                        "completion_tokens_details",
                    ]
                ),
                children,
                max_size=5,
            )
        ),
        max_leaves=25,
    )
)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_json_of_any_shape_is_parsed_or_quarantined(tmp_path: Path, value: object) -> None:
    import orjson

    try:
        line = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return  # a value JSON cannot hold (NaN handling aside) is no log line
    ingest_bytes(tmp_path, line + b"\n")


def test_truncated_record_at_every_cut_point(tmp_path: Path) -> None:
    for cut in range(len(VALID_LINE)):
        run = ingest_bytes(tmp_path, VALID_LINE[:cut] + b"\n" + VALID_LINE)
        assert run.stats.traces >= 1  # the intact record after the cut is still read


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": "\xff\xfe"}\n', "undecodable bytes: not UTF-8 at byte 7"),
        (b'{"a": "\\ud800"}\n', "invalid JSON: no low surrogate in string"),
        (b"[" * 100_000 + b"]" * 100_000 + b"\n", "invalid JSON: nested too deeply"),
        (
            b'{"choices": [{"message": {"content": 5}}]}\n',
            "openai-chat: message.content is not text (int)",
        ),
        (
            b'{"choices": [{"message": {"content": "x"}}],'
            b' "usage": {"completion_tokens": 1e308}}\n',
            "openai-chat: usage.completion_tokens is out of range: 1e+308",
        ),
        (
            b'{"choices": [{"message": {"content": "x"}}], "usage": {"completion_tokens": true}}\n',
            "openai-chat: usage.completion_tokens is a boolean, not a token count",
        ),
        (
            b'{"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": -3}}\n',
            "openai-chat: usage.prompt_tokens is out of range: -3",
        ),
        (
            b'{"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": 2.5}}\n',
            "openai-chat: usage.prompt_tokens is not a whole number: 2.5",
        ),
    ],
)
def test_bad_values_are_quarantined_with_reason(tmp_path: Path, data: bytes, reason: str) -> None:
    run = ingest_bytes(tmp_path, data)
    assert [q.reason for q in run.quarantined] == [reason]


def test_duplicate_ids_across_files_are_all_kept(tmp_path: Path) -> None:
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_bytes(VALID_LINE + b"\n")
    traces = traceviz.read(tmp_path)
    assert traces["trace_id"].to_list() == ["chatcmpl-AqZ1x7Qf3s", "chatcmpl-AqZ1x7Qf3s"]
    assert traces["source"].to_list() == [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]


def test_several_shapes_in_one_file(tmp_path: Path) -> None:
    lines = [VALID_LINE, (SAMPLES / "ollama-chat.jsonl").read_bytes().strip()]
    lines += (SAMPLES / "openai-responses.jsonl").read_bytes().splitlines()[:1]
    run = ingest_bytes(tmp_path, b"\n".join(lines) + b"\n")
    assert run.stats.by_format == {"openai-chat": 1, "ollama": 1, "openai-responses": 1}


def test_numbers_as_strings_and_reasoning_above_output_are_kept(tmp_path: Path) -> None:
    data = (
        b'{"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}],'
        b' "usage": {"prompt_tokens": "12", "completion_tokens": 5,'
        b' "completion_tokens_details": {"reasoning_tokens": 9}}}\n'
    )
    path = tmp_path / "log.jsonl"
    path.write_bytes(data)
    row = traceviz.read(path).row(0, named=True)
    assert (row["usage_input"], row["usage_output"], row["usage_reasoning"]) == (12, 5, 9)
    assert row["usage_reasoning_exceeds_output"] is True


def test_nul_bytes_and_control_characters_stay_text(tmp_path: Path) -> None:
    data = b'{"choices": [{"message": {"content": "a\\u0000b\\u001b[31mred"}}]}\n'
    path = tmp_path / "log.jsonl"
    path.write_bytes(data)
    assert traceviz.read(path)["answer"].to_list() == ["a\x00b\x1b[31mred"]


def test_oversized_line_is_quarantined_and_next_line_read(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"x": "' + b"a" * 5000 + b'"}\n' + VALID_LINE + b"\n")
    run = traceviz.Ingest()
    options = traceviz.ReadOptions(max_record_bytes=1000)
    traces = traceviz.read(path, options, run)
    assert traces.height == 1
    assert [(q.line, q.reason) for q in run.quarantined] == [
        (1, "record too large: 5,010 bytes (limit 1,000)")
    ]


def test_corrupt_and_truncated_archives_are_reported(tmp_path: Path) -> None:
    whole = gzip.compress(VALID_LINE + b"\n" + VALID_LINE + b"\n")
    run = ingest_bytes(tmp_path, whole[: len(whole) // 2], "log.jsonl.gz")
    assert run.stats.quarantined == 1
    assert run.quarantined[0].reason == f"archive truncated at byte {len(whole) // 2}"
    run = ingest_bytes(tmp_path, b"\x1f\x8b" + b"garbage" * 10, "bad.jsonl.gz")
    assert run.stats.quarantined == 1
    run = ingest_bytes(tmp_path, b"\x28\xb5\x2f\xfd" + b"garbage" * 10, "bad.jsonl.zst")
    assert run.stats.quarantined == 1


def test_empty_inputs_read_nothing(tmp_path: Path, runner: CliRunner) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    for name in ("a.jsonl", "b.json", "c.txt", "d.jsonl.gz"):
        (folder / name).write_bytes(b"" if not name.endswith(".gz") else gzip.compress(b""))
    result = runner.invoke(main, ["ingest", str(folder), "-o", str(tmp_path / "t.parquet")])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == "read 0 records from 4 files: 0 traces, 0 quarantined"


def test_dangling_symlink_and_symlink_loop_are_named(tmp_path: Path, runner: CliRunner) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "ok.jsonl").write_bytes(VALID_LINE + b"\n")
    (folder / "dangling.jsonl").symlink_to(tmp_path / "missing.jsonl")
    (folder / "loop").symlink_to(folder)
    result = runner.invoke(main, ["ingest", str(folder), "-o", str(tmp_path / "t.parquet")])
    assert result.exit_code == 1
    assert (
        f"Error: {folder / 'dangling.jsonl'}: cannot open: No such file or directory"
        in result.stderr
    )
    assert "1 trace (openai-chat 1)" in result.stderr
    assert "Traceback" not in result.output


def test_decompression_bomb_stops_with_bounded_memory(tmp_path: Path) -> None:
    """A gzip of zeros that would expand past the floor is cut off and reported."""
    bomb = tmp_path / "bomb.jsonl.gz"
    block = b"0" * (1 << 20)
    with gzip.open(bomb, "wb", compresslevel=9) as handle:
        for _ in range(INFLATION_FLOOR // len(block) + 64):
            handle.write(block)
    assert bomb.stat().st_size * MAX_INFLATION < INFLATION_FLOOR
    run = ingest_bytes(tmp_path, bomb.read_bytes(), "bomb.jsonl.gz")
    assert [q.reason.split(":")[0] for q in run.quarantined] == ["decompression bomb"]


@pytest.mark.slow
def test_huge_single_line_stays_under_memory_cap(tmp_path: Path) -> None:
    """A 200 MB line: quarantined as too large, peak memory under the stated 300 MB cap."""
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as handle:
        handle.write(b'{"choices": [{"message": {"content": "')
        chunk = b"x" * (1 << 20)
        for _ in range(200):
            handle.write(chunk)
        handle.write(b'"}}]}\n' + VALID_LINE + b"\n")
    # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts at its parent's
    script = (
        "import re, traceviz\n"
        f"run = traceviz.Ingest(); t = traceviz.read({str(path)!r}, ingest=run)\n"
        "status = open('/proc/self/status').read()\n"
        "peak = int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024\n"
        "print(t.height, run.stats.quarantined, peak)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    traces, quarantined, peak_mb = map(int, out.stdout.split())
    assert (traces, quarantined) == (1, 1)
    assert peak_mb < 300, f"peak RSS {peak_mb} MB"


def test_no_pickle_anywhere_in_the_package() -> None:
    src = Path(traceviz.__file__).parent
    offenders = [
        str(p)
        for p in src.rglob("*.py")
        for word in ("import pickle", "from pickle", "joblib", "cloudpickle", "dill")
        if word in p.read_text()
    ]
    assert offenders == []
    assert not [p for p in src.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "{samples}", "-o", "{tmp}/t.parquet"],
        ["count", "{samples}", "--by", "model"],
        ["steps", "{samples}", "-o", "{tmp}/s.parquet"],
        ["show", "930c60df-bf64-41c9-a88e-3ec75f81e00e", "{samples}"],
        ["prices"],
        ["report", "{samples}", "--vs", "o1", "-o", "{tmp}/r.html"],
        ["audit", "{samples}", "--budget", "100"],
    ],
    ids=lambda a: a[0],
)
def test_commands_never_touch_the_network(args: list[str], tmp_path: Path) -> None:
    """Each command runs with sockets blocked (see tests/offline.py): nothing tries the network."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    argv = [a.format(samples=SAMPLES, tmp=tmp_path) for a in args]
    script = (
        "import offline, sys\nfrom traceviz.cli import main\n"
        "sys.argv = ['traceviz', *sys.argv[1:]]\nmain()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "network access attempted" not in out.stderr
