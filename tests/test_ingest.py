"""Containers: compression, JSON documents and arrays, Parquet, stdin, odd bytes, mixed files."""

from __future__ import annotations

import gzip
import importlib
from pathlib import Path

import orjson
import polars as pl
import pytest
import zstandard
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

import traceviz
from traceviz.cli import main
from traceviz.ingest import registry
from traceviz.ingest.interface import Container

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SRC = Path(__file__).resolve().parent.parent / "src"
DATA = Path(__file__).resolve().parent / "data" / "shapes"
OLLAMA = (DATA / "ollama-generate.jsonl").read_bytes()
CHAT = (SAMPLES / "openai-chat-o1.jsonl").read_bytes()


def ingest(path: Path, **options: object) -> tuple[pl.DataFrame, traceviz.Ingest]:
    run = traceviz.Ingest()
    traces = traceviz.read(path, traceviz.ReadOptions(**options), ingest=run)  # type: ignore[arg-type]
    return traces, run


def quarantined(run: traceviz.Ingest) -> list[tuple[int, str]]:
    return [(q.line, q.reason) for q in run.quarantined]


def test_gzip_and_zstd_are_read_by_magic_bytes(tmp_path: Path) -> None:
    gz = tmp_path / "log.gz"
    gz.write_bytes(gzip.compress(CHAT))
    zst = tmp_path / "log.data"
    zst.write_bytes(zstandard.ZstdCompressor().compress(CHAT))
    for path in (gz, zst):
        traces, run = ingest(path)
        assert traces["trace_id"].to_list() == ["chatcmpl-AqZ1x7Qf3s", "chatcmpl-AqZ2b1LmN0"]
        assert traces["line"].to_list() == [1, 2]
        assert run.stats.quarantined == 0


def test_json_array_elements_keep_their_line_numbers(tmp_path: Path) -> None:
    doc = tmp_path / "a.json"
    doc.write_text(
        "[\n"
        '  {"model": "qwen3:8b", "created_at": "2025-06-12T09:14:03Z", "response": "hi",'
        ' "done": true},\n'
        '  {"nope": 1},\n'
        '  {"model": "qwen3:8b", "created_at": "2025-06-12T09:15:03Z", "response": "yo",'
        ' "done": true}\n'
        "]\n"
    )
    traces, run = ingest(doc)
    assert traces.select("line", "answer").rows() == [(2, "hi"), (4, "yo")]
    assert quarantined(run) == [(3, "unknown shape: an object with keys nope")]


def test_pretty_printed_document_is_one_record(tmp_path: Path) -> None:
    doc = tmp_path / "r.json"
    doc.write_bytes(orjson.dumps(orjson.loads(OLLAMA), option=orjson.OPT_INDENT_2))
    traces, run = ingest(doc)
    assert traces.select("line", "model", "answer").rows() == [
        (1, "deepseek-r1:14b", "17 × 23 = 391.")
    ]
    assert run.stats.read == 1


def test_parquet_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pl.DataFrame(
        {"problem": ["1+1?"], "answer": ["2"], "generations": [["<think>1+1=2</think>2"]]}
    ).write_parquet(path)
    traces, _ = ingest(path)
    assert traces.select("format", "prompt", "reasoning", "answer", "reference_answer").rows() == [
        ("openr1-math", "1+1?", "1+1=2", "2", "2")
    ]


def test_stdin_through_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    result = CliRunner().invoke(main, ["ingest", "-", "-o", str(out)], input=OLLAMA + CHAT)
    assert result.exit_code == 0, result.output
    table = pl.read_parquet(out)
    assert table.select("source", "line", "format").rows() == [
        ("<stdin>", 1, "ollama"),
        ("<stdin>", 2, "openai-chat"),
        ("<stdin>", 3, "openai-chat"),
    ]


def test_bom_and_crlf(tmp_path: Path) -> None:
    log = tmp_path / "win.jsonl"
    log.write_bytes(b"\xef\xbb\xbf" + CHAT.replace(b"\n", b"\r\n"))
    traces, run = ingest(log)
    assert traces["answer"].to_list() == [
        "The sum of the first 100 positive integers is 5050.",
        "",
    ]
    assert run.stats.quarantined == 0


def test_oversize_and_undecodable_records_are_quarantined_with_their_line(tmp_path: Path) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_bytes(OLLAMA + b'{"a": "\xff\xfe"}\n' + b'{"x": "' + b"a" * 2000 + b'"}\n' + OLLAMA)
    traces, run = ingest(log, max_record_bytes=1000)
    assert traces["line"].to_list() == [1, 4]
    assert quarantined(run) == [
        (2, "undecodable bytes: not UTF-8 at byte 7"),
        (3, "record too large: 2,010 bytes (limit 1,000)"),
    ]


