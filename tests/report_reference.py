"""The reference for the report built from partials: the whole-table `build` as it was
before the report was built one result at a time (every trace in one polars frame).

`tests/test_report_partials.py` builds each report both ways and compares them; this
module is kept unchanged apart from this docstring and the imports of `Report` and the
helpers that both ways share, and for `repeated`: the responses logged more than once,
found over the whole table by the ids themselves (no hashes), added with the repeats.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from traceviz import segment
from traceviz.price import overthinking
from traceviz.price.notes import notes as price_notes
from traceviz.report.aggregate import TOKEN_PARTS, Report, group_columns
from traceviz.report.groups import column as group_column
from traceviz.report.repeats import Repeated
from traceviz.schema import (
    ANSWER_CHANGED_AFTER_FIRST,
    COST_AFTER_FIRST_ANSWER,
    EXPECTED_STEPS_PREFIX,
    KIND_STEPS_PREFIX,
    MODEL,
    REASONING_TOKENS_AFTER_FIRST_ANSWER,
    IngestStats,
)
from traceviz.stats import distribution

OUTLIER_COUNT = 5


def _has(traces: pl.DataFrame, *columns: str) -> bool:
    return all(c in traces.columns for c in columns)


LOGGED = pl.col("cost_logged").cast(pl.Decimal(38, 12))  # a logged float as money


def _sum(column: str) -> pl.Expr:
    """The sum of a column, null (not zero) when the group has no value in it."""
    return pl.when(pl.col(column).count() > 0).then(pl.col(column).sum())


def figures(traces: pl.DataFrame) -> list[pl.Expr]:
    """Every per-group figure the tables of this run allow."""
    exprs: list[pl.Expr] = [pl.len().alias("traces")]
    if _has(traces, *TOKEN_PARTS.values()):
        for part, column in TOKEN_PARTS.items():
            exprs += distribution(column, f"tokens_{part}")
        exprs += [
            (_sum("reasoning_tokens") / _sum("output_tokens")).alias("reasoning_share_of_output"),
            pl.col("usage_drift").mean().alias("usage_drift_mean"),
            (pl.col("usage_drift") != 0).mean().alias("usage_drift_share"),
            (pl.col("usage_source") == "counted").sum().alias("traces_counted"),
            pl.col("reasoning").is_null().sum().alias("traces_hidden_reasoning")
            if "reasoning" in traces.columns
            else (~pl.col("reasoning_visible")).sum().alias("traces_hidden_reasoning"),
        ]
    if _has(traces, "cost_total"):
        total = _sum("cost_total")
        # the priced traces that are a response's first choice: one a response
        first = pl.col("choice").fill_null(0) == 0 if "choice" in traces.columns else pl.lit(True)
        responses = pl.col("cost_total").filter(first)
        exprs += [
            total.alias("cost_total"),
            pl.when(responses.count() > 0)
            .then(total / pl.max_horizontal(responses.count(), 1).cast(pl.Decimal(38, 0)))
            .alias("cost_per_response"),
            (total.cast(pl.Float64) * 1000 / _sum("tokens_answer")).alias(
                "cost_per_1k_answer_tokens"
            ),
            _sum("cost_input").alias("cost_input"),
            _sum("cost_cached_input").alias("cost_cached_input"),
            _sum("cost_cache_write").alias("cost_cache_write"),
            _sum("cost_reasoning").alias("cost_reasoning"),
            (_sum("cost_output") - pl.col("cost_reasoning").sum()).alias("cost_answer"),
            _sum("cost_cache_saved").alias("cost_cache_saved"),
            (_sum("cached_input_tokens") / _sum("input_tokens")).alias("cache_hit_ratio"),
            pl.col("cost_total").is_null().sum().alias("traces_unpriced"),
            *(
                pl.when(value.count() > 0).then(value.sum()).alias(name)
                for name, value in (
                    ("cost_logged", LOGGED),
                    ("cost_logged_diff", pl.col("cost_total") - LOGGED),
                )
            ),
            *_logged_unpriced(traces),
        ]
    if _has(traces, "whatif_cost_total"):
        # compare like with like: only traces priced both as they ran and on the target
        both = pl.col("cost_total").is_not_null() & pl.col("whatif_cost_total").is_not_null()

        def paired(column: str) -> pl.Expr:
            return pl.when(both.any()).then(pl.col(column).filter(both).sum())

        exprs += [
            pl.col("whatif_model").first().alias("whatif_model"),
            both.sum().alias("whatif_traces"),
            paired("cost_total").alias("whatif_actual"),
            paired("whatif_cost_total").alias("whatif_cost_total"),
            paired("whatif_cost_low").alias("whatif_cost_low"),
            paired("whatif_cost_high").alias("whatif_cost_high"),
            _sum("whatif_reasoning_tokens").alias("whatif_reasoning_tokens"),
            pl.col("whatif_prompt_logged").sum().alias("whatif_prompt_logged"),
            pl.col("whatif_ratio").drop_nulls().first().alias("whatif_ratio"),
            pl.col("whatif_ratio_source").drop_nulls().first().alias("whatif_ratio_source"),
        ]
    exprs += _overthinking(traces)
    if "_cap_over" in traces.columns:
        exprs += [
            pl.col("_cap_over").sum().alias("cap_traces_over"),
            _sum("_cap_tokens_saved").alias("cap_tokens_saved"),
        ]
        if "_cap_saved" in traces.columns:
            exprs.append(_sum("_cap_saved").alias("cap_saved"))
        if "_cap_at_risk" in traces.columns:
            exprs += [
                pl.col("_cap_at_risk").sum().alias("cap_at_risk"),
                (pl.col("_cap_over") & pl.col("_cap_at_risk").is_null())
                .sum()
                .alias("cap_risk_unknown"),
            ]
    if _has(traces, "steps"):
        exprs += [
            pl.col("steps").mean().alias("steps_mean"),
            pl.col("thoughts").mean().alias("thoughts_mean"),
            pl.col("reflection_words").mean().alias("reflection_words_mean"),
            pl.col("looping").mean().alias("looping_share"),
            pl.col("truncated").mean().alias("truncated_share"),
            pl.col("empty_reasoning").mean().alias("empty_reasoning_share"),
            pl.col("refusal").mean().alias("refusal_share"),
            pl.col("first_answer_share").mean().alias("first_answer_share_mean"),
            pl.col("correct").mean().alias("correct_share"),
        ]
    return exprs


def _overthinking(traces: pl.DataFrame) -> list[pl.Expr]:
    """The overthinking bill of a group: tokens and dollars after the first answer, their
    share of the reasoning spend on the same traces, and answers changed after it."""
    exprs: list[pl.Expr] = []
    if _has(traces, REASONING_TOKENS_AFTER_FIRST_ANSWER, "reasoning_tokens"):
        after = pl.col(REASONING_TOKENS_AFTER_FIRST_ANSWER)
        exprs += [
            after.count().alias("overthinking_traces"),
            _sum(REASONING_TOKENS_AFTER_FIRST_ANSWER).alias("overthinking_tokens"),
            (after.sum() / pl.when(after.is_not_null()).then(pl.col("reasoning_tokens")).sum())
            .fill_nan(None)
            .alias("overthinking_token_share"),
        ]
    if _has(traces, COST_AFTER_FIRST_ANSWER, "cost_reasoning"):
        measured = pl.col(COST_AFTER_FIRST_ANSWER).is_not_null()
        reasoning = pl.when(measured.any()).then(pl.col("cost_reasoning").filter(measured).sum())
        exprs += [
            measured.sum().alias("overthinking_priced_traces"),
            _sum(COST_AFTER_FIRST_ANSWER).alias("overthinking_cost"),
            reasoning.alias("overthinking_reasoning_cost"),
            (_sum(COST_AFTER_FIRST_ANSWER).cast(pl.Float64) / reasoning.cast(pl.Float64)).alias(
                "overthinking_share"
            ),
        ]
    if ANSWER_CHANGED_AFTER_FIRST in traces.columns:
        changed = pl.col(ANSWER_CHANGED_AFTER_FIRST)
        exprs += [
            changed.sum().alias("answer_changed"),
            changed.count().alias("answer_changed_known"),
            changed.mean().alias("answer_changed_share"),
        ]
    return exprs


def build(
    traces: pl.DataFrame,
    steps: pl.DataFrame | None,
    stats: IngestStats,
    by: list[str] | None = None,
    kinds_note: str | None = None,
    cap: overthinking.CapSpec | None = None,
    full: bool = False,
) -> Report:
    """The report of a run: `traces` and `steps` as `pipeline.analyze` collects them.

    `kinds_note` states the step-kind model's accuracy (default: the shipped model's);
    `cap` adds what a cap on reasoning tokens would have saved; `full` asks the human
    formats for every group rather than the top ones.
    """
    by = list(by or [])
    resolved = overthinking.resolve_cap(traces, cap) if cap else None
    if resolved is not None:
        traces = traces.with_columns(overthinking.cap_columns(traces, resolved.tokens))
    keyed = _keyed(traces, by)
    exprs = figures(keyed)
    overall = keyed.select(exprs) if keyed.height else pl.DataFrame({"traces": [0]})
    groups = (
        keyed.group_by(by).agg(exprs).sort(by, nulls_last=True) if by and keyed.height else overall
    )
    missing = [
        name
        for name, column in (
            ("tokens", "tokens_answer"),
            ("money", "cost_total"),
            ("what-if", "whatif_cost_total"),
            ("reasoning behaviour", "steps"),
            ("overthinking bill", REASONING_TOKENS_AFTER_FIRST_ANSWER),
            ("answer changes", ANSWER_CHANGED_AFTER_FIRST),
        )
        if column not in traces.columns
    ]
    if cap is not None and resolved is None:
        missing.append(f"reasoning cap {cap.text} (no trace has reasoning tokens)")
    kinds, summed = _kinds(keyed, steps, by)
    if kinds.height:
        kinds_note = (kinds_note or segment.default_model().note) + (
            "; shares are summed step probabilities" if summed else "; shares are argmax counts"
        )
    return Report(
        by=by,
        keys=by,
        overall=overall,
        groups=groups,
        kinds=kinds,
        outliers=_outliers(traces),
        stats=stats,
        estimates=_estimates(overall, resolved)
        + price_notes(traces)
        + ([kinds_note] if kinds.height and kinds_note else []),
        kinds_note=kinds_note or "",
        missing=missing,
        vs=overall["whatif_model"][0] if "whatif_model" in overall.columns else None,
        points=_points(keyed, by),
        logged=logged_vs_price(traces),
        models=spend_by_model(traces),
        cap=resolved,
        full=full,
        repeats=repeated(traces),
    )


def repeated(traces: pl.DataFrame) -> Repeated:
    """The repeats of a whole table: each (logged response id, choice) after its first."""
    if not traces.height:
        return Repeated()
    columns = traces.columns
    cost = pl.col("cost_total") if "cost_total" in columns else pl.lit(None, pl.Decimal(38, 12))
    parts = [pl.col(c).fill_null(0) for c in ("input_tokens", "output_tokens") if c in columns]
    tokens = pl.sum_horizontal(parts) if parts else pl.lit(0)
    choice = pl.col("choice").fill_null(0) if "choice" in columns else pl.lit(0)
    table = traces.with_columns(
        cost.alias("_cost"), tokens.cast(pl.Int64).alias("_tokens"), choice.alias("_choice")
    )
    if "response_id" not in columns:
        table = table.with_columns(pl.lit(None, pl.String).alias("response_id"))
    ids = pl.col("response_id")
    # a response a proxy replayed from its cache is a call of its own, no copy
    replayed = (
        pl.col("served_from_cache").fill_null(False)
        if "served_from_cache" in columns
        else pl.lit(False)
    )
    keyed = table.filter(ids.is_not_null() & (ids.str.strip_chars() != "") & ~replayed)
    again = keyed.filter(~pl.struct("response_id", "_choice").is_first_distinct())
    firsts = again.filter(pl.col("_choice") == 0)
    responses = firsts.select(pl.col("response_id").n_unique()).item() if firsts.height else 0
    return Repeated(
        traces=table.height,
        keyed=keyed.height,
        responses=responses,
        records=responses + firsts.height,
        repeats=again.height,
        priced=again["_cost"].count(),
        cost=Decimal(str(again["_cost"].sum() or 0)),
        cost_total=Decimal(str(table["_cost"].sum() or 0)),
        tokens=int(again["_tokens"].sum() or 0),
        tokens_total=int(table["_tokens"].sum() or 0),
    )


SPEND_PARTS = ("cost_input", "cost_cached_input", "cost_cache_write", "cost_reasoning")


def spend_by_model(traces: pl.DataFrame) -> pl.DataFrame:
    """Per model, the spend and its parts, most spent first (unpriced models last)."""
    if not _has(traces, "cost_total", MODEL):
        return pl.DataFrame()
    exprs = [
        pl.len().alias("traces"),
        _sum("cost_total").alias("cost_total"),
        *(_sum(c).alias(c) for c in SPEND_PARTS),
        (_sum("cost_output") - pl.col("cost_reasoning").sum()).alias("cost_answer"),
        pl.col("cost_total").is_null().sum().alias("traces_unpriced"),
    ]
    if COST_AFTER_FIRST_ANSWER in traces.columns:
        exprs.append(_sum(COST_AFTER_FIRST_ANSWER).alias("overthinking_cost"))
    return (
        traces.group_by(pl.col(MODEL).fill_null("(unknown)"))
        .agg(exprs)
        .sort(["cost_total", MODEL], descending=[True, False], nulls_last=True)
    )


def _logged_unpriced(traces: pl.DataFrame) -> list[pl.Expr]:
    """How many traces have a logged cost, how many of them are unpriced, and the logged
    cost of those (all null without a logged cost)."""
    if "cost_logged" not in traces.columns:
        return [
            pl.lit(None, pl.UInt32).alias("traces_logged"),
            pl.lit(None, pl.UInt32).alias("traces_logged_unpriced"),
            pl.lit(None, pl.Decimal(38, 12)).alias("cost_logged_unpriced"),
        ]
    unpriced = LOGGED.filter(pl.col("cost_total").is_null())
    return [
        pl.col("cost_logged").count().cast(pl.UInt32).alias("traces_logged"),
        unpriced.count().cast(pl.UInt32).alias("traces_logged_unpriced"),
        pl.when(unpriced.count() > 0).then(unpriced.sum()).alias("cost_logged_unpriced"),
    ]


def logged_vs_price(traces: pl.DataFrame) -> pl.DataFrame:
    """Per model, a store's own logged cost beside traceviz's dated price of the same traces,
    and a row of the model's logged traces traceviz did not price (`cost_traceviz` null).

    A priced row counts only traces with both figures, so the two sums are over the same
    calls; empty when no trace has a logged cost (or the price stage did not run).
    """
    if not _has(traces, "cost_logged", "cost_total", "model"):
        return pl.DataFrame()
    logged_traces = traces.filter(pl.col("cost_logged").is_not_null())
    if not logged_traces.height:
        return pl.DataFrame()
    # NOTE: the logged float is taken to the catalog's 12 decimals, so that equal prices
    # give a difference of exactly zero rather than float noise
    logged = pl.col("cost_logged").cast(pl.Decimal(38, 12))
    priced = pl.col("cost_total").is_not_null()
    return (
        logged_traces.group_by(pl.col("model").fill_null("(unknown)"), priced.alias("priced"))
        .agg(
            pl.len().alias("traces"),
            logged.sum().alias("cost_logged"),
            pl.when(priced.all()).then(pl.col("cost_total").sum()).alias("cost_traceviz"),
        )
        .drop("priced")
        .with_columns((pl.col("cost_traceviz") - pl.col("cost_logged")).alias("difference"))
        .with_columns(
            pl.when(pl.col("cost_logged") != 0)
            .then(pl.col("difference").cast(pl.Float64) / pl.col("cost_logged").cast(pl.Float64))
            .alias("difference_share")
        )
        .sort("model", pl.col("cost_traceviz").is_null())
    )


POINTS = 2000


def _points(traces: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Up to POINTS traces (a fixed-seed sample) for the HTML report's scatter charts."""
    wanted = [
        c
        for c in (
            "model",
            "reasoning_tokens",
            "first_answer_share",
            COST_AFTER_FIRST_ANSWER,
            "cost_total",
            *by,
        )
        if c in traces.columns
    ]
    if "reasoning_tokens" not in wanted:
        return pl.DataFrame()
    sample = traces.select(list(dict.fromkeys(wanted))).drop_nulls("reasoning_tokens")
    return sample.sample(POINTS, seed=0) if sample.height > POINTS else sample


