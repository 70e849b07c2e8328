"""Start-up: how long short commands take, and what they import before doing anything.

    python bench/startup_bench.py              # 10 runs each
    python bench/startup_bench.py --runs 30 --imports 8

For each command (`--help`, `report` on one small sample with no cache, `count` on it,
`prices`) prints the wall time over `--runs` runs (mean, best), less the bare
interpreter's (`python -c pass`: the overhead traceviz adds), and the modules that cost
most to import (`python -X importtime`, cumulative, top level of the tree). Uses
`hyperfine` when it is installed, else a loop of runs. Run it from the repository with
`PYTHONPATH=src` (or an install) as the command line runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
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
    "count (1 small file)": ["count", str(SAMPLE)],
    "prices": ["prices"],
}


def timings(argv: list[str], runs: int) -> list[float]:
    """Wall seconds of `runs` runs of `argv` (hyperfine's if installed)."""
    hyperfine = shutil.which("hyperfine")
    if hyperfine:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = " ".join(f"'{a}'" for a in argv)
            subprocess.run(
                [
                    hyperfine,
                    "-N",
                    "--warmup",
                    "1",
                    "--runs",
                    str(runs),
                    "--export-json",
                    out.name,
                    command,
                ],  # fmt: skip
                check=True,
                capture_output=True,
            )
            return list(json.loads(Path(out.name).read_bytes())["results"][0]["times"])
    subprocess.run(argv, check=True, capture_output=True)  # warm the page cache
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        found.append(time.perf_counter() - started)
    return found


def imports(args: list[str], top: int) -> list[tuple[str, float]]:
    """The costliest top-level imports of `traceviz ARGS`: (module, cumulative ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "traceviz", *args],
        capture_output=True,
        text=True,
        check=True,
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
    args = parser.parse_args()
    bare = statistics.mean(timings([sys.executable, "-c", "pass"], args.runs))
    print(f"python -c pass: {bare * 1000:.0f} ms (subtracted below)")
    for label, command in COMMANDS.items():
        found = timings([sys.executable, "-m", "traceviz", *command], args.runs)
        mean, best = statistics.mean(found), min(found)
        print(
            f"traceviz {label:<22} mean {mean * 1000:5.0f} ms, best {best * 1000:5.0f} ms,"
            f" overhead {(mean - bare) * 1000:5.0f} ms"
        )
        heavy = ", ".join(f"{name} {ms:.0f} ms" for name, ms in imports(command, args.imports))
        print(f"  imports: {heavy}")


if __name__ == "__main__":
    main()
