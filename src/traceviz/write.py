"""Writing tables to files in streamed batches: Parquet, JSON Lines, CSV.

CSV cells that begin with `=`, `+`, `-`, `@` (or a tab or carriage return) are
prefixed with a quote so that spreadsheets show them as text, never run them.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO, Any

import polars as pl

from traceviz import __version__
from traceviz.errors import ConfigError
from traceviz.ingest import OWN_TABLE_KEY

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
        if self.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = batch.to_arrow()
            if self._parquet is None:
                # the mark by which a folder's walk knows a table traceviz wrote (ingest.py)
                schema = table.schema.with_metadata({OWN_TABLE_KEY: __version__.encode()})
                self._parquet = pq.ParquetWriter(self.path, schema, compression="zstd")
            self._parquet.write_table(table)
            return
        if self._handle is None:
            self._handle = Path(self.path).open("wb")  # noqa: SIM115 - closed in __exit__
        if self.suffix == ".csv":
            neutralise_formulas(batch).write_csv(
                self._handle, include_header=not self._wrote_header
            )
            self._wrote_header = True
        else:
            batch.write_ndjson(self._handle)

    def __enter__(self) -> TableWriter:
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

    def _write_empty(self) -> None:
        from traceviz.schema import empty_traces

        empty = empty_traces()
        if self.suffix == ".parquet":
            empty.write_parquet(self.path)
        elif self.suffix == ".csv":
            empty.write_csv(self.path)
        else:
            Path(self.path).write_bytes(b"")
