"""What every command shares: the group, error reporting, summaries on stderr."""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from traceviz import __version__
from traceviz.cli import allocator
from traceviz.cli.lazy import LazyGroup
from traceviz.errors import TracevizError
from traceviz.escape import visible

if TYPE_CHECKING:
    from traceviz.schema import IngestStats

EXIT_FAILED = 1
EXIT_AUDIT = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class FiniteRange(click.FloatRange):
    """A `click.FloatRange` that also refuses `nan` and `inf`, which pass its bounds (every
    comparison with nan is false) and then give no figure or a wrong one."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def by_keys(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """`--by` keys once each, in their order: a key given twice groups as given once."""
    for key in value:
        if not key:
            msg = "an empty key names no group."
            raise click.BadParameter(msg, ctx, param)
        # NOTE: a finished report names a group's column by its key (`Report.keys`), and
        # polars, like the tools that read its Parquet and CSV, reads these names as patterns
        if key == "*" or (key.startswith("^") and key.endswith("$")):
            msg = (
                f"{key!r} cannot name a group: the outputs name its column by the key, and"
                " a column named so reads as a pattern of columns in polars."
            )
            raise click.BadParameter(msg, ctx, param)
    return tuple(dict.fromkeys(value))


class UserError(click.ClickException):
    """A library error as click prints it: the message, then the hint after a blank line.

    Messages name files, models and ids from the logs: their control characters are
    shown escaped, never sent to the terminal.
    """

    def __init__(self, error: TracevizError) -> None:

        message = str(error)
        if error.hint:
            message = f"{message}\n\n{error.hint}"
        super().__init__(visible(message))


class TracevizGroup(LazyGroup):
    """The group that turns library errors into messages and bugs into one line."""

    def invoke(self, ctx: click.Context) -> Any:
        allocator.tune()  # before a command's module imports polars
        try:
            with _terminate_unwinds():
                return super().invoke(ctx)
        except TracevizError as error:
            raise UserError(error) from error
        except click.ClickException as error:
            # a path or value quoted from the command line; click declares `message` Final
            error.message = visible(error.message)  # type: ignore[misc]
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Terminated:
            click.echo("Terminated.", err=True)
            ctx.exit(EXIT_TERMINATED)
        except BrokenPipeError:
            # the reader went away (`| head`): stop quietly, as Unix tools do
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(EXIT_FAILED)
        except Exception as error:
            if os.environ.get("TRACEVIZ_DEBUG"):
                raise
            raise _unexpected(error) from error


class Terminated(BaseException):  # noqa: N818 - a signal, not an error
    """SIGTERM, raised where the command is, so that the run unwinds as on Ctrl-C: its
    workers stopped, its half-written outputs and cache entries removed. A BaseException,
    as KeyboardInterrupt is, so that no `except Exception` on the way swallows it."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def _terminate_unwinds() -> Iterator[None]:
    """SIGTERM raises `Terminated` while a command runs (the previous handler after)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _unexpected(error: Exception) -> click.ClickException:
    """A full or failing disk says so; anything else is a bug, told in one escaped line."""

    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        where = f"{error.filename}: " if error.filename else ""
        return click.ClickException(visible(f"{where}cannot write: {error.strerror}"))
    first = str(error).splitlines()[0][:300] if str(error) else ""
    message = f"internal error: {type(error).__name__}: {visible(first)}"
    hint = "This is a bug in traceviz. Run again with TRACEVIZ_DEBUG=1 to see where."
    return click.ClickException(f"{message}\n\n{hint}")


@click.group(cls=TracevizGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="traceviz")
def main() -> None:
    """What reasoning models think and what that thinking costs, from your own logs.

    \b
      traceviz ingest logs/ -o traces.parquet
      traceviz ingest - < responses.jsonl -o traces.parquet
    """


def summary_line(stats: IngestStats) -> str:
    """`read 1,204 records from 3 files: 1,180 traces (openai-chat 1,002, …), 24 quarantined`."""
    files = f"{stats.files:,} file" + ("" if stats.files == 1 else "s")
    formats = ", ".join(
        f"{name} {n:,}" for name, n in sorted(stats.by_format.items(), key=lambda kv: -kv[1])
    )
    traces = f"{stats.traces:,} trace" + ("" if stats.traces == 1 else "s")
    if formats:
        traces += f" ({formats})"
    parts = [f"read {stats.read:,} records from {files}: {traces}"]
    parts.append(f"{stats.quarantined:,} quarantined")
    if stats.skipped:
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(stats.skip_reasons.items()))
        parts.append(f"{stats.skipped:,} skipped" + (f" ({reasons})" if reasons else ""))
    if stats.filtered:
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(stats.filtered.items()))
        parts.append(f"{sum(stats.filtered.values()):,} traces left out ({reasons})")
    if stats.files_passed_over:
        n = sum(stats.files_passed_over.values())
        reasons = ", ".join(f"{r} {k:,}" for r, k in sorted(stats.files_passed_over.items()))
        parts.append(f"{n:,} file" + ("" if n == 1 else "s") + f" passed over ({reasons})")
    if stats.file_errors:
        n = len(stats.file_errors)
        parts.append(f"{n:,} unreadable file" + ("" if n == 1 else "s"))
    return ", ".join(parts)


def echo_err(message: str) -> None:
    """A line for stderr; file names and models in it are shown with controls escaped."""

    click.echo(visible(message), err=True)