def test_a_file_mixing_shapes(tmp_path: Path) -> None:
    lines = [
        path.read_bytes().splitlines()[0]
        for path in (
            SAMPLES / "openai-responses.jsonl",
            DATA / "anthropic-messages.jsonl",
            SAMPLES / "ollama-chat.jsonl",
            DATA / "openai-batch-output.jsonl",
            DATA / "openthoughts-metadata.jsonl",
            DATA / "logger-wrappers.jsonl",
            SAMPLES / "groq.jsonl",
        )
    ]
    log = tmp_path / "mixed.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    traces, run = ingest(log)
    assert traces["format"].to_list() == [
        "openai-responses",
        "anthropic",
        "ollama",
        "openai-batch",
        "openthoughts",
        "deepseek",
        "groq",
    ]
    assert run.stats.quarantined == 0


RECORDS = st.sampled_from(
    [
        OLLAMA.strip(),
        CHAT.splitlines()[0],
        b'{"custom_id": "x", "response": null, "error": {"code": "e"}}',
        b'{"unknown": true}',
        b"{not json",
        b'{"choices": "no"}',
    ]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(RECORDS, max_size=12))
@example([])
def test_every_record_is_counted_once(records: list[bytes]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "log.jsonl"
        log.write_bytes(b"".join(r + b"\n" for r in records))
        _, run = ingest(log)
    stats = run.stats
    assert stats.read == len(records)
    assert stats.read == stats.parsed + stats.quarantined + stats.skipped


def test_failed_batch_lines_are_skipped_with_their_reason(tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    log = DATA / "openai-batch-output.jsonl"
    result = CliRunner().invoke(main, ["ingest", str(log), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "read 4 records from 1 file: 2 traces (openai-batch 2), 0 quarantined, "
        "2 skipped (batch request failed: invalid_prompt 1, "
        "batch request failed: rate_limit_exceeded 1)"
    )


SQLITE = b"SQLite format 3\x00" + b"\x00" * 84


@pytest.mark.parametrize(
    ("name", "head", "container"),
    [
        ("log.jsonl", b'{"id": 1}\n', "jsonl"),
        ("log.jsonl.gz", b"[1, 2]", "jsonl"),  # a name that claims a structure wins...
        ("history.jsonl", SQLITE, "sqlite"),  # ...except over a SQLite header
        ("logs.db", SQLITE, "sqlite"),
        ("out.json", b'{"id": 1}\n', "json"),
        ("x.csv", b"PAR1", "csv"),
        ("x.txt", b"PAR1....", "parquet"),  # a text name claims no structure
        ("x.log", b"\xef\xbb\xbf  data: {}\n", "sse"),
        ("stream.sse", b'data: {"id": 1}\n', "sse"),
        ("stream.sse", b"id: 7\ndata: {}\n", "text"),  # `.sse` names text
        ("notes.md", b'{"id": 1}\n', "text"),  # ...which a `{` does not outweigh
        ("-", b'  {"id": 1}\n{"id": 2}\n', "jsonl"),
        ("-", b'{\n  "id": 1\n}\n', "json"),  # pretty-printed: a document
        ("-", b"[\n", "json"),
        ("-", b"<think>hm</think> 42", "text"),
        ("-", b"", "text"),
        ("-", b": keep-alive\n\n", "sse"),
        ("log.weird", b"PAR1", "parquet"),
    ],
)
def test_the_container_is_chosen_by_name_then_first_bytes(
    name: str, head: bytes, container: str
) -> None:
    assert registry.sniff(name, head).name == container


def test_every_container_module_is_registered_once() -> None:
    """A container is a module and a line in the registry: one without the other fails."""
    subclasses = {
        value
        for module in (SRC / "traceviz" / "ingest").glob("*.py")
        for value in vars(importlib.import_module(f"traceviz.ingest.{module.stem}")).values()
        if isinstance(value, type) and issubclass(value, Container) and value is not Container
    }
    registered = [type(container) for container in registry.CONTAINERS]
    assert sorted(c.__name__ for c in registered) == sorted(c.__name__ for c in subclasses)
    names = [container.name for container in registry.CONTAINERS]
    assert len(set(names)) == len(names)
    suffixes = [s for container in registry.CONTAINERS for s in container.suffixes]
    assert len(set(suffixes)) == len(suffixes)
