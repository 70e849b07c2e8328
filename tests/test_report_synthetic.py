"""Exact report figures of a synthetic run carrying every column of the stage contract."""

from __future__ import annotations

import doctest
import json
import re
from decimal import Decimal

import polars as pl
import pytest
import report_fixtures as fixture

from traceviz import escape as text_module
from traceviz import report as reports
from traceviz.errors import ConfigError
from traceviz.escape import shorten
from traceviz.price import overthinking
from traceviz.report import headline, html, svg
from traceviz.report.sections import TOP, sections
from traceviz.schema import (
    ANSWER_CHANGED_AFTER_FIRST,
    COST_AFTER_FIRST_ANSWER,
    COST_AFTER_FIRST_ANSWER_REASON,
    FINAL_ANSWER_MISSING_REASON,
    OUTPUT_RATE,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
)


def test_overall_figures_are_exact() -> None:
    row = reports.build(fixture.traces(), fixture.steps(), fixture.stats()).overall.row(
        0, named=True
    )
    assert row["traces"] == 3
    assert (row["tokens_reasoning_sum"], row["tokens_reasoning_p50"]) == (1400, 300.0)
    assert (row["tokens_reasoning_max"], row["tokens_cached_prompt_sum"]) == (1000, 140)
    assert row["reasoning_share_of_output"] == 1400 / 1460
    assert row["usage_drift_mean"] == -1.0
    assert row["cost_total"] == Decimal("8.922")
    assert row["cost_per_response"] == Decimal("2.974")
    assert row["cost_answer"] == Decimal("0.16")
    assert row["cost_cache_saved"] == Decimal("0.758")
    assert row["cache_hit_ratio"] == 0.4
    assert (row["whatif_cost_low"], row["whatif_cost_high"]) == (Decimal("3.3"), Decimal("4.7"))
    assert (row["looping_share"], row["steps_mean"], row["first_answer_share_mean"]) == (
        0.5,
        3.0,
        0.5,
    )


def test_groups_kinds_and_outliers() -> None:
    report = reports.build(fixture.traces(), fixture.steps(), fixture.stats(), ["user"])
    by_user = {r["user"]: r for r in report.groups.iter_rows(named=True)}
    assert by_user["alice"]["cost_total"] == Decimal("8.492")
    assert by_user["bob"]["truncated_share"] == 1.0
    setup = report.kinds.filter(kind="problem_setup")
    assert dict(zip(setup["user"], setup["share"], strict=True)) == {"alice": 0.5, "bob": 0.5}
    assert report.outliers["most_expensive"]["trace_id"].to_list() == ["o1-c", "r1-b", "r1-a"]
    assert report.outliers["looping"]["trace_id"].to_list() == ["r1-a"]


def test_missing_stages_say_not_computed_in_every_format() -> None:
    traces = fixture.traces().drop("cost_total", "whatif_cost_total", "steps")
    report = reports.build(traces, None, fixture.stats())
    assert report.missing == ["money", "what-if", "reasoning behaviour"]
    for name, render in reports.FORMATS.items():
        assert render(report), name


def test_json_keeps_decimals_exact_and_html_escapes_reasoning() -> None:
    report = reports.build(fixture.traces(), fixture.steps(), fixture.stats(), ["model"])
    document = json.loads(reports.FORMATS["json"](report))
    assert "8.922" in json.dumps(document)
    page = str(reports.FORMATS["html"](report))
    assert "<script>alert(1)" not in page
    content = reports.FORMATS["csv"](report)
    csv = content.decode() if isinstance(content, bytes) else content
    assert "\n=" not in csv
    assert ",=" not in csv


# --- the overthinking bill, the cap and the headline (hand-computed from the fixture) ---


def test_bill_per_trace_is_tokens_after_at_the_output_rate() -> None:
    priced = fixture.priced()
    rows = {r["trace_id"]: r for r in priced.iter_rows(named=True)}
    # 75 tokens after the first answer at $0.001 a token
    assert rows["r1-a"][COST_AFTER_FIRST_ANSWER] == Decimal("0.075")
    assert rows["r1-b"][COST_AFTER_FIRST_ANSWER] == Decimal("0.075")
    assert rows["o1-c"][OUTPUT_RATE] == Decimal("0.006")
    assert rows["o1-c"][COST_AFTER_FIRST_ANSWER] is None
    assert rows["o1-c"][COST_AFTER_FIRST_ANSWER_REASON] == overthinking.HIDDEN


