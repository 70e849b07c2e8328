"""The report as a data table, one row per group (and one overall): CSV or Parquet.

The overall row is the one whose `overall` column is true (its key cells read `(all)`,
which a logged value may also be: the column, not the label, tells the totals apart).
CSV cells that a spreadsheet would run as a formula are neutralised, controls made visible.
"""

from __future__ import annotations

import io

import polars as pl

from traceviz.escape import csv_frame
from traceviz.report.aggregate import ALL, OVERALL_ROW, Report


def frame(report: Report) -> pl.DataFrame:
    """The groups' rows then the overall row (`(all)` in its key columns, `overall` true)."""
    overall = report.overall.with_columns(
        *(pl.lit(ALL).alias(k) for k in report.keys), pl.lit(True).alias(OVERALL_ROW)
    )
    if not report.by:
        return overall
    groups = report.groups.with_columns(pl.lit(False).alias(OVERALL_ROW)).select(overall.columns)
    return pl.concat([groups, overall.select(groups.columns)], how="vertical_relaxed")


def render_csv(report: Report) -> bytes:
    buffer = io.BytesIO()
    data = frame(report)
    csv_frame(data.select(pl.all().exclude(pl.List(pl.Null)))).write_csv(buffer)
    return buffer.getvalue()


def render_parquet(report: Report) -> bytes:
    buffer = io.BytesIO()
    frame(report).write_parquet(buffer)
    return buffer.getvalue()
