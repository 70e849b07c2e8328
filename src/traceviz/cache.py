"""Per-file results kept between runs, keyed by the file's path, its identity on disk and
the tool's version.

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
- the key covers the file's path, the tool's version and shipped data, and the whole
  settings object that shaped the result (`settings_key` hashes every field, so an
  option added later cannot be forgotten; the caller names the fields that only price);
  the entry under it answers only for the bytes (stamp, else content hash) it records;
- a result is stored only if the file's stamp at the end of the run is the one taken
  at its start and its hash was taken of those bytes (a file written to during the run
  is not cached);
- an entry is written whole or not at all (a temporary folder renamed into place), and a
  failing or full disk costs speed, never the run;
- an entry is verified before it is used: the traces file's digest must be the one
  recorded when it was written, and its totals must add up (`read = parsed +
  quarantined + skipped`, as many traces as rows). Anything else is a miss.

NOTE: past 400 lines, of which this docstring is 50: it states every rule of the stamp,
the hash and their one limit in full. The rest is one job (keys, stamps, entries
written whole and verified), split no further so that its invariants read in one place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from traceviz._version import __version__
from traceviz.ingest import companion_files
from traceviz.schema import IngestStats, Quarantined

_HASH_CHUNK = 8 * 1024 * 1024
_TABLES = ("traces",)
FORMAT = 2  # entries keyed by path and stamp (1: keyed by the content hash)
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
def _shipped_data_hash() -> str:
    """The package's data files (tokenizers, kinds model) are part of what a result means."""
    digest = hashlib.blake2b(digest_size=12)
    for name in ("kinds-model.json", "deepseek_v3.json"):
        digest.update((files("traceviz") / "data" / name).read_bytes())
    return digest.hexdigest()


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
        for part in (str(FORMAT), __version__, _shipped_data_hash(), settings, source):
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

    def get(
        self, key: str, schema: pl.Schema | None = None
    ) -> tuple[dict[str, pl.DataFrame], IngestStats, list[Quarantined]] | None:
        """The result kept under `key`, verified; None (a miss) when it does not check out.

        `schema`, when given, is the schema the traces must have (what measuring gives
        for these settings); a table of other columns or types is a miss.
        """
        folder = self._folder(key)
        try:
            meta = orjson.loads((folder / "meta.json").read_bytes())
            tables = {}
            for name in _TABLES:
                data = (folder / f"{name}.parquet").read_bytes()
                if meta["digests"][name] != _digest(data):
                    self.misses += 1
                    return None
                tables[name] = pl.read_parquet(data)
            stats = _stats(meta["stats"])
            quarantined = [Quarantined(**q) for q in meta["quarantined"]]
        except (OSError, ValueError, TypeError, KeyError, pl.exceptions.PolarsError):
            self.misses += 1
            return None
        traces = tables["traces"]
        adds_up = (
            stats.read == stats.parsed + stats.quarantined + stats.skipped
            and stats.quarantined == len(quarantined)
            and stats.traces == traces.height + sum(stats.filtered.values())
            and all(isinstance(q.line, int) and isinstance(q.reason, str) for q in quarantined)
        )
        if not adds_up or (schema is not None and traces.height and traces.schema != schema):
            self.misses += 1
            return None
        self.hits += 1
        seen = self._seen.get(key)
        if seen is not None and seen.refresh and seen.content is not None:
            seen.refresh = False  # the same bytes under a new stamp: trust it next time
            meta["file"] = self._file_record(seen, seen.content)
            _replace_file(folder / "meta.json", orjson.dumps(meta))
        return tables, stats, quarantined

    def put(
        self,
        key: str,
        tables: dict[str, pl.DataFrame],
        stats: IngestStats,
        quarantined: list[Quarantined],
    ) -> None:
        """Keep a result under `key`, whole or not at all; any failure only costs speed.

        A file keyed by `key` that changed while it was measured is not kept.
        """
        seen = self._seen.get(key)
        record = None
        if seen is not None:
            content = self._content(seen)
            if content is None:
                return
            record = self._file_record(seen, content)
        folder = self._folder(key)
        staging: Path | None = None
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
            digests = {}
            for name in _TABLES:
                path = staging / f"{name}.parquet"
                tables[name].write_parquet(path)
                digests[name] = _digest(path.read_bytes())
            meta = {
                "stats": asdict(stats),
                "quarantined": [asdict(q) for q in quarantined],
                "digests": digests,
                "file": record,
            }
            (staging / "meta.json").write_bytes(orjson.dumps(meta))
            _swap(staging, folder)
            staging = None
        except Exception:  # noqa: BLE001 - a full or failing disk costs speed, never the result
            return
        finally:
            if staging is not None:  # another run stored it first, or the write failed
                shutil.rmtree(staging, ignore_errors=True)


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