def test_bill_is_exact_at_a_rate_that_does_not_divide() -> None:
    # deepseek-reasoner's $2.19 per million: 57 reasoning tokens cost 0.00012483
    frame = pl.DataFrame(
        {
            "cost_total": [Decimal("0.0002"), Decimal("0.0002"), None],
            "cost_reasoning": [Decimal("0.00012483"), Decimal("0.00012483"), None],
            "cost_output": [Decimal("0.00015111"), Decimal("0.00015111"), None],
            "input_tokens": [10, 10, 10],
            "reasoning_tokens": [57, 57, 57],
            "output_tokens": [69, 69, 69],
            "reasoning_visible": [True, True, True],
            REASONING_TOKENS_AFTER_FIRST_ANSWER: [19, None, 19],
            FINAL_ANSWER_MISSING_REASON: [None, "no answer in the reply", None],
        },
        schema_overrides=dict.fromkeys(
            ("cost_total", "cost_reasoning", "cost_output"), fixture.MONEY
        ),
    )
    out = overthinking.apply(frame)
    assert out[OUTPUT_RATE].to_list()[:2] == [Decimal("0.00000219")] * 2
    assert out[COST_AFTER_FIRST_ANSWER].to_list() == [Decimal("0.00004161"), None, None]
    assert out[COST_AFTER_FIRST_ANSWER_REASON].to_list() == [
        None,
        "no answer in the reply",
        overthinking.UNPRICED,
    ]


def test_bill_per_group_and_overall() -> None:
    report = reports.build(fixture.priced(), fixture.steps(), fixture.stats(), ["model"])
    row = report.overall.row(0, named=True)
    assert row["overthinking_tokens"] == 150
    assert row["overthinking_cost"] == Decimal("0.15")
    # of the reasoning spend of the two measured traces: 0.15 / (0.1 + 0.3)
    assert row["overthinking_share"] == pytest.approx(0.375, rel=1e-12)
    assert row["overthinking_token_share"] == 150 / 400
    assert (row["answer_changed"], row["answer_changed_known"]) == (1, 2)
    o1 = report.groups.filter(model="o1-2024-12-17").row(0, named=True)
    assert (o1["overthinking_cost"], o1["overthinking_priced_traces"]) == (None, 0)
    assert report.missing == []


def test_cap_savings_and_risk() -> None:
    report = reports.build(
        fixture.priced(), None, fixture.stats(), ["model"], cap=overthinking.parse_cap("200")
    )
    row = report.overall.row(0, named=True)
    # r1-b: 100 tokens over at $0.001, first answer at 225 > 200 (at risk);
    # o1-c: 800 over at $0.006, hidden (risk unknown); r1-a under the cap
    assert row["cap_saved"] == Decimal("4.9")
    assert (row["cap_tokens_saved"], row["cap_traces_over"]) == (900, 2)
    assert (row["cap_at_risk"], row["cap_risk_unknown"]) == (1, 1)


def test_cap_at_a_percentile_is_a_nearest_rank() -> None:
    report = reports.build(
        fixture.priced(), None, fixture.stats(), cap=overthinking.parse_cap("p50")
    )
    assert report.cap == overthinking.Cap(300, "300 reasoning tokens, the p50 of 3 traces")
    row = report.overall.row(0, named=True)
    assert (row["cap_saved"], row["cap_traces_over"]) == (Decimal("4.2"), 1)


@pytest.mark.parametrize("text", ["p0", "p101", "ninety", "-5", ""])
def test_bad_caps_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="neither a number of reasoning tokens"):
        overthinking.parse_cap(text)


HEADLINE = [
    "Responses read: 3 from 4 records in 2 files (1 quarantined, 0 skipped)",
    "Total cost: $8.92 for 3 priced responses",
    "Reasoning: $6.40 = 71.7% of the spend (95.9% of output tokens)",
    "After the first answer (proxy): $0.1500 = 37.5% of the reasoning spend of"
    " 2 priced traces; 150 tokens in 2; 1 of 2 changed answer",
    "What if on o1 (estimate): $4.00 (band $3.30–$4.70) against $0.5520 actual, 2 responses",
    "Cap at 200 reasoning tokens (estimate): saves $4.90 (900 tokens); cuts 2 traces,"
    " 1 before their first answer (1 unknown)",
    "Biggest driver: o1-2024-12-17 (model) holds $8.37, 93.8% of the spend",
]


