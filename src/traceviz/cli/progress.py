"""A progress bar on stderr for long runs: bytes read of the total, traces/s, an ETA.

Shown only when stderr is a terminal and `-q` was not given; on a pipe or in CI
nothing is drawn. The library reports progress through `Ingest.on_progress`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

OnProgress = Callable[[int, int, int], None]


@contextmanager
def progress_bar(quiet: bool, label: str = "reading") -> Iterator[OnProgress | None]:
    """A callback `(bytes done, bytes in all, traces so far)` drawing the bar, or None."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    # NOTE: imported only to draw: a run on a pipe or in CI would pay ~15 ms for nothing
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    started = time.monotonic()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[traces]} traces, {task.fields[rate]}/s"),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(label, total=None, traces="0", rate="0")

        def update(done: int, total: int, traces: int) -> None:
            rate = traces / max(time.monotonic() - started, 1e-6)
            bar.update(
                task, completed=done, total=total or None, traces=f"{traces:,}", rate=f"{rate:,.0f}"
            )

        yield update
