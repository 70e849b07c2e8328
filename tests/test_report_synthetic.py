"""Exact report figures of a synthetic run carrying every column of the stage contract."""

from __future__ import annotations

import json
from decimal import Decimal

import report_fixtures as fixture

from traceviz import report as reports


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
    csv = bytes(reports.FORMATS["csv"](report)).decode()
    assert "\n=" not in csv
    assert ",=" not in csv
