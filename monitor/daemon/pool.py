"""The extraction pool that outlives its workers.

A `ProcessPoolExecutor` whose worker is killed (the OOM killer, an operator's `kill`, a
crash in lxml) is broken for good: every later job raises `BrokenProcessPool`. `WorkerPool`
replaces a broken pool with a new one, so one dead worker costs the jobs it held (retried
once by `CheckContext.run`) and nothing after. Each worker's address space is capped
(RLIMIT_AS), so a pathological page fails its own check with a MemoryError instead of
taking the machine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_WORKER_MEMORY = 2 * 1024**3  # bytes of address space per extraction worker


class WorkerPool(Executor):
    """An executor over a process pool that is replaced whenever it breaks."""

    def __init__(self, factory: Callable[[], ProcessPoolExecutor]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._pool = factory()
        self.replaced = 0  # how many broken pools were replaced (for tests and metrics)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run fn in a worker; on a broken pool, in a new pool's worker."""
        pool = self._current()
        try:
            return pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            return self.renew(pool).submit(fn, *args, **kwargs)

    def renew(self, broken: Executor | None = None) -> ProcessPoolExecutor:
        """The pool to use now: a new one when the current one is broken (or is `broken`)."""
        with self._lock:
            pool = self._pool
            if pool is broken or getattr(pool, "_broken", False):
                self._pool = self._factory()
                self.replaced += 1
                log.warning("an extraction worker died; the pool of workers was replaced")
                pool.shutdown(wait=False, cancel_futures=True)
            return self._pool

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            return self._pool

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._current().shutdown(wait=wait, cancel_futures=cancel_futures)

    # What monitor.daemon.service reads of a ProcessPoolExecutor (warm-up and stop).
    @property
    def _processes(self) -> Any:
        return getattr(self._current(), "_processes", None)

    @property
    def _max_workers(self) -> int:
        return int(getattr(self._current(), "_max_workers", 1))


def is_broken_pool(exc: BaseException) -> bool:
    """True for the error of a job whose worker died."""
    return isinstance(exc, BrokenProcessPool)


def cap_memory(limit: int | None) -> None:
    """Cap this process's address space (in a worker: its initializer); None or 0: no cap."""
    if not limit:
        return
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except (ImportError, ValueError, OSError) as exc:  # not POSIX, or not allowed
        log.warning("cannot cap an extraction worker's memory: %s", exc)
