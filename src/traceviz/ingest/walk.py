"""Finding files: the paths named, and the log files under folders.

A folder's walk is sorted, depth first and of any depth; it reads files whose suffix
names a container (or a compression), and passes over hidden files, documentation,
what is not a regular file, cache folders and traceviz's own outputs. A file named
explicitly is always read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from traceviz.errors import InputError
from traceviz.ingest.interface import STDIN
from traceviz.ingest.own_outputs import CACHE_TAG, own_output
from traceviz.ingest.registry import has_compression, named_container

# Files a directory walk passes over: documentation that sits beside sample logs.
SKIPPED_NAMES = re.compile(r"^(readme|license|licence|changelog)(\..*)?$", re.IGNORECASE)


def expand_paths(
    paths: Iterable[str | Path], *, on_skip: Callable[[str, str], None] | None = None
) -> Iterator[str]:
    """Files named and files under directories (sorted, recursive), `-` kept as stdin.

    A folder's walk passes over hidden files, documentation, files of other suffixes,
    what is not a regular file (a FIFO would wait for a writer forever) and traceviz's own
    outputs (see `own_output`); each of the last two is reported to `on_skip(path,
    reason)`. A file named explicitly is always read. A missing path raises `InputError`
    when reached; callers that read several paths catch it per path so that the other
    files are still read.
    """
    for path in paths:
        text = str(path)
        if text == STDIN:
            yield STDIN
            continue
        p = Path(text)
        if p.is_dir():
            yield from _walk(p, on_skip)
        elif p.exists() or p.is_symlink():
            yield text
        else:
            msg = f"{text}: no such file or directory"
            raise InputError(msg, hint="Pass a file or folder that exists, or - to read stdin.")


def _walk(root: Path, on_skip: Callable[[str, str], None] | None) -> Iterator[str]:
    """The files under `root`, depth first and sorted, as `os.walk` gives them, but with
    a stack instead of recursion (any depth) and each entry stat'ed once."""
    seen: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)  # noqa: PTH116 - one call on the hot path
            key = (st.st_dev, st.st_ino)
            if key in seen:  # a symlink loop
                continue
            seen.add(key)
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue  # as os.walk: a folder that cannot be listed is passed over
        if folder != str(root) and any(entry.name == CACHE_TAG for entry in entries):
            if on_skip is not None:
                on_skip(folder, "cache folder")
            continue
        folders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if _is_dir(entry):
                folders.append(entry.path)
                continue
            if not walk_reads(entry.name):
                continue
            reason = _pass_over(entry)
            if reason is None:
                yield entry.path
            elif on_skip is not None:
                on_skip(entry.path, reason)
        stack.extend(reversed(folders))


def walk_reads(name: str) -> bool:
    """Whether a folder's walk reads a file of this name (a log's suffix, not hidden);
    it may still pass over the file for what it holds (see `_pass_over`)."""
    if name.startswith(".") or SKIPPED_NAMES.match(name):
        return False
    return named_container(name) is not None or has_compression(name)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _pass_over(entry: os.DirEntry[str]) -> str | None:
    """Why a walk does not read a file it found, or None to read it."""
    try:
        regular = entry.is_file()
    except OSError:
        regular = False
    if not regular:
        try:
            os.stat(entry.path)  # noqa: PTH116 - a dangling symlink is read, to be named
        except OSError:
            return None
        return "not a regular file"
    return own_output(entry.path)
