"""Per-file results kept between runs, keyed by the file's content and the tool's version.

A second `traceviz report` over unchanged logs reads each file's measured traces (tokens,
steps, metrics; text dropped), its quarantined records and its totals from here instead
of reading and counting again; a file whose bytes changed gets a new key and is read
again. Prices are not cached: they are applied after, from the catalog of the day.
Entries are written whole or not at all (a temporary folder renamed into place); an
entry that cannot be read is treated as missing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import asdict
from functools import cache
from importlib.resources import files
from pathlib import Path

import orjson
import polars as pl

from traceviz import __version__
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
        self, key: str
    ) -> tuple[dict[str, pl.DataFrame], IngestStats, list[Quarantined]] | None:
        folder = self._folder(key)
        try:
            meta = orjson.loads((folder / "meta.json").read_bytes())
            tables = {name: pl.read_parquet(folder / f"{name}.parquet") for name in _TABLES}
            stats = IngestStats(**meta["stats"])
            quarantined = [Quarantined(**q) for q in meta["quarantined"]]
        except (OSError, ValueError, TypeError, KeyError, pl.exceptions.PolarsError):
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
        folder = self._folder(key)
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
            for name in _TABLES:
                tables[name].write_parquet(staging / f"{name}.parquet")
            meta = {"stats": asdict(stats), "quarantined": [asdict(q) for q in quarantined]}
            (staging / "meta.json").write_bytes(orjson.dumps(meta))
            try:
                staging.rename(folder)
            except OSError:  # another run stored it first
                shutil.rmtree(staging, ignore_errors=True)
        except OSError:
            return  # a read-only or full disk costs speed, never the result
