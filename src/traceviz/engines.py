"""Where shards are analysed: in this process, in local worker processes, or on a Dask
cluster. Every engine returns results in submission order, so the driver merges them
exactly as a one-process run would.

Dask rather than Ray: each shard is an independent pure function from a file range to
small tables, which is what Dask's futures do with no actor model or object store to
run; `distributed` is a pure-Python install that starts an in-process `LocalCluster`
in a second (the tests use one), and it reads the same shared paths as the driver.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain, islice
from typing import Any, Protocol, TypeVar

from traceviz import tokens
from traceviz.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")

ENGINES = ("local", "dask")


class Engine(Protocol):
    """Runs a function over items, results in item order, a few in flight at a time."""

    workers: int
    min_bytes: int  # below this much input, running in this process is faster

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...

    def close(self) -> None: ...


class InProcess:
    """One process: the reference every other engine must match."""

    workers = 1
    min_bytes = 0

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        return map(function, items)

    def close(self) -> None:
        return None


def _single_threaded() -> None:
    tokens.use_threads(1)  # the processes already use every core


class LocalProcesses:
    """Worker processes on this machine (spawned: polars' threads do not survive a fork),
    started for one `map` and stopped as soon as its last result is in, so they do not
    hold their memory while the driver goes on."""

    min_bytes = 8 * 1024 * 1024  # starting a worker costs about a second

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        items = iter(items)
        head = list(islice(items, 2))
        if len(head) < 2:  # one shard: starting processes would only cost time
            return map(function, head)
        return self._pooled(function, chain(head, items))

    def _pooled(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_single_threaded,
        )
        try:
            yield from _ordered(lambda item: pool.submit(function, item), items, 2 * self.workers)
        finally:
            pool.shutdown(cancel_futures=True)

    def close(self) -> None:
        return None


class DaskCluster:
    """The workers of a running Dask cluster (`--engine dask --address tcp://host:8786`)."""

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            msg = "--engine dask needs the distributed package"
            raise ConfigError(msg, hint="pip install 'traceviz[dask]'") from exc
        try:
            self._client = Client(address, timeout="10s")
        except OSError as exc:
            msg = f"cannot reach the Dask scheduler at {address}: {exc}"
            raise ConfigError(msg, hint="Start one with `dask scheduler`.") from exc
        self.workers = max(1, sum(self._client.nthreads().values()))
        self.min_bytes = 0

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        return _ordered(
            lambda item: self._client.submit(function, item, pure=False),
            items,
            2 * self.workers,
        )

    def close(self) -> None:
        self._client.close()


def _ordered(
    submit: Callable[[Any], Future[Any] | Any], items: Iterable[Any], window: int
) -> Iterator[Any]:
    """Submit items keeping at most `window` in flight; yield results in item order."""
    pending: deque[Any] = deque()
    for item in items:
        pending.append(submit(item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def default_workers() -> int:
    """Worker processes by default: one per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def engine_for(name: str | None, address: str | None, workers: int | None) -> Engine:
    """The engine a command asked for: `local` (the default) or `dask` at an address."""
    if name in (None, "local"):
        if address:
            msg = "--address is for --engine dask"
            raise ConfigError(msg)
        count = workers if workers is not None else default_workers()
        return LocalProcesses(count) if count > 1 else InProcess()
    if name == "dask":
        if not address:
            msg = "--engine dask needs --address (the scheduler, e.g. tcp://10.0.0.5:8786)"
            raise ConfigError(msg)
        return DaskCluster(address)
    msg = f"unknown engine {name!r}"
    raise ConfigError(msg, hint=f"Use one of: {', '.join(ENGINES)}.")
