"""SQLite: simonw/llm's `logs.db`, known by its header, one record per logged model call.

NOTE: a SQLite file is known by its header, whatever its name, and only when named: a
folder's walk passes over databases (it reads no `.db` suffix), since logs often sit
beside databases that are not llm's. A database is read in place (`mode=ro`), so it
cannot come from stdin, a pipe or a compressed file. `llm_db` says what is read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from traceviz.errors import InputError
from traceviz.ingest.files import is_stream
from traceviz.ingest.interface import STDIN, Container, Item, Opened, RawRecord, Sniff
from traceviz.ingest.llm_db import (
    ALPHA,
    CURRENT,
    LEGACY,
    SQLITE_HEADER,
    connect,
    era,
    is_sqlite,
    migrations,
    pages,
    table_names,
)
from traceviz.ingest.llm_legacy import LegacyReader
from traceviz.ingest.llm_turns import TurnReader


class Sqlite(Container):
    """An llm logs.db database."""

    name = "sqlite"

    def sniff(self, head: bytes) -> Sniff | None:
        return Sniff.HEADER if head.startswith(SQLITE_HEADER) else None

    def read(self, file: Opened, limit: int, batch: bool) -> Iterator[Item]:
        if is_stream(file.source):
            where = "stdin" if file.source == STDIN else "a pipe"
            msg = f"{file.name}: a SQLite database cannot be read from {where}"
            raise InputError(msg, hint="Pass the database's path instead of -.")
        return read_llm_db(file.source, batch=batch)


def read_llm_db(source: str, *, batch: bool = False) -> Iterator[RawRecord]:
    """Every logged call in an llm logs.db: legacy responses first, then turns.

    Raises `InputError` when the file is not an llm database or cannot be read.
    """
    if not is_sqlite(source):
        msg = f"{source}: not a SQLite database (no 'SQLite format 3' header)"
        hint = "A compressed database cannot be read in place: decompress it first."
        raise InputError(msg, hint=hint)
    try:
        connection = connect(source)
    except sqlite3.Error as exc:
        msg = f"{source}: cannot open the SQLite database: {exc}"
        raise InputError(msg, hint="Check that the file is readable.") from exc
    try:
        yield from _read(connection, source, batch)
    except sqlite3.Error as exc:
        msg = f"{source}: cannot read the llm database: {exc}"
        hint = "Check the file with `sqlite3 logs.db 'pragma integrity_check'`."
        raise InputError(msg, hint=hint) from exc
    finally:
        connection.close()


def _read(connection: sqlite3.Connection, source: str, batch: bool) -> Iterator[RawRecord]:
    names = migrations(connection)
    if names is None:
        msg = f"{source}: a SQLite database, but not one written by llm (no _llm_migrations table)"
        hint = "traceviz reads simonw/llm's logs.db; export other databases to JSON Lines."
        raise InputError(msg, hint=hint)
    tables = table_names(connection)
    info = {"era": era(names), "migration": names[-1] if names else None}
    if "responses" in tables:
        legacy_era = ALPHA if info["era"] == ALPHA else LEGACY
        reader = LegacyReader(connection, tables, info | {"era": legacy_era})
        yield from pages(reader.records, source, batch)
    if "turns" in tables and "messages" in tables and "parts" in tables:
        turns = TurnReader(connection, tables, info | {"era": CURRENT})
        yield from pages(turns.records, source, batch)


def companion_files(source: str) -> list[str]:
    """Files beside `source` that hold part of its content: a SQLite database's `-wal`.

    A database in WAL mode keeps committed rows in `NAME-wal` until a checkpoint copies
    them into `NAME`; whoever fingerprints the database (the result cache) must read both,
    or rows committed since the last checkpoint would be missed."""
    if is_stream(source):
        return []
    try:
        with Path(source).open("rb") as file:
            if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                return []
    except OSError:
        return []
    wal = Path(source + "-wal")
    return [str(wal)] if wal.is_file() else []
