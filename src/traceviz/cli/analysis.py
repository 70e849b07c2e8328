"""Options shared by the commands that run the pipeline, declared once.

`analysis_options` hands the command `analysis: AnalysisOptions` (what is measured and
priced), `run_options` hands it `run: RunSettings` (how the run is carried out: never
what it finds). Each flag is a named parameter of the decorator's wrapper, so a flag
that nothing reads is a `TypeError`, not a silent no-op.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from traceviz import price, segment, tokens
from traceviz.cache import ResultCache
from traceviz.cli.common import FiniteRange
from traceviz.engines import ENGINES, engine_for
from traceviz.errors import ConfigError
from traceviz.pipeline import AnalysisOptions, RunOptions

F = TypeVar("F", bound=Callable[..., Any])


def _apply(func: F, decorators: list[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def kinds_model_option(func: F) -> F:
    return click.option(
        "--kinds-model",
        type=click.Path(exists=True, dir_okay=False),
        envvar="TRACEVIZ_KINDS_MODEL",
        help="A step-kind model of your own (from `traceviz kinds train`).",
    )(func)


def analysis_options(func: F) -> F:
    """`--tokenizer`, `--catalog`, `--at`, `--tier`, `--vs`, `--ratio`, `--preset`,
    `--kinds-model`, `--no-steps`, `--dedupe`: passed on as `analysis: AnalysisOptions`."""

    @functools.wraps(func)
    def command(
        *args: Any,
        tokenizer: str | None,
        catalog: str | None,
        at_text: str | None,
        tier: price.cost.Tier | None,
        vs: str | None,
        ratio: float | None,
        preset: str,
        kinds_model: str | None,
        no_steps: bool,
        dedupe: bool,
        **kwargs: Any,
    ) -> Any:
        given = price.ratio_preset(preset)
        if ratio is not None:
            given = price.Ratio(ratio, ratio, ratio, f"--ratio {ratio:g} (given)")
        analysis = AnalysisOptions(
            keep_steps=False,
            tokenizer=tokenizer,
            steps=not no_steps,
            kinds_model=segment.kinds.load(kinds_model) if kinds_model else None,
            catalog=price.load(catalog),
            at=_at(at_text),
            tier=tier,
            vs=vs,
            ratio=given,
            dedupe=dedupe,
        )
        return func(*args, analysis=analysis, **kwargs)

    return _apply(
        command,
        [
            click.option(
                "--tokenizer",
                type=click.Choice(tokens.TOKENIZERS),
                help="Count every trace with this tokenizer.",
            ),
            click.option(
                "--catalog",
                type=click.Path(exists=True, dir_okay=False),
                envvar="TRACEVIZ_CATALOG",
                help="TOML price entries that add to or override the shipped catalog.",
            ),
            click.option(
                "--at", "at_text", help="Price records without a timestamp as of this UTC date."
            ),
            click.option(
                "--tier",
                type=click.Choice(["standard", "batch", "flex", "priority"]),
                help="Price every record at this tier.",
            ),
            click.option(
                "--vs",
                help="What the same work would cost on this model (e.g. o1, deepseek-reasoner).",
            ),
            click.option(
                "--ratio",
                type=FiniteRange(min=0, min_open=True),
                help="R1 reasoning tokens per o1 reasoning token, for --vs.",
            ),
            click.option(
                "--preset",
                type=click.Choice(sorted(price.RATIO_PRESETS)),
                default="epoch-2025",
                show_default=True,
                help="A published ratio for --vs, with its range and source.",
            ),
            kinds_model_option,
            click.option(
                "--no-steps", is_flag=True, help="Skip steps and behaviour metrics (faster)."
            ),
            click.option(
                "--dedupe",
                is_flag=True,
                help="Count each logged response once: later copies (same logged response id"
                " and choice) are left out.",
            ),
        ],
    )  # type: ignore[return-value]


def _at(text: str | None) -> Any:
    if not text:
        return None
    try:
        return price.parse_at(text)
    except ValueError as exc:
        msg = f"--at {text!r} is not a date"
        hint = "Give a UTC date or time such as 2025-03-01 or 2025-03-01T16:30."
        raise ConfigError(msg, hint=hint) from exc


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How a run is carried out: the engine, its workers, the result cache."""

    engine: str = "local"
    address: str | None = None
    workers: int | None = None
    cache: bool = True
    cache_dir: str | None = None

    @contextmanager
    def open(self) -> Iterator[RunOptions]:
        """The run options of a command; its engine is shut down on the way out."""
        engine = engine_for(self.engine, self.address, self.workers)
        try:
            cache = ResultCache(self.cache_dir) if self.cache else None
            yield RunOptions(engine=engine, cache=cache)
        finally:
            engine.close()


def run_options(func: F) -> F:
    """`--workers`, `--engine`, `--address`, `--no-cache`, `--cache-dir`: passed on as
    `run: RunSettings`."""

    @functools.wraps(func)
    def command(
        *args: Any,
        workers: int | None,
        engine: str,
        address: str | None,
        no_cache: bool,
        cache_dir: str | None,
        **kwargs: Any,
    ) -> Any:
        run = RunSettings(engine, address, workers, not no_cache, cache_dir)
        return func(*args, run=run, **kwargs)

    return _apply(
        command,
        [
            click.option(
                "--workers",
                type=click.IntRange(min=1),
                help="Worker processes on this machine (default: one per core).",
            ),
            click.option(
                "--engine",
                type=click.Choice(ENGINES),
                default="local",
                show_default=True,
                help="Where shards run: local processes, or a Dask cluster (with --address).",
            ),
            click.option(
                "--address",
                help="The Dask scheduler, e.g. tcp://10.0.0.5:8786 (a cluster you trust:"
                " Dask exchanges pickles with it).",
            ),
            click.option(
                "--no-cache", is_flag=True, help="Read every file again, ignoring kept results."
            ),
            click.option(
                "--cache-dir",
                type=click.Path(file_okay=False),
                envvar="TRACEVIZ_CACHE_DIR",
                help="Where per-file results are kept (default ~/.cache/traceviz).",
            ),
        ],
    )  # type: ignore[return-value]
