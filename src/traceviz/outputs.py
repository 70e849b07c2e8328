"""Where results are written: checked before a run starts, written with errors that say so.

`check_output(path)` is called before any input is read, so a run that could not save
its result does not start; `write_bytes` writes atomically (`guard.write_atomic`), and it
and `output_error` (for the writers that stream) turn the operating system's failures
(a full disk, a read-only file system) into `OutputError` naming the path. `-` is stdout
and is always writable. (`guard.refuse_overwrite` keeps outputs off the inputs.)
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from traceviz.errors import OutputError
from traceviz.guard import write_atomic

STDOUT = "-"


# polars and pyarrow raise OSError without an errno, the number only in the message
_ERRNO = re.compile(r"(?:os error|errno) (\d+)", re.IGNORECASE)


def _errno(error: OSError) -> int | None:
    if error.errno is not None:
        return error.errno
    found = _ERRNO.search(str(error))
    return int(found.group(1)) if found else None


def describe(path: str, error: OSError) -> str:
    """`r.html: cannot write: No space left on device`."""
    number = _errno(error)
    reason = os.strerror(number) if number is not None else error.strerror or str(error)
    return f"{path}: cannot write: {reason}"


def check_output(path: str) -> None:
    """Raise `OutputError` if `path` could not be written: no folder, a folder, read-only."""
    if path == STDOUT:
        return
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        msg = f"{path}: is a folder, not a file"
        raise OutputError(msg, hint="Give a file name inside it.")
    if not folder.is_dir():
        shown = str(folder)
        reason = "is not a folder" if folder.exists() else "does not exist"
        msg = f"{path}: cannot write: the folder {shown} {reason}"
        raise OutputError(msg, hint=f"Create it first (mkdir -p {shown}) or write elsewhere.")
    if target.exists() and not os.access(target, os.W_OK):
        msg = f"{path}: cannot write: the file is read-only"
        raise OutputError(msg, hint="Make it writable or write elsewhere.")
    if not target.exists() and not os.access(folder, os.W_OK | os.X_OK):
        msg = f"{path}: cannot write: the folder {folder} is read-only"
        raise OutputError(msg, hint="Write elsewhere.")


def write_bytes(path: str, data: bytes) -> None:
    """Write `data` to `path` whole or not at all (`guard.write_atomic`); a full disk or
    any other failure is raised as `OutputError` naming `path`."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise output_error(path, exc) from exc


def output_error(path: str, error: OSError) -> OutputError:
    """The `OutputError` for a failed write, with a hint for the common causes."""
    hint = None
    number = _errno(error)
    if number in (errno.ENOSPC, errno.EDQUOT):
        hint = "Free some space or write elsewhere."
    elif number in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "Write elsewhere."
    return OutputError(describe(path, error), hint=hint)
