"""Writing tables to files in streamed batches: Parquet, JSON Lines, CSV.

The file is written beside its target and renamed into place when the last batch is in,
so a failed run leaves any old file as it was. CSV cells that begin with `=`, `+`, `-`,
`@` (or a tab or carriage return) are prefixed with a quote so that spreadsheets show
them as text, never run them, and control characters in them are written as
`\\x1b`-style escapes (`escape.csv_frame`); JSON Lines write C1 and bidi characters
as `\\u` escapes, which read back as the same text; Parquet keeps every value as logged.
A write that fails (a full disk) is an `OutputError` naming the file. Money (Decimal
columns) is written to JSON Lines and CSV as exact decimal strings, never as floats.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import polars as pl

from traceviz._version import __version__
from traceviz.errors import ConfigError
from traceviz.escape import csv_frame, json_bytes
from traceviz.guard import atomic_file
from traceviz.ingest import OWN_TABLE_KEY
from traceviz.outputs import output_error
from traceviz.schema import TRACE_SCHEMA

# the suffixes a table may be written with, and the format each names
TABLE_FORMATS: Mapping[str, str] = {
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}


def table_suffix(path: str) -> str:
    """The suffix of a table's path, when it names a table format; else a `ConfigError`."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        msg = f"{path}: cannot write a table with suffix {suffix!r}"
        raise ConfigError(msg, hint="Use a name ending in .parquet, .jsonl or .csv.")
    return suffix


class TableWriter:
    """A table written batch by batch; the format comes from the file's suffix."""

    def __init__(self, path: str, empty_schema: dict[str, pl.DataType] | None = None) -> None:
        self.path = path
        self.suffix = table_suffix(path)
        self._atomic = contextlib.ExitStack()
        self._temporary = path
        self._parquet: Any = None
        self._handle: IO[bytes] | None = None
        self._wrote_header = False
        self.rows = 0
        # the columns of the file written when no batch came (an empty table of its kind)
        self.empty_schema = empty_schema if empty_schema is not None else dict(TRACE_SCHEMA)

    def write(self, batch: pl.DataFrame) -> None:
        try:
            self._write(batch)
        except OSError as exc:
            raise output_error(self.path, exc) from exc

    def _write(self, batch: pl.DataFrame) -> None:
        self.rows += batch.height
        if self.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = batch.to_arrow()
            if self._parquet is None:
                # the mark by which a folder's walk knows a traceviz table (ingest/own_outputs)
                schema = table.schema.with_metadata({OWN_TABLE_KEY: __version__.encode()})
                self._parquet = pq.ParquetWriter(self._temporary, schema, compression="zstd")
            self._parquet.write_table(table)
            return
        if self._handle is None:
            self._handle = Path(self._temporary).open("wb")  # noqa: SIM115 - closed in __exit__
        batch = exact_money(batch)
        if self.suffix == ".csv":
            csv_frame(batch).write_csv(self._handle, include_header=not self._wrote_header)
            self._wrote_header = True
        else:
            self._handle.write(json_bytes(batch.write_ndjson().encode()))

    def __enter__(self) -> TableWriter:
        try:
            self._temporary = self._atomic.enter_context(atomic_file(self.path))
        except OSError as exc:
            raise output_error(self.path, exc) from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            try:
                if self._parquet is not None:
                    self._parquet.close()
                if self._handle is not None:
                    self._handle.close()
                if self._parquet is None and self._handle is None and exc_type is None:
                    self._write_empty()
            except BaseException as error:  # the temporary file goes, the old one stays
                self._atomic.__exit__(type(error), error, error.__traceback__)
                raise
            self._atomic.__exit__(exc_type, exc, tb)
        except OSError as error:
            if exc_type is None:
                raise output_error(self.path, error) from error

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
