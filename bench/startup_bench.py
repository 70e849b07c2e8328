"""Start-up: how long short commands take, and what they import before doing anything.

    python bench/startup_bench.py              # 10 runs each
    python bench/startup_bench.py --runs 30 --imports 8
    python bench/startup_bench.py --tree /work/main --tree .   # two trees, runs interleaved

For each command (`--help`, `report` and `count` on one small sample, each with no cache
and with its result cached, `prices`) prints the wall time over `--runs` runs (mean, best)
and the overhead: the time less the bare interpreter's (`python -c pass`), mean less mean
and best less best, and the best CPU time (user + system); then the modules that cost most
to import (`python -X importtime`, cumulative, top level of the tree). Run it from the
repository with `PYTHONPATH=src` (or an install) as the command line runs, or name the
source trees to compare with `--tree` (each run with `PYTHONPATH=TREE/src`): their runs
alternate, so a busy machine weighs on all alike. Each tree keeps its results in a cache
folder of its own, made for the run (never the user's), which the untimed first run of a
cached command fills.

Modules are run from their bytecode, as an install has it (pip compiles it): with
PYTHONDONTWRITEBYTECODE set, as in some shells, every run would compile every traceviz
module again (~150 ms), so the bytecode goes to a temporary PYTHONPYCACHEPREFIX, written by
a first run that is not timed. `--compile` measures with the compiling left in.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "deepseek-reasoner.json"
COMMANDS = {
    "--help": ["--help"],
    "report (1 small file)": ["report", str(SAMPLE), "--no-cache"],
    "report (1 small file, cached)": ["report", str(SAMPLE)],
    "count (1 small file)": ["count", str(SAMPLE), "--no-cache"],
    "count (1 small file, cached)": ["count", str(SAMPLE)],
    "prices": ["prices"],
}


def environment(tree: Path | None, pycache: str | None, cache: str) -> dict[str, str]:
    """The environment a run of `tree`'s traceviz gets (None: this process's path), its
    results kept under `cache`."""
    env = dict(os.environ)
    env["TRACEVIZ_CACHE_DIR"] = cache
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "src")
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def timings(
    argv: list[str], envs: list[dict[str, str]], runs: int
) -> list[tuple[list[float], list[float]]]:
    """(wall seconds, CPU seconds) of `runs` runs of `argv` in each environment, the
    environments taking turns run by run (after one untimed run each: the page cache, the
    bytecode). CPU time (user + system, all threads) is what a busy machine bends least."""
    for env in envs:
        subprocess.run(argv, check=True, capture_output=True, env=env)
    found: list[tuple[list[float], list[float]]] = [([], []) for _ in envs]
    for _ in range(runs):
        for env, (wall, cpu) in zip(envs, found, strict=True):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env)
            wall.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return found


def imports(args: list[str], env: dict[str, str], top: int) -> list[tuple[str, float]]:
    """The costliest top-level imports of `traceviz ARGS`: (module, cumulative ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "traceviz", *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    found = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top of the tree
            found.append((name.strip(), int(cumulative) / 1000))
    return sorted(found, key=lambda f: -f[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--imports", type=int, default=5, help="costliest imports to list")
    parser.add_argument(
        "--tree", action="append", type=Path, help="a source tree to run (repeatable)"
    )
    parser.add_argument("--compile", action="store_true", help="no bytecode cache")
    args = parser.parse_args()
    trees: list[Path | None] = [t.resolve() for t in args.tree] if args.tree else [None]
    with (
        tempfile.TemporaryDirectory(prefix="startup-pyc-") as pycache,
        tempfile.TemporaryDirectory(prefix="startup-cache-") as caches,
    ):
        envs = [
            environment(t, None if args.compile else pycache, str(Path(caches) / str(i)))
            for i, t in enumerate(trees)
        ]
        bare, bare_cpu = timings([sys.executable, "-c", "pass"], envs[:1], args.runs)[0]
        bare_mean, bare_best = statistics.mean(bare), min(bare)
        print(
            f"python -c pass: mean {bare_mean * 1000:.0f} ms, best {bare_best * 1000:.0f} ms,"
            f" CPU best {min(bare_cpu) * 1000:.0f} ms"
        )
        for label, command in COMMANDS.items():
            argv = [sys.executable, "-m", "traceviz", *command]
            measured = timings(argv, envs, args.runs)
            for tree, env, (found, cpu) in zip(trees, envs, measured, strict=True):
                mean, best = statistics.mean(found), min(found)
                name = f"traceviz {label}" + (f" [{tree}]" if tree is not None else "")
                print(
                    f"{name}: mean {mean * 1000:5.0f} ms, best {best * 1000:5.0f} ms;"
                    f" overhead mean {(mean - bare_mean) * 1000:5.0f} ms,"
                    f" best {(best - bare_best) * 1000:5.0f} ms;"
                    f" CPU best {min(cpu) * 1000:5.0f} ms"
                )
                heavy = ", ".join(
                    f"{m} {ms:.0f} ms" for m, ms in imports(command, env, args.imports)
                )
                print(f"  imports: {heavy}")


if __name__ == "__main__":
    main()
