"""The batch report: exact figures, golden Markdown and JSON of samples/, every format."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import tagged_logs
from click.testing import CliRunner

from traceviz import report as reports
from traceviz.cli import main
from traceviz.pipeline import AnalysisOptions, analyze
from traceviz.schema import IngestStats

GOLDEN = Path(__file__).parent / "golden"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _report(by: list[str] | None = None, vs: str | None = None) -> reports.Report:
    """The report of samples/, read by a relative path so sources and ids match any checkout."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(SAMPLES.parent)
        analysis = analyze(["samples"], AnalysisOptions(vs=vs))
    return reports.build(analysis.traces, analysis.steps, analysis.stats, by)


def check_golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run pytest --update-golden, then review the diff"
    assert text == path.read_text()


def test_markdown_golden(update_golden: bool) -> None:
    check_golden(
        "samples-by-provider.md",
        reports.markdown.render(_report(["provider"], "o1")),
        update_golden,
    )


def test_json_golden(update_golden: bool) -> None:
    document = reports.json.render(_report(["provider"], "o1")).decode()
    document = document.replace(
        f'"traceviz_version": "{reports.json.__version__}"', '"traceviz_version": "X"'
    )
    check_golden("samples-by-provider.json", document, update_golden)


def test_figures_add_up() -> None:
    built = _report(["model"])
    overall = built.overall.row(0, named=True)
    traces = analyze([SAMPLES]).traces
    assert overall["traces"] == 44
    assert overall["cost_total"] == traces["cost_total"].sum()
    assert overall["tokens_reasoning_sum"] == traces["reasoning_tokens"].sum()
    parts = [
        overall[c]
        for c in (
            "cost_input",
            "cost_cached_input",
            "cost_cache_write",
            "cost_reasoning",
            "cost_answer",
        )
    ]
    assert sum(parts, Decimal(0)) == overall["cost_total"]
    assert built.groups["traces"].sum() == 44
    o1 = built.groups.filter(model="o1-2024-12-17").row(0, named=True)
    # two o1 calls: 51 uncached + 1792 cached prompt tokens and 1230 output, then 96 and 4000;
    # two batch lines at batch rates: 25 in, 340 out, then 31 in, 900 out
    chat = (
        51 * Decimal(15)
        + 1792 * Decimal("7.5")
        + 1230 * Decimal(60)
        + 96 * Decimal(15)
        + 4000 * Decimal(60)
    )
    batch = (25 + 31) * Decimal("7.5") + (340 + 900) * Decimal(30)
    # one o1 call in each log-store sample: 51 uncached + 1792 cached in, 420 out
    stores = 4 * (51 * Decimal(15) + 1792 * Decimal("7.5") + 420 * Decimal(60))
    expected = (chat + batch + stores) / 1_000_000
    assert o1["cost_total"] == expected
    assert o1["traces_hidden_reasoning"] == 8
    assert set(built.outliers) == {"most_expensive", "longest", "looping", "truncated"}
    assert built.outliers["most_expensive"]["trace_id"][0] == "chatcmpl-AqZ2b1LmN0"


def test_group_by_metadata_and_day() -> None:
    built = _report(["team"])
    assert "search" in built.groups["team"].to_list()
    by_day = _report(["day"])
    assert "2025-01-22" in by_day.groups["day"].to_list()


