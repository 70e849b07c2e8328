"""Options shared by every command that writes a result: `-o/--output` and `--format`.

`output_options(spec)` declares the flags once, as sqlite-utils' `output_options` does,
and hands the command one frozen `OutputSettings`: the path (or None for stdout) and the
format, resolved from `--format`, else the path's suffix, else the spec's default.
`check()` is called before any input is read, so a run that could not save its result
does not start: the folder must be writable (`outputs.check_output`), a table's suffix
must name a table format, and Parquet is never sent to a terminal.

Two kinds of result use it: the report (`REPORT` in `cli/report.py`: printed or written,
in one of the report formats) and the tables (`table_output(...)`: `ingest` and `steps`,
always a file whose suffix is its format).

NOTE: the tables take no `--format`: they always go to a file, and a flag that
disagreed with the suffix would write a file whose name lies about its content. Side
files of another kind keep their own flag: `audit --json` (the rules' outcome, beside
the lines on stdout), `show --html` (a page, where the terminal view is the default)
and `kinds train -o` (a model file, JSON only).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from traceviz.outputs import check_output, output_error, write_bytes
from traceviz.write import TABLE_FORMATS, table_suffix

F = TypeVar("F", bound=Callable[..., Any])

PARQUET = "parquet"


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """What a command writes: the formats `--format` offers (none: no `--format` flag),
    the suffixes that pick one, the default path (None: stdout) and format, and help."""

    suffixes: Mapping[str, str]
    output_help: str
    formats: tuple[str, ...] = ()
    format_help: str = ""
    default_path: str | None = None
    default_format: str | None = None
    # a table: the suffix must name one of `suffixes` (there is no stdout to fall back on)
    table: bool = False


def table_output(default_path: str, output_help: str) -> OutputSpec:
    """The output of a command that writes a table (Parquet, JSON Lines or CSV)."""
    return OutputSpec(TABLE_FORMATS, output_help, default_path=default_path, table=True)


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """Where a result goes (`path`, None for stdout) and in which `format` (None: a
    table path whose suffix names no format, refused by `check`)."""

    path: str | None
    format: str | None
    spec: OutputSpec = field(repr=False, compare=False)

    @classmethod
    def resolve(cls, spec: OutputSpec, path: str | None, fmt: str | None) -> OutputSettings:
        """`--format`, else the suffix of `-o`, else the spec's default."""
        by_suffix = spec.suffixes.get(Path(path).suffix.lower()) if path else None
        return cls(path, fmt or by_suffix or spec.default_format, spec)

    def check(self, terminal: bool | None = None) -> None:
        """Refuse, before the run, an output that could not be written: Parquet for a
        terminal (`terminal`: is stdout one; asked when None), a folder that is missing
        or read-only, a table whose suffix names no table format."""
        if self.path is None:
            if self.format == PARQUET and (sys.stdout.isatty() if terminal is None else terminal):
                msg = "Parquet is not for a terminal."
                raise click.UsageError(msg + " Give -o FILE.parquet or redirect stdout.")
            return
        check_output(self.path)
        if self.spec.table:
            table_suffix(self.path)

    @property
    def file(self) -> str:
        """The path of an output that is always a file (a table: its default is one)."""
        if self.path is None:
            msg = "this output is stdout, not a file"
            raise ValueError(msg)
        return self.path

    def beside(self, what: str) -> str:
        """A side file next to the output: `traces.parquet` -> `traces.<what>`."""
        stem = (self.path or "").rsplit(".", 1)[0]
        return f"{stem}.{what}"

    def write(self, data: bytes) -> None:
        """The whole result to the path (atomically) or to stdout."""
        if self.path is not None:
            write_bytes(self.path, data)
            return
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except BrokenPipeError:
            raise  # the group stops quietly
        except OSError as exc:
            where = "stdout"
            raise output_error(where, exc) from exc


def output_options(spec: OutputSpec) -> Callable[[F], F]:
    """`-o/--output` (and `--format` where the spec offers formats): passed on as
    `output: OutputSettings`."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(
            *args: Any, output_path: str | None, fmt: str | None = None, **kwargs: Any
        ) -> Any:
            return func(*args, output=OutputSettings.resolve(spec, output_path, fmt), **kwargs)

        decorators = [
            click.option(
                "-o",
                "--output",
                "output_path",
                type=click.Path(dir_okay=False),
                default=spec.default_path,
                show_default=spec.default_path is not None,
                help=spec.output_help,
            )
        ]
        if spec.formats:
            decorators.append(
                click.option(
                    "--format", "fmt", type=click.Choice(spec.formats), help=spec.format_help
                )
            )
        for decorator in reversed(decorators):
            command = decorator(command)
        return command  # type: ignore[return-value]

    return decorate
