"""One reader of times: logged timestamps, Unix units by magnitude, and the --at flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st

from traceviz import timestamps
from traceviz.cli import main
from traceviz.load import Ingest, ReadOptions, read
from traceviz.normalize.fields import ShapeError, timestamp
from traceviz.price import catalog as catalog_module

MARCH = datetime(2025, 3, 1, tzinfo=UTC)
MARCH_SECONDS = 1_740_787_200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (MARCH_SECONDS, MARCH),
        (MARCH_SECONDS * 1000, MARCH),
        (MARCH_SECONDS * 10**6, MARCH),
        (MARCH_SECONDS * 10**9, MARCH),
        (float(MARCH_SECONDS) + 0.5, MARCH.replace(microsecond=500_000)),
        (str(MARCH_SECONDS * 1000), MARCH),
        ("2025-03-01T08:30:00+08:00", datetime(2025, 3, 1, 0, 30, tzinfo=UTC)),
        ("2025-03-01T00:30:00-05:00", datetime(2025, 3, 1, 5, 30, tzinfo=UTC)),
        ("2025-03-01T00:00:00Z", MARCH),
        ("2025-03-01 00:00:00", MARCH),  # no offset: UTC
        ("2025-03-01 00:00:00 UTC", MARCH),
        (datetime(2025, 3, 1, 8, tzinfo=timezone(timedelta(hours=8))), MARCH),
        (1, datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)),
        (0, None),  # the placeholder of an unset time, not 1970 (see the test below)
        ("0", None),
    ],
)  # fmt: skip
def test_logged_times(value: object, expected: datetime | None) -> None:
    assert timestamp(value, "created") == expected


def test_explicit_offsets_are_honoured_everywhere() -> None:
    # the catalog reader used to drop a string's offset: 08:00+08:00 became 08:00 UTC
    entry = catalog_module._entry(
        {"id": "x", "model": "x", "from": "2025-03-01T08:00:00+08:00", "input": 1, "output": 1}
    )
    assert entry.start == MARCH
    assert timestamps.parse_at("2025-03-01T08:00+08:00") == MARCH


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        # seconds past year 9999 used to be read as milliseconds (1978)
        (253_402_300_800, "as seconds it is past year 9999, as milliseconds before 2001-09-09"),
        (999_999_999_999, "as seconds it is past year 9999, as milliseconds before 2001-09-09"),
        (253_402_300_800_000, "as milliseconds it is past year 9999, as microseconds before"),
        (-1, "before 1970"),
        (10**21, "past year 9999 even as nanoseconds"),
    ],
)
def test_numbers_that_fit_no_unit_are_refused(value: int, reason: str) -> None:
    with pytest.raises(
        ShapeError, match=f"created is not a plausible Unix time: {value!r} \\({reason}"
    ):
        timestamp(value, "created")


def test_seconds_past_year_9999_are_quarantined_with_the_reason(tmp_path: Path) -> None:
    log = tmp_path / "far.jsonl"
    record = {
        "id": "x", "object": "chat.completion", "created": 253_402_300_800, "model": "o1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
    }  # fmt: skip
    log.write_bytes(
        orjson.dumps(record) + b"\n" + orjson.dumps(record | {"created": MARCH_SECONDS})
    )
    ingest = Ingest()
    traces = read([log], ReadOptions(), ingest)
    assert (ingest.stats.read, ingest.stats.quarantined) == (2, 1)
    assert traces["created"].to_list() == [MARCH]
    [item] = ingest.quarantined
    assert (item.line, item.reason) == (
        1,
        "openai-chat: created is not a plausible Unix time: 253402300800"
        " (as seconds it is past year 9999, as milliseconds before 2001-09-09)",
    )


@given(st.integers(0, timestamps.SECONDS_END - 1))
@example(0)
@example(timestamps.SECONDS_END - 1)
def test_every_seconds_timestamp_to_year_9999_reads_as_seconds(seconds: int) -> None:
    # the reader of Unix times; a logged 0 is then "not logged" (`fields.timestamp`)
    parsed = timestamps.parse(seconds, "created")
    assert parsed is not None
    assert int(parsed.timestamp()) == seconds


@given(st.integers(10**12, timestamps.SECONDS_END * 1000 - 1))
def test_milliseconds_round_trip(millis: int) -> None:
    parsed = timestamp(millis, "created")
    assert parsed is not None
    assert round(parsed.timestamp() * 1000) == millis


def test_a_bare_date_is_a_whole_day() -> None:
    day = timestamps.parse_at("2025-03-01")
    assert day == MARCH
    assert timestamps.whole_day(day)
    assert not timestamps.whole_day(timestamps.parse_at("2025-03-01T00:00"))


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "", "03/01/2025"])
def test_prices_at_a_bad_date_is_a_user_error(value: str) -> None:
    result = CliRunner().invoke(main, ["prices", "--at", value])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: --at {value!r} is not a date or time\n\n{timestamps.AT_HINT}\n"
    )


def test_since_a_bad_date_names_the_flag() -> None:
    result = CliRunner().invoke(main, ["count", "samples", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "Invalid value for '--since': 'yesterday' is not a date or time" in result.stderr


def test_a_logged_bare_date_is_a_whole_day() -> None:
    assert timestamps.whole_day(timestamp("2025-03-01", "created"))
    assert timestamps.whole_day(timestamp(MARCH.date(), "created"))
    assert not timestamps.whole_day(timestamp("2025-03-01T00:00:00Z", "created"))
    assert not timestamps.whole_day(timestamp(MARCH_SECONDS, "created"))


def _deepseek(created: object) -> dict[str, object]:
    """A DeepSeek-R1 response billing 1M prompt tokens, logged at `created`."""
    return {
        "id": f"ds-{created}",
        "object": "chat.completion",
        "created": created,
        "model": "deepseek-reasoner",
        "choices": [{"index": 0, "message": {"content": "4", "reasoning_content": "2+2=4."}}],
        "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 0},
    }


def test_a_logged_time_of_0_is_priced_as_no_time(tmp_path: Path) -> None:
    # `"created": 0` was read as 1970-01-01, before every catalog entry: "1 traces have
    # no price in the catalog", with nothing said why; now it is priced as an undated
    # record is (at --at, else the latest entry), and the report's note says so
    costs = []
    for created in (0, None):
        log = tmp_path / f"{created}.jsonl"
        log.write_bytes(orjson.dumps(_deepseek(created)) + b"\n")
        out = tmp_path / f"{created}.out.jsonl"
        args = ["ingest", str(log), "--no-cache", "-o", str(out), "--at", "2025-03-01T12:00"]
        assert CliRunner().invoke(main, args).exit_code == 0
        row = orjson.loads(out.read_bytes())
        assert row["created"] is None
        costs.append((row["cost_total"], row["price_basis"]))
    assert costs[0] == costs[1]
    assert costs[0][0] == "0.55"
    zero = tmp_path / "0.jsonl"
    result = CliRunner().invoke(main, ["report", str(zero), "--no-cache"])
    assert result.exit_code == 0
    assert "no timestamp on 1 trace: priced at the latest catalog entry" in result.stdout


def test_a_logged_bare_date_is_priced_as_its_whole_day(tmp_path: Path) -> None:
    # `"created": "2025-03-01"` was priced at the minute 00:00 UTC: DeepSeek's off-peak
    # $0.135 for 1M prompt tokens, with no band, where the day's standard price is $0.55
    dated = tmp_path / "dated.jsonl"
    dated.write_bytes(orjson.dumps(_deepseek("2025-03-01")) + b"\n")
    undated = tmp_path / "undated.jsonl"
    undated.write_bytes(orjson.dumps(_deepseek(None)) + b"\n")
    rows = []
    for log, at in ((dated, []), (undated, ["--at", "2025-03-01"])):
        out = tmp_path / f"{log.stem}.out.jsonl"
        args = ["ingest", str(log), "--no-cache", "-o", str(out), *at]
        assert CliRunner().invoke(main, args).exit_code == 0
        rows.append(orjson.loads(out.read_bytes()))
    day, at = rows
    assert day["created_whole_day"] is True
    assert (day["cost_total"], day["cost_low"], day["cost_high"]) == (
        at["cost_total"],
        at["cost_low"],
        at["cost_high"],
    )
    assert day["cost_total"] == "0.55"
    assert day["cost_low"] != day["cost_high"]
    assert day["price_basis"].startswith("created 2025-03-01 (a date alone); time of day unknown")
    # and a table written by ingest reads back as a date alone
    table = tmp_path / "t.parquet"
    args = ["ingest", str(dated), "--no-cache", "-o", str(table)]
    assert CliRunner().invoke(main, args).exit_code == 0
    again = tmp_path / "again.jsonl"
    args = ["ingest", str(table), "--no-cache", "-o", str(again)]
    assert CliRunner().invoke(main, args).exit_code == 0
    back = orjson.loads(again.read_bytes())
    assert (back["created_whole_day"], back["cost_high"]) == (True, day["cost_high"])


def test_a_date_alone_and_the_minute_00_00_of_it_are_priced_apart(tmp_path: Path) -> None:
    # a `Day` equals the datetime of its midnight: keyed on the time alone, the two shared
    # one price lookup, and whichever came second took the other's price
    for order in (("2025-03-01T00:00:00Z", "2025-03-01"), ("2025-03-01", "2025-03-01T00:00:00Z")):
        log = tmp_path / "both.jsonl"
        log.write_bytes(b"".join(orjson.dumps(_deepseek(c)) + b"\n" for c in order))
        out = tmp_path / "both.out.jsonl"
        args = ["ingest", str(log), "--no-cache", "--vs", "deepseek-reasoner", "-o", str(out)]
        assert CliRunner().invoke(main, args).exit_code == 0
        rows = {r["created_whole_day"]: r for r in map(orjson.loads, out.read_bytes().splitlines())}
        assert (rows[False]["cost_total"], rows[True]["cost_total"]) == ("0.135", "0.55"), order
        assert rows[True]["cost_low"] != rows[True]["cost_high"]