def _kinds(
    traces: pl.DataFrame, steps: pl.DataFrame | None, by: list[str]
) -> tuple[pl.DataFrame, bool]:
    """The estimated share of steps of each kind, per group: from each trace's summed
    kind probabilities (`expected_steps_<kind>`), else its argmax counts (`steps_<kind>`;
    no join, so traces sharing an id count once each), else the steps table. True when
    the shares are summed probabilities."""
    expected = [c for c in traces.columns if c.startswith(EXPECTED_STEPS_PREFIX)]
    if not expected or traces.select(pl.all_horizontal(pl.col(expected).is_null().all())).item():
        expected = []
    prefix = EXPECTED_STEPS_PREFIX if expected else KIND_STEPS_PREFIX
    columns = expected or [c for c in traces.columns if c.startswith(KIND_STEPS_PREFIX)]
    if columns:
        per_kind = (
            traces.select(*by, *columns)
            .unpivot(columns, index=by, variable_name="kind", value_name="steps")
            .with_columns(pl.col("kind").str.strip_prefix(prefix))
        )
    elif steps is not None:
        per_kind = steps.join(traces.select("trace_id", *by), on="trace_id", how="left").select(
            *by, "kind", pl.lit(1).alias("steps")
        )
    else:
        per_kind = pl.DataFrame(
            schema={**dict.fromkeys(by, pl.String), "kind": pl.String, "steps": pl.Int64}
        )
    counts = (
        per_kind.group_by([*by, "kind"])
        .agg(pl.col("steps").cast(pl.Float64).sum())
        .filter(pl.col("steps") > 0)
    )
    total = pl.col("steps").sum().over(by) if by else pl.col("steps").sum()
    shares = counts.with_columns((pl.col("steps") / total).alias("share"))
    return shares.sort([*by, "kind"], nulls_last=True), bool(expected)


