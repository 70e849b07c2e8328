"""Logs written by the benchmark's generator (bench/generate.py, imported by path):
R1 and o1 responses, alone or with every line-based sample appended."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def generate(path: Path, size: int, seed: int) -> int:
    """bench/generate.py's R1 and o1 log of about `size` bytes; the records written."""
    spec = importlib.util.spec_from_file_location("generate", ROOT / "bench" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.generate(path, size, seed=seed))


def mixed_log(path: Path, size: int, seed: int) -> None:
    """bench/generate.py's R1 and o1 log, with every line-based sample appended."""
    generate(path, size, seed)
    with path.open("ab") as out:
        for sample in sorted(SAMPLES.glob("*.jsonl")):
            out.write(sample.read_bytes().rstrip(b"\n") + b"\n")
