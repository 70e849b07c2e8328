"""The ratio fit recovers a known ratio; `traceviz compare` pairs logs and prints it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from traceviz.cli import main
from traceviz.price import fit


def test_fit_recovers_a_known_ratio() -> None:
    rng = np.random.default_rng(1)
    b = rng.integers(500, 20_000, 300).astype(float)
    a = b * 1.6 * np.exp(rng.normal(0, 0.25, 300))
    a[:10] *= 30  # a few runaway (looping) traces
    found = fit.fit_ratio(a, b)
    assert found.low < 1.6 < found.high
    assert abs(found.ratio - 1.6) < 0.08
    assert found.pairs == 300


def _log(path: Path, model: str, reasoning: list[int]) -> None:
    rows = []
    for i, n in enumerate(reasoning):
        body = {"id": f"{model}-{i}", "object": "chat.completion", "created": 1740000000, "model": model,
                "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": n + 2, "completion_tokens_details": {"reasoning_tokens": n}}}  # fmt: skip
        rows.append(
            json.dumps(
                {
                    "id": f"b{i}",
                    "custom_id": f"q{i}",
                    "response": {"status_code": 200, "body": body},
                }
            )
        )
    path.write_text("\n".join(rows) + "\n")


def test_compare_command(tmp_path: Path) -> None:
    b = [1000, 2000, 3000, 4000, 5000, 800]
    _log(tmp_path / "r1.jsonl", "deepseek-reasoner", [2 * n for n in b])
    _log(tmp_path / "o1.jsonl", "o1", b)
    result = CliRunner().invoke(
        main, ["compare", str(tmp_path / "r1.jsonl"), str(tmp_path / "o1.jsonl")]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "--ratio 2.000"