def _capped() -> reports.Report:
    cap = overthinking.parse_cap("200")
    return reports.build(fixture.priced(), fixture.steps(), fixture.stats(), cap=cap)


def test_headline_opens_every_format() -> None:
    report = _capped()
    assert [item.line for item in headline.items(report)] == HEADLINE
    terminal = reports.FORMATS["terminal"](report)
    assert isinstance(terminal, str)
    opening = " ".join(" ".join(terminal.split("\n\n")[0].split()).split())
    assert opening == "At a glance " + " ".join(" ".join(HEADLINE).split())
    md = str(reports.FORMATS["md"](report))
    assert md.split("\n## ")[1].startswith("At a glance\n\n- **Responses read: 3**")
    assert "- **After the first answer (proxy): $0.1500** = 37.5% of the reasoning spend" in md
    page = str(reports.FORMATS["html"](report))
    cards = page.index('<section class="cards">')
    assert cards < page.index("<figure>") < page.index("<table>")
    assert '<div class="value">saves $4.90</div>' in page
    document = json.loads(reports.FORMATS["json"](report))
    top = document["headline"]
    assert list(document)[2] == "headline"
    assert top["lines"] == HEADLINE
    assert (top["responses"], top["cost_total"], top["reasoning_share_of_cost"]) == (
        3,
        "8.922000000000",  # exact, at the catalog's 12 decimals like the rest of the JSON
        round(6.4 / 8.922, 6),
    )
    assert top["overthinking"]["cost"] == "0.150000000000"
    assert top["overthinking"]["share_of_reasoning_cost"] == 0.375  # rounded to 6 places
    assert top["whatif"] | {"estimate": ""} == {
        "estimate": "",
        "model": "o1",
        "cost": "4",
        "low": "3.300000000000",
        "high": "4.700000000000",
        "actual": "0.552000000000",
        "traces": 2,
    }
    assert top["cap"]["saved"] == "4.900000000000"
    assert top["cap"]["traces_at_risk"] == 1
    assert top["biggest_driver"] == {
        "by": "model",
        "name": "o1-2024-12-17",
        "cost": "8.370000000000",
        "share_of_cost": round(8.37 / 8.922, 6),
    }


def test_bill_missing_upstream_is_not_computed_everywhere() -> None:
    traces = fixture.traces().drop(REASONING_TOKENS_AFTER_FIRST_ANSWER, ANSWER_CHANGED_AFTER_FIRST)
    report = reports.build(overthinking.apply(traces), None, fixture.stats())
    assert report.missing == ["overthinking bill", "answer changes"]
    lines = [item.line for item in headline.items(report)]
    assert lines[3] == ("After the first answer (proxy): not computed (no first-answer positions)")
    assert json.loads(reports.FORMATS["json"](report))["headline"]["overthinking"] is None


def _many(groups: int) -> pl.DataFrame:
    """The fixture's r1-a copied under `groups` models, the i-th costing i times more."""
    base = fixture.priced().head(1)
    return pl.concat(
        base.with_columns(
            pl.lit(f"model-{i:03d}-with-a-long-name-{'x' * 20}").alias("model"),
            (pl.col("cost_total") * i).alias("cost_total"),
        )
        for i in range(1, groups + 1)
    )


def test_terminal_shows_top_groups_then_more_and_full_shows_all() -> None:
    report = reports.build(_many(20), None, fixture.stats(), ["model"])
    text = "\n".join(line.rstrip() for line in reports.terminal.render(report).splitlines())
    money_table = text.split("\nMoney\n")[1].split("\n\n")[0]
    names = [line.split()[0] for line in money_table.splitlines()[2:] if "$" in line]
    # the top six by spend, most first, each name shortened in the middle, then all
    assert [n[:9] for n in names] == [
        "model-020", "model-019", "model-018", "model-017", "model-016", "model-015", "all"
    ]  # fmt: skip
    assert all("…" in n for n in names[:-1])
    assert "  … 14 more groups (--full shows all)" in money_table
    assert max(len(line) for line in text.splitlines()) <= 80
    full = reports.terminal.render(
        reports.build(_many(20), None, fixture.stats(), ["model"], full=True)
    )
    assert "more groups" not in full
    assert f"model-001-with-a-long-name-{'x' * 20}" in full.replace("\n", "")


