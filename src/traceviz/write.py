"""Writing tables to files in streamed batches: Parquet, JSON Lines, CSV.

The file is written beside its target and renamed into place when the last batch is in,
so a failed run leaves any old file as it was. CSV cells that begin with `=`, `+`, `-`,
`@` (or a tab or carriage return) are prefixed with a quote so that spreadsheets show
them as text, never run them. Money (Decimal columns) is written to JSON Lines and CSV
as exact decimal strings, never as floats.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import polars as pl

from traceviz._version import __version__
from traceviz.errors import ConfigError
from traceviz.guard import atomic_file
from traceviz.ingest import OWN_TABLE_KEY
from traceviz.schema import TRACE_SCHEMA

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """String cells that a spreadsheet would run as a formula, prefixed with `'`."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    starts = "^[" + "".join("\\" + p if p in "-+" else p for p in "=+-@") + "\t\r]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(starts))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )


class TableWriter:
    """A table written batch by batch; the format comes from the file's suffix."""

    SUFFIXES = (".parquet", ".jsonl", ".ndjson", ".csv")

    def __init__(self, path: str, empty_schema: dict[str, pl.DataType] | None = None) -> None:
        suffix = Path(path).suffix.lower()
        if suffix not in self.SUFFIXES:
            msg = f"{path}: cannot write a table with suffix {suffix!r}"
            raise ConfigError(msg, hint="Use a name ending in .parquet, .jsonl or .csv.")
        self.path = path
        self.suffix = suffix
        self._atomic = contextlib.ExitStack()
        self._temporary = path
        self._parquet: Any = None
        self._handle: IO[bytes] | None = None
        self._wrote_header = False
        self.rows = 0
        # the columns of the file written when no batch came (an empty table of its kind)
        self.empty_schema = empty_schema if empty_schema is not None else dict(TRACE_SCHEMA)

    def write(self, batch: pl.DataFrame) -> None:
        self.rows += batch.height
        if self.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = batch.to_arrow()
            if self._parquet is None:
                # the mark by which a folder's walk knows a table traceviz wrote (ingest.py)
                schema = table.schema.with_metadata({OWN_TABLE_KEY: __version__.encode()})
                self._parquet = pq.ParquetWriter(self._temporary, schema, compression="zstd")
            self._parquet.write_table(table)
            return
        if self._handle is None:
            self._handle = Path(self._temporary).open("wb")  # noqa: SIM115 - closed in __exit__
        batch = exact_money(batch)
        if self.suffix == ".csv":
            neutralise_formulas(batch).write_csv(
                self._handle, include_header=not self._wrote_header
            )
            self._wrote_header = True
        else:
            batch.write_ndjson(self._handle)

    def __enter__(self) -> TableWriter:
        self._temporary = self._atomic.enter_context(atomic_file(self.path))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()
        if self._parquet is None and self._handle is None and exc_type is None:
            self._write_empty()
        self._atomic.__exit__(exc_type, exc, tb)

    def _write_empty(self) -> None:
        empty = pl.DataFrame(schema=self.empty_schema)
        if self.suffix == ".parquet":
            empty.write_parquet(self._temporary)
        elif self.suffix == ".csv":
            empty.write_csv(self._temporary)
        else:
            Path(self._temporary).write_bytes(b"")


def exact_money(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimal columns as exact decimal text without trailing zeros (`0.000547`)."""
    money = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    return frame.with_columns(
        pl.col(name).cast(pl.String).str.replace(r"(\.\d*?)0+$", "$1").str.replace(r"\.$", "")
        for name in money
    )
