"""Start-up: `traceviz --help` imports no command and no heavy library, yet lists every
command with its help; a command imports what it needs; `import traceviz` stays cheap and
its public names still resolve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

import traceviz
from traceviz.cli import COMMANDS, main
from traceviz.cli.lazy import LazyCommand

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "deepseek-reasoner.json"
HEAVY = ("polars", "numpy", "scipy", "sklearn", "pyarrow", "tiktoken", "rich")

# Runs the command line as `python -m traceviz ARGS` does, then prints the modules it
# imported as the last line of stderr.
PROBE = """
import json, runpy, sys
sys.argv = ["traceviz", *json.loads(sys.argv[1])]
try:
    runpy.run_module("traceviz", run_name="__main__", alter_sys=True)
except SystemExit as done:
    assert done.code in (None, 0), done.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _run(args: list[str], code: str = PROBE) -> tuple[str, set[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(json.loads(done.stderr.splitlines()[-1]))


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_imports_no_command_and_no_heavy_library() -> None:
    _, modules = _run(["--help"])
    assert not _top(modules) & set(HEAVY), sorted(_top(modules) & set(HEAVY))
    commands = {target.partition(":")[0] for _, target, _ in COMMANDS}
    assert not modules & commands
    assert "traceviz.pipeline" not in modules
    assert "traceviz.cli" in modules  # the probe ran the real command line


def test_help_lists_every_command_with_its_help_as_if_all_were_imported() -> None:
    lazy, _ = _run(["--help"])
    load_all = "from traceviz.cli import main\nfor name in main.commands: main.commands[name]\n"
    eager, modules = _run(["--help"], load_all + PROBE)
    assert {"traceviz.cli.report", "traceviz.cli.kinds"} <= modules  # all were imported
    assert lazy == eager
    listed = lazy.split("Commands:\n")[1].splitlines()
    assert [line.split()[0] for line in listed] == sorted(name for name, _, _ in COMMANDS)
    for line in listed:
        name, summary = line.split(maxsplit=1)
        assert summary.rstrip(".") in {n: s for n, _, s in COMMANDS}[name]


@pytest.mark.parametrize(("name", "target", "summary"), COMMANDS)
def test_each_kept_summary_is_the_first_paragraph_of_its_command_help(
    name: str, target: str, summary: str
) -> None:
    command = LazyCommand(target, summary).load()
    assert command.name == name
    assert not command.hidden
    assert not command.deprecated
    assert command.help is not None
    assert command.help.split("\n\n")[0].strip() == summary
    for limit in (20, 45, 60, 80, 200):
        shown = click.Command(name, help=summary).get_short_help_str(limit)  # as --help lists it
        assert command.get_short_help_str(limit) == shown


def test_every_command_is_registered_and_runs_its_help() -> None:
    assert sorted(main.commands) == sorted(name for name, _, _ in COMMANDS)
    for name in main.commands:
        assert isinstance(main.commands[name], click.Command)


def test_a_command_imports_its_own_module_only() -> None:
    _, modules = _run(["prices", "--help"])
    assert "traceviz.cli.prices" in modules
    assert not modules & {"traceviz.cli.report", "traceviz.cli.kinds", "traceviz.cli.compare"}
    assert "sklearn" not in _top(modules)


def test_prices_reads_the_catalog_without_polars_numpy_or_a_tokenizer() -> None:
    stdout, modules = _run(["prices", "deepseek-reasoner"])
    assert "deepseek-reasoner" in stdout
    assert not _top(modules) & {"polars", "numpy", "scipy", "sklearn", "pyarrow", "tiktoken"}


def test_report_on_a_small_file_imports_no_scikit_learn() -> None:
    stdout, modules = _run(["report", str(SAMPLE), "--no-cache", "-q", "--format", "json"])
    assert json.loads(stdout)["overall"]["traces"] == 1
    assert "polars" in _top(modules)
    assert "sklearn" not in _top(modules)  # only training and compare's fit need it


def test_a_cached_report_loads_no_segment_stage_and_states_the_kinds_note(
    tmp_path: Path,
) -> None:
    """A report whose every file is cached never segments: it does not import the stage
    (its regexes, the kinds model's arrays) and reads the shipped model's note alone."""
    args = ["report", str(SAMPLE), "-q", "--format", "json", "--cache-dir", str(tmp_path)]
    cold, cold_modules = _run(args)
    warm, modules = _run(args)
    assert "traceviz.segment.stage" in cold_modules
    assert not {m for m in modules if m.startswith("traceviz.segment.")} - {
        "traceviz.segment.evaluation"
    }
    assert json.loads(warm) == json.loads(cold)
    notes = json.loads(warm)["estimates"]
    assert any(n.startswith("step kinds are an estimate: cross-validated accuracy") for n in notes)


def test_import_traceviz_is_cheap_and_its_names_resolve() -> None:
    code = "import sys, traceviz\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    _, modules = _run([], "import json\n" + code)
    assert not _top(modules) & set(HEAVY)
    for name in traceviz.__all__:
        assert getattr(traceviz, name) is not None
    assert dir(traceviz) == sorted(traceviz.__all__)
    assert traceviz.AnalysisOptions is traceviz.pipeline.AnalysisOptions
    assert traceviz.TracevizError.__module__ == "traceviz.errors"
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = traceviz.nothing_here


def test_star_import_gives_the_public_names() -> None:
    names: dict[str, object] = {}
    exec("from traceviz import *", names)  # noqa: S102 - the statement under test
    assert set(traceviz.__all__) <= set(names)


# Runs `traceviz prices` as PROBE does, then prints the allocator setting it leaves for
# the processes it starts (its workers inherit its environment).
ALLOCATOR_PROBE = PROBE.replace(
    "print(json.dumps(sorted(sys.modules)), file=sys.stderr)",
    "import os; print(os.environ.get('_RJEM_MALLOC_CONF'), file=sys.stderr)",
)


@pytest.mark.parametrize("preset", [None, "dirty_decay_ms:1000"])
def test_a_run_tunes_polars_allocator_unless_the_user_did(preset: str | None) -> None:
    from traceviz.cli.allocator import POLARS_ALLOCATOR, SETTINGS

    env = {k: v for k, v in os.environ.items() if k != POLARS_ALLOCATOR}
    if preset is not None:
        env[POLARS_ALLOCATOR] = preset
    done = subprocess.run(
        [sys.executable, "-c", ALLOCATOR_PROBE, json.dumps(["prices"])],
        env={**env, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr.splitlines()[-1] == (preset or SETTINGS)


# Runs `traceviz prices` as PROBE does, then prints whether the collector is on and how
# many objects it was told to leave alone.
COLLECTOR_PROBE = PROBE.replace(
    "print(json.dumps(sorted(sys.modules)), file=sys.stderr)",
    "import gc; print(json.dumps([gc.isenabled(), gc.get_freeze_count()]), file=sys.stderr)",
)


def test_a_commands_imports_are_frozen_out_of_the_collector_which_stays_on() -> None:
    done = subprocess.run(
        [sys.executable, "-c", COLLECTOR_PROBE, json.dumps(["prices"])],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    enabled, frozen = json.loads(done.stderr.splitlines()[-1])
    assert enabled
    assert frozen > 10_000  # the modules `prices` imported, at least


@pytest.mark.parametrize("enabled", [True, False])
def test_imports_uncollected_pauses_the_collector_and_leaves_it_as_it_was(enabled: bool) -> None:
    import gc

    from traceviz.cli.lazy import imports_uncollected

    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with imports_uncollected():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        (gc.enable if was else gc.disable)()


# Runs the command line as PROBE does, then prints the tokenizers it built whole.
WHOLE_PROBE = PROBE.replace(
    "print(json.dumps(sorted(sys.modules)), file=sys.stderr)",
    "print(json.dumps(sorted(sys.modules['traceviz.tokenizers']._WHOLE)), file=sys.stderr)",
)


@pytest.mark.parametrize(
    "args",
    [
        ["report", str(SAMPLE), "--no-cache", "-q", "--vs", "o1"],
        ["count", str(SAMPLE), "-q"],
    ],
)
def test_a_small_file_is_counted_without_building_a_whole_vocabulary(args: list[str]) -> None:
    _, built = _run(args, WHOLE_PROBE)
    assert built == set()  # ~260 ms each: the found tokens were enough (`encoding_for`)


def test_the_fork_servers_module_loads_the_tables_without_numpy_or_polars() -> None:
    """The local engine's fork server imports `_preload_tokenizers` and must stay one
    thread to fork safely: no numpy or polars (which start threads), though the found-token
    index that sits beside the tables uses numpy."""
    code = (
        "import sys, traceviz._preload_tokenizers as p; "
        "print(sorted({'numpy', 'polars'} & {m.split('.')[0] for m in sys.modules}))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"
