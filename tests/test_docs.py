"""The docs tell the truth: README commands are what CI runs, every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from traceviz.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands_ci_runs() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.DOTALL)
    assert blocks[:2] == [
        "pip install . && traceviz report samples/",
        "pip install '.[test]' && pytest",
    ]
    assert README.index(blocks[0]) < 40
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert blocks[0] in ci
    assert blocks[1] in ci


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_has_help_and_is_in_the_readme(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) > 3
    assert f"traceviz {name}" in README


def test_every_sample_is_described() -> None:
    described = (ROOT / "samples" / "README.md").read_text()
    for path in (ROOT / "samples").iterdir():
        if path.name != "README.md":
            assert f"`{path.name}`" in described, path.name


def test_readme_quick_start_shows_what_the_report_prints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The quick-start block is the real first lines of `traceviz report samples/`."""
    block = README.split("## Quick start")[1].split("```console\n")[1].split("\n```")[0]
    command, *shown = block.splitlines()
    assert command == "$ traceviz report samples/"
    assert shown[-1] == "…"
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["report", "samples/"])
    assert result.exit_code == 0, result.output
    printed = result.stdout.splitlines()
    assert shown[:-1] == printed[: len(shown) - 1]
    assert len(shown) > 8  # the headline and more
    assert result.stderr.startswith("read 48 records from 25 files: 44 traces")


def test_readme_documents_the_report_and_audit_flags() -> None:
    for flag in ("--cap N\\|pNN", "--full", "--max-overthinking-share X"):
        assert flag in README, flag
    for name in ("report", "audit"):
        help_text = CliRunner().invoke(main, [name, "--help"]).stdout
        for flag in {"report": ("--cap", "--full"), "audit": ("--max-overthinking-share",)}[name]:
            assert flag in help_text
