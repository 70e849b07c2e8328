"""Options shared by every command that reads logs, and the ingest they set up.

`input_options` declares the reading flags once and hands the command one frozen
`InputSettings`; `reading(...)` opens the quarantine file, makes `--strict` stop at the
first bad record, and reports unreadable files, the same way for every command.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import click
import orjson

from traceviz.cli.common import echo_err, summary_line
from traceviz.errors import InputError, StrictModeError
from traceviz.escape import json_bytes, one_line
from traceviz.guard import atomic_file
from traceviz.ingest import DEFAULT_MAX_RECORD_BYTES
from traceviz.load import Ingest, ReadOptions
from traceviz.normalize import shape_names
from traceviz.outputs import check_output, output_error
from traceviz.price.cost import parse_at
from traceviz.schema import Quarantined

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class InputSettings:
    """What to read and how: the reading options, the quarantine file, `--strict`, `--llm`."""

    read: ReadOptions = field(default_factory=ReadOptions)
    quarantine: str | None = None
    strict: bool = False
    llm: bool = False


def input_options(func: F) -> F:
    """`--shape`, `--quarantine`, `--strict`, `--batch`, `--max-record-bytes`, the filters
    `--since`, `--until`, `--model`, and `--llm`: passed on as `inputs: InputSettings`."""

    @functools.wraps(func)
    def command(
        *args: Any,
        shape: str | None,
        quarantine: str | None,
        strict: bool,
        batch: bool,
        max_record_bytes: int,
        since: datetime | None,
        until: datetime | None,
        models: tuple[str, ...],
        llm_logs: bool,
        **kwargs: Any,
    ) -> Any:
        if since is not None and until is not None and since >= until:
            msg = (
                f"--since {since:%Y-%m-%d %H:%M} is not before --until {until:%Y-%m-%d %H:%M}:"
                " no response could be selected."
            )
            raise click.UsageError(msg)
        read = ReadOptions(
            shape=shape,
            max_record_bytes=max_record_bytes,
            batch=batch,
            since=since,
            until=until,
            models=tuple(models),
        )
        inputs = InputSettings(read=read, quarantine=quarantine, strict=strict, llm=llm_logs)
        return func(*args, inputs=inputs, **kwargs)

    decorators = [
        click.option(
            "--shape",
            type=click.Choice(shape_names()),
            default=None,
            help="Read every record as this shape instead of detecting it.",
        ),
        click.option(
            "--quarantine",
            type=click.Path(dir_okay=False),
            default=None,
            help="Write records that could not be read here (JSON Lines).",
        ),
        click.option("--strict", is_flag=True, help="Stop at the first bad record (exit 1)."),
        click.option(
            "--batch",
            is_flag=True,
            help="These logs are Batch API output: price them at batch rates.",
        ),
        click.option(
            "--max-record-bytes",
            type=click.IntRange(min=1),
            default=DEFAULT_MAX_RECORD_BYTES,
            show_default=True,
            help="Quarantine records larger than this instead of reading them.",
        ),
        click.option(
            "--since",
            callback=_utc,
            help="Only responses created at or after this UTC date or time (2025-03-01).",
        ),
        click.option(
            "--until",
            callback=_utc,
            help="Only responses created before this UTC date or time.",
        ),
        click.option(
            "--model",
            "models",
            multiple=True,
            help="Only these models (wildcards allowed: 'deepseek*'); repeat for more.",
        ),
        click.option(
            "--llm",
            "llm_logs",
            is_flag=True,
            help="Also read llm's logs.db ($LLM_USER_PATH/logs.db, else llm's own app folder).",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command  # type: ignore[return-value]


def _utc(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_at(value)
    except ValueError as exc:
        msg = f"{value!r} is not a date or time (try 2025-03-01 or 2025-03-01T16:30)"
        raise click.BadParameter(msg, ctx, param) from exc


def llm_logs_path() -> Path:
    """Where llm keeps logs.db, found as `llm logs path` finds it."""
    root = os.environ.get("LLM_USER_PATH")
    folder = Path(root) if root else Path(click.get_app_dir("io.datasette.llm"))
    return folder / "logs.db"


def input_paths(
    paths: tuple[str, ...], inputs: InputSettings, required: bool = True
) -> tuple[str, ...]:
    """PATHS, plus llm's logs.db with `--llm`; a usage error when there is nothing to read.

    A `--quarantine` file that could not be written stops the run here, before any read.
    """
    if inputs.quarantine:
        check_output(inputs.quarantine)
    if inputs.llm:
        path = llm_logs_path()
        if not path.is_file():
            msg = f"{path}: no llm logs.db there"
            hint = (
                "Run `llm logs path` to see where llm keeps it, then pass that file,"
                " or set LLM_USER_PATH to its folder."
            )
            raise InputError(msg, hint=hint)
        paths = (*paths, str(path))
    if required and not paths:
        msg = "Give PATHS to read, or --llm to read llm's logs.db."
        raise click.UsageError(msg)
    return paths


class QuarantineFile:
    """Quarantined records as JSON Lines, opened only once there is one to write, and
    renamed into place when the run ends well (a failed run leaves an old file as it was)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self._handle: IO[bytes] | None = None
        self._atomic = ExitStack()

    def write(self, item: Quarantined) -> None:
        try:
            if self._handle is None:
                temporary = self._atomic.enter_context(atomic_file(self.path))
                self._handle = Path(temporary).open("wb")  # noqa: SIM115 - closed in __exit__
            self._handle.write(json_bytes(orjson.dumps(item.row())) + b"\n")
        except OSError as exc:
            raise output_error(self.path, exc) from exc
        self.count += 1

    def __enter__(self) -> QuarantineFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError as error:
                self._atomic.__exit__(type(error), error, error.__traceback__)
                if exc_type is None:
                    raise output_error(self.path, error) from error
                return
        try:
            self._atomic.__exit__(exc_type, exc, tb)
        except OSError as error:
            if exc_type is None:
                raise output_error(self.path, error) from error


