"""Large checks on every core: the sources split into shards, each checked by its own process.

One process spends most of a large check in Python code (HTTP bookkeeping, extraction,
SQL), so it is bound to one core. Each shard process runs the ordinary pipeline for its
share of the sources, with its own HTTP client and database connection; SQLite in WAL mode
with immediate write transactions lets them write side by side. Politeness holds across
shards: each gets an equal part of the global and per-host connection limits.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path

from monitor.check.pipeline import CheckResult, check_sources
from monitor.fetch.client import prepare_for_fork
from monitor.sources.config import Config, Source
from monitor.state.store import Store

_progress: multiprocessing.Queue | None = None  # type: ignore[type-arg]


def check_in_shards(
    config: Config,
    state_dir: Path,
    sources: Sequence[Source],
    shards: int,
    *,
    on_progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> list[CheckResult]:
    """Check the sources in `shards` processes; results in the order of `sources`."""
    parts = [list(sources[i::shards]) for i in range(shards)]
    shard_config = _share_limits(config, shards)
    # fork: the children start with everything imported. Safe here because no event loop
    # runs yet and the caller has closed its database connections (see `check`).
    prepare_for_fork()
    context = multiprocessing.get_context("fork")
    progress: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    # Without a progress bar nobody reads the queue: the children then send nothing (a put
    # per check costs a pickle and a pipe write on the busy shard).
    listening = on_progress is not None
    with ProcessPoolExecutor(
        max_workers=shards,
        mp_context=context,
        initializer=_init,
        initargs=(progress if listening else None,),
    ) as pool:
        futures = [
            pool.submit(_check_shard, shard_config, state_dir, part, timeout) for part in parts
        ]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2)
            _drain(progress, on_progress)
        _drain(progress, on_progress)
        results = {r.source: r for future in futures for r in future.result()}
    return [results[source.name] for source in sources]


def _share_limits(config: Config, shards: int) -> Config:
    d = config.defaults
    defaults = d.model_copy(
        update={
            "concurrency": max(1, d.concurrency // shards),
            "per_host": max(1, d.per_host // shards),
        }
    )
    return config.model_copy(update={"defaults": defaults})


def _init(progress: multiprocessing.Queue | None) -> None:  # type: ignore[type-arg]
    global _progress
    _progress = progress


def _check_shard(
    config: Config, state_dir: Path, sources: list[Source], timeout: float | None
) -> list[CheckResult]:
    store = Store.open(state_dir)
    try:
        return asyncio.run(
            check_sources(config, store, sources, on_result=_report, timeout=timeout)
        )
    finally:
        store.close()


def _report(result: CheckResult) -> None:
    if _progress is not None:
        _progress.put(result.source)


def _drain(
    progress: multiprocessing.Queue,  # type: ignore[type-arg]
    on_progress: Callable[[str], None] | None,
) -> None:
    while True:
        try:
            name = progress.get_nowait()
        except queue.Empty:
            return
        if on_progress is not None:
            on_progress(name)
