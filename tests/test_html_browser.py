"""The HTML report in a real headless Chromium: loads offline, charts render, nothing runs.

Skipped only when no Chromium is installed (`.ci/run` installs Debian's `chromium`).
Screenshots at 1280 and 390 px wide are left at tests/output/report-1280.png and
report-390.png for review.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from traceviz.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
OUTPUT = Path(__file__).parent / "output"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
]  # fmt: skip

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    command = [CHROMIUM or "chromium", *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_report_page_in_chromium(tmp_path: Path) -> None:
    evil = tmp_path / "logs" / "evil.jsonl"
    evil.parent.mkdir()
    evil.write_text(
        '{"id": "evil", "object": "chat.completion", "model": "deepseek-reasoner", "created": 1741000000,'
        ' "choices": [{"message": {"content": "<script>document.title=\'pwned\'</script>",'
        ' "reasoning_content": "<img src=x onerror=\\"document.title=\'pwned\'\\">"}}]}\n'
    )
    page = tmp_path / "report.html"
    args = ["report", str(SAMPLES), str(evil), "--by", "model", "--vs", "o1", "-o", str(page), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), "a network reference"
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr
    assert "<title>traceviz report</title>" in dom.stdout  # no script changed the title
    assert "<script" not in dom.stdout
    # the headline as cards, then the charts in answer order, then the tables
    assert (
        dom.stdout.index('class="cards"') < dom.stdout.index("<figure") < dom.stdout.index("<table")
    )
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", dom.stdout)
    assert [c.split(" (")[0] for c in captions[:4]] == [
        "Where the money went",
        "What the thinking after the first answer cost",
        "What if on o1",
        "Reasoning length against first-answer position",
    ]
    svgs = re.findall(r"<svg.*?</svg>", dom.stdout, re.DOTALL)
    assert len(svgs) == 6
    assert all(re.search(r"<(rect|circle|line)\b", svg) for svg in svgs)
    assert "not priced" in svgs[0]  # llama.cpp's distill has no price
    assert "$0.00<" not in svgs[0]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    OUTPUT.mkdir(exist_ok=True)
    for width in (1280, 390):
        shot = OUTPUT / f"report-{width}.png"
        taken = chromium(
            f"--screenshot={shot}",
            f"--window-size={width},2400",
            page.as_uri(),
            profile=tmp_path / f"profile-shot-{width}",
        )
        assert taken.returncode == 0, taken.stderr
        assert shot.stat().st_size > 10_000
        print(f"screenshot: {shot}")
