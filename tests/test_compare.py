"""The ratio fit recovers a known ratio; `traceviz compare` pairs logs and prints it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
from click.testing import CliRunner

from traceviz.cli import main
from traceviz.price import fit
from traceviz.schema import COST_TOTAL, CUSTOM_ID, MODEL, REASONING_TOKENS


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


def test_compare_keeps_its_results_and_a_warm_run_says_the_same(tmp_path: Path) -> None:
    # compare had no --no-cache/--cache-dir/--workers: it read every file again, on one core
    b = [1000, 2000, 3000, 4000, 5000, 800]
    _log(tmp_path / "r1.jsonl", "deepseek-reasoner", [2 * n for n in b])
    _log(tmp_path / "o1.jsonl", "o1", b[:5])
    logs = [str(tmp_path / "r1.jsonl"), str(tmp_path / "o1.jsonl")]
    cache = tmp_path / "cache"
    runs = [
        CliRunner().invoke(main, ["compare", *logs, *flags])
        for flags in (
            ["--no-cache"],
            ["--cache-dir", str(cache)],
            ["--cache-dir", str(cache)],
            ["--no-cache", "--workers", "1"],
        )
    ]
    assert [r.exit_code for r in runs] == [0, 0, 0, 0], runs[0].output
    assert len({(r.stdout, r.stderr) for r in runs}) == 1
    assert runs[0].stdout.strip().splitlines()[-1] == "--ratio 2.000"
    assert "1 of 6 A responses with reasoning have no partner" in runs[0].stderr
    assert len([p for p in cache.rglob("*") if p.is_file()]) >= 2  # an entry per log


def _side(model: str, reasoning: list[int], task: list[str]) -> pl.DataFrame:
    n = len(reasoning)
    return pl.DataFrame(
        {
            CUSTOM_ID: [f"q{i}" for i in range(n)],
            REASONING_TOKENS: reasoning,
            COST_TOTAL: [r / 1e6 for r in reasoning],
            MODEL: [model] * n,
            "task": task,
        }
    )


def test_the_fit_does_not_depend_on_the_order_of_the_logs() -> None:
    """The bootstrap draws pairs by position: the pairs come sorted, so the interval is
    the same however the logs (or a hash join) order them."""
    rng = np.random.default_rng(4)
    b = [int(n) for n in rng.integers(300, 9000, 40)]
    a = [int(n * rng.uniform(1.5, 2.5)) for n in b]
    task = ["math" if i % 3 else "code" for i in range(40)]
    first = fit.compare(fit.pair(_side("r1", a, task), _side("o1", b, task), "custom_id", []), [])
    for seed in range(3):
        shuffled = [frame.sample(fraction=1.0, shuffle=True, seed=seed) for frame in
                    (_side("r1", a, task), _side("o1", b, task))]  # fmt: skip
        left, right = shuffled
        again = fit.compare(fit.pair(left, right, "custom_id", []), [])
        assert again == first
    assert len(first.groups) == 1
    assert first.groups[0].fit == first.overall
    assert first.groups[0].cost_ratio is not None
    assert abs(first.groups[0].cost_ratio - 1 / 2) < 0.1  # cost follows tokens: b/a


def test_a_fit_per_group_and_one_over_all() -> None:
    b = [1000, 2000, 3000, 4000, 1500, 2500]
    a = [3 * n for n in b[:3]] + b[3:]  # code: 3x, math: 1x
    task = ["code"] * 3 + ["math"] * 3
    pairs = fit.pair(_side("r1", a, task), _side("o1", b, task), "custom_id", ["task"])
    found = fit.compare(pairs, ["task"])
    assert [(g.key, round(g.fit.ratio, 6)) for g in found.groups] == [
        (("code",), 3.0),
        (("math",), 1.0),
    ]
    assert 1.0 < found.overall.ratio < 3.0
    assert found.overall.pairs == 6


def test_compare_gives_no_interval_over_too_few_pairs(tmp_path: Path) -> None:
    # one pair printed "95% interval 2.000-2.000": a bootstrap over it never varies
    _log(tmp_path / "r1.jsonl", "deepseek-reasoner", [2000])
    _log(tmp_path / "o1.jsonl", "o1", [1000])
    result = CliRunner().invoke(
        main, ["compare", str(tmp_path / "r1.jsonl"), str(tmp_path / "o1.jsonl")]
    )
    assert result.exit_code == 0, result.output
    row = result.stdout.splitlines()[-3].split()
    assert row[:3] == ["1", "2.000", "–"]
    assert result.stdout.splitlines()[-1] == "--ratio 2.000"
    assert (
        "note: no 95% interval for 1 fit of fewer than 5 pairs (fewest: 1): a bootstrap over"
        " so few pairs cannot show their spread; the ratio is a point estimate\n"
    ) in result.stderr


def test_compare_says_what_went_unpaired_and_what_was_averaged(tmp_path: Path) -> None:
    # A held q0 twice (averaged) and B held q6 with no partner: only "pairs 6" was said
    b = [1000, 2000, 3000, 4000, 5000, 800, 700]
    _log(tmp_path / "r1.jsonl", "deepseek-reasoner", [2 * n for n in b[:6]])
    _log(tmp_path / "again.jsonl", "deepseek-reasoner", [3000])  # a second q0
    _log(tmp_path / "o1.jsonl", "o1", b)
    joined = tmp_path / "a.jsonl"
    joined.write_text((tmp_path / "r1.jsonl").read_text() + (tmp_path / "again.jsonl").read_text())
    result = CliRunner().invoke(main, ["compare", str(joined), str(tmp_path / "o1.jsonl")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-3].split()[0] == "6"
    assert result.stderr.splitlines()[1:] == [
        "note: 1 prompt key of A with several responses: each averaged into one pair",
        "note: 1 of 7 B responses with reasoning have no partner on the other side and are"
        " left out",
    ]
