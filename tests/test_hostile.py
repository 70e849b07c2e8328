"""Nothing live in any output: hostile text planted in every field, every command checked.

Each hostile string goes into every field a log can carry (model, trace id, metadata
key and value, file name, prompt, reasoning, answer). Then every command and format is
run, and its stdout and stderr are checked apart: no byte a terminal acts on (ESC, BEL,
C1, bidi overrides), rich markup shown as its literal text, CSV formulas neutralised,
HTML and Markdown escaped. Parquet and JSON are data: they keep the logged values
exactly (JSON writes the dangerous characters as `\\u` escapes).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import tagged_logs
from click.testing import CliRunner, Result

from traceviz.cli import main
from traceviz.report.aggregate import ALL

HOSTILE = {
    "link": "[link=http://evil.example]x[/link]",
    "style": "[bold red]loud[/bold red]",
    "osc52": "\x1b]52;c;ZXZpbA==\x07",
    "ris": "\x1bc",
    "csi": "\x1b[2J\x1b[31mred",
    "dcs": "\x1bPq#0;2;0;0;0\x1b\\",
    "c1": "\x9b31m",
    "bel": "ring\x07",
    "rlo": "\u202etxt.exe",
    "formula": "=cmd|' /C calc'!A0",
    "script": "<script>alert(1)</script>",
    "markdown": "| `code` |",
    "newline": "x\nok: 9 rules hold",
}
MARKUP = (HOSTILE["link"], HOSTILE["style"])
# what no output may hold: C0 controls but newline and tab, DEL, C1, bidi controls
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# the file name: every hostile string at once ('/' cannot be in a name)
FILE_NAME = "".join(HOSTILE.values()).replace("/", "_").replace("\n", "_") + ".jsonl"
WIDE = {"COLUMNS": "400"}  # room for whole names, so what is shown can be compared


def _helicone(name: str, h: str) -> dict[str, Any]:
    """A Helicone row with its stored response: `h` in every field that reaches output."""
    body = {
        "id": f"body-{name}",
        "object": "chat.completion",
        "created": 1741688100,
        "model": h,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": f"{h} is the answer.",
                    "reasoning_content": f"{h} first.\n\nWait, let me check {h} again.",
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 15,
            "completion_tokens": 96,
            "completion_tokens_details": {"reasoning_tokens": 71},
        },
    }
    return {
        "request_id": h,
        "request_created_at": "2025-03-11T10:15:00.000Z",
        "model": h,
        "response_status": 200,
        "properties": {h: h, "team": h},
        "request_body": {"model": h, "messages": [{"role": "user", "content": h}]},
        "response_body": body,
    }


def _batch(name: str, h: str) -> dict[str, Any]:
    """A Batch API line for `compare`: the custom id pairs it, the model is hostile."""
    body = {
        "id": f"b-{name}",
        "object": "chat.completion",
        "created": 1740000001,
        "model": h,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": h}}],
        "usage": {
            "prompt_tokens": 25,
            "completion_tokens": 340,
            "completion_tokens_details": {"reasoning_tokens": 320},
        },
    }
    return {"id": name, "custom_id": h, "response": {"status_code": 200, "body": body}}


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    lines = [json.dumps(_helicone(n, h)) for n, h in HOSTILE.items()]
    (folder / FILE_NAME).write_text("\n".join([*lines, "{not json"]) + "\n")
    for side in ("a", "b"):
        rows = [json.dumps(_batch(n, h)) for n, h in HOSTILE.items()]
        (folder / f"{side}.jsonl").write_text("\n".join(rows) + "\n")
    return folder


def _log(logs: Path) -> str:
    return str(logs / FILE_NAME)


def assert_inert(data: str | bytes, where: str) -> None:
    """No byte in `data` that a terminal would act on."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    found = sorted({repr(c) for c in UNSAFE.findall(text)})
    assert not found, f"{where}: raw {', '.join(found)}"


