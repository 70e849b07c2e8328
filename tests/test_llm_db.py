"""simonw/llm's logs.db: both table generations, read-only, bad rows quarantined.

The databases are built by the real `llm` package (its migrations, its model classes,
its log writer): see `tests/llm_dbs.py`.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import llm_dbs
import pytest
import sqlite_utils
from click.testing import CliRunner
from condense_json import condense_json

import traceviz
from traceviz.cli import main
from traceviz.errors import InputError
from traceviz.ingest import llm_db, sqlite
from traceviz.ingest.condensed import expand
from traceviz.normalize import llm_logsdb
from traceviz.normalize.fields import ShapeError

R1_REASONING = (
    "The first 10 odd numbers are 1, 3, 5, ..., 19. The sum of the first n odd numbers is n"
    " squared. Wait, let me verify: 1+3=4, 4+5=9, 9+7=16, so the pattern holds. So the sum is"
    " 10^2 = 100."
)
R1_TURN_REASONING = (
    "17 × 23 = 17 × 20 + 17 × 3 = 340 + 51 = 391. Let me double-check:"
    " 23 × 17 = 23 × 10 + 23 × 7 = 230 + 161 = 391."
)
STREAMED = "streamed (llm does not keep reasoning of streamed Chat responses)"
FIELDS = (
    "trace_id", "line", "format", "provider", "model", "created", "reasoning", "answer",
    "usage_input", "usage_cached_input", "usage_cache_write", "usage_output", "usage_reasoning",
    "reasoning_visible", "finish_reason", "response_id", "reasoning_missing_reason",
)  # fmt: skip


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


LEGACY_ROWS = [
    ("01jnb8q5a0r1legacy0000000a", 1, "llm-logsdb (legacy)", "deepseek", "deepseek-reasoner",
     at(2025, 3, 1, 9, 15), R1_REASONING, "The sum is **100**.", 27, 0, None, 72, 60, True, "stop",
     "3f1b7c7e-8f4a-4f1e-9b53-4f0d2a1c9e01", None),
    ("01jnddx4m0o1chatlegacy0000b", 2, "llm-logsdb (legacy)", "openai", "o1", at(2025, 3, 2, 14, 0),
     None, "Use a hash map from each value to its index. For each number x, check whether target - x"
     " is already in the map; one pass gives O(n) time.", 1843, 1792, None, 2275, 2176, False, "stop",
     "chatcmpl-B6xYq2mZkP0cQ8nR4tLwV9aJ3fHs", "hidden by provider"),
    ("01jnfqw7h0r1streamlegacy0c", 3, "llm-logsdb (legacy)", "deepseek", "deepseek-reasoner",
     at(2025, 3, 3, 8, 30), None, "No: 91 = 7 × 13.", 22, 0, None, 48, 36, False, "stop",
     "8d2e4f60-1c3b-4a5d-9e7f-0a1b2c3d4e5f", STREAMED),
]  # fmt: skip
TURN_ROWS = [
    ("01k2cm2b00r1turn00000000000d", 1, "llm-logsdb (0.32)", "deepseek", "deepseek-reasoner",
     at(2025, 8, 10, 12, 0), R1_TURN_REASONING, "17 × 23 = 391.", 30, 16, None, 70, 55, True, "stop",
     "6a0c9d2e-3b4f-4c5d-8e6f-7a8b9c0d1e2f", None),
    ("01k2fs7c40r1streamturn0000e", 2, "llm-logsdb (0.32)", "deepseek", "deepseek-reasoner",
     at(2025, 8, 11, 16, 45), None, "23", 21, 0, None, 30, 24, False, "stop",
     "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e", STREAMED),
    # the Responses path keeps zeros (cache_write_tokens 0); `status` sits in plugin
    # boilerplate (`m.response_env_0`) that only the plugin can expand: no finish reason
    ("01k2hk1x80o1responsesturn0f", 3, "llm-logsdb (0.32)", "openai", "o1", at(2025, 8, 12, 9, 0),
     None, "Suppose √2 = p/q in lowest terms; then p² = 2q², so p is even, say p = 2k, giving q² ="
     " 2k² and q even too. Both being even contradicts lowest terms, so √2 is irrational.",
     1843, 1792, 0, 1950, 1856, False, None, "resp_689b0c1e5f3481a0b9d2c4e6f7a8b9c0",
     "hidden by provider"),
]  # fmt: skip


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return llm_dbs.legacy_db(tmp_path_factory.mktemp("legacy") / "logs.db")


@pytest.fixture(scope="module")
def current(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return llm_dbs.current_db(tmp_path_factory.mktemp("current") / "logs.db")


def read(path: Path) -> tuple[list[tuple[Any, ...]], traceviz.Ingest]:
    run = traceviz.Ingest()
    traces = traceviz.read(path, ingest=run)
    return traces.select(FIELDS).rows(), run


def test_legacy_tables(legacy: Path) -> None:
    rows, run = read(legacy)
    assert rows == LEGACY_ROWS
    assert run.stats.by_format == {"llm-logsdb (legacy)": 3}
    traces = traceviz.read(legacy)
    assert traces["prompt"][0] == (
        "You are a careful mathematician.\n\nWhat is the sum of the first 10 positive odd numbers?"
    )
    assert json.loads(traces["metadata"][0]) == {
        "llm_table": "responses",
        "llm_migration": "m021_tool_results_exception",
        "conversation_id": "conv-01jnb8q5a0r1legacy0000000a",
        "conversation_name": "What is the sum of the first 1",
        "duration_ms": 1234,
    }


def test_upgraded_db_reads_both_generations_once(current: Path) -> None:
    rows, run = read(current)
    assert rows == LEGACY_ROWS + TURN_ROWS
    stats = run.stats
    assert (stats.read, stats.parsed, stats.skipped, stats.quarantined) == (7, 6, 1, 0)
    assert stats.skip_reasons == {"llm-logsdb: legacy response also logged as a turn": 1}
    assert stats.by_format == {"llm-logsdb (legacy)": 3, "llm-logsdb (0.32)": 3}
    turn = traceviz.read(current).row(3, named=True)
    assert turn["prompt"] == "You are a careful mathematician.\n\nWhat is 17 × 23?"
    assert json.loads(turn["metadata"])["llm_table"] == "turns"


def test_alpha_reasoning_column(tmp_path: Path) -> None:
    """llm 0.32a0-a3 stored visible reasoning in `responses.reasoning`."""
    db = sqlite_utils.Database(tmp_path / "logs.db")
    llm_dbs.migrate(db, until="m022_response_reasoning")
    llm_dbs.log_legacy(db, "r1-stream-legacy")
    llm_dbs.log_legacy(db, "o1-chat-legacy")
    db.execute(
        "update responses set reasoning = 'Check 7: 91 = 7 × 13.' where model = 'deepseek-reasoner'"
    )
    db.execute("update responses set reasoning = '**Hash map**' where model = 'o1'")
    db.conn.commit()
    traces = traceviz.read(tmp_path / "logs.db")
    assert traces.select("format", "reasoning", "reasoning_summary", "reasoning_missing_reason").rows() == [
        ("llm-logsdb (0.32a)", "Check 7: 91 = 7 × 13.", None, None),
        ("llm-logsdb (0.32a)", None, "**Hash map**", "hidden by provider"),
    ]  # fmt: skip


@pytest.mark.parametrize("until", ["m012_attachments_tables", "m013_usage"])
def test_old_schema_and_think_tags_in_the_answer(tmp_path: Path, until: str) -> None:
    """llm-ollama stores an R1 distill's `<think>` in the answer, and no token_details;
    llm before 0.19 had no token columns at all."""
    db = sqlite_utils.Database(tmp_path / "logs.db")
    llm_dbs.migrate(db, until=until)
    row: dict[str, object] = {"id": "01hq0000000000000000000000", "model": "deepseek-r1:7b", "prompt": "2+2?",
           "response": "<think>2 plus 2 is 4.</think>The answer is 4.", "options_json": "{}",
           "datetime_utc": "2024-06-01T08:00:00.123456+00:00"}  # fmt: skip
    if until == "m013_usage":
        row |= {"input_tokens": 9, "output_tokens": 17}
    db.table("responses").insert(row)
    traces = traceviz.read(tmp_path / "logs.db")
    usage = (9, None, 17, None) if until == "m013_usage" else (None, None, None, None)
    assert traces.select("format", "model", "created", "reasoning", "answer", "usage_input",
                         "usage_cached_input", "usage_output", "usage_reasoning",
                         "reasoning_missing_reason").rows() == [
        ("llm-logsdb (legacy)", "deepseek-r1:7b", datetime(2024, 6, 1, 8, 0, 0, 123456, tzinfo=UTC),
         "2 plus 2 is 4.", "The answer is 4.", *usage, None),
    ]  # fmt: skip


def test_ollama_thinking_from_the_raw_response(tmp_path: Path) -> None:
    """llm-ollama, not streamed: `message.thinking` survives only in response_json."""
    db = sqlite_utils.Database(tmp_path / "logs.db")
    llm_dbs.migrate(db, until=llm_dbs.LAST_LEGACY_MIGRATION)
    rid = "01jq0000000000000000000000"
    answer = "The answer is 4."
    raw: dict[str, Any] = {"model": "deepseek-r1:8b", "created_at": "2025-04-01T10:00:00Z", "done": True,
           "message": {"role": "assistant", "content": answer, "thinking": "2 plus 2 makes 4."},
           "done_reason": "length", "prompt_eval_count": 12, "eval_count": 40}  # fmt: skip
    db.table("responses").insert(
        {"id": rid, "model": "deepseek-r1:8b", "prompt": "2+2?", "response": answer,
         "response_json": condense_json(raw, {f"r:{rid}": answer}), "options_json": "{}",
         "datetime_utc": "2025-04-01T10:00:00+00:00", "input_tokens": 12, "output_tokens": 40}
    )  # fmt: skip
    assert json.loads(db.table("responses").get(rid)["response_json"])["message"]["content"] == {
        "$": f"r:{rid}"
    }
    trace = traceviz.read(tmp_path / "logs.db").row(0, named=True)
    assert (trace["reasoning"], trace["answer"], trace["finish_reason"], trace["truncated"]) == (
        "2 plus 2 makes 4.",
        answer,
        "length",
        True,
    )
    assert (
        trace["provider"],
        trace["usage_input"],
        trace["usage_output"],
        trace["usage_reasoning"],
    ) == ("ollama", 12, 40, None)


def test_reasoning_summary_and_fragments(tmp_path: Path) -> None:
    """o3's summary is kept apart from reasoning; a prompt that borrows a fragment reads whole."""
    db = sqlite_utils.Database(tmp_path / "logs.db")
    llm_dbs.migrate(db)
    context = "Mersenne numbers have the form 2^p - 1 for a prime p. " * 3
    llm_dbs.log_turn(db, "o3-summary-turn", fragments=(context,))
    assert db.execute("select count(*) from parts where payload like '%text_ref%'").fetchone() == (
        1,
    )
    trace = traceviz.read(tmp_path / "logs.db").row(0, named=True)
    assert trace["prompt"] == f"You are a careful mathematician.\n\n{context}\nIs 2^31 - 1 prime?"
    assert (trace["model"], trace["reasoning"], trace["reasoning_missing_reason"]) == (
        "o3",
        None,
        "hidden by provider",
    )
    assert trace["reasoning_summary"] == (
        "**Recognising a Mersenne prime**\n\n2^31 - 1 = 2147483647 is a known Mersenne prime"
        " (Euler, 1772)."
    )
    assert (trace["usage_output"], trace["usage_reasoning"], trace["usage_cached_input"]) == (
        420,
        384,
        0,
    )


