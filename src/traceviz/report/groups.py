"""The report's groups: one column per `--by` key (a column, a day or week, a metadata key).

Shared by the report, `audit` and `compare`, so a key means the same everywhere. Group
keys are text (`String`), so groups from different results of one run compare equal.
"""

from __future__ import annotations

import json

import polars as pl

from traceviz.schema import (
    CACHED_INPUT_TOKENS,
    CREATED,
    INPUT_TOKENS,
    METADATA,
    REASONING_TOKENS,
    TOKENS_ANSWER,
)

TIME_KEYS = {"day": "1d", "week": "1w"}
TOKEN_PARTS = {
    "reasoning": REASONING_TOKENS,
    "answer": TOKENS_ANSWER,
    "prompt": INPUT_TOKENS,
    "cached_prompt": CACHED_INPUT_TOKENS,
}


def group_columns(traces: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The traces with one column per `--by` key: a column, a time bucket, or metadata."""
    exprs = []
    for key in by:
        if key in TIME_KEYS:
            exprs.append(
                pl.col(CREATED).dt.truncate(TIME_KEYS[key]).dt.date().cast(pl.String).alias(key)
            )
        elif key in traces.columns:
            exprs.append(pl.col(key).cast(pl.String).alias(key))
        else:
            exprs.append(pl.col(METADATA).str.json_path_match(metadata_path(key)).alias(key))
    return traces.with_columns(exprs) if exprs else traces


def metadata_path(key: str) -> str:
    """The JSON path of a metadata key, quoted: `$.{key}` read `a.b` as a nested path,
    `*` as any key and `x)` as `x`, and failed to compile on `$` or `..`. A key holding
    a backslash matches nothing (the path reader does not unescape it)."""
    return f"$[{json.dumps(key)}]"


def metadata_keys(columns: list[str], by: list[str]) -> list[str]:
    """The `--by` keys read from the metadata (neither a time bucket nor a column)."""
    return [key for key in by if key not in TIME_KEYS and key not in columns]