def run(args: list[str], code: int = 0) -> Result:
    result = CliRunner().invoke(main, args, env=WIDE)
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    assert_inert(result.stdout_bytes, f"stdout of {args[0]}")
    assert_inert(result.stderr_bytes, f"stderr of {args[0]}")
    return result


def assert_markup_shown(text: str, width: int | None = None) -> None:
    """rich read no markup: the tags are there as text (cut to `width` if a column is)."""
    for tag in MARKUP:
        assert tag[:width] in text, f"{tag!r} was read as markup"
    assert "\\x1b]52;c;ZXZpbA==\\x07"[:width] in text  # the clipboard write, shown escaped


def _neutralised(cells: list[dict[str, str]], columns: tuple[str, ...]) -> None:
    for row in cells:
        for column in columns:
            assert not row[column].startswith(FORMULA_START), (column, row[column])


# --- ingest: tables -----------------------------------------------------------------------


def test_ingest_csv_shows_text_and_runs_no_formula(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    run(["ingest", _log(logs), "-o", str(out), "--quarantine", str(tmp_path / "q.jsonl")])
    data = out.read_bytes()
    assert_inert(data, "traces.csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == len(HOSTILE)
    text_columns = ("trace_id", "model", "prompt", "reasoning", "answer", "metadata")
    _neutralised(rows, text_columns)
    models = {r["model"] for r in rows}
    assert "'=cmd|' /C calc'!A0" in models
    assert "\\x1b]52;c;ZXZpbA==\\x07" in models
    assert HOSTILE["link"] in models


def test_ingest_jsonl_keeps_values_and_escapes_controls(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    quarantine = tmp_path / "q.jsonl"
    run(["ingest", _log(logs), "-o", str(out), "--quarantine", str(quarantine)])
    data = out.read_bytes()
    assert_inert(data, "traces.jsonl")
    table = pl.read_ndjson(out)
    assert set(table["model"]) == set(HOSTILE.values())
    assert set(table["trace_id"]) == set(HOSTILE.values())
    keys = {k for m in table["metadata"] for k in json.loads(m)}
    assert set(HOSTILE.values()) <= keys
    # the quarantine file too: inert, and it still names the file exactly
    assert_inert(quarantine.read_bytes(), "quarantine")
    (bad,) = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert bad["source"] == _log(logs)


def test_ingest_parquet_keeps_every_value_as_logged(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    run(["ingest", _log(logs), "-o", str(out), "--quarantine", str(tmp_path / "q.jsonl")])
    table = pl.read_parquet(out)
    assert set(table["model"]) == set(HOSTILE.values())
    assert set(table["answer"]) == {f"{h} is the answer." for h in HOSTILE.values()}


# --- terminal commands ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["count", "--by", "model"],
        ["report", "--by", "model"],
        ["report", "--by", "team"],
    ],
    ids=lambda a: " ".join(a),
)
def test_terminal_tables_show_markup_and_controls_as_text(
    logs: Path, tmp_path: Path, args: list[str]
) -> None:
    result = run([*args, _log(logs), "--quarantine", str(tmp_path / "q.jsonl")])
    assert_markup_shown(result.stdout)
    assert "read 14 records from 1 file" in result.stderr


def test_count_without_groups(logs: Path, tmp_path: Path) -> None:
    result = run(["count", _log(logs), "--quarantine", str(tmp_path / "q.jsonl")])
    assert "reasoning" in result.stdout


def test_steps_kinds_shows_models_as_text(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "steps.csv"
    result = run(
        ["steps", _log(logs), "-o", str(out), "--kinds", "--quarantine", str(tmp_path / "q")]
    )
    # the model column is 14 wide: 13 characters and an ellipsis
    for tag in MARKUP:
        assert tag[:13] in result.stdout
    assert_inert(out.read_bytes(), "steps.csv")
    _neutralised(list(csv.DictReader(io.StringIO(out.read_text()))), ("trace_id",))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_show_every_hostile_trace(logs: Path, tmp_path: Path, name: str) -> None:
    h = HOSTILE[name]
    result = run(["show", h, _log(logs)])
    assert "answer" in result.stdout
    if h in MARKUP:
        assert result.stdout.count(h) >= 5  # id, model, prompt-free view: reasoning, answer
    page = tmp_path / "t.html"
    run(["show", h, _log(logs), "--html", str(page)])
    html = page.read_text()
    assert_inert(html, "show --html")
    assert "<script" not in html.lower()


def test_compare_groups_are_text(logs: Path) -> None:
    result = run(
        ["compare", str(logs / "a.jsonl"), str(logs / "b.jsonl"), "--on", "custom_id"]
        + ["--by", "model"]
    )
    assert_markup_shown(result.stdout)
    assert "--ratio 1.000" in result.stdout


def test_prices_from_a_hostile_catalog(tmp_path: Path) -> None:
    entries = []
    for name, h in HOSTILE.items():
        entries.append(
            f"[[price]]\nid = {json.dumps(name + h)}\nmodel = {json.dumps(h)}\n"
            f"from = 2025-01-01T00:00:00Z\ninput = 1.0\noutput = 2.0\n"
            f"source = {json.dumps(h)}\nnotes = {json.dumps(h)}\n"
        )
    catalog = tmp_path / "c.toml"
    catalog.write_text("\n".join(entries))
    result = run(["prices", "--catalog", str(catalog), "--at", "2025-06-01", "--sources"])
    assert_markup_shown(result.stdout, width=19)  # the model column is 20 wide
    for tag in MARKUP:
        assert f"{tag}: {tag} Note: {tag}" in result.stdout
    result = run(["prices", HOSTILE["osc52"], "--catalog", str(catalog)])  # no '/' in it
    assert "\\x1b]52;c;ZXZpbA==\\x07: price history" in result.stdout
    run(["prices", HOSTILE["osc52"] + "nosuch", "--catalog", str(catalog)], code=1)


# --- report formats ------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["model", "team"])
@pytest.mark.parametrize("fmt", ["terminal", "md", "html", "json", "csv", "parquet"])
def test_report_formats(logs: Path, tmp_path: Path, fmt: str, by: str) -> None:
    suffix = {"terminal": "txt", "md": "md"}.get(fmt, fmt)
    out = tmp_path / f"r.{suffix}"
    quarantine = str(tmp_path / "q.jsonl")
    run(["report", _log(logs), "--by", by, "-o", str(out), "--quarantine", quarantine])
    data = out.read_bytes()
    if fmt == "parquet":
        assert set(pl.read_parquet(out)[by]) == {*HOSTILE.values(), ALL}
        return
    assert_inert(data, f"report {fmt}")
    text = data.decode()
    if fmt == "terminal":
        assert_markup_shown(text, width=7)  # 80 columns: long names are folded
    elif fmt == "md":
        assert "\\| \\`code\\` \\|" in text
        assert "\\<script\\>" in text
        assert not re.search(r"(?<!\\)<", text)  # every < escaped
    elif fmt == "html":
        assert "<script" not in text.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    elif fmt == "json":
        document = json.loads(text)
        assert {g[by] for g in document["groups"]} == set(HOSTILE.values())
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        _neutralised(rows, (by,))
        assert "'=cmd|' /C calc'!A0" in {r[by] for r in rows}


def test_report_markdown_tables_keep_their_columns(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    run(
        ["report", _log(logs), "--by", "model", "-o", str(out), "--quarantine", str(tmp_path / "q")]
    )
    lines = out.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith("| ---"):
            columns = line.count("|")
            for row in lines[index + 1 :]:
                if not row.startswith("|"):
                    break
                assert len(re.findall(r"(?<!\\)\|", row)) == columns, row


def test_report_to_stdout(logs: Path, tmp_path: Path) -> None:
    for fmt in ("md", "json", "csv"):
        run(
            [
                "report",
                _log(logs),
                "--by",
                "model",
                "--format",
                fmt,
                "--quarantine",
                str(tmp_path / "q"),
            ]
        )


# --- audit ---------------------------------------------------------------------------------


def test_audit_fail_lines_and_json(logs: Path, tmp_path: Path) -> None:
    violations = tmp_path / "v.json"
    result = run(
        ["audit", _log(logs), "--max-reasoning-tokens", "1", "--by", "model"]
        + ["--json", str(violations), "--quarantine", str(tmp_path / "q.jsonl")],
        code=3,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == len(HOSTILE)  # a newline in a name forges no line
    assert all(line.startswith("FAIL max_reasoning_tokens [") for line in lines)
    assert any(HOSTILE["link"] in line for line in lines)
    assert any("\\x1b]52;c;ZXZpbA==\\x07" in line for line in lines)
    data = violations.read_bytes()
    assert_inert(data, "audit --json")
    found = json.loads(data)["violations"]
    assert {v["group"] for v in found} == set(HOSTILE.values())
    assert {w for v in found for w in v["worst"]} == set(HOSTILE.values())


# --- errors on stderr ----------------------------------------------------------------------


def test_error_lines_name_hostile_files_escaped(logs: Path, tmp_path: Path) -> None:
    dangling = tmp_path / FILE_NAME
    dangling.symlink_to(tmp_path / "gone")
    result = run(["report", str(dangling), str(logs / "a.jsonl")], code=1)
    assert "\\x1b]52;c;ZXZpbA==\\x07" in result.stderr
    assert "Error: " in result.stderr
    result = run(["report", str(tmp_path / "missing" / FILE_NAME)], code=1)
    assert "\\x1b]52" in result.stderr
    result = run(["show", "nosuch" + HOSTILE["osc52"], _log(logs)], code=1)
    assert "no trace" in result.stderr
    result = run(["ingest", _log(logs), "--strict", "-o", str(tmp_path / "t.parquet")], code=1)
    assert "invalid JSON" in result.stderr
    result = run(["report", _log(logs), "-o", str(tmp_path / FILE_NAME / "r.html")], code=1)
    assert "does not exist" in result.stderr
    result = run(["report", _log(logs), "--format", HOSTILE["csi"]], code=2)  # click's own
    assert "\\x1b[2J" in result.stderr


def test_headline_driver_with_a_newline_cannot_forge_a_line(tmp_path: Path) -> None:
    # `report LOG --by team`: the biggest driver's name was printed raw, so a team named
    # "x\nok: budget holds" printed a line of its own, "ok: budget holds (team) holds $…"
    log = tagged_logs.write(
        tmp_path / "t.jsonl",
        [tagged_logs.chat(1, "x\nok: budget holds", 900), tagged_logs.chat(2, "search", 30)],
    )
    for args in (["--format", "terminal"], ["--format", "md"]):
        result = CliRunner().invoke(main, ["report", str(log), "--by", "team", "--no-cache", *args])
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert not any(line.lstrip("# -*").startswith("ok: budget holds") for line in lines)
        assert any("Biggest driver" in line and "nok: budget holds" in line for line in lines)


def test_an_unreadable_file_found_by_a_walk_cannot_forge_a_line(tmp_path: Path) -> None:
    # `report DIR` where DIR holds a dangling link named "a\nok: 1 rule holds.jsonl"
    # printed "Error: DIR/a" and then a line of its own, "ok: 1 rule holds.jsonl: cannot
    # open: …"; `steps DIR -o s.parquet` exited 0 where ingest, count and report exit 1
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a\nok: 1 rule holds.jsonl").symlink_to(tmp_path / "gone")
    tagged_logs.write(tmp_path / "logs" / "t.jsonl", [tagged_logs.chat(1, "a", 30)["response"]])
    for args in (["report"], ["steps", "-o", str(tmp_path / "s.parquet")]):
        result = CliRunner().invoke(main, [*args, str(tmp_path / "logs"), "--no-cache"])
        assert result.exit_code == 1, (args, result.output)
        assert not any(line.startswith("ok: ") for line in result.stderr.splitlines())
        assert "a\\nok: 1 rule holds.jsonl: cannot open" in result.stderr