def test_csv_neutralises_formulas(tmp_path: Path) -> None:
    log = tmp_path / "evil.jsonl"
    log.write_text(
        '{"object": "chat.completion", "model": "=HYPERLINK(\\"http://x\\")", "choices":'
        ' [{"message": {"content": "hi"}}]}\n'
    )
    result = CliRunner().invoke(
        main, ["report", str(log), "--by", "model", "--format", "csv", "-q"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["model"].startswith("'=HYPERLINK")


@pytest.mark.parametrize("fmt", ["terminal", "md", "html", "json", "csv", "parquet"])
def test_every_format_writes(fmt: str, tmp_path: Path) -> None:
    suffix = {
        "terminal": "txt",
        "md": "md",
        "html": "html",
        "json": "json",
        "csv": "csv",
        "parquet": "parquet",
    }[fmt]
    out = tmp_path / f"report.{suffix}"
    result = CliRunner().invoke(
        main, ["report", str(SAMPLES), "--by", "model", "-o", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    total = "$0.5421"
    if fmt == "parquet":
        assert pl.read_parquet(out).height == _report(["model"]).groups.height + 1
    elif fmt == "json":
        assert json.loads(out.read_text())["ingest"]["records_read"] == 48
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out.read_text())))
        assert len(rows) == _report(["model"]).groups.height + 1
        assert "o1-2024-12-17" in {row["model"] for row in rows}
    else:  # the human formats open on the headline and name the biggest model
        text = out.read_text()
        opening = {
            "terminal": "At a glance\n",
            "md": "# traceviz report\n",
            "html": "<!doctype html>",
        }
        assert text.startswith(opening[fmt])
        assert total in text
        assert "o1-2024-12-17" in text


def test_terminal_report_shows_every_section() -> None:
    result = CliRunner().invoke(main, ["report", str(SAMPLES), "--vs", "o1"], terminal_width=80)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for title in ("At a glance", "Records", "Tokens", "Money", "Cost by part",
                  "What if on o1 (estimate)", "Reasoning behaviour", "Step kinds",
                  "Traces worth opening", "Estimates"):  # fmt: skip
        assert any(line.startswith(title) for line in lines), title
    assert lines[0] == "At a glance"
    assert max(len(line) for line in lines) <= 80
    assert all(line == line.rstrip() for line in lines)
    # two 50-line screens, the logged cost's second line (what its figures cover) and the
    # what-if note's third (how many prompts were taken from usage, not re-counted), and the
    # headline's two on the responses logged twice (by Helicone and in OTel spans)
    assert len(lines) <= 104


def test_default_terminal_report_fits_two_screens() -> None:
    result = CliRunner().invoke(main, ["report", str(SAMPLES), "-q"], terminal_width=80)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) <= 92  # 90, and the headline's two on the responses logged twice
    # ids are shortened in the middle, never wrapped: each outlier is one line
    opening = result.stdout.split("Traces worth opening\n")[1].split("\n\n")[0].splitlines()
    assert opening[2].split()[:2] == ["cost", "long"]
    assert "chatcmp…" in opening[2]
    full = CliRunner().invoke(main, ["report", str(SAMPLES), "-q", "--full"])
    assert "chatcmpl-AqZ2b1LmN0 " in full.stdout
    assert "DeepSeek-R1-Distill-Llama-8B-Q4_K_M.gguf " in full.stdout