def _outliers(traces: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The traces worth opening: most expensive, longest, looping, truncated."""
    shown = [
        c
        for c in ("trace_id", "source", "line", "model", "output_tokens", "cost_total")
        if c in traces.columns
    ]
    found: dict[str, pl.DataFrame] = {}
    for name, column in (("most_expensive", "cost_total"), ("longest", "output_tokens")):
        if column in traces.columns:  # a stable sort of the few columns shown, not the table
            found[name] = (
                traces.select(shown)
                .drop_nulls(column)
                .sort(column, descending=True, maintain_order=True)
                .head(OUTLIER_COUNT)
            )
    for flag in ("looping", "truncated"):
        if flag in traces.columns:
            found[flag] = traces.filter(pl.col(flag).fill_null(False)).head(OUTLIER_COUNT)
    return {name: frame.select(shown) for name, frame in found.items()}


def _estimates(overall: pl.DataFrame, cap: overthinking.Cap | None) -> list[str]:
    notes = []
    row = overall.row(0, named=True)
    if "overthinking_tokens" in row:
        notes.append("the overthinking bill is a proxy (its rule and accuracy under its table)")
    if cap is not None:
        notes.append("the reasoning cap's savings and risk are estimates (rule under its table)")
    if row.get("traces_counted"):
        notes.append(
            f"{row['traces_counted']:,} traces carry no usage: their tokens are counted,"
            " and priced as counted"
        )
    if row.get("traces_hidden_reasoning"):
        notes.append("hidden reasoning is taken from billed usage (reasoning_tokens), not counted")
    if row.get("traces_unpriced"):
        notes.append(
            f"{row['traces_unpriced']:,} traces have no price in the catalog"
            " and are left out of costs"
        )
    if row.get("whatif_model"):
        notes.append(
            f"what-if costs on {row['whatif_model']} are estimates: prompt and answer"
            " re-counted with its tokenizer, reasoning scaled by a ratio of"
            f" {row.get('whatif_ratio')} (low-high from its range)"
        )
        if logged := row.get("whatif_prompt_logged"):
            notes[-1] += (
                f"; {logged:,} trace{'' if logged == 1 else 's'} without prompt text: billed"
                " prompt tokens used (whatif_prompt_logged)"
            )
    return notes


def _keyed(traces: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The traces with one column per key, named by the key (as this reference always
    named them; traceviz itself names them `groups.column(key)`)."""
    keyed = group_columns(traces, by).drop([k for k in by if k in traces.columns])
    return keyed.rename({group_column(k): k for k in by})
