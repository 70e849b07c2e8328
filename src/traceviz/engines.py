"""Where shards are analysed: in this process, in local worker processes, or on a Dask
cluster. Every engine returns results in submission order, so the driver merges them
exactly as a one-process run would.

Dask rather than Ray: each shard is an independent pure function from a file range to
small tables, which is what Dask's futures do with no actor model or object store to
run; `distributed` is a pure-Python install that starts an in-process `LocalCluster`
in a second (the tests use one), and it reads the same shared paths as the driver.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import select
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import chain, islice
from typing import Any, Protocol, TypeVar

from traceviz import tokens
from traceviz.errors import ConfigError, WorkerError

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


def _worker_start(command: int) -> None:
    """How each worker process starts: one tokenizer thread (the processes already use
    every core), deaf to Ctrl-C, and bound to the life of the command that started it.

    Ctrl-C reaches the terminal's whole process group: the command stops its workers
    itself (`LocalProcesses`), so a worker does not die mid-result with a traceback of
    its own. A command that dies without stopping them (SIGKILL, a crash) must not leave
    them behind: the pool's pipes have no reader that closes (every worker holds both
    ends), so a worker would block forever writing its result, holding its memory, and
    the fork server with it. A thread of each worker waits for the command to end and
    then ends the worker.
    """
    tokens.use_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(command,), daemon=True).start()


def _exit_with(command: int) -> None:
    """Return never; end this process once process `command` has ended."""
    try:
        handle = os.pidfd_open(command)  # Linux: readable once the process has ended
    except (AttributeError, OSError):  # elsewhere, or it has already ended
        handle = None
    if handle is not None:
        select.select([handle], [], [])
    else:
        while _alive(command):
            time.sleep(1)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # there, but another user's (the command's pid reused)
        return False
    return True


PRELOAD = "traceviz._preload_tokenizers"  # what the fork server holds for its workers


class LocalProcesses:
    """Worker processes on this machine, started for one `map` and stopped as soon as its
    last result is in, so they do not hold their memory while the driver goes on.

    Workers are forked by a fork server that loaded the tokenizer tables first (`PRELOAD`):
    they share those ~90 MB (copy-on-write; the Python rank dicts they were built from
    freed, see `tokenizers.shed_vocabularies`) instead of loading ~130 MB each. The server is
    a fresh interpreter that imports only tiktoken and the tables, one thread, so forking
    it is safe; forking the driver would not be (polars' thread pool does not survive a
    fork). The server is stopped with the workers. Where there is no fork server (not
    POSIX), workers are spawned and load the tables themselves.
    """

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
        context = _worker_context()
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
        seen: dict[int, Any] = {}  # the workers started: the pool forgets them once broken
        servers: set[int] = set()  # the fork server those workers came from

        def submit(item: T) -> Future[R]:
            future = pool.submit(function, item)
            # NOTE: `_processes` is private; without it the message still says a worker died
            seen.update(getattr(pool, "_processes", None) or {})
            if (server := _fork_server_pid()) is not None and server not in servers:
                servers.add(server)
                _MAPS_ON_SERVER[server] += 1
            return future

        def lost(item: Any, error: BaseException) -> Exception | None:
            if not isinstance(error, BrokenProcessPool):
                return None
            msg = f"{_dead_worker(seen)}; the run stopped before {_describe(item)} was analysed"
            hint = (
                "A worker killed by SIGKILL has often run out of memory (see `dmesg`):"
                " try fewer --workers, or --no-steps."
            )
            return WorkerError(msg, hint=hint)

        finished = False
        try:
            yield from _ordered(submit, items, 2 * self.workers, lost)
            finished = True
        finally:
            if not finished:  # interrupted, failed or closed early: their work is not wanted
                _stop_workers(seen)
            pool.shutdown(cancel_futures=True)
            _MAPS_ON_SERVER.subtract(servers)
            if context.get_start_method() == "forkserver":
                _stop_fork_server(servers)

    def close(self) -> None:
        return None


def _stop_workers(processes: dict[int, Any]) -> None:
    """Stop the workers at once rather than wait for the shards they are measuring
    (`pool.shutdown` would wait for each to finish its shard: seconds to minutes)."""
    for process in processes.values():
        with contextlib.suppress(OSError, ValueError):  # already gone
            process.terminate()


def _worker_context() -> multiprocessing.context.BaseContext:
    """A fork server with the tokenizers loaded, where there is one; else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOAD])
    return context