def test_a_hundred_thousand_models_build_no_huge_table() -> None:
    base = fixture.priced().head(1)
    many = base.select(pl.exclude("model")).sample(100_000, with_replacement=True, seed=0)
    many = many.with_columns(pl.Series("model", [f"m{i}" for i in range(100_000)]))
    report = reports.build(many, None, fixture.stats(), ["model"])
    shown = list(sections(report, TOP))
    assert max(len(s.rows) for s in shown) <= 4 * (TOP + 1)  # tokens: four rows a group
    assert any(s.more == "… 99,994 more groups (--full shows all)" for s in shown)
    assert len(html.charts(report)[0][1]) < 20_000


def test_names_are_shortened_in_the_middle() -> None:
    assert shorten("chatcmpl-AqZ2b1LmN0", 12) == "chatcm…1LmN0"
    assert shorten("o1-2024-12-17", 13) == "o1-2024-12-17"
    assert len(shorten("x" * 100, 20)) == 20
    assert doctest.testmod(text_module).failed == 0
    assert doctest.testmod(overthinking).failed == 0
    assert doctest.testmod(reports.terminal).failed == 0


def test_html_draws_unpriced_as_not_priced_and_titles_whole_names() -> None:
    traces = fixture.priced().with_columns(
        pl.when(pl.col("trace_id") == "o1-c").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("cost_total", "cost_input", "cost_reasoning", "cost_output")
    )
    long = "deepseek-reasoner-" + "very-long-" * 4 + "<b>"
    traces = traces.with_columns(pl.col("model").str.replace("deepseek-reasoner", long))
    page = str(reports.FORMATS["html"](reports.build(traces, None, fixture.stats())))
    money_chart = page.split("Where the money went")[1].split("</figure>")[0]
    assert "not priced" in money_chart
    assert "$0.00" not in money_chart
    whole = long.replace("<", "&lt;").replace(">", "&gt;")
    assert f"<title>{whole}</title>" in money_chart
    assert "<b>" not in page


def test_log_axes_keep_zero_values_inside() -> None:
    drawn = svg.log_strip({"a": [0.0, 10.0, 1000.0]}, "x")
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)" cy="[\d.]+" r="2.5"', drawn)]
    assert len(xs) == 3
    left, right = 190, html.W - 40
    assert all(left <= x <= right for x in xs), xs
    assert min(xs) < svg.LogAxis([0.0, 10.0], left, right).start  # in the "0" slot
    assert ">0</text>" in drawn


def test_html_charts_answer_in_order_with_the_bill() -> None:
    traces = fixture.priced().with_columns(
        pl.when(pl.col("trace_id") == "r1-a")
        .then(pl.lit(0, dtype=pl.Int64))
        .otherwise(pl.col(REASONING_TOKENS_AFTER_FIRST_ANSWER))
        .alias(REASONING_TOKENS_AFTER_FIRST_ANSWER)
    )
    report = reports.build(overthinking.apply(traces), fixture.steps(), fixture.stats())
    captions = [caption for caption, _, _ in html.charts(report)]
    assert captions[:4] == [
        "Where the money went (by model and part)",
        "What the thinking after the first answer cost (per trace, log scale; proxy)",
        "What if on o1 (estimate, with its low–high band)",
        "Reasoning length against first-answer position (proxy)",
    ]
    bill = html.charts(report)[1][1]
    assert bill.count("<circle") == 2 + 1  # r1-a ($0, in the zero slot), r1-b, the legend
    assert ">0</text>" in bill
    assert "$0.1" in bill  # dollar ticks


def test_the_proxy_label_quotes_the_detectors_measured_agreement() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "first-answer.md").read_text()
    within = re.search(r"within one step (\d+/\d+)", doc)
    same = re.search(r"first position in the same step (\d+/\d+)", doc)
    assert within is not None
    assert same is not None
    assert (
        f"first position within one step {within.group(1)}, same step {same.group(1)}"
    ) == overthinking.AGREEMENT
    assert overthinking.AGREEMENT in overthinking.PROXY