def test_cap_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["report", str(SAMPLES), "--cap", "p90", "-o", str(out), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    cap = json.loads(out.read_text())["headline"]["cap"]
    assert cap["tokens"] == 384
    assert cap["rule"] == "384 reasoning tokens, the p90 of 42 traces"
    assert cap["estimate"].startswith("estimate: tokens above the cap removed at the output rate")
    bad = CliRunner().invoke(main, ["report", str(SAMPLES), "--cap", "lots"])
    assert bad.exit_code == 1
    assert "--cap 'lots' is neither a number of reasoning tokens nor a percentile" in bad.stderr
    assert "Use --cap 2000 or --cap p90." in bad.stderr


def test_html_escapes_log_text(tmp_path: Path) -> None:
    log = tmp_path / "evil.jsonl"
    log.write_text(
        '{"id": "<img src=x onerror=alert(1)>", "object": "chat.completion", "model": "<script>alert(1)</script>",'
        ' "choices": [{"message": {"content": "x", "reasoning_content": "y"}}]}\n'
    )
    page = reports.html.render(reports.build(*_analysis(log)))
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page


def _analysis(path: Path) -> tuple[pl.DataFrame, pl.DataFrame | None, IngestStats]:
    analysis = analyze([path])
    return analysis.traces, analysis.steps, analysis.stats


def test_vs_after_a_plain_run_does_not_reuse_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--vs` re-counts the text with the target's tokenizer: a cached run without it
    must not stand in (it once crashed with `"prompt" not found`)."""
    monkeypatch.setenv("TRACEVIZ_CACHE_DIR", str(tmp_path / "cache"))
    plain = CliRunner().invoke(main, ["report", str(SAMPLES), "-q"])
    assert plain.exit_code == 0, plain.output
    vs = CliRunner().invoke(main, ["report", str(SAMPLES), "-q", "--vs", "o1"])
    assert vs.exit_code == 0, vs.output
    assert "What if on o1 (estimate): $0.7299" in vs.stdout
    cold = CliRunner().invoke(main, ["report", str(SAMPLES), "-q", "--vs", "o1", "--no-cache"])
    assert vs.stdout == cold.stdout


def test_json_money_is_never_in_exponent_notation() -> None:
    # `report samples/ --format json`: logged_cost gave OpenRouter's difference as
    # "2.0000E-8" while every other amount is fixed-point ("0.000048810000")
    result = CliRunner().invoke(main, ["report", str(SAMPLES), "--no-cache", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in json.loads(result.stdout)["logged_cost"]}
    assert rows["deepseek/deepseek-r1"]["difference"] == "0.000000020000"
    assert "E-" not in result.stdout


def test_logged_costs_are_summed_as_money(tmp_path: Path) -> None:
    # `report LOG --format csv` over ten responses each logging usage.cost 0.1 gave a
    # cost_logged of 0.9999999999999999 (a float sum; JSON rounded it to 6 decimals)
    records = []
    for i in range(10):
        record = tagged_logs.chat(i, "a", 30)
        record["response"]["usage"]["cost"] = 0.1
        records.append(record)
    log = tagged_logs.write(tmp_path / "t.jsonl", records)
    args = ["report", str(log), "--no-cache", "--format"]
    document = json.loads(CliRunner().invoke(main, [*args, "json"]).stdout)
    assert document["overall"]["cost_logged"] == "1"
    total = Decimal(document["overall"]["cost_total"])
    assert Decimal(document["overall"]["cost_logged_diff"]) == total - 1
    row = next(csv.DictReader(io.StringIO(CliRunner().invoke(main, [*args, "csv"]).stdout)))
    assert row["cost_logged"] == "1.000000000000"


def test_the_logged_cost_says_which_traces_each_figure_covers() -> None:
    # "logged cost $0.000993; ours minus logged $0.000000" summed the logged cost of the
    # o3-mini trace traceviz could not price, which neither the difference nor the
    # "Logged cost vs traceviz price" table covered
    log = str(SAMPLES / "openrouter.jsonl")  # logged 0.0000909 (priced 0.00009092), 0.000902
    result = CliRunner().invoke(main, ["report", log, "--no-cache", "--format", "md"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        "- logged cost $0.000993 over 2 traces (1 also priced by traceviz: ours minus logged"
        " $0.000000); 1 logged but not priced: $0.000902"
    ) in lines
    assert "| deepseek/deepseek-r1 | 1 | $0.000091 | $0.000091 | $0.000000 | 0.0% |" in lines
    assert "| openai/o3-mini | 1 | $0.000902 | not priced | – | – |" in lines
    args = ["report", log, "--no-cache", "--format", "json"]
    document = json.loads(CliRunner().invoke(main, args).stdout)
    overall = document["overall"]
    assert (overall["cost_logged"], overall["cost_logged_diff"]) == (
        "0.000992900000",
        "0.000000020000",
    )
    assert (overall["traces_logged"], overall["traces_logged_unpriced"]) == (2, 1)
    assert overall["cost_logged_unpriced"] == "0.000902000000"
    assert document["logged_cost"][-1]["cost_traceviz"] is None
