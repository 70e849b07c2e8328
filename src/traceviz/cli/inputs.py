"""Options shared by every command that reads logs, and the quarantine file they write."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import click
import orjson

from traceviz.errors import InputError
from traceviz.ingest import DEFAULT_MAX_RECORD_BYTES
from traceviz.load import ReadOptions
from traceviz.normalize import shape_names
from traceviz.outputs import check_output, output_error
from traceviz.price.cost import parse_at
from traceviz.report.text import json_bytes
from traceviz.schema import Quarantined

F = TypeVar("F", bound=Callable[..., Any])


def input_options(func: F) -> F:
    """`--shape`, `--quarantine`, `--strict`, `--batch`, `--max-record-bytes`, and the
    filters `--since`, `--until`, `--model`."""
    decorators = [
        click.option(
            "--shape",
            type=click.Choice(shape_names()),
            default=None,
            help="Read every record as this shape instead of detecting it.",
        ),
        click.option(
            "--quarantine",
            type=click.Path(dir_okay=False, writable=True),
            default=None,
            help="Write records that could not be read here (JSON Lines).",
        ),
        click.option("--strict", is_flag=True, help="Stop at the first bad record."),
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
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _utc(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_at(value)
    except ValueError as exc:
        msg = f"{value!r} is not a date or time (try 2025-03-01 or 2025-03-01T16:30)"
        raise click.BadParameter(msg, ctx, param) from exc


def llm_option(func: F) -> F:
    """`--llm`: read simonw/llm's logs.db, found where llm keeps it."""
    return click.option(
        "--llm",
        "llm_logs",
        is_flag=True,
        help="Also read llm's logs.db ($LLM_USER_PATH/logs.db, else llm's own app folder).",
    )(func)


def llm_logs_path() -> Path:
    """Where llm keeps logs.db, found as `llm logs path` finds it."""
    root = os.environ.get("LLM_USER_PATH")
    folder = Path(root) if root else Path(click.get_app_dir("io.datasette.llm"))
    return folder / "logs.db"


def input_paths(
    paths: tuple[str, ...], options: dict[str, Any], required: bool = True
) -> tuple[str, ...]:
    """PATHS, plus llm's logs.db with `--llm`; a usage error when there is nothing to read.

    A `--quarantine` file that could not be written stops the run here, before any read.
    """
    if options.get("quarantine"):
        check_output(str(options["quarantine"]))
    if options.get("llm_logs"):
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


def read_options_from(options: dict[str, Any]) -> ReadOptions:
    return ReadOptions(
        shape=options["shape"],
        max_record_bytes=options["max_record_bytes"],
        batch=bool(options["batch"]),
        since=options.get("since"),
        until=options.get("until"),
        models=tuple(options.get("models") or ()),
    )


class QuarantineFile:
    """Quarantined records as JSON Lines, opened only once there is one to write."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self._handle: IO[bytes] | None = None

    def write(self, item: Quarantined) -> None:
        try:
            if self._handle is None:
                self._handle = click.open_file(self.path, "wb")  # type: ignore[assignment]
            assert self._handle is not None
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
                if exc_type is None:
                    raise output_error(self.path, error) from error
