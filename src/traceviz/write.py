"""Writing tables to files in streamed batches: Parquet, JSON Lines, CSV.

CSV cells that begin with `=`, `+`, `-`, `@` (or a tab or carriage return) are
prefixed with a quote so that spreadsheets show them as text, never run them, and
control characters in them are written as `\\x1b`-style escapes (`report.text.csv_frame`);
JSON Lines write C1 and bidi characters as `\\u` escapes, which read back as the same
text. Parquet keeps every value as it was logged. A write that fails (a full disk) is an
`OutputError` naming the file.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import polars as pl

from traceviz.errors import ConfigError
from traceviz.outputs import output_error, write_bytes
from traceviz.report.text import csv_frame, json_bytes


class TableWriter:
    """A table written batch by batch; the format comes from the file's suffix."""

    SUFFIXES = (".parquet", ".jsonl", ".ndjson", ".csv")

    def __init__(self, path: str) -> None:
        suffix = Path(path).suffix.lower()
        if suffix not in self.SUFFIXES:
            msg = f"{path}: cannot write a table with suffix {suffix!r}"
            raise ConfigError(msg, hint="Use a name ending in .parquet, .jsonl or .csv.")
        self.path = path
        self.suffix = suffix
        self._parquet: Any = None
        self._handle: IO[bytes] | None = None
        self._wrote_header = False

    def write(self, batch: pl.DataFrame) -> None:
        try:
            self._write(batch)
        except OSError as exc:
            raise output_error(self.path, exc) from exc

    def _write(self, batch: pl.DataFrame) -> None:
        if self.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = batch.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._parquet.write_table(table)
            return
        if self._handle is None:
            self._handle = Path(self.path).open("wb")  # noqa: SIM115 - closed in __exit__
        if self.suffix == ".csv":
            csv_frame(batch).write_csv(self._handle, include_header=not self._wrote_header)
            self._wrote_header = True
        else:
            self._handle.write(json_bytes(batch.write_ndjson().encode()))

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._parquet is not None:
                self._parquet.close()
            if self._handle is not None:
                self._handle.close()
        except OSError as error:
            if exc_type is None:
                raise output_error(self.path, error) from error
        if self._parquet is None and self._handle is None and exc_type is None:
            self._write_empty()

    def _write_empty(self) -> None:
        from traceviz.schema import empty_traces

        empty = empty_traces()
        if self.suffix == ".parquet":
            buffer = io.BytesIO()
            empty.write_parquet(buffer)
            write_bytes(self.path, buffer.getvalue())
        elif self.suffix == ".csv":
            write_bytes(self.path, empty.write_csv().encode())
        else:
            write_bytes(self.path, b"")
