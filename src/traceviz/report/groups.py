"""The report's groups: one column per `--by` key (a column, a day or week, a metadata key).

Shared by the report, `audit` and `compare`, so a key means the same everywhere. Group
keys are text (`String`), so groups from different results of one run compare equal.

A key's column is named `column(key)` (a prefix no schema column or figure starts with),
never the key itself: a metadata key may be named like a column the report makes of its
own (`kind`, `traces`, `cost_total`), and the two must not clash. A finished report names
the columns as the user gave the keys (`shown`); a key that names a real column (`model`)
groups by a copy of it.
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

PREFIX = "\x1fby:"  # a control character: no column, figure or likely metadata key has it
SHOWN_PREFIX = "by:"  # where an output already has a column named like the key
TIME_KEYS = {"day": "1d", "week": "1w"}
TOKEN_PARTS = {
    "reasoning": REASONING_TOKENS,
    "answer": TOKENS_ANSWER,
    "prompt": INPUT_TOKENS,
    "cached_prompt": CACHED_INPUT_TOKENS,
}


def column(key: str) -> str:
    """The name of a `--by` key's group column (never a column's or a figure's name)."""
    return PREFIX + key


def columns(by: list[str] | tuple[str, ...]) -> list[str]:
    """The group columns of the `--by` keys, in their order."""
    return [column(key) for key in by]


def group_columns(traces: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The traces with one column per `--by` key (named `column(key)`): a column's
    values as text, a time bucket, or a metadata key's value."""
    exprs = []
    for key in by:
        name = column(key)
        if key in TIME_KEYS:
            exprs.append(
                pl.col(CREATED).dt.truncate(TIME_KEYS[key]).dt.date().cast(pl.String).alias(name)
            )
        elif key in traces.columns:
            exprs.append(pl.col(key).cast(pl.String).alias(name))
        else:
            exprs.append(pl.col(METADATA).str.json_path_match(metadata_path(key)).alias(name))
    return traces.with_columns(exprs) if exprs else traces


def shown(
    by: list[str] | tuple[str, ...], frames: list[pl.DataFrame], reserved: tuple[str, ...] = ()
) -> dict[str, str]:
    """The names the report's outputs give the group columns of `by` in `frames`: each
    key as the user gave it, or `by:<key>` where a frame has a column of its own named
    like the key (`--by traces`: a group's trace count), or an output adds one
    (`reserved`), prefixed again until free."""
    taken = {c for frame in frames for c in frame.columns if not c.startswith(PREFIX)}
    taken.update(reserved)
    names = {}
    for key in by:
        name = key
        while name in taken:
            name = SHOWN_PREFIX + name
        taken.add(name)
        names[column(key)] = name
    return names


def metadata_path(key: str) -> str:
    """The JSON path of a metadata key, quoted: `$.{key}` read `a.b` as a nested path,
    `*` as any key and `x)` as `x`, and failed to compile on `$` or `..`. A key holding
    a backslash matches nothing (the path reader does not unescape it)."""
    return f"$[{json.dumps(key)}]"


def metadata_keys(columns: list[str], by: list[str]) -> list[str]:
    """The `--by` keys read from the metadata (neither a time bucket nor a column)."""
    return [key for key in by if key not in TIME_KEYS and key not in columns]