# NOTE: maps still running per fork server (by its pid): the server is one per
# interpreter, shared by maps that overlap (a generator left unfinished, closed later)
_MAPS_ON_SERVER: Counter[int] = Counter()


def _fork_server_pid() -> int | None:
    """The process id of this interpreter's fork server, while one runs."""
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    return pid if isinstance(pid, int) else None


def _stop_fork_server(started: set[int]) -> None:
    """Stop the fork server (and the tables it holds) once its workers are done: if a
    map's workers came from it (`started`) and no other map still uses it.

    The server is one per interpreter: a map left unfinished is closed whenever its
    generator is collected, and stopping the server under a map still running would lose
    its workers' exit statuses (read as exit code 255).

    NOTE: `ForkServer._stop` is private (CPython's own tests use it); without it the
    server lives, idle, until the command exits.
    """
    server_pid = _fork_server_pid()
    if server_pid not in started or _MAPS_ON_SERVER[server_pid] > 0:
        return
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if callable(stop):
        # NOTE: on a run ending in an error, interpreter shutdown may have removed the
        # server's socket folder first: then there is nothing left to stop
        with contextlib.suppress(OSError):
            stop()


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
        from distributed import KilledWorker

        def lost(item: Any, error: BaseException) -> Exception | None:
            if not isinstance(error, KilledWorker):
                return None
            msg = f"Dask workers died running {_describe(item)}: {error}"
            hint = "Check the workers' logs; a worker that runs out of memory is restarted."
            return WorkerError(msg, hint=hint)

        return _ordered(
            lambda item: self._client.submit(function, item, pure=False),
            items,
            2 * self.workers,
            lost,
        )

    def close(self) -> None:
        self._client.close()


def _ordered(
    submit: Callable[[Any], Future[Any] | Any],
    items: Iterable[Any],
    window: int,
    lost: Callable[[Any, BaseException], Exception | None] | None = None,
) -> Iterator[Any]:
    """Submit items keeping at most `window` in flight; yield results in item order.

    `lost(item, error)` may turn the error of a worker that died into one that says so.
    """
    pending: deque[tuple[Any, Any]] = deque()

    def take() -> Any:
        item, future = pending.popleft()
        try:
            if isinstance(future, Future):
                _wait_awake(future)
            return future.result()
        except Exception as error:
            explained = lost(item, error) if lost is not None else None
            if explained is None:
                raise
            raise explained from error

    for item in items:
        pending.append((item, submit(item)))
        if len(pending) >= window:
            yield take()
    while pending:
        yield take()


def _wait_awake(future: Future[Any]) -> None:
    """Wait for `future`, waking every 0.2 s so that Ctrl-C and SIGTERM act at once.

    The kernel hands a signal to any thread of the process, often one of polars' or
    tiktoken's; Python then runs its handler only when the main thread next runs, and a
    main thread blocked on the future would sleep on until the shard is done (seconds).
    """
    while not wait([future], timeout=0.2).done:
        pass


def _describe(item: Any) -> str:
    """A shard as the user knows it: `logs/a.jsonl bytes 0-67,108,864`."""
    describe = getattr(item, "describe", None)
    return str(describe()) if callable(describe) else repr(item)


LOST_STATUS = 255  # multiprocessing's forkserver Popen: the status pipe closed unread


def _dead_worker(processes: dict[int, Any]) -> str:
    """`worker process 4242 died (killed by SIGKILL)`, from the processes the pool started."""
    deadline = time.monotonic() + 2  # the pool is reaping them: wait for the exit codes
    for process in processes.values():
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    dead = [(pid, p.exitcode) for pid, p in processes.items() if p.exitcode not in (None, 0)]
    # the pool stops the others with SIGTERM once one has died: the culprit is the rest;
    # and 255 is what a fork-server child reads as when its status did not come through
    # (seen under load beside the real SIGKILL or exit code 3): it says least of all
    dead.sort(key=lambda d: (d[1] == -signal.SIGTERM, d[1] == LOST_STATUS))
    if not dead:
        return "a worker process died"
    pid, code = dead[0]
    if code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    return f"worker process {pid} died ({how})"


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
