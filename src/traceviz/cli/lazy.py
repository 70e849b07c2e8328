"""Commands imported when they run: a click group that knows each command's name and
one-line summary without importing its module.

`traceviz --help` lists every command from the summaries kept here, so it imports no
command module (and none of polars, numpy or scikit-learn that they need); running a
command imports its module alone. Invariant: a summary is the first paragraph of its
command's help, so the listing reads exactly as if every command were imported
(`tests/test_startup.py` compares the two).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a command is defined (`module:attribute`) and its one-line summary."""

    target: str
    summary: str

    def load(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        with imports_uncollected():
            command = getattr(import_module(module), attribute)
        if not isinstance(command, click.Command):
            msg = f"{self.target} is not a click command"
            raise TypeError(msg)
        return command


@contextmanager
def imports_uncollected() -> Iterator[None]:
    """Imports with the cyclic garbage collector paused, and what they loaded frozen.

    NOTE: a command's imports (polars, numpy, click, rich...) make a few hundred thousand
    objects that live as long as the process. The collector would walk them ~150 times
    while they load, again at every later full collection and once more at exit: ~140 ms
    of the ~1.4 s `traceviz report` takes on one small file. Frozen (`gc.freeze`), they
    are left out of every later collection; what the run makes is collected as before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name, each imported on first look-up.

    Names and summaries are known before any import: listing the names (`sorted(group.
    commands)`) imports nothing, getting one (`group.commands["report"]`) imports its
    module only.
    """

    def __init__(self, commands: MutableMapping[str, click.Command] | None = None) -> None:
        self._entries: dict[str, click.Command | LazyCommand] = dict(commands or {})

    def register(self, name: str, target: str, summary: str) -> None:
        self._entries[name] = LazyCommand(target, summary)

    def summary(self, name: str) -> str | None:
        """The summary of a command not imported yet (None once it is, or if unknown)."""
        entry = self._entries.get(name)
        return entry.summary if isinstance(entry, LazyCommand) else None

    def __getitem__(self, name: str) -> click.Command:
        entry = self._entries[name]
        if isinstance(entry, LazyCommand):
            entry = self._entries[name] = entry.load()
        return entry

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class LazyGroup(click.Group):
    """A click group whose commands may be registered by import path and summary."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: LazyCommands = LazyCommands(self.commands)

    def add_lazy_command(self, name: str, target: str, summary: str) -> None:
        """Register `name`, defined at `target` (`package.module:attribute`), listed in
        `--help` with `summary` (the first paragraph of the command's help)."""
        self.commands.register(name, target, summary)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The `Commands:` section, as click writes it, from the summaries of the commands
        not imported yet (a command already imported speaks for itself)."""
        rows: list[tuple[str, str | None]] = []  # a name, and its summary if not imported
        for name in self.list_commands(ctx):
            summary = self.commands.summary(name)
            if summary is None:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
            rows.append((name, summary))
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        listed = []
        for name, summary in rows:
            if summary is None:
                listed.append((name, self.commands[name].get_short_help_str(limit)))
            else:
                # click shortens it as it would the command's own help
                listed.append((name, click.Command(name, help=summary).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(listed)
