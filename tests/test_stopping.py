"""A run stopped from outside: Ctrl-C, SIGTERM (`timeout`, a CI job cancelled), SIGKILL.

The command stops within a second or so with one line on stderr (exit 130 or 143), its
worker processes and their fork server end with it, and nothing half-written is left
where the output goes. A command killed outright (SIGKILL: nothing can run) still
leaves no worker behind: each worker ends when the command has.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from generated_logs import generate
from process_tree import helpers_of, running, workers_of

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc"),
]


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """R1 and o1 responses above the size that starts workers, whose shards take
    seconds each: long enough to be stopped mid-run, mid-shard."""
    log = tmp_path_factory.mktemp("stopping") / "big.jsonl"
    generate(log, 24 * 1024 * 1024, seed=5)
    return log


def _start(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """The command in a session of its own (as a terminal's job is), once its workers run;
    with the processes it started."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TRACEVIZ_CACHE_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "traceviz", *args, "--workers", "2", "-q"]
    run = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(workers_of(run.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    helpers = helpers_of(run.pid)
    if len(workers_of(run.pid)) < 2 or run.poll() is not None:
        run.kill()
        run.communicate()
        pytest.fail("the run did not start two workers")
    return run, helpers


def _stopped(run: subprocess.Popen[bytes], helpers: list[int]) -> tuple[int, str, float, float]:
    """The exit code and stderr of a stopped run, the seconds until it had ended, and
    until every process it started had ended too (not its children once it is gone, so
    polled)."""
    started = time.monotonic()
    try:
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    ended = time.monotonic() - started
    while any(running(pid) for pid in helpers) and time.monotonic() - started < 30:
        time.sleep(0.05)
    left = [pid for pid in helpers if running(pid)]
    for pid in left:  # do not leave them to the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert not left, f"still running 30 s after the command stopped: {left}"
    _, stderr = run.communicate()  # every writer of the pipe has ended: no wait
    return run.returncode, stderr.decode(), ended, time.monotonic() - started


def test_sigterm_stops_the_run_and_its_workers_and_leaves_no_partial_output(
    tmp_path: Path, big_log: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    run, helpers = _start(["ingest", str(big_log), "-o", str(out / "traces.parquet")], tmp_path)
    os.kill(run.pid, signal.SIGTERM)
    code, stderr, ended, seconds = _stopped(run, helpers)
    assert code == 143, stderr
    assert stderr == "Terminated.\n"
    assert ended < 5  # the workers were stopped, not waited for to finish their shards
    assert seconds < 10
    assert list(out.iterdir()) == []  # neither the table nor its temporary file


def test_ctrl_c_stops_the_run_and_its_workers_with_one_line(tmp_path: Path, big_log: Path) -> None:
    run, helpers = _start(["report", str(big_log), "-o", str(tmp_path / "r.json")], tmp_path)
    os.killpg(run.pid, signal.SIGINT)  # as a terminal sends it: to the whole job
    code, stderr, ended, seconds = _stopped(run, helpers)
    assert code == 130, stderr
    assert stderr == "Interrupted.\n"  # no worker's traceback, no leaked-semaphore warning
    assert ended < 5  # at once, not when the shard being waited for is done
    assert seconds < 10
    assert not (tmp_path / "r.json").exists()


def test_workers_end_when_the_command_is_killed(tmp_path: Path, big_log: Path) -> None:
    run, helpers = _start(["report", str(big_log), "--format", "json"], tmp_path)
    os.kill(run.pid, signal.SIGKILL)
    code, _, _, seconds = _stopped(run, helpers)
    assert code == -signal.SIGKILL
    assert seconds < 10  # before, they blocked for ever writing results no one read
