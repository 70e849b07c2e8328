"""Outputs never overwrite inputs, and are written whole or not at all.

`refuse_overwrite` is called before anything is read: an output (`-o`, `--quarantine`,
`--json`, `--html`) that is one of the input files, or lies inside an input folder where
the folder's walk reads it, or that is another output of the same run, is refused with a
clear error.
`atomic_file` writes beside the target and renames into place on success, so a failed
run never leaves half a file over an old one. Devices and pipes (`/dev/stdout`, a FIFO)
are written directly: they cannot be renamed onto.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from traceviz.errors import ConfigError
from traceviz.ingest import STDIN, walk_reads


def refuse_overwrite(
    outputs: Iterable[tuple[str, str | None]],
    inputs: Iterable[str],
    default_quarantine: str | None = None,
) -> None:
    """Raise `ConfigError` when an output `(flag, path)` would overwrite an input or
    another output of the run. `default_quarantine` (the file a command quarantines to
    when no `--quarantine` is given) is held to the same rules but the folder rule: it
    may lie in an input folder, whose walk passes over quarantine files."""
    sources = [Path(p) for p in inputs if p != STDIN]
    given = [(flag, path) for flag, path in outputs if path and path != "-"]
    checked = [(flag, path, False) for flag, path in given]
    if default_quarantine and not any(flag == "--quarantine" for flag, _ in given):
        checked.append(("--quarantine (by default)", default_quarantine, True))
    written: list[tuple[str, str, Path]] = []
    for flag, output, by_default in checked:
        target = Path(output)
        if _is_device(target):
            continue
        resolved = target.resolve()
        hint = "Give --quarantine another path." if by_default else f"Write {flag} somewhere else."
        for other_flag, other, other_path in written:
            if _same(resolved, other_path):
                msg = f"{other_flag} {other} and {flag} {output} are one file"
                raise ConfigError(msg + "; one would replace the other", hint=hint)
        written.append((flag, output, resolved))
        for source in sources:
            if _same(resolved, source):
                msg = f"{flag} {output} is one of the inputs; writing it would destroy that log"
                raise ConfigError(msg, hint=hint)
            inside = source.is_dir() and resolved.is_relative_to(source.resolve())
            if inside and not by_default and walk_reads(resolved.name):
                msg = f"{flag} {output} lies inside the input folder {source}"
                hint = f"Write {flag} outside {source}, so a later run does not read it as a log."
                raise ConfigError(msg, hint=hint)


def _same(resolved: Path, source: Path) -> bool:
    try:
        return resolved == source.resolve() or (
            resolved.exists() and source.exists() and resolved.samefile(source)
        )
    except OSError:
        return False


def _is_device(path: Path) -> bool:
    try:
        return path.exists() and not path.is_file() and not path.is_dir()
    except OSError:
        return False


@contextlib.contextmanager
def atomic_file(path: str) -> Iterator[str]:
    """A temporary path beside `path`, renamed onto it when the block ends without error."""
    target = Path(path)
    if _is_device(target):
        yield path
        return
    handle, temporary = tempfile.mkstemp(
        dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(handle)
    try:
        yield temporary
        Path(temporary).chmod(0o666 & ~_umask())  # as a plain open() would have made it
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomic(path: str, data: bytes) -> None:
    """`data` written to `path` whole, or not at all."""
    with atomic_file(path) as temporary:
        Path(temporary).write_bytes(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
