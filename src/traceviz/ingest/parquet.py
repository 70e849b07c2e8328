"""Parquet: each row a record (a dict of column -> value), at its row number.

Parquet's index sits at the end of the file, so a stream (stdin, a pipe, a compressed
file) is first copied to a temporary file. Rows are read a row group and a few rows at
a time, in bounded memory: each row group is probed with its first row, then read in
batches of about `_PARQUET_BATCH_BYTES` decoded bytes (a file of a few KB can hold a
dictionary-encoded value repeated in a million rows); a row over the record limit is
quarantined without being turned into Python values.

NOTE: pyarrow and numpy are imported inside the functions that use them: they are
heavy, and only a run that meets a Parquet file needs them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Any

from traceviz.ingest.files import is_stream, peek
from traceviz.ingest.interface import (
    READ_CHUNK,
    Container,
    Item,
    Opened,
    RawRecord,
    Sniff,
    describe,
    too_large,
)
from traceviz.schema import Quarantined

MAGIC = b"PAR1"
_PARQUET_BATCH_BYTES = 8 * 1024 * 1024  # decoded bytes of Parquet rows held at once
_PARQUET_MAX_ROWS = 4096


class Parquet(Container):
    """A Parquet file: a table, each row a record."""

    name = "parquet"
    suffixes = frozenset({".parquet"})

    def sniff(self, head: bytes) -> Sniff | None:
        return Sniff.CONTENT if head.startswith(MAGIC) else None

    def read(self, file: Opened, limit: int, batch: bool) -> Iterator[Item]:
        plain = not is_stream(file.source) and peek(file.stream, 4) == MAGIC
        return read_parquet(file.name, file.source if plain else file.stream, limit, batch)


def read_parquet(source: str, file: str | IO[bytes], limit: int, batch: bool) -> Iterator[Item]:
    """Parquet rows of a path or a stream, a row group and a few rows at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    spool: IO[bytes] | None = None
    row = 0
    try:
        if isinstance(file, str):
            handle: Any = file
        else:
            spool = tempfile.TemporaryFile(prefix="traceviz-")  # noqa: SIM115 - closed below
            while chunk := file.read(READ_CHUNK):
                spool.write(chunk)
            spool.seek(0)
            handle = spool
        parquet = pq.ParquetFile(handle)
        for group in range(parquet.num_row_groups):
            for record_batch in _row_group_batches(parquet, group):
                sizes = _row_sizes(record_batch)
                keep = [i for i, size in enumerate(sizes) if size <= limit]
                values = (
                    record_batch.take(pa.array(keep, pa.int64())).to_pylist()
                    if len(keep) < len(sizes)
                    else record_batch.to_pylist()
                )
                taken = iter(values)
                for size in sizes:
                    row += 1
                    if size > limit:
                        yield Quarantined(source, row, too_large(size, limit))
                    else:
                        yield RawRecord(source, row, next(taken), batch)
    except (pa.ArrowException, OSError, ValueError) as exc:
        yield Quarantined(source, row + 1, f"unreadable Parquet: {describe(exc)}")
    finally:
        if spool is not None:
            spool.close()


def _row_group_batches(parquet: Any, group: int) -> Iterator[Any]:
    """The rows of one row group: its first row alone, then batches sized by that row."""
    probe = parquet.iter_batches(batch_size=1, row_groups=[group], use_threads=False)
    first = next(probe, None)
    if first is None:
        return
    yield first
    per_row = max(1, first.nbytes)
    rows = max(1, min(_PARQUET_MAX_ROWS, _PARQUET_BATCH_BYTES // per_row))
    if rows == 1:
        yield from probe
        return
    skip = 1  # the first row, already read
    for record_batch in parquet.iter_batches(
        batch_size=rows, row_groups=[group], use_threads=False
    ):
        if skip:
            record_batch, skip = record_batch.slice(skip), 0
        if record_batch.num_rows:
            yield record_batch


def _row_sizes(record_batch: Any) -> list[int]:
    """Bytes of each row's values (strings and binaries by length, numbers by width)."""
    import numpy as np

    sizes = np.zeros(record_batch.num_rows, dtype=np.int64)
    for column in record_batch.columns:
        sizes += _value_sizes(column)
    return [int(n) for n in sizes]


def _value_sizes(array: Any) -> Any:
    """Bytes of each value of an Arrow array, nested values summed into their parent."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    n = len(array)
    if pa.types.is_dictionary(kind):
        lengths = _value_sizes(array.dictionary)
        indices = array.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        out = lengths[indices] if len(lengths) else np.zeros(n, dtype=np.int64)
        return np.where(array.is_null().to_numpy(zero_copy_only=False), 0, out)
    if (
        pa.types.is_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_large_binary(kind)
    ):
        return pc.binary_length(array).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_struct(kind):
        total = np.zeros(n, dtype=np.int64)
        for child in array.flatten():
            total += _value_sizes(child)
        return total
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind):
        offsets = array.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        first, last = int(offsets[0]), int(offsets[-1])
        if pa.types.is_map(kind):
            child = _value_sizes(array.keys.slice(first, last - first))
            child = child + _value_sizes(array.items.slice(first, last - first))
        else:
            child = _value_sizes(array.values.slice(first, last - first))
        running = np.concatenate([[0], np.cumsum(child, dtype=np.int64)])
        return running[offsets[1:] - first] - running[offsets[:-1] - first]
    if pa.types.is_null(kind):
        return np.zeros(n, dtype=np.int64)
    try:
        width = max(1, kind.bit_width // 8)
    except ValueError:  # another variable-width type: its bytes spread evenly
        width = array.nbytes // max(1, n)
    return np.full(n, width, dtype=np.int64)
