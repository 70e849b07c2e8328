"""Pricing rules with hand-computed amounts, what-ifs both ways, and the headline claims."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from traceviz import price
from traceviz.cli import main
from traceviz.errors import ConfigError
from traceviz.schema import TRACE_SCHEMA

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

CATALOG = price.load()
M = Decimal(1_000_000)


def traces(*rows: dict[str, object]) -> pl.DataFrame:
    base = dict.fromkeys(TRACE_SCHEMA) | {
        "source": "t",
        "line": 1,
        "format": "x",
        "batch": False,
    }
    frame = pl.DataFrame([base | r for r in rows], schema=TRACE_SCHEMA)
    return frame


def cost(row: dict[str, object], **options: object) -> dict[str, object]:
    return price.apply(traces(row), CATALOG, **options).row(0, named=True)  # type: ignore[arg-type]


def r1(at: datetime, **usage: int) -> dict[str, object]:
    return {"model": "deepseek-reasoner", "created": at} | usage


def test_deepseek_launch_price_with_cache() -> None:
    row = cost(r1(datetime(2025, 3, 10, 9, 0, tzinfo=UTC), usage_input=1536, usage_cached_input=1408,
                  usage_output=210, usage_reasoning=180))  # fmt: skip
    assert row["price_id"] == "deepseek-reasoner/2025-01-20"
    assert row["cost_input"] == 128 * Decimal("0.55") / M
    assert row["cost_cached_input"] == 1408 * Decimal("0.14") / M
    assert row["cost_output"] == 210 * Decimal("2.19") / M
    assert row["cost_reasoning"] == 180 * Decimal("2.19") / M
    assert (
        row["cost_total"]
        == (128 * Decimal("0.55") + 1408 * Decimal("0.14") + 210 * Decimal("2.19")) / M
    )
    assert row["price_basis"] == "created"


@pytest.mark.parametrize(
    ("minute", "price_id"),
    [
        ((2025, 3, 3, 16, 29), "deepseek-reasoner/2025-01-20"),
        ((2025, 3, 3, 16, 30), "deepseek-reasoner/2025-02-26-offpeak"),
        ((2025, 3, 4, 0, 29), "deepseek-reasoner/2025-02-26-offpeak"),
        ((2025, 3, 4, 0, 30), "deepseek-reasoner/2025-01-20"),
        ((2025, 2, 26, 16, 29), "deepseek-reasoner/2025-01-20"),
        ((2025, 9, 5, 15, 59), "deepseek-reasoner/2025-01-20"),
        ((2025, 9, 5, 16, 0), "deepseek-reasoner/2025-09-05"),
    ],
)
def test_discount_window_boundaries(minute: tuple[int, int, int, int, int], price_id: str) -> None:
    at = datetime(*minute, tzinfo=UTC)
    assert cost(r1(at, usage_input=0, usage_output=1_000_000))["price_id"] == price_id


def test_off_peak_output_is_a_quarter() -> None:
    row = cost(r1(datetime(2025, 3, 3, 18, 0, tzinfo=UTC), usage_input=0, usage_output=1_000_000))
    assert row["cost_total"] == Decimal("0.55")


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 9, 7, 2, 0, tzinfo=UTC), "deepseek-v4-flash/2026-08-23-peak"),  # Monday
        (datetime(2026, 9, 7, 5, 0, tzinfo=UTC), "deepseek-v4-flash/2026-08-16-offpeak"),
        (datetime(2026, 9, 6, 2, 0, tzinfo=UTC), "deepseek-v4-flash/2026-08-16-offpeak"),  # Sunday
        (
            datetime(2026, 8, 22, 2, 0, tzinfo=UTC),
            "deepseek-v4-flash/2026-08-16-peak",
        ),  # Saturday before the rule
    ],
)
def test_v4_peak_and_weekend_rule(when: datetime, expected: str) -> None:
    row = cost({"model": "deepseek-v4-flash", "created": when, "usage_input": 1, "usage_output": 1})
    assert row["price_id"] == expected


def test_batch_line_takes_batch_rates() -> None:
    row = cost({"model": "o1-2024-12-17", "created": datetime(2025, 2, 1, tzinfo=UTC), "batch": True,
                "usage_input": 1000, "usage_cached_input": 0, "usage_output": 2000, "usage_reasoning": 1500})  # fmt: skip
    assert row["cost_total"] == (1000 * Decimal("7.5") + 2000 * Decimal("30")) / M
    assert row["price_basis"] == "created; batch"


def test_flex_response_takes_flex_rates() -> None:
    row = cost({"model": "o3-2025-04-16", "created": datetime(2025, 7, 1, tzinfo=UTC),
                "service_tier": "flex", "usage_input": 812, "usage_cached_input": 768,
                "usage_output": 1460, "usage_reasoning": 1408})  # fmt: skip
    assert row["price_id"] == "o3/2025-06-10"
    expected = 44 * Decimal("1.00") + 768 * Decimal("0.25") + 1460 * Decimal("4.00")
    assert row["cost_total"] == expected / M


def test_o3_price_cut() -> None:
    before = cost(
        {
            "model": "o3",
            "created": datetime(2025, 6, 9, 23, 59, tzinfo=UTC),
            "usage_input": 0,
            "usage_output": 1_000_000,
        }
    )
    after = cost(
        {
            "model": "o3",
            "created": datetime(2025, 6, 10, 0, 0, tzinfo=UTC),
            "usage_input": 0,
            "usage_output": 1_000_000,
        }
    )
    assert (before["cost_total"], after["cost_total"]) == (Decimal(40), Decimal(8))


def test_openai_cached_input() -> None:
    row = cost({"model": "o1", "created": datetime(2025, 1, 22, tzinfo=UTC), "usage_input": 1843,
                "usage_cached_input": 1792, "usage_output": 1230, "usage_reasoning": 1216})  # fmt: skip
    assert row["cost_cached_input"] == 1792 * Decimal("7.50") / M
    assert row["cost_input"] == 51 * Decimal("15") / M


def test_anthropic_cache_reads_and_writes() -> None:
    row = cost({"model": "claude-3-7-sonnet-20250219", "created": datetime(2025, 4, 1, tzinfo=UTC),
                "usage_input": 21 + 1200 + 3400, "usage_cached_input": 3400, "usage_cache_write": 1200,
                "usage_output": 96})  # fmt: skip
    assert row["cost_input"] == 21 * Decimal(3) / M
    assert row["cost_cached_input"] == 3400 * Decimal("0.30") / M
    assert row["cost_cache_write"] == 1200 * Decimal("3.75") / M
    assert row["cost_output"] == 96 * Decimal(15) / M


def test_no_timestamp_uses_at_or_latest() -> None:
    row = {"model": "deepseek-reasoner", "usage_input": 0, "usage_output": 1_000_000}
    dated = cost(row, at=price.parse_at("2025-03-01T12:00"))
    assert (dated["cost_total"], dated["price_basis"]) == (Decimal("2.19"), "--at 2025-03-01 12:00")
    assert dated["cost_low"] == dated["cost_high"] == Decimal("2.19")
    night = cost(row, at=price.parse_at("2025-03-01T18:00"))  # inside the off-peak window
    assert (night["cost_total"], night["cost_low"], night["cost_high"]) == (Decimal("0.55"),) * 3
    latest = cost(row)
    assert latest["price_id"] == "deepseek-reasoner/2026-04-26"
    assert latest["price_basis"] == "latest (no timestamp)"


def test_a_bare_date_prices_at_the_standard_rate_with_the_days_band() -> None:
    # `--at 2025-03-01` used to price at midnight, inside the 75 %-off window: $0.55
    row = {"model": "deepseek-reasoner", "usage_input": 0, "usage_output": 1_000_000}
    day = cost(row, at=price.parse_at("2025-03-01"))
    assert day["price_id"] == "deepseek-reasoner/2025-01-20"
    assert (day["cost_total"], day["cost_low"], day["cost_high"]) == (
        Decimal("2.19"), Decimal("0.55"), Decimal("2.19"),
    )  # fmt: skip
    assert day["price_basis"] == (
        "--at 2025-03-01 (whole day); time of day unknown: standard price,"
        " cost_low-cost_high span the day's prices"
    )
    # a day without windows has no band; a dated trace never has one
    before = cost(row, at=price.parse_at("2025-02-01"))
    assert before["cost_low"] == before["cost_high"] == before["cost_total"] == Decimal("2.19")
    assert before["price_basis"] == "--at 2025-02-01 (whole day)"
    dated = cost(r1(datetime(2025, 3, 1, 0, 10, tzinfo=UTC), usage_input=0, usage_output=1_000_000),
                 at=price.parse_at("2025-03-01"))  # fmt: skip
    assert dated["cost_low"] == dated["cost_high"] == dated["cost_total"] == Decimal("0.55")


def test_the_day_a_price_changed_spans_every_price_of_that_day() -> None:
    # 2025-09-05: launch price (and the night window) until 16:00, then V3.1 prices
    row = {"model": "deepseek-reasoner", "usage_input": 0, "usage_output": 1_000_000}
    day = cost(row, at=price.parse_at("2025-09-05"))
    assert day["price_id"] == "deepseek-reasoner/2025-01-20"  # in force for most of the day
    assert (day["cost_low"], day["cost_high"]) == (Decimal("0.55"), Decimal("2.19"))
    ids = [p.id for p in CATALOG.on_day("deepseek-reasoner", datetime(2025, 9, 5, tzinfo=UTC))]
    assert ids == [
        "deepseek-reasoner/2025-01-20",
        "deepseek-reasoner/2025-02-26-offpeak",
        "deepseek-reasoner/2025-09-05",
    ]


def test_undated_latest_price_with_peak_windows_has_a_band() -> None:
    row = {"model": "deepseek-v4-flash", "usage_input": 0, "usage_output": 1_000_000}
    latest = cost(row)
    assert latest["price_id"] == "deepseek-v4-flash/2026-08-16-offpeak"
    assert (latest["cost_total"], latest["cost_low"], latest["cost_high"]) == (
        Decimal("0.66"), Decimal("0.66"), Decimal("1.32"),
    )  # fmt: skip


def test_whatif_of_an_undated_trace_is_priced_as_its_actual_cost() -> None:
    from traceviz import tokens

    ratio = price.Ratio(1.0, 1.0, 1.0, "test")
    row = {"trace_id": "o1", "model": "o1", "prompt": "hi", "answer": "4", "usage_input": 10,
           "usage_cached_input": 0, "usage_output": 1010, "usage_reasoning": 1000}  # fmt: skip
    undated = tokens.count(traces(row))
    noon = tokens.count(traces(row | {"created": datetime(2025, 3, 1, 12, tzinfo=UTC)}))
    at_day = price.whatif(
        undated, "deepseek-reasoner", ratio, CATALOG, price.parse_at("2025-03-01")
    )
    at_noon = price.whatif(noon, "deepseek-reasoner", ratio, CATALOG)
    # the what-if used to read the wall clock for undated traces (the price of "now")
    assert at_day["whatif_cost_total"].to_list() == at_noon["whatif_cost_total"].to_list()
    night = price.whatif(noon.with_columns(created=pl.lit(datetime(2025, 3, 1, 18, tzinfo=UTC))),
                         "deepseek-reasoner", ratio, CATALOG)  # fmt: skip
    assert at_day["whatif_cost_low"].to_list() == night["whatif_cost_total"].to_list()
    assert at_day["whatif_cost_high"].to_list() == at_noon["whatif_cost_total"].to_list()
    latest = price.whatif(undated, "deepseek-reasoner", ratio, CATALOG)
    rate = CATALOG.latest("deepseek-reasoner")
    assert rate is not None
    answer = tokens.Counter("deepseek-v3").count_batch(["4", "hi"])
    expected = (answer[1] * rate.rate("input") + (1000 + answer[0]) * rate.rate("output")) / M  # type: ignore[operator]
    assert latest["whatif_cost_total"].to_list() == [expected]


def test_no_wall_clock_in_the_price_stage() -> None:
    source = "".join(p.read_text() for p in (Path(price.__file__).parent).glob("*.py"))
    for call in ("datetime.now", "date.today", "time.time", "utcnow"):
        assert call not in source


def test_flex_on_a_model_without_flex_rates_says_so() -> None:
    row = cost(r1(datetime(2025, 3, 3, 10, tzinfo=UTC), usage_input=0, usage_output=1_000_000),
               tier="flex")  # fmt: skip
    assert row["price_basis"] == "created; no flex rate, standard"
    assert row["cost_total"] == Decimal("2.19")
    frame = price.apply(
        traces(
            r1(datetime(2025, 3, 3, 10, tzinfo=UTC), usage_input=0, usage_output=1),
            {"model": "o3", "created": datetime(2025, 7, 1, tzinfo=UTC), "usage_input": 0,
             "usage_output": 1},
        ),
        CATALOG,
        tier="flex",
    )  # fmt: skip
    assert frame["price_basis"].to_list() == ["created; no flex rate, standard", "created; flex"]
    assert price.notes(frame) == [
        "flex tier asked for on 1 trace of models without a flex rate (deepseek-reasoner):"
        " priced at standard rates (price_basis)"
    ]


def test_report_counts_undated_banded_and_flex_traces(tmp_path: Path) -> None:
    log = tmp_path / "undated.jsonl"
    log.write_text(
        '{"id":"a","object":"chat.completion","model":"deepseek-reasoner","choices":[{"index":0,'
        '"message":{"role":"assistant","content":"4","reasoning_content":"Two and two."}}],'
        '"usage":{"prompt_tokens":0,"completion_tokens":1000000}}\n'
    )
    result = CliRunner().invoke(
        main,
        ["report", str(log), "--no-cache", "--at", "2025-03-01", "--tier", "flex", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["estimates"]
    assert (
        "no timestamp on 1 trace: priced as of --at 2025-03-01, a whole day, actual and what-if"
        " alike (deepseek-reasoner/2025-01-20)"
    ) in notes
    assert (
        "time of day unknown on 1 trace whose price changes within the day: priced at the"
        " standard price, $2.190000; at any minute of the day $0.550000 to $2.190000"
        " (cost_low, cost_high)"
    ) in notes
    assert any(n.startswith("flex tier asked for on 1 trace") for n in notes)


usage_values = st.one_of(st.none(), st.integers(0, 10**7))


@given(
    usage_input=usage_values, cached=usage_values, write=usage_values, output=usage_values,
    reasoning=usage_values, text=st.one_of(st.none(), st.text(max_size=40)),
    hour=st.one_of(st.none(), st.integers(0, 23)),
)  # fmt: skip
@settings(deadline=None, max_examples=60)  # each example runs both stages
@example(usage_input=10, cached=20, write=5, output=3, reasoning=50, text=None, hour=None)
@example(usage_input=None, cached=None, write=None, output=None, reasoning=None, text="", hour=1)
def test_no_part_of_a_cost_is_ever_negative(
    usage_input: int | None, cached: int | None, write: int | None, output: int | None,
    reasoning: int | None, text: str | None, hour: int | None,
) -> None:  # fmt: skip
    from traceviz import tokens

    created = None if hour is None else datetime(2025, 3, 3, hour, tzinfo=UTC)
    frame = traces(
        {"model": "deepseek-reasoner", "created": created, "reasoning": text, "answer": "ok",
         "usage_input": usage_input, "usage_cached_input": cached, "usage_cache_write": write,
         "usage_output": output, "usage_reasoning": reasoning}
    )  # fmt: skip
    row = price.apply(tokens.count(frame), CATALOG, at=price.parse_at("2025-03-03")).row(
        0, named=True
    )
    parts = ("cost_input", "cost_cached_input", "cost_cache_write", "cost_output",
             "cost_reasoning", "cost_total", "cost_low", "cost_high")  # fmt: skip
    assert all(row[p] >= 0 for p in parts if p != "cost_reasoning")
    reasoning_cost = row["cost_reasoning"] or 0
    assert 0 <= reasoning_cost <= row["cost_output"]  # the answer's part is never negative
    assert row["cost_low"] <= row["cost_total"] <= row["cost_high"]
    if output is not None:
        assert row["output_tokens"] == output  # the billed total is never changed
    assert (row["cost_reasoning"] is None) == (row["reasoning_tokens"] is None)


def test_unknown_model_is_unpriced_not_an_error() -> None:
    row = cost({"model": "my-local-model", "usage_input": 1, "usage_output": 1})
    assert row["cost_total"] is None
    assert row["price_basis"] == "no price for 'my-local-model'"
    assert cost({"model": "deepseek-r1:8b", "usage_output": 1})["price_id"] is None


@given(st.integers(0, 10**7), st.integers(0, 10**7))
def test_cost_never_falls_as_tokens_rise(tokens: int, more: int) -> None:
    at = datetime(2025, 3, 3, 10, tzinfo=UTC)
    low = cost(r1(at, usage_input=tokens, usage_output=tokens))["cost_total"]
    high = cost(r1(at, usage_input=tokens + more, usage_output=tokens + more))["cost_total"]
    assert isinstance(low, Decimal)
    assert isinstance(high, Decimal)
    assert high >= low


def test_user_catalog_overrides_and_validates(tmp_path: Path) -> None:
    extra = tmp_path / "mine.toml"
    extra.write_text(
        '[[price]]\nid = "o1/2024-12-17"\nmodel = "o1"\nfrom = 2024-12-17T00:00:00Z\n'
        "input = 10\noutput = 40\n"
    )
    book = price.load(extra)
    entry = book.in_force("o1", datetime(2025, 1, 1, tzinfo=UTC))
    assert entry is not None
    assert entry.rate("output") == Decimal(40)
    extra.write_text('[[price]]\nid = "bad"\nmodel = "x"\nfrom = 2025-01-01T00:00:00Z\ninput = 1\n')
    with pytest.raises(ConfigError, match="price 'bad': missing output"):
        price.load(extra)


def test_whatif_r1_on_o1_and_o1_on_r1() -> None:
    from traceviz import tokens

    when = datetime(2025, 3, 1, 10, tzinfo=UTC)
    frame = traces(
        {"trace_id": "r1", "model": "deepseek-reasoner", "created": when, "prompt": "What is 2+2?",
         "reasoning": "Two plus two is four. " * 20, "answer": "4", "usage_input": 10,
         "usage_cached_input": 0, "usage_output": 200, "usage_reasoning": 190},
        {"trace_id": "o1", "model": "o1", "created": when, "prompt": "What is 2+2?", "reasoning": None,
         "answer": "4", "usage_input": 10, "usage_cached_input": 0, "usage_output": 1010, "usage_reasoning": 1000},
    )  # fmt: skip
    counted = tokens.count(frame)
    ratio = price.Ratio(1.5, 1.0, 2.0, "test")
    o200k = tokens.Counter("o200k_base")
    on_o1 = price.whatif(counted.filter(trace_id="r1"), "o1", ratio, CATALOG).row(0, named=True)
    reasoning = o200k.count_batch(["Two plus two is four. " * 20])[0]
    assert on_o1["whatif_reasoning_tokens"] == round(reasoning / 1.5)
    prompt, answer = o200k.count_batch(["What is 2+2?", "4"])
    expected = (prompt * Decimal(15) + (round(reasoning / 1.5) + answer) * Decimal(60)) / M
    assert on_o1["whatif_cost_total"] == expected
    assert (
        on_o1["whatif_cost_low"]
        == (prompt * Decimal(15) + (round(reasoning / 2.0) + answer) * Decimal(60)) / M
    )
    assert (
        on_o1["whatif_cost_high"] == (prompt * Decimal(15) + (reasoning + answer) * Decimal(60)) / M
    )
    on_r1 = price.whatif(counted.filter(trace_id="o1"), "deepseek-reasoner", ratio, CATALOG).row(
        0, named=True
    )
    ds = tokens.Counter("deepseek-v3")
    prompt, answer = ds.count_batch(["What is 2+2?", "4"])
    assert on_r1["whatif_reasoning_tokens"] == 1500
    assert (
        on_r1["whatif_cost_total"]
        == (prompt * Decimal("0.55") + (1500 + answer) * Decimal("2.19")) / M
    )
    assert on_r1["whatif_ratio_source"] == "test"


def test_headline_claims_from_the_catalog() -> None:
    launch = datetime(2025, 2, 1, 10, tzinfo=UTC)
    o1 = CATALOG.in_force("o1", launch)
    r1_price = CATALOG.in_force("deepseek-reasoner", launch)
    assert o1 is not None
    assert r1_price is not None
    per_token = o1.rate("output") / r1_price.rate("output")  # type: ignore[operator]
    assert round(per_token, 1) == Decimal("27.4")
    assert round(o1.rate("input") / r1_price.rate("input"), 1) == Decimal("27.3")  # type: ignore[operator]
    off_peak = CATALOG.in_force("deepseek-reasoner", datetime(2025, 3, 3, 18, tzinfo=UTC))
    assert round(Decimal(60) / off_peak.rate("output"), 0) == 109  # type: ignore[union-attr, operator]
    v31 = CATALOG.in_force("deepseek-reasoner", datetime(2025, 9, 10, tzinfo=UTC))
    v32 = CATALOG.in_force("deepseek-reasoner", datetime(2025, 10, 10, tzinfo=UTC))
    assert round(Decimal(60) / v31.rate("output"), 1) == Decimal("35.7")  # type: ignore[union-attr, operator]
    assert round(Decimal(60) / v32.rate("output"), 1) == Decimal("142.9")  # type: ignore[union-attr, operator]
    assert round(round(per_token, 1) / Decimal("6.22"), 2) == Decimal("4.41")  # 27.4 / 6.22
    # at the measured ratio (Epoch, per-benchmark output tokens): about 19x
    epoch = [(7595, 4125), (4791, 3111), (10787, 10842)]
    costs = [(o * 60) / (r * Decimal("2.19")) for r, o in epoch]
    geometric = (costs[0] * costs[1] * costs[2]) ** (Decimal(1) / 3)
    assert round(geometric) == 19
    assert round(1 - r1_price.rate("cached_input") / r1_price.rate("input"), 3) == Decimal("0.745")  # type: ignore[operator]
    assert o1.rate("cached_input") == Decimal("7.50")


def test_prices_command(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["prices", "deepseek-reasoner"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "2025-02-26" in result.stdout
    assert "16:30-00:30" in result.stdout
    result = runner.invoke(
        main, ["prices", "o3", "--at", "2025-05-01", "--sources"], terminal_width=100
    )
    assert result.exit_code == 0, result.output
    assert "simonw/llm-prices 20b527c" in result.stdout
    result = runner.invoke(main, ["prices", "nope"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no price for model 'nope'\n\nRun `traceviz prices` to list the models in the catalog.\n"
    )


def test_whatif_on_the_model_already_used_is_the_actual_cost() -> None:
    import traceviz

    run = traceviz.analyze(
        Path(__file__).parent.parent / "samples", traceviz.AnalysisOptions(vs="o1")
    )
    o1 = run.traces.filter(pl.col("price_id").str.starts_with("o1/"))
    assert o1.height == 8
    assert o1["whatif_cost_total"].to_list() == o1["cost_total"].to_list()
    assert o1["whatif_output_tokens"].to_list() == o1["output_tokens"].to_list()
    assert set(o1["whatif_ratio_source"]) == {"the same model: the actual cost"}


def test_batch_flag_prices_every_store_at_batch_rates(tmp_path: Path) -> None:
    # `report samples/ --batch` priced the Langfuse o1 generation at standard rates
    # ($0.5421 -> $0.3135) while `--tier batch` gave $0.2938: the Langfuse reader dropped
    # the flag, so the two options that mean "these were Batch API calls" disagreed
    for name in ("langfuse-observations.jsonl", "r1-raw-output.txt"):
        out = tmp_path / f"{name}.jsonl"
        args = ["ingest", str(SAMPLES / name), "--batch", "--no-cache", "-o", str(out)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert rows
        assert all(r["batch"] is True for r in rows), name
    totals = []
    for flag in (["--batch"], ["--tier", "batch"]):
        args = ["report", str(SAMPLES), "--no-cache", "--format", "json", *flag]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        totals.append(json.loads(result.stdout)["overall"]["cost_total"])
    assert totals[0] == totals[1]


def test_a_user_catalog_with_a_byte_order_mark_or_not_in_utf8(tmp_path: Path) -> None:
    extra = tmp_path / "bom.toml"
    entry = '[[price]]\nid = "my/bom"\nmodel = "o3"\nfrom = 2025-02-01\ninput = 1\noutput = 2\n'
    extra.write_bytes(("\ufeff" + entry).encode())
    assert "my/bom" in {p.id for p in price.load(extra).prices}
    latin = tmp_path / "latin.toml"
    latin.write_bytes(entry.replace('"o3"', '"o3 \xe9"').encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin.toml: the catalog is not UTF-8 text: "):
        price.load(latin)


def test_a_zero_rate_in_a_user_catalog_is_a_rate(tmp_path: Path) -> None:
    extra = tmp_path / "zero.toml"
    extra.write_text(
        '[[price]]\nid = "my/0"\nmodel = "o3"\nfrom = 2025-02-01T00:00:00Z\n'
        "input = 1.0\ncached_input = 0\ncache_write = 0\noutput = 2.0\n"
        "flex_input = 0.5\nflex_cached_input = 0\nflex_output = 1.0\n"
    )
    book = price.load(extra)
    usage = {"model": "o3", "created": datetime(2025, 3, 1, 10, tzinfo=UTC),
             "usage_input": 3_000_000, "usage_cached_input": 1_000_000,
             "usage_cache_write": 1_000_000, "usage_output": 1_000_000}  # fmt: skip
    standard = price.apply(traces(usage), book).row(0, named=True)
    # 1M uncached at $1, 1M cache reads at $0, 1M cache writes at $0, 1M output at $2
    assert (standard["cost_cached_input"], standard["cost_cache_write"]) == (0, 0)
    assert standard["cost_total"] == Decimal(3)
    assert standard["cost_cache_saved"] == Decimal(1)
    flex = price.apply(traces(usage | {"service_tier": "flex"}), book).row(0, named=True)
    assert flex["cost_cached_input"] == 0
    assert flex["price_basis"] == "created; flex"


ENTRY = 'id = "x"\nmodel = "deepseek-reasoner"\nfrom = 2025-01-01\ninput = 1\noutput = 2\n'


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        # a rate that is not a finite number, or too large for exact money
        (ENTRY.replace("input = 1", "input = inf"), "price 'x': input is not a finite number: inf"),
        (ENTRY.replace("input = 1", "input = 1e400"), "price 'x': input is not a finite number: inf"),
        (ENTRY.replace("input = 1", "input = nan"), "price 'x': input is not a finite number: nan"),
        (ENTRY.replace("input = 1", 'input = "abc"'), "price 'x': input is not a finite number: 'abc'"),
        (ENTRY.replace("output = 2", "output = true"), "price 'x': output is not a finite number: True"),
        (ENTRY.replace("input = 1", "input = 1e30"),
         "price 'x': input is above 1,000,000 per million tokens: 1e+30"),
        (ENTRY.replace("input = 1", "input = -1"), "price 'x': input is negative: -1"),
        (ENTRY.replace("output = 2\n", ""), "price 'x': missing output"),
        # values of the wrong shape, read before as something else
        (ENTRY + 'aliases = "r1"\n', "price 'x': aliases is not an array: 'r1' (write ['r1'])"),
        (ENTRY + 'aliases = [""]\n', "price 'x': aliases is empty"),
        (ENTRY + 'daily = ["16:30", "16:30"]\n', "price 'x': daily window '16:30' to '16:30' is empty"),
        (ENTRY + 'daily = ["25:00", "26:00"]\n',
         "price 'x': daily: '25:00' is not a time of day from 00:00 to 23:59"),
        (ENTRY + "daily = [1630, 30]\n", "price 'x': daily: 1630 is not a time of day from 00:00 to 23:59"),
        (ENTRY + "weekdays = [9]\n", "price 'x': weekdays: 9 is not a day from 1 (Monday) to 7 (Sunday)"),
        (ENTRY + "until = 2024-01-01\n",
         "price 'x': until (2024-01-01 00:00) is not after from (2025-01-01 00:00)"),
        (ENTRY.replace('"deepseek-reasoner"', '""'), "price 'x': model is empty"),
        (ENTRY + 'single_source = "no"\n', "price 'x': single_source is not true or false: 'no'"),
    ],
)  # fmt: skip
def test_a_bad_catalog_entry_is_refused_naming_file_entry_and_field(
    tmp_path: Path, toml: str, message: str
) -> None:
    extra = tmp_path / "mine.toml"
    extra.write_text("[[price]]\n" + toml)
    with pytest.raises(ConfigError) as refused:
        price.load(extra)
    assert str(refused.value) == f"{extra}: {message}"


def test_a_bad_catalog_is_a_clear_error_in_every_command(tmp_path: Path) -> None:
    infinite = tmp_path / "inf.toml"
    infinite.write_text("[[price]]\n" + ENTRY.replace("input = 1", "input = inf"))
    not_tables = tmp_path / "five.toml"
    not_tables.write_text("price = 5\n")
    log = SAMPLES / "deepseek-cached.jsonl.gz"
    hint = "\n\nEach [[price]] needs id, model, from, input and output; rates are numbers.\n"
    for args in (["prices"], ["report", str(log), "--no-cache"], ["ingest", str(log), "-o",
                 str(tmp_path / "out.jsonl"), "--no-cache"]):  # fmt: skip
        result = CliRunner().invoke(main, [*args, "--catalog", str(infinite)])
        assert result.exit_code == 1, result.output
        assert (
            result.stderr
            == f"Error: {infinite}: price 'x': input is not a finite number: inf{hint}"
        )
    result = CliRunner().invoke(main, ["prices", "--catalog", str(not_tables)])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: {not_tables}: price is not an array of tables: 5\n\n"
        "Write each entry under its own [[price]] header.\n"
    )


def o3_tier(tier: str) -> dict[str, object]:
    """1M prompt tokens (500k cached) and 1M output on o3 after its 2025-06-10 cut."""
    return {"model": "o3", "created": datetime(2025, 7, 8, 18, 40, tzinfo=UTC),
            "service_tier": tier, "usage_input": 1_000_000, "usage_cached_input": 500_000,
            "usage_output": 1_000_000, "usage_reasoning": 900_000}  # fmt: skip


def test_priority_without_a_priority_rate_is_standard_and_says_so() -> None:
    frame = price.apply(
        traces(o3_tier("priority"), o3_tier("Priority"), o3_tier("default")), CATALOG
    )
    # standard o3: 500k at $2 + 500k cached at $0.50 + 1M output at $8
    assert frame["cost_total"].to_list() == [Decimal("9.25")] * 3
    assert frame["price_basis"].to_list() == [
        "created; no priority rate, standard", "created; no priority rate, standard", "created",
    ]  # fmt: skip
    assert price.notes(frame) == [
        "priority tier asked for on 2 traces of models without a priority rate (o3):"
        " priced at standard rates (price_basis)"
    ]


def test_tier_names_compare_without_case() -> None:
    row = cost(o3_tier("Flex"))
    # o3 flex: 500k at $1 + 500k cached at $0.25 + 1M output at $4
    assert row["cost_total"] == Decimal("4.625")
    assert row["price_basis"] == "created; flex"


def test_priority_rates_of_a_user_catalog_price_priority_traffic(tmp_path: Path) -> None:
    extra = tmp_path / "priority.toml"
    extra.write_text(
        '[[price]]\nid = "o3/2025-06-10"\nmodel = "o3"\nfrom = 2025-06-10T00:00:00Z\n'
        "input = 2\ncached_input = 0.5\noutput = 8\n"
        "priority_input = 3.5\npriority_cached_input = 0.875\npriority_output = 14\n"
    )
    row = price.apply(traces(o3_tier("priority")), price.load(extra)).row(0, named=True)
    assert row["cost_total"] == Decimal("1.75") + Decimal("0.4375") + Decimal(14)
    assert row["price_basis"] == "created; priority"


def test_rates_of_more_than_six_decimals_per_million_are_exact(tmp_path: Path) -> None:
    extra = tmp_path / "prec.toml"
    extra.write_text(
        '[[price]]\nid = "my/1"\nmodel = "deepseek-reasoner"\nfrom = 2025-02-01T00:00:00Z\n'
        "input = 0.1234567\ncached_input = 0.00000049\noutput = 0.9999999\n"
    )
    book = price.load(extra)
    at = datetime(2025, 3, 1, 10, tzinfo=UTC)
    frame = price.apply(
        traces(
            r1(at, usage_input=1_000_000, usage_cached_input=1_000_000, usage_output=1_000_000),
            r1(at, usage_input=1_000_000, usage_output=1_000_000),
            r1(at, usage_input=7, usage_output=3),
        ),
        book,
    )
    assert frame["cost_cached_input"].to_list()[0] == Decimal("0.00000049")
    assert frame["cost_output"].to_list()[:2] == [Decimal("0.9999999")] * 2
    assert frame["cost_input"].to_list()[1] == Decimal("0.1234567")
    # 7 x 0.1234567 / 10^6 = 0.0000008641969 and 3 x 0.9999999 / 10^6 = 0.0000029999997,
    # each rounded once to 12 decimals
    assert frame.row(2, named=True)["cost_input"] == Decimal("0.000000864197")
    assert frame.row(2, named=True)["cost_output"] == Decimal("0.000003000000")
    extra.write_text(extra.read_text().replace("0.00000049", "0.0000000000001"))
    with pytest.raises(ConfigError, match="cached_input has more than 12 decimals: 1e-13"):
        price.load(extra)


def anthropic_message(service_tier: str) -> str:
    """A Claude 3.7 Sonnet response writing 40k tokens to the cache for 5 minutes and 60k
    for an hour, reading 10k, with 10 fresh prompt tokens and 10 output tokens."""
    return json.dumps({
        "id": f"msg_{service_tier}", "type": "message", "role": "assistant",
        "model": "claude-3-7-sonnet-20250219",
        "content": [{"type": "text", "text": "4"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "cache_creation_input_tokens": 100_000,
                  "cache_read_input_tokens": 10_000, "output_tokens": 10,
                  "cache_creation": {"ephemeral_5m_input_tokens": 40_000,
                                     "ephemeral_1h_input_tokens": 60_000},
                  "service_tier": service_tier},
    })  # fmt: skip


def test_anthropic_hour_long_and_batch_cache_writes(tmp_path: Path) -> None:
    log = tmp_path / "claude.jsonl"
    log.write_text(anthropic_message("standard") + "\n" + anthropic_message("batch") + "\n")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["ingest", str(log), "-o", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    standard, batch = (json.loads(line) for line in out.read_text().splitlines())
    # 5-minute writes at 1.25 x $3 = $3.75/M, 1-hour writes at 2 x $3 = $6/M
    assert Decimal(standard["cost_cache_write"]) == (40_000 * Decimal("3.75") + 60_000 * 6) / M
    assert (
        Decimal(standard["cost_total"])
        == (10 * 3 + 10_000 * Decimal("0.30") + 40_000 * Decimal("3.75") + 60_000 * 6 + 10 * 15) / M
    )
    # usage.service_tier "batch": every rate halved, cache writes and reads included
    assert batch["batch"] is True
    assert batch["price_basis"] == "latest (no timestamp); batch"
    assert Decimal(batch["cost_cache_write"]) == Decimal(standard["cost_cache_write"]) / 2
    assert Decimal(batch["cost_total"]) == Decimal(standard["cost_total"]) / 2


def test_batch_cache_writes_are_the_write_rate_halved() -> None:
    row = cost({"model": "gpt-5.6-sol", "created": datetime(2026, 7, 1, tzinfo=UTC), "batch": True,
                "usage_input": 1_000_000, "usage_cache_write": 1_000_000, "usage_output": 0})  # fmt: skip
    # gpt-5.6 Sol writes at $6.25/M; under batch $3.125/M, not the batch input rate of $2.50
    assert row["cost_cache_write"] == Decimal("3.125")


def test_hour_long_writes_cost_the_same_from_the_cache(tmp_path: Path) -> None:
    log = tmp_path / "claude.jsonl"
    log.write_text(anthropic_message("standard") + "\n")
    outputs = []
    for run, flags in enumerate((["--no-cache"], ["--cache-dir", str(tmp_path / "c")],
                                 ["--cache-dir", str(tmp_path / "c")])):  # fmt: skip
        out = tmp_path / f"out{run}.jsonl"
        result = CliRunner().invoke(main, ["ingest", str(log), "-o", str(out), *flags])
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(out.read_text()))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[2]["usage_cache_write_1h"] == 60_000


def test_the_band_of_a_price_change_day_is_a_cost_some_entry_billed() -> None:
    row = cost({"model": "deepseek-reasoner", "usage_input": 1_000_000, "usage_output": 1_000_000},
               at=price.parse_at("2025-09-05"))  # fmt: skip
    # that day: $0.55 + $2.19 until 16:00, $0.56 + $1.68 after, $0.135 + $0.55 off-peak;
    # not the $0.56 input of one entry with the $2.19 output of another ($2.75)
    assert (row["cost_low"], row["cost_total"], row["cost_high"]) == (
        Decimal("0.685"), Decimal("2.74"), Decimal("2.74"),
    )  # fmt: skip


def test_the_whatif_band_of_a_price_change_day_is_a_cost_some_entry_billed() -> None:
    from traceviz import tokens

    # o1's 1M hidden reasoning tokens on R1 on 2025-09-05, time of day unknown: the band
    # took each rate's lowest and highest over the day's entries, so its top was R1-V3.1's
    # $0.56 input with the old $2.19 output, a price no one was billed
    row: dict[str, object] = {"trace_id": "o1", "model": "o1", "prompt": None, "answer": "", "usage_input": 1_000_000,
           "usage_cached_input": 0, "usage_output": 1_000_000, "usage_reasoning": 1_000_000}  # fmt: skip
    ratio = price.Ratio(1.0, 0.5, 2.0, "test")
    found = price.whatif(
        tokens.count(traces(row)), "deepseek-reasoner", ratio, CATALOG, price.parse_at("2025-09-05")
    ).row(0, named=True)
    # entries that day (input, output per M): until 16:00 0.55, 2.19; after 0.56, 1.68;
    # off-peak 0.135, 0.55; reasoning 0.5M to 2M tokens
    assert found["whatif_cost_high"] == Decimal("0.55") + 2 * Decimal("2.19")  # not 0.56 + 4.38
    assert found["whatif_cost_low"] == Decimal("0.135") + Decimal("0.5") * Decimal("0.55")
    assert found["whatif_cost_total"] == Decimal("0.55") + Decimal("2.19")


def test_whatif_bills_the_prompt_a_log_holds_no_text_of(tmp_path: Path) -> None:
    # `report samples/deepseek-cached.jsonl.gz --vs o1` showed $0.0014 on o1: a response
    # log holds no prompt text, so the recount was null and the what-if billed 0 prompt
    # tokens, where the trace was billed 1,536 (1,408 of them cache hits)
    out = tmp_path / "wi.jsonl"
    args = ["ingest", str(SAMPLES / "deepseek-cached.jsonl.gz"), "--vs", "o1", "--no-cache"]
    result = CliRunner().invoke(main, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    row = json.loads(out.read_text().splitlines()[0])
    assert (row["prompt"], row["input_tokens"], row["cached_input_tokens"]) == (None, 1536, 1408)
    assert row["whatif_prompt_logged"] is True
    # o1 per million: $15 input, $7.50 cached input, $60 output
    expected = (
        128 * Decimal(15) + 1408 * Decimal("7.5") + row["whatif_output_tokens"] * 60
    ) / 10**6
    assert Decimal(row["whatif_cost_total"]) == expected
    report = CliRunner().invoke(main, ["report", *args[1:], "--format", "md"])
    assert "1 trace without prompt text: billed prompt tokens used" in (
        report.stdout.replace("\\_", "_")
    )


def test_tier_priority_prices_at_standard_and_says_so() -> None:
    # `--tier priority` was refused by click while a logged service_tier "priority" priced
    args = ["report", str(SAMPLES), "--no-cache", "--format", "json", "--tier"]
    standard = CliRunner().invoke(main, [*args, "standard"])
    priority = CliRunner().invoke(main, [*args, "priority"])
    assert priority.exit_code == 0, priority.output
    document = json.loads(priority.stdout)
    assert document["overall"]["cost_total"] == json.loads(standard.stdout)["overall"]["cost_total"]
    assert any(
        "priority tier asked for on 34 traces" in line and "priced at standard rates" in line
        for line in document["estimates"]
    )
