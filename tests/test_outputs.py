"""Clear errors where results go: a missing folder, a full disk, a dead worker.

Each is an error that names the path or the worker (exit 1), never "internal error";
a missing output folder is found before any input is read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tagged_logs
from click.testing import CliRunner
from process_tree import workers_of

from traceviz.cli import main
from traceviz.engines import LocalProcesses
from traceviz.errors import OutputError, WorkerError
from traceviz.outputs import check_output, write_bytes

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
LOG = SAMPLES / "openai-chat-o1.jsonl"
FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")


def _fails_clearly(args: list[str], *expected: str) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, (result.stderr, result.exception)
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr
    return result.stderr


# --- the library ---------------------------------------------------------------------------


def test_check_output_accepts_what_can_be_written(tmp_path: Path) -> None:
    check_output(str(tmp_path / "new.html"))
    (tmp_path / "old.html").write_text("x")
    check_output(str(tmp_path / "old.html"))
    check_output("-")


def test_check_output_names_the_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "nosuch" / "dir" / "r.html"
    with pytest.raises(OutputError) as caught:
        check_output(str(target))
    assert str(caught.value) == (
        f"{target}: cannot write: the folder {target.parent} does not exist"
    )
    assert caught.value.hint == f"Create it first (mkdir -p {target.parent}) or write elsewhere."


def test_check_output_refuses_a_folder_and_a_file_as_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder, not a file"):
        check_output(str(tmp_path))
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputError, match="plain is not a folder"):
        check_output(str(tmp_path / "plain" / "r.html"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_output_refuses_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="is read-only"):
            check_output(str(folder / "r.html"))
    finally:
        folder.chmod(0o700)


@needs_dev_full
def test_write_bytes_on_a_full_disk_names_the_path() -> None:
    with pytest.raises(OutputError) as caught:
        write_bytes(str(FULL), b"x" * 100_000)
    assert str(caught.value) == "/dev/full: cannot write: No space left on device"
    assert caught.value.hint == "Free some space or write elsewhere."


# --- the commands --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["report", "-o", "{out}/r.html"],
        ["audit", "--budget", "1", "--json", "{out}/v.json"],
        ["ingest", "-o", "{out}/t.parquet"],
        ["steps", "-o", "{out}/s.parquet"],
        ["report", "--quarantine", "{out}/q.jsonl"],
        ["show", "x", "--html", "{out}/t.html"],
    ],
    ids=lambda a: a[0] + " " + a[-2],
)
def test_missing_output_folder_is_found_before_reading(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "nosuch" / "dir"
    # the input is missing too: the output is checked first, so it is what the error names
    line = [a.replace("{out}", str(out)) for a in args]
    line.insert(2 if args[0] == "show" else 1, str(tmp_path / "missing.jsonl"))
    stderr = _fails_clearly(line, f"the folder {out} does not exist", "mkdir -p")
    assert "missing.jsonl" not in stderr


@needs_dev_full
@pytest.mark.parametrize(
    "args",
    [
        ["report", str(LOG), "-o", "{full}.html"],
        ["report", str(LOG), "-o", "{full}.json"],
        ["audit", str(LOG), "--budget", "0", "--json", "{full}.json"],
        ["ingest", str(LOG), "-o", "{full}.parquet"],
        ["ingest", str(LOG), "-o", "{full}.csv"],
        ["ingest", str(LOG), "-o", "{full}.jsonl"],
        ["steps", str(SAMPLES / "deepseek-reasoner.json"), "-o", "{full}.csv"],
        ["show", "chatcmpl-AqZ1x7Qf3s", str(LOG), "--html", "{full}.html"],
        ["ingest", "{tmp}/bad.jsonl", "--quarantine", "{full}.jsonl", "-o", "{tmp}/t.parquet"],
    ],  # fmt: skip
    ids=lambda a: a[0] + " " + a[-1].rsplit(".", 1)[-1],
)
def test_full_disk_is_an_error_naming_the_file(tmp_path: Path, args: list[str]) -> None:
    full = tmp_path / "full"  # /dev/full under a name with the suffix each command wants
    for suffix in (".html", ".json", ".parquet", ".csv", ".jsonl"):
        (tmp_path / f"full{suffix}").symlink_to(FULL)
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    line = [a.replace("{full}", str(full)).replace("{tmp}", str(tmp_path)) for a in args]
    target = next(a for a in line if a.startswith(str(full)))
    _fails_clearly(line, f"{target}: cannot write: No space left on device", "Free some space")


@needs_dev_full
def test_full_stdout_is_an_error_not_a_bug() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with FULL.open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "traceviz", "report", str(LOG), "--format", "json", "-q"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
            timeout=120,
        )
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert "stdout: cannot write: No space left on device" in stderr
    assert "internal error" not in stderr


# --- dead workers --------------------------------------------------------------------------


def _kill_self(_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_that_exits_is_named() -> None:
    engine = LocalProcesses(2)
    with pytest.raises(WorkerError) as caught:
        list(engine.map(os._exit, [3, 3, 3]))
    message = str(caught.value)
    assert message.startswith("worker process ")
    assert "died (exit code 3); the run stopped before 3 was analysed" in message


def test_a_killed_worker_is_named_with_its_signal() -> None:
    engine = LocalProcesses(2)
    with pytest.raises(WorkerError) as caught:
        list(engine.map(_kill_self, [1, 2, 3]))
    assert "died (killed by SIGKILL)" in str(caught.value)
    assert "run out of memory" in (caught.value.hint or "")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_report_with_a_worker_killed_mid_run_says_so(tmp_path: Path) -> None:
    log = tmp_path / "big.jsonl"
    lines = LOG.read_bytes()
    with log.open("wb") as out:
        while out.tell() < 10 * 1024 * 1024:  # above the size that starts workers
            out.write(lines)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TRACEVIZ_CACHE_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "traceviz", "report", str(log), "--workers", "2", "-q"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (workers := workers_of(run.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers, "no worker started"
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    text = stderr.decode()
    assert run.returncode == 1, text
    assert f"Error: worker process {workers[0]} died (killed by SIGKILL)" in text
    assert f"the run stopped before {log} bytes 0-" in text
    assert "internal error" not in text


def test_two_outputs_on_one_path_are_refused(tmp_path: Path) -> None:
    # `ingest LOG -o q.jsonl --quarantine q.jsonl` said "wrote 1 quarantined records to
    # q.jsonl" and "wrote 2 traces to q.jsonl"; q.jsonl then held the quarantined record
    # alone: the traces were lost (and with report -o/--quarantine, the quarantine)
    log = tagged_logs.write(tmp_path / "t.jsonl", [tagged_logs.chat(1, "a", 30)["response"]])
    with log.open("a") as file:
        file.write("{not json\n")
    out = tmp_path / "out.jsonl"
    for command, flag in (("ingest", "-o"), ("report", "-o"), ("audit", "--json")):
        args = [command, str(log), "--no-cache", flag, str(out)]
        args += ["--quarantine", str(tmp_path / "." / "out.jsonl")]
        if command == "audit":
            args += ["--budget", "1"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (command, result.output)
        assert "are one file; one would replace the other" in result.stderr
        assert not out.exists()


def test_the_default_quarantine_never_replaces_an_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `report traceviz.quarantine.jsonl` (opening the last run's quarantine) quarantined
    # its every line to the default traceviz.quarantine.jsonl: the input was replaced
    monkeypatch.chdir(tmp_path)
    held = '{"source": "a.jsonl", "line": 1, "reason": "invalid JSON", "raw": "{x"}\n'
    cases = [
        (["report", "traceviz.quarantine.jsonl"], "traceviz.quarantine.jsonl"),
        (["audit", "traceviz.quarantine.jsonl", "--budget", "1"], "traceviz.quarantine.jsonl"),
        (["ingest", "t.quarantine.jsonl", "-o", "t.parquet"], "t.quarantine.jsonl"),
        (["count", "count.quarantine.jsonl"], "count.quarantine.jsonl"),
    ]
    for args, name in cases:
        Path(name).write_text(held)
        result = CliRunner().invoke(main, [*args, "--no-cache"])
        assert result.exit_code == 1, (args, result.output)
        assert f"--quarantine (by default) {name} is one of the inputs" in result.stderr
        assert Path(name).read_text() == held
    # a folder holding the default quarantine file is still read, as before
    (tmp_path / "logs").mkdir()
    monkeypatch.chdir(tmp_path / "logs")
    tagged_logs.write(tmp_path / "logs" / "t.jsonl", [tagged_logs.chat(1, "a", 30)["response"]])
    result = CliRunner().invoke(main, ["report", ".", "--no-cache"])
    assert result.exit_code == 0, result.output
