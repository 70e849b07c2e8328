"""The registry of containers, and which one reads a file: by its name and first bytes.

`CONTAINERS` lists every container once; adding one is a module and a line here. The
choice (`sniff`) weighs a file's name against its first bytes:

1. bytes that prove a container (`Sniff.HEADER`: SQLite's header) win over any name;
2. then a name that claims a structure (`.jsonl`, `.csv`, `.parquet`...), unless the bytes
   plainly hold another (`Container.disowns`: pretty-printed JSON in a `.jsonl`);
3. then bytes that show one (`Sniff.CONTENT`: Parquet's magic, SSE lines);
4. then a name that claims none (`.txt`, `.log`: text);
5. then bytes that suggest one (`Sniff.GUESS`: `[` or `{`); else the file is text.

Within a step the first container listed wins. Stdin has no name: steps 2 and 4 pass.
"""

from __future__ import annotations

from pathlib import Path

from traceviz.ingest.csv_rows import Csv
from traceviz.ingest.decompress import COMPRESSION_SUFFIXES
from traceviz.ingest.interface import STDIN, Container, Sniff
from traceviz.ingest.json_document import JsonDocument
from traceviz.ingest.jsonl import JsonLines
from traceviz.ingest.parquet import Parquet
from traceviz.ingest.sqlite import Sqlite
from traceviz.ingest.sse import ServerSentEvents
from traceviz.ingest.text import Text

TEXT = Text()
CONTAINERS: tuple[Container, ...] = (
    Sqlite(),
    Parquet(),
    ServerSentEvents(),
    JsonLines(),
    JsonDocument(),
    Csv(),
    TEXT,
)
BY_NAME: dict[str, Container] = {container.name: container for container in CONTAINERS}
_BY_SUFFIX: dict[str, Container] = {
    suffix: container for container in CONTAINERS for suffix in container.suffixes
}


def has_compression(name: str) -> bool:
    """Whether a file's name ends in a compression suffix (`.gz`, `.zst`...)."""
    return Path(name).suffix.lower() in COMPRESSION_SUFFIXES


def named_container(name: str) -> Container | None:
    """The container a file's name claims, compression suffixes aside, or None."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    while suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    return _BY_SUFFIX.get(suffixes[-1]) if suffixes else None


def sniff(source: str, head: bytes) -> Container:
    """The container that reads a file, from its name (`-`: stdin) and first bytes."""
    named = None if source == STDIN else named_container(source)
    if named is not None and named.disowns(head):
        named = None  # the bytes decide, as for a name that says nothing
    shown: dict[Sniff, Container] = {}
    for container in CONTAINERS:
        strength = container.sniff(head)
        if strength is not None:
            shown.setdefault(strength, container)
    if Sniff.HEADER in shown:
        return shown[Sniff.HEADER]
    if named is not None and not named.weak_name:
        return named
    if Sniff.CONTENT in shown:
        return shown[Sniff.CONTENT]
    if named is not None:
        return named
    return shown.get(Sniff.GUESS, TEXT)
