"""Per-file results kept between runs, keyed by the file's path, its identity on disk and
the tool's version and code.

A second `traceviz report` over unchanged logs reads each file's measured traces (tokens,
steps, metrics; text dropped), its quarantined records and its totals from here instead
of reading and counting again; a file that changed is read again. Prices are not
cached: they are applied after, from the catalog of the day.

How a file is known to be unchanged, without reading it: its *stamp*, the size,
`mtime_ns`, `ctime_ns`, inode and device of the file and of its companions (a SQLite
database's `-wal`), taken when the run starts. An entry records the stamp and the
BLAKE2b of the bytes it was measured from:

- same stamp: a hit, nothing is read (a warm run reads no input at all);
- another stamp (touched, copied, checked out again, replaced, edited): the file is
  hashed, and if its bytes are those of the entry it is still a hit (the new stamp is
  recorded), else a miss and the file is measured again;
- no entry: a miss; the file is hashed once, beside the run (a thread of the driver
  while the workers measure), so that a later touch of it costs a hash, not a recount.
  Before this, every file was hashed before the run and then read by it: each input
  was read twice on every run, warm or cold.

NOTE: the limit of a stamp. A file rewritten with the same size while keeping its
inode, its mtime *and* its ctime is taken for the old one. `touch -r`, `touch -d` or
`os.utime` put an mtime back but cannot put a ctime back (the kernel sets it to now
on every change), so restored mtimes are caught; what is not caught is a rewrite
within the file system's timestamp granularity (a few milliseconds on ext4, 2 s on
FAT, more on some network file systems) or under a clock set back. A stamp taken
within `RACY_NS` of the file's own mtime or ctime is therefore never trusted (it is
hashed again next time: git's "racily clean" rule), and `--no-cache` always counts.

Invariants:
- the key covers the file's path, the tool's version, its code and shipped data, and
  the whole settings object that shaped the result (`settings_key` hashes every field, so an
  option added later cannot be forgotten; the caller names the fields that only price);
  the entry under it answers only for the bytes (stamp, else content hash) it records;
- a result is stored only if the file's stamp at the end of the run is the one taken
  at its start and its hash was taken of those bytes (a file written to during the run
  is not cached);
- an entry is written whole or not at all (a temporary folder renamed into place), and a
  failing or full disk costs speed, never the run; a run stopped mid-file leaves none;
- an entry is verified before it is used: every part's digest must be the one recorded
  when it was written, checked for all parts before any is read, and its totals must
  add up (`read = parsed + quarantined + skipped`, as many traces as rows). Anything
  else is a miss.

An entry holds a file's traces in *parts*, one per shard result, in the order measured:
`EntryWriter.add` appends each part's Parquet bytes to the staging folder's one parts
file as the result arrives, and `Entry.parts` hands them back one at a time, so neither
a cold nor a warm run of a big file holds its whole table in the driver. Entries of the
layout before (one `traces.parquet`) have another key, and their meta lacks the layout:
a miss either way.

NOTE: past 400 lines, of which this docstring is 60: it states every rule of the stamp,
the hash and their one limit in full. The rest is one job (keys, stamps, entries
written whole and verified), split no further so that its invariants read in one place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
import polars as pl

from traceviz._version import __version__
from traceviz.errors import TracevizError
from traceviz.ingest import companion_files
from traceviz.schema import IngestStats, Quarantined

_HASH_CHUNK = 8 * 1024 * 1024
_PARTS = "traces.parts"  # an entry's traces: Parquet parts one after another
FORMAT = 2  # entries keyed by path and stamp (1: keyed by the content hash)
LAYOUT = 3  # traces in parts, one a result (2: one traces.parquet); in the key and meta
RACY_NS = 2_000_000_000  # a stamp this close to the file's last change is not trusted
BACKGROUND_BYTES = 1024 * 1024  # smaller files are hashed when their result is stored

Stamp = list[
    list[int]
]  # per file (the source, then its companions): size, mtime, ctime, inode, device


def default_dir() -> Path:
    """`$TRACEVIZ_CACHE_DIR`, else `$XDG_CACHE_HOME/traceviz`, else `~/.cache/traceviz`."""
    if "TRACEVIZ_CACHE_DIR" in os.environ:
        return Path(os.environ["TRACEVIZ_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "traceviz"


def content_hash(path: str) -> str:
    """BLAKE2b of a file's bytes, and of its companions' (a SQLite database's `-wal`)."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (path, *companion_files(path)):
        with Path(part).open("rb") as file:
            while chunk := file.read(_HASH_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def file_stamp(path: str) -> Stamp:
    """What the file system says of a file and its companions, without reading them:
    size, mtime_ns, ctime_ns, inode, device each (an `OSError` when it cannot be stat'ed)."""
    stamp = []
    for part in (path, *companion_files(path)):
        info = Path(part).stat()
        stamp.append([info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev])
    return stamp


def _racy(stamp: Stamp, taken_ns: int) -> bool:
    """Whether a file changed so shortly before its stamp was taken that a change within
    the same timestamp tick would leave the stamp as it is."""
    return any(taken_ns - max(part[1], part[2]) < RACY_NS for part in stamp)


def _hash_if_unchanged(source: str, stamp: Stamp) -> str | None:
    """The content hash of a file whose stamp is still `stamp` after hashing, else None."""
    try:
        content = content_hash(source)
        return content if file_stamp(source) == stamp else None
    except OSError:
        return None


def settings_key(settings: object) -> str:
    """A digest of a settings object: every field of every nested dataclass, recursively.

    A value of a type it does not know is a `TypeError`, never skipped, so a new option
    cannot be left out of the cache key by accident.
    """
    digest = hashlib.blake2b(digest_size=20)
    _feed(digest, settings)
    return digest.hexdigest()


def _feed(digest: hashlib.blake2b, value: object) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(f"<{type(value).__qualname__}".encode())
        for item in dataclasses.fields(value):
            digest.update(f"{item.name}=".encode())
            _feed(digest, getattr(value, item.name))
        digest.update(b">")
    elif isinstance(value, np.ndarray):
        digest.update(f"<array {value.dtype} {value.shape}>".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        digest.update(b"{")
        for key in sorted(value, key=repr):
            _feed(digest, key)
            _feed(digest, value[key])
        digest.update(b"}")
    elif isinstance(value, list | tuple | frozenset | set):
        items = sorted(value, key=repr) if isinstance(value, frozenset | set) else value
        digest.update(f"<{type(value).__name__}".encode())
        for item in items:
            _feed(digest, item)
        digest.update(b">")
    elif value is None or isinstance(
        value, str | bytes | int | float | bool | Decimal | datetime | date | Path
    ):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        msg = f"cannot key the cache on a {type(value).__name__} setting"
        raise TypeError(msg)


@cache
def _shipped_hash() -> str:
    """The installed package's code and data (kinds model, tokenizer metadata), of which
    a result is made: once a process, only when a cache is used (4-6 ms)."""
    return package_hash(files("traceviz"))


def package_hash(root: Traversable) -> str:
    """The BLAKE2b of a package's Python sources (each named by its path in the package)
    and of the data files that shape a result.

    NOTE: the version alone is not enough: two installs of one version from different
    commits (a checkout, `pip install git+...@commit`), or an edited checkout, would
    read each other's entries, measured by other code; the rank files are covered by
    the SHA-256 that `tokenizers.py` holds for each.
    """
    digest = hashlib.blake2b(digest_size=12)
    for name, source in sorted(_sources(root, "")):
        digest.update(f"{name}\0{len(source)}\0".encode())
        digest.update(source)
    for name in ("kinds-model.json", "deepseek_v3.json"):
        digest.update((root / "data" / name).read_bytes())
    return digest.hexdigest()


def _sources(folder: Traversable, prefix: str) -> Iterator[tuple[str, bytes]]:
    """(path in the package, bytes) of every `.py` file under `folder`."""
    for item in folder.iterdir():
        if item.is_dir():
            if item.name != "__pycache__":
                yield from _sources(item, f"{prefix}{item.name}/")
        elif item.name.endswith(".py"):
            yield f"{prefix}{item.name}", item.read_bytes()


@dataclass
class _Seen:
    """What a run knows of one file it keys: its path and stamp, and its bytes' hash."""

    source: str
    stamp: Stamp
    taken_ns: int
    content: str | None = None  # known: hashed, or trusted from an entry of equal stamp
    pending: Future[str | None] | None = None  # being hashed beside the run
    refresh: bool = False  # the entry's bytes matched under another stamp: record this one


class ResultCache:
    """A folder of per-file results."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_dir()
        self.hits = 0
        self.misses = 0
        self.hashed = 0  # files read to hash them (none on a warm run of unchanged files)
        self._seen: dict[str, _Seen] = {}
        self._hasher: ThreadPoolExecutor | None = None

    def key(self, source: str, settings: str) -> str:
        """The key of a file's result: its path, and the settings that shape it.

        Stats the file (an `OSError` when it cannot be); reads none of it.
        """
        taken = time.time_ns()
        stamp = file_stamp(source)
        digest = hashlib.blake2b(digest_size=20)
        for part in (f"{FORMAT}.{LAYOUT}", __version__, _shipped_hash(), settings, source):
            digest.update(part.encode())
            digest.update(b"\0")
        key = digest.hexdigest()
        self._seen[key] = _Seen(source, stamp, taken)
        return key

    def _folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def has(self, key: str) -> bool:
        """Whether a result for the file's current bytes is kept under `key` (a miss is
        counted when not). Hashes the file only when its stamp is not the entry's."""
        seen = self._seen.get(key)
        try:
            meta = orjson.loads((self._folder(key) / "meta.json").read_bytes())
        except (OSError, ValueError):
            meta = None
        found = meta is not None if seen is None else self._same_bytes(seen, meta)
        self.misses += not found
        if not found and seen is not None and seen.content is None:
            self._hash_beside(seen)
        return found

    def _same_bytes(self, seen: _Seen, meta: Any) -> bool:
        """Whether the entry `meta` was measured from the bytes the file holds now."""
        recorded = meta.get("file") if isinstance(meta, dict) else None
        if not isinstance(recorded, dict) or not isinstance(recorded.get("content"), str):
            return False
        if recorded.get("stamp") == seen.stamp and recorded.get("trusted") is True:
            seen.content = recorded["content"]
            return True
        seen.content = self._hash(seen)
        seen.refresh = seen.content == recorded["content"]
        return seen.refresh

    def _hash(self, seen: _Seen) -> str | None:
        self.hashed += 1
        return _hash_if_unchanged(seen.source, seen.stamp)

    def _hash_beside(self, seen: _Seen) -> None:
        """Start hashing a file that will be measured, so its entry can record its bytes."""
        if seen.stamp[0][0] < BACKGROUND_BYTES:
            return  # hashed when stored, from the page cache: a thread would cost more
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-hash")
        self.hashed += 1
        seen.pending = self._hasher.submit(_hash_if_unchanged, seen.source, seen.stamp)

    def _content(self, seen: _Seen) -> str | None:
        """The hash of the bytes measured, or None if the file changed during the run."""
        if seen.pending is not None:
            seen.content, seen.pending = seen.pending.result(), None
        elif seen.content is None:
            seen.content = self._hash(seen)
        try:
            if seen.content is None or file_stamp(seen.source) != seen.stamp:
                return None
        except OSError:
            return None
        return seen.content

    def _file_record(self, seen: _Seen, content: str) -> dict[str, Any]:
        return {
            "stamp": seen.stamp,
            "trusted": not _racy(seen.stamp, seen.taken_ns),
            "content": content,
        }

    def get(self, key: str, schema: pl.Schema | None = None) -> Entry | None:
        """The result kept under `key`, verified whole; None (a miss) when it does not
        check out. Its traces are read part by part after (`Entry.parts`).

        `schema`, when given, is the schema the traces must have (what measuring gives
        for these settings); a part of other columns or types is a miss.
        """
        folder = self._folder(key)
        handle: BinaryIO | None = None
        try:
            meta = orjson.loads((folder / "meta.json").read_bytes())
            if meta["layout"] != LAYOUT:
                raise ValueError(meta["layout"])
            stats = _stats(meta["stats"])
            quarantined = [Quarantined(**q) for q in meta["quarantined"]]
            parts = [_Part(**p) for p in meta["parts"]]
            handle = (folder / _PARTS).open("rb")
            # NOTE: every part is verified before any is used; the parts are read again
            # from this same open file (an entry is never written in place: a new one
            # is a new file), so what is read after is what was verified here
            for part in parts:
                handle.seek(part.offset)
                data = handle.read(part.length)
                if _digest(data) != part.digest:
                    raise ValueError(part.digest)
                if schema is not None and part.rows and pl.read_parquet_schema(data) != schema:
                    raise ValueError(schema)
        except (OSError, ValueError, TypeError, KeyError, pl.exceptions.PolarsError):
            if handle is not None:
                handle.close()
            self.misses += 1
            return None
        adds_up = (
            all(type(p.rows) is int and p.rows > 0 for p in parts)
            and stats.read == stats.parsed + stats.quarantined + stats.skipped
            and stats.quarantined == len(quarantined)
            and stats.traces == sum(p.rows for p in parts) + sum(stats.filtered.values())
            and all(isinstance(q.line, int) and isinstance(q.reason, str) for q in quarantined)
        )
        if not adds_up:
            handle.close()
            self.misses += 1
            return None
        self.hits += 1
        seen = self._seen.get(key)
        if seen is not None and seen.refresh and seen.content is not None:
            seen.refresh = False  # the same bytes under a new stamp: trust it next time
            meta["file"] = self._file_record(seen, seen.content)
            _replace_file(folder / "meta.json", orjson.dumps(meta))
        return Entry(stats, quarantined, handle, parts)

    def writer(self, key: str) -> EntryWriter:
        """An entry for `key` written as its results arrive, kept by `commit`."""
        return EntryWriter(self, key)

    def put(
        self, key: str, traces: pl.DataFrame, stats: IngestStats, quarantined: list[Quarantined]
    ) -> None:
        """Keep a whole result under `key` at once (`writer` for one that arrives in parts)."""
        with self.writer(key) as entry:
            entry.add(traces, stats, quarantined)
            entry.commit()


@dataclass(frozen=True, slots=True)
class _Part:
    """Where one part's Parquet bytes are in an entry's parts file, and what they hold."""

    offset: int
    length: int
    digest: str
    rows: int


class Entry:
    """A verified entry: the file's totals, and its traces to read part by part."""

    def __init__(
        self,
        stats: IngestStats,
        quarantined: list[Quarantined],
        handle: BinaryIO,
        parts: list[_Part],
    ) -> None:
        self.stats = stats
        self.quarantined = quarantined
        self._handle = handle
        self._parts = parts

    def parts(self) -> Iterator[pl.DataFrame]:
        """The traces, one part (a shard's, as measured) at a time; the file is closed
        once they are all read, or when the iteration is left."""
        try:
            for part in self._parts:
                self._handle.seek(part.offset)
                data = self._handle.read(part.length)
                table = pl.read_parquet(data) if _digest(data) == part.digest else None
                if table is None or table.height != part.rows:
                    msg = f"the cache entry in {self._handle.name} changed while it was read"
                    raise CacheChanged(msg, hint="Run again, or with --no-cache.")
                yield table
        finally:
            self.close()

    def close(self) -> None:
        """Close the entry's file (reading its parts does so at the end)."""
        self._handle.close()


class CacheChanged(TracevizError):
    """An entry's bytes were not those verified a moment before (only if written in place)."""


class EntryWriter:
    """One entry written as a file's results arrive, whole or not at all.

    Each `add` appends a result's traces as a Parquet part of its own to the staging
    folder's parts file (so nothing of the file is held here); `commit` records the
    parts, their digests and the totals, and swaps the folder in if the file is still
    the one stamped at the start. A failing disk turns the writer off, never the run;
    leaving it unfinished (`abandon`, or a `with` block left) removes the staging.
    """

    def __init__(self, cache: ResultCache, key: str) -> None:
        self._cache = cache
        self._key = key
        self._folder = cache._folder(key)
        self._stats = IngestStats()
        self._quarantined: list[Quarantined] = []
        self._parts: list[_Part] = []
        self._out: BinaryIO | None = None
        self._staging: Path | None = None
        try:
            self._folder.parent.mkdir(parents=True, exist_ok=True)
            self._staging = Path(tempfile.mkdtemp(dir=self._folder.parent, prefix=".tmp-"))
            self._out = (self._staging / _PARTS).open("wb")
        except OSError:
            self.abandon()

    def __enter__(self) -> EntryWriter:
        return self

    def __exit__(self, *error: object) -> None:
        self.abandon()

    def add(self, traces: pl.DataFrame, stats: IngestStats, quarantined: list[Quarantined]) -> None:
        """Append one result (a shard's traces, totals and quarantined records)."""
        if self._out is None:
            return
        self._stats.merge(stats)
        self._quarantined.extend(quarantined)
        if not traces.height:
            return
        try:
            buffer = io.BytesIO()
            traces.write_parquet(buffer)
            data = buffer.getvalue()
            self._parts.append(_Part(self._out.tell(), len(data), _digest(data), traces.height))
            self._out.write(data)
        except Exception:  # noqa: BLE001 - a full or failing disk costs speed, never the result
            self.abandon()

    def commit(self) -> None:
        """Keep the entry, unless the file changed while it was measured."""
        if self._out is None or self._staging is None:
            return
        seen = self._cache._seen.get(self._key)
        record = None
        if seen is not None:
            content = self._cache._content(seen)
            if content is None:
                self.abandon()
                return
            record = self._cache._file_record(seen, content)
        try:
            self._out.close()
            meta = {
                "layout": LAYOUT,
                "stats": asdict(self._stats),
                "quarantined": [asdict(q) for q in self._quarantined],
                "parts": [asdict(p) for p in self._parts],
                "file": record,
            }
            (self._staging / "meta.json").write_bytes(orjson.dumps(meta))
            _swap(self._staging, self._folder)
            self._staging = None
        except Exception:  # noqa: BLE001 - a full or failing disk costs speed, never the result
            pass
        self.abandon()

    def abandon(self) -> None:
        """Drop the entry being written (nothing, once committed)."""
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.close()
            self._out = None
        if self._staging is not None:  # another run stored it first, or the write failed
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None


def _swap(staging: Path, folder: Path) -> None:
    """Put `staging` in place of `folder` (an older entry for the same path, if any)."""
    try:
        staging.rename(folder)
        return
    except OSError:
        if not folder.exists():
            raise
    # the file changed since the entry was made: set the old one aside, then replace it
    old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".old-"))
    try:
        folder.rename(old / "entry")
        staging.rename(folder)
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _replace_file(path: Path, data: bytes) -> None:
    """Write a file whole or not at all; a failure costs speed only."""
    temporary: Path | None = None
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        temporary = Path(name)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        temporary.replace(path)
    except OSError:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def _stats(values: object) -> IngestStats:
    """Totals read back from an entry, every field of the type it must have."""
    if not isinstance(values, dict):
        msg = "stats is not an object"
        raise TypeError(msg)
    stats = IngestStats(**values)
    blank = IngestStats()
    for item in dataclasses.fields(IngestStats):
        value = getattr(stats, item.name)
        kind = type(getattr(blank, item.name))
        if type(value) is not kind:
            msg = f"stats.{item.name} is a {type(value).__name__}"
            raise TypeError(msg)
        if isinstance(value, int) and value < 0:
            msg = f"stats.{item.name} is negative"
            raise ValueError(msg)
        if isinstance(value, dict) and not all(
            isinstance(k, str) and isinstance(n, int) and n >= 0 for k, n in value.items()
        ):
            msg = f"stats.{item.name} holds other than counts"
            raise TypeError(msg)
    return stats