@contextmanager
def reading(inputs: InputSettings, default_quarantine: str) -> Iterator[Reading]:
    """An ingest whose bad records go to the quarantine file (or stop the run with
    `--strict`) and whose unreadable files are reported on stderr as they are met."""
    with QuarantineFile(inputs.quarantine or default_quarantine) as quarantine:

        def on_quarantine(item: Quarantined) -> None:
            if inputs.strict:
                msg = f"{item.source}:{item.line}: {item.reason}"
                hint = "Drop --strict to quarantine bad records and go on."
                raise StrictModeError(msg, hint=hint)
            quarantine.write(item)

        ingest = Ingest(
            on_quarantine=on_quarantine, on_file_error=lambda e: echo_err(one_line(f"Error: {e}"))
        )
        yield Reading(ingest, quarantine)


@dataclass(frozen=True, slots=True)
class Reading:
    """A command's ingest and the quarantine file it writes."""

    ingest: Ingest
    quarantine: QuarantineFile


def finish(reading: Reading, quiet: bool = False) -> None:
    """The summary line on stderr, where the quarantine went, and a plain word when
    nothing at all could be read (with the top reasons and the file to open)."""
    stats = reading.ingest.stats
    if quiet and stats.traces:
        return
    echo_err(summary_line(stats))
    quarantine = reading.quarantine
    if quarantine.count:
        echo_err(f"wrote {quarantine.count:,} quarantined records to {quarantine.path}")
    if stats.read and not stats.traces:
        reasons = {**stats.quarantine_reasons, **stats.skip_reasons}
        top = sorted(reasons.items(), key=lambda kv: -kv[1])[:3]
        because = "; ".join(f"{reason} ({n:,})" for reason, n in top)
        where = f"; see {quarantine.path}" if quarantine.count else ""
        echo_err(f"no record could be read as a trace: {because}{where}")
