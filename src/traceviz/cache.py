"""Per-file results kept between runs, keyed by the file's content and the tool's version.

A second `traceviz report` over unchanged logs reads each file's measured traces (tokens,
steps, metrics; text dropped), its quarantined records and its totals from here instead
of reading and counting again; a file whose bytes changed gets a new key and is read
again. Prices are not cached: they are applied after, from the catalog of the day.

Invariants:
- the key covers the file's path and bytes, the tool's version and shipped data, and the
  whole settings object that shaped the result (`settings_key` hashes every field, so an
  option added later cannot be forgotten; the caller names the fields that only price);
- an entry is written whole or not at all (a temporary folder renamed into place), and a
  failing or full disk costs speed, never the run;
- an entry is verified before it is used: the traces file's digest must be the one
  recorded when it was written, and its totals must add up (`read = parsed +
  quarantined + skipped`, as many traces as rows). Anything else is a miss.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import orjson
import polars as pl

from traceviz._version import __version__
from traceviz.ingest import companion_files
from traceviz.schema import IngestStats, Quarantined

_HASH_CHUNK = 8 * 1024 * 1024
_TABLES = ("traces",)


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


class ResultCache:
    """A folder of per-file results."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_dir()
        self.hits = 0
        self.misses = 0

    def key(self, source: str, settings: str) -> str:
        """The key of a file's result: its path and bytes, and the settings that shape it."""
        digest = hashlib.blake2b(digest_size=20)
        for part in (__version__, _shipped_data_hash(), settings, source, content_hash(source)):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def _folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def has(self, key: str) -> bool:
        """Whether a result is kept under `key` (a miss is counted when not)."""
        found = (self._folder(key) / "meta.json").is_file()
        self.misses += not found
        return found

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
        return tables, stats, quarantined

    def put(
        self,
        key: str,
        tables: dict[str, pl.DataFrame],
        stats: IngestStats,
        quarantined: list[Quarantined],
    ) -> None:
        """Keep a result under `key`, whole or not at all; any failure only costs speed."""
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
            }
            (staging / "meta.json").write_bytes(orjson.dumps(meta))
            staging.rename(folder)
            staging = None
        except Exception:  # noqa: BLE001 - a full or failing disk costs speed, never the result
            return
        finally:
            if staging is not None:  # another run stored it first, or the write failed
                shutil.rmtree(staging, ignore_errors=True)


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
