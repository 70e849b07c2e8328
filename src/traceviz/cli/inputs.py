"""Options shared by every command that reads logs, and the quarantine file they write."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import IO, Any, TypeVar

import click
import orjson

from traceviz.ingest import DEFAULT_MAX_RECORD_BYTES
from traceviz.load import ReadOptions
from traceviz.normalize import shape_names
from traceviz.schema import Quarantined

F = TypeVar("F", bound=Callable[..., Any])


def input_options(func: F) -> F:
    """`--shape`, `--quarantine`, `--strict`, `--batch`, `--max-record-bytes`."""
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
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def read_options_from(options: dict[str, Any]) -> ReadOptions:
    return ReadOptions(
        shape=options["shape"],
        max_record_bytes=options["max_record_bytes"],
        batch=bool(options["batch"]),
    )


class QuarantineFile:
    """Quarantined records as JSON Lines, opened only once there is one to write."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self._handle: IO[bytes] | None = None

    def write(self, item: Quarantined) -> None:
        if self._handle is None:
            self._handle = click.open_file(self.path, "wb")  # type: ignore[assignment]
        assert self._handle is not None
        self._handle.write(orjson.dumps(item.row()) + b"\n")
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
            self._handle.close()