def test_era_from_migration_names() -> None:
    assert llm_db.era(["m001_initial", "m013_usage", "m021_tool_results_exception"]) == "legacy"
    assert llm_db.era(["m021_tool_results_exception", "m022_response_reasoning"]) == "0.32a"
    assert llm_db.era(["m022_response_reasoning", "m023_message_store", "m028_future"]) == "0.32"


def test_file_is_never_changed(current: Path, tmp_path: Path) -> None:
    copy = tmp_path / "logs.db"
    shutil.copy2(current, copy)
    before = (copy.read_bytes(), copy.stat().st_mtime_ns)
    result = CliRunner().invoke(main, ["report", str(copy), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert (copy.read_bytes(), copy.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs.db"]  # no journal left behind


def test_reads_while_llm_holds_a_write_transaction(current: Path, tmp_path: Path) -> None:
    copy = tmp_path / "logs.db"
    shutil.copy2(current, copy)
    writer = sqlite3.connect(copy, isolation_level=None)
    writer.execute("begin immediate")
    writer.execute("insert into turns (id, model, datetime_utc) values ('01k3zzzz', 'o1', '')")
    try:
        rows, run = read(copy)
    finally:
        writer.execute("rollback")
        writer.close()
    assert [row[0] for row in rows] == [row[0] for row in LEGACY_ROWS + TURN_ROWS]
    assert run.stats.file_errors == []


def test_bad_rows_are_quarantined_with_table_and_row(current: Path, tmp_path: Path) -> None:
    copy = tmp_path / "logs.db"
    shutil.copy2(current, copy)
    db = sqlite3.connect(copy)
    db.execute("update responses set token_details = '{broken' where rowid = 1")
    db.execute("update turns set output_tokens = -5 where rowid = 2")
    db.execute("update turns set response_json = '<html>' where rowid = 3")
    db.execute("update responses set input_tokens = 10 where rowid = 2")  # 1,792 cached of 10
    db.commit()
    db.close()
    run = traceviz.Ingest()
    traces = traceviz.read(copy, ingest=run)
    assert traces["trace_id"].to_list() == [
        "01jnfqw7h0r1streamlegacy0c",
        "01k2cm2b00r1turn00000000000d",
    ]
    assert [(q.source, q.line, q.reason) for q in run.quarantined] == [
        (str(copy), 1, "llm-logsdb: token_details is not JSON (responses row 1)"),
        (str(copy), 2, "llm-logsdb: impossible counts: 1,792 cached of 10 input tokens (responses row 2)"),
        (str(copy), 2, "llm-logsdb: output_tokens is out of range: -5 (turns row 2)"),
        (str(copy), 3, "llm-logsdb: response_json is not JSON (unexpected character, expected a JSON value) (turns row 3)"),
    ]  # fmt: skip
    stats = run.stats
    assert stats.read == stats.parsed + stats.quarantined + stats.skipped == 7


def test_values_of_the_wrong_type_are_quarantined(current: Path, tmp_path: Path) -> None:
    copy = tmp_path / "logs.db"
    shutil.copy2(current, copy)
    db = sqlite3.connect(copy)
    db.execute("update responses set system = x'00ff' where rowid = 1")
    db.execute("update responses set response_json = x'7b7d' where rowid = 2")
    db.execute("update parts set text = x'c3' where type = 'text' and text = '23'")
    db.commit()
    db.close()
    run = traceviz.Ingest()
    traces = traceviz.read(copy, ingest=run)
    assert traces.height == 3
    assert [(q.line, q.reason) for q in run.quarantined] == [
        (1, "llm-logsdb: unreadable row (TypeError: sequence item 0: expected str instance, bytes found) (responses row 1)"),
        (2, "llm-logsdb: response_json is not text (bytes) (responses row 2)"),
        (2, "llm-logsdb: parts.text is not text (bytes) (turns row 2)"),
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["logs", "history.sqlite", "export.json"])
def test_sqlite_known_by_its_header_whatever_its_name(
    current: Path, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    shutil.copy2(current, path)
    rows, _ = read(path)
    assert len(rows) == 6


def test_directory_walk_passes_over_databases(current: Path, tmp_path: Path) -> None:
    shutil.copy2(current, tmp_path / "logs.db")
    (tmp_path / "a.jsonl").write_text(llm_dbs.EQUIVALENT.read_text().splitlines()[0] + "\n")
    assert traceviz.read(tmp_path)["format"].to_list() == ["deepseek"]


def test_other_sqlite_files_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("create table t (x)").connection.close()
    with pytest.raises(InputError) as caught:
        list(sqlite.read_llm_db(str(path)))
    assert str(caught.value) == (
        f"{path}: a SQLite database, but not one written by llm (no _llm_migrations table)"
    )
    result = CliRunner().invoke(main, ["ingest", str(path), "-o", str(tmp_path / "t.parquet")])
    assert result.exit_code == 1
    assert "not one written by llm" in result.stderr


def test_sqlite_on_stdin_is_refused(current: Path, tmp_path: Path) -> None:
    args = ["ingest", "-", "-o", str(tmp_path / "t.parquet")]
    result = CliRunner().invoke(main, args, input=current.read_bytes())
    assert result.exit_code == 1
    assert "Error: <stdin>: a SQLite database cannot be read from stdin" in result.stderr


def test_llm_flag_finds_logs_db(
    current: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "llm-home"
    home.mkdir()
    shutil.copy2(current, home / "logs.db")
    monkeypatch.setenv("LLM_USER_PATH", str(home))
    out = tmp_path / "t.parquet"
    result = CliRunner().invoke(main, ["ingest", "--llm", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "read 7 records from 1 file: 6 traces (llm-logsdb (legacy) 3, llm-logsdb (0.32) 3),"
        " 0 quarantined, 1 skipped (llm-logsdb: legacy response also logged as a turn 1)"
    )
    result = CliRunner().invoke(main, ["count", "--llm", "--by", "format"])
    assert result.exit_code == 0, result.output
    assert "llm-logsdb (0.32)" in result.stdout


def test_llm_flag_without_a_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["report", "--llm"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'logs.db'}: no llm logs.db there\n\n"
        "Run `llm logs path` to see where llm keeps it, then pass that file,"
        " or set LLM_USER_PATH to its folder.\n"
    )
    result = CliRunner().invoke(main, ["ingest"])
    assert result.exit_code == 2
    assert "Give PATHS to read, or --llm to read llm's logs.db." in result.stderr


def test_report_matches_the_raw_api_responses(current: Path) -> None:
    """Done when: the same tokens and costs as the provider responses behind the rows."""

    def overall(path: Path) -> dict[str, Any]:
        result = CliRunner().invoke(main, ["report", str(path), "--format", "json"])
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.stdout)["overall"])

    from_db, from_raw = overall(current), overall(llm_dbs.EQUIVALENT)
    billing = [k for k in from_db if k.startswith(("tokens_", "cost_", "traces"))]
    billing += ["reasoning_share_of_output", "cache_hit_ratio"]
    same = {k: from_db[k] for k in billing if k != "traces_hidden_reasoning"}
    assert same == {k: from_raw[k] for k in same}
    assert (from_db["traces"], from_db["cost_total"]) == (6, "0.282382325000")
    assert from_db["tokens_reasoning_sum"] == 60 + 2176 + 36 + 55 + 24 + 1856
    # what llm did not keep: the reasoning text of the two streamed R1 calls
    assert from_db["traces_hidden_reasoning"] == from_raw["traces_hidden_reasoning"] + 2


def test_expand_condensed_json() -> None:
    values = {"r:1": "the answer", "f7": "a fragment", "0.0.pm.openai": {"id": "rs_1"}}
    condensed = {
        "content": {"$": "r:1"},
        "note": {"$r": ["see ", {"$": "f7"}, "!"]},
        "item": {"$": {"m": "0.0.pm.openai", "u": {"type": "reasoning"}}},
        "env": {"$": {"m": "m.unknown", "u": {"id": "resp_1"}, "d": ["x"]}},
        "gone": {"$": "m.unknown"},
        "escaped": {"$raw": {"$": "literal"}},
    }
    assert expand(condensed, values.get) == {
        "content": "the answer",
        "note": "see a fragment!",
        "item": {"id": "rs_1", "type": "reasoning"},
        "env": {"id": "resp_1"},
        "gone": None,
        "escaped": {"$": "literal"},
    }


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        # Chat Completions path: llm dropped the zeros, so what is missing is 0
        ('{"prompt_cache_miss_tokens": 21}', (30, 0, None, 50, 0, None)),
        ('{"prompt_cache_hit_tokens": 16, "prompt_cache_miss_tokens": 14}', (30, 16, None, 50, 0, None)),
        ('{"completion_tokens_details": {"reasoning_tokens": 40}, "cost": 0.00042, "is_byok": true}',
         (30, 0, None, 50, 40, 0.00042)),
        # Responses path: copied verbatim, zeros kept, nothing assumed
        ('{"input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}',
         (30, 0, None, 50, 0, None)),
        ('{"output_tokens_details": {"reasoning_tokens": 12}}', (30, None, None, 50, 12, None)),
        # no details (llm-ollama, or nothing reported): unknown, not 0
        (None, (30, None, None, 50, None, None)),
    ],
)  # fmt: skip
def test_token_details(details: str | None, expected: tuple[Any, ...]) -> None:
    usage = llm_logsdb.read_usage(30, 50, details)
    assert tuple(usage.values()) == expected


@pytest.mark.parametrize(
    ("details", "reason"),
    [
        ("[1, 2]", "token_details is not a JSON object (list)"),
        ('{"completion_tokens_details": {"reasoning_tokens": 1.5}}', "reasoning_tokens is not a whole number: 1.5"),
        ('{"prompt_cache_hit_tokens": 31}', "impossible counts: 31 cached of 30 input tokens"),
    ],
)  # fmt: skip
def test_impossible_token_details(details: str, reason: str) -> None:
    with pytest.raises(ShapeError, match=re.escape(reason)):
        llm_logsdb.read_usage(30, 50, details)


GARBAGE = (
    "x'00ff'",
    "-1",
    "1e300",
    "'garbage'",
    """'{"$": "r:nope"}'""",
    "'[]'",
    """'{"$r": [1]}'""",
)
COLUMNS = {
    "responses": ("model", "resolved_model", "prompt", "system", "response", "response_json",
                  "datetime_utc", "input_tokens", "output_tokens", "token_details", "duration_ms"),
    "turns": ("model", "input_tokens", "output_tokens", "token_details", "datetime_utc",
              "response_json", "parent_message_hash", "tip_message_hash", "thread_id"),
    "parts": ("type", "text", "payload"),
    "messages": ("parent_hash", "role"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("table", "column"), [(t, c) for t, columns in COLUMNS.items() for c in columns]
)
def test_garbage_in_any_column_never_stops_the_read(
    current: Path, tmp_path: Path, table: str, column: str
) -> None:
    for n, value in enumerate(GARBAGE):
        copy = tmp_path / f"{n}.db"
        shutil.copy2(current, copy)
        db = sqlite3.connect(copy)
        db.execute(f"update {table} set {column} = {value}")
        db.commit()
        db.close()
        run = traceviz.Ingest()
        traces = traceviz.read(copy, ingest=run)
        stats = run.stats
        assert stats.file_errors == []
        assert stats.read == stats.parsed + stats.quarantined + stats.skipped == 7, value
        assert traces.height == stats.traces
