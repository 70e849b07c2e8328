"""Options shared by the commands that run the whole pipeline: `report` and `audit`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from traceviz import price, tokens
from traceviz.cache import ResultCache
from traceviz.cli.inputs import read_options_from
from traceviz.engines import ENGINES, engine_for
from traceviz.errors import ConfigError
from traceviz.pipeline import AnalysisOptions, RunOptions
from traceviz.segment import kinds as kinds_module

F = TypeVar("F", bound=Callable[..., Any])


def analysis_options(func: F) -> F:
    """`--tokenizer`, `--catalog`, `--at`, `--tier`, `--vs`, `--ratio`, `--preset`,
    `--kinds-model`, `--no-steps`."""
    decorators = [
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
            type=click.Choice(["standard", "batch", "flex"]),
            help="Price every record at this tier.",
        ),
        click.option(
            "--vs", help="What the same work would cost on this model (e.g. o1, deepseek-reasoner)."
        ),
        click.option(
            "--ratio",
            type=click.FloatRange(min=0, min_open=True),
            help="R1 reasoning tokens per o1 reasoning token, for --vs.",
        ),
        click.option(
            "--preset",
            type=click.Choice(sorted(price.RATIO_PRESETS)),
            default="epoch-2025",
            show_default=True,
            help="A published ratio for --vs, with its range and source.",
        ),
        click.option(
            "--kinds-model",
            type=click.Path(exists=True, dir_okay=False),
            envvar="TRACEVIZ_KINDS_MODEL",
            help="A step-kind model of your own.",
        ),
        click.option("--no-steps", is_flag=True, help="Skip steps and behaviour metrics (faster)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def analysis_from(options: dict[str, Any]) -> AnalysisOptions:
    ratio = price.ratio_preset(options["preset"])
    if options["ratio"] is not None:
        value = float(options["ratio"])
        ratio = price.Ratio(value, value, value, f"--ratio {value:g} (given)")
    at = None
    if options["at_text"]:
        try:
            at = price.parse_at(options["at_text"])
        except ValueError as exc:
            msg = f"--at {options['at_text']!r} is not a date"
            raise ConfigError(
                msg, hint="Give a UTC date or time such as 2025-03-01 or 2025-03-01T16:30."
            ) from exc
    return AnalysisOptions(
        read=read_options_from(options),
        keep_steps=False,
        tokenizer=options["tokenizer"],
        steps=not options["no_steps"],
        kinds_model=kinds_module.load(options["kinds_model"]) if options["kinds_model"] else None,
        catalog=price.load(options["catalog"]),
        at=at,
        tier=options["tier"],
        vs=options["vs"],
        ratio=ratio,
    )


def run_options(func: F) -> F:
    """`--workers`, `--engine`, `--address`, `--no-cache`, `--cache-dir`: how, not what."""
    decorators = [
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
            help="The Dask scheduler, e.g. tcp://10.0.0.5:8786. Dask exchanges pickles with"
            " it: give only a cluster you trust.",
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
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


@contextmanager
def run_from(options: dict[str, Any]) -> Iterator[RunOptions]:
    """The run settings of a command; its engine is shut down on the way out."""
    engine = engine_for(options["engine"], options["address"], options["workers"])
    try:
        cache = None if options["no_cache"] else ResultCache(options["cache_dir"])
        yield RunOptions(engine=engine, cache=cache)
    finally:
        engine.close()
