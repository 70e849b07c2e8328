"""Errors the library raises; `cli.py` turns them into one-line messages with a hint.

A bad *record* is never an error: it is quarantined and counted. These are for things
that stop a run, or a file, as a whole.
"""

from __future__ import annotations


class TracevizError(Exception):
    """Base of every error traceviz raises on purpose.

    `hint` is the sentence shown after a blank line: what the user can try.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class InputError(TracevizError):
    """A path cannot be read: missing, unreadable, or not a log traceviz knows."""


class StrictModeError(TracevizError):
    """`--strict` was given and a record was quarantined."""


class ConfigError(TracevizError):
    """A user-supplied option or data file (catalog, rules, model) is invalid."""


class OutputError(TracevizError):
    """An output cannot be written: its folder is missing or read-only, or the disk is full."""


class WorkerError(TracevizError):
    """A worker process died or was lost while it analysed a shard."""
