"""Large checks on every core: the sources split into shards, each checked by its own process.

One process spends most of a large check in Python code (HTTP bookkeeping, extraction,
SQL), so it is bound to one core. Each shard process runs the ordinary pipeline for its
share of the sources, with its own HTTP client and database connection; SQLite in WAL mode
with immediate write transactions lets them write side by side. Politeness holds across
shards: each gets an equal part of the global and per-host connection limits. The changed
pages of known statements are extracted by one process for all shards
(`monitor.cli.extraction`), which `monitor check` starts first.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from monitor.check.pipeline import CheckResult, check_sources, load_for_changes
from monitor.cli.extraction import ExtractionClient, ExtractionProcess
from monitor.fetch.client import prepare_for_fork
from monitor.sources.config import Config, Source
from monitor.state.store import Store


@dataclass(frozen=True)
class _Work:
    """What the shard processes check: set before they fork, so they find it in memory.

    Handing it to them through the pool instead pickled the whole configuration for each
    shard and unpickled it there (0.05 s and 0.13 s per shard for 10,000 sources).
    """

    config: Config
    state: tuple[Path, str | None]  # the state folder and the database URL (as written)
    parts: list[list[Source]]
    timeout: float | None
    progress: multiprocessing.Queue | None  # type: ignore[type-arg]
    extraction: ExtractionProcess | None


_work: _Work | None = None
T = TypeVar("T")


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run a check's coroutine to its end on uvloop where it is installed, else on asyncio's
    own loop.

    uvloop (libuv, in C) runs the same asyncio code with about a tenth less CPU per fetched
    page: a check is mostly event-loop bookkeeping around many small exchanges.
    """
    try:
        import uvloop
    except ImportError:  # not on this platform (Windows) or not installed
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def prepare_shards(sources: Sequence[Source], extraction: ExtractionProcess | None) -> None:
    """Do once, in the process that will fork the shard processes, what each of them would
    otherwise do itself: the verifying TLS context (when some source is fetched over
    HTTPS), the event loop's modules, and the imports of the archive writer and, without a
    process to extract for the shards (`extraction`), of the extractor."""
    prepare_for_fork(tls=any(source.url.startswith("https:") for source in sources))
    load_for_changes(extractor=extraction is None)


def check_in_shards(
    config: Config,
    store: Store,
    sources: Sequence[Source],
    shards: int,
    *,
    on_progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
    extraction: ExtractionProcess | None = None,
) -> list[CheckResult]:
    """Check the sources in `shards` processes; results in the order of `sources`. With
    `extraction`, they extract the changed pages of known statements in that process.

    Call `prepare_shards` first, unless each shard process should do its part itself.
    """
    global _work
    # fork: the children start with what is imported and read here. Safe here because no
    # event loop runs yet and the caller has closed its database connections (see `check`).
    context = multiprocessing.get_context("fork")
    progress: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    _work = _Work(
        _share_limits(config, shards),
        # each shard opens the same database (a connection must not cross a fork)
        (store.state_dir or Path("."), store.database.url if store.database else None),
        [list(sources[i::shards]) for i in range(shards)],
        timeout,
        # Without a progress bar nobody reads the queue: the children then send nothing (a
        # put per check costs a pickle and a pipe write on the busy shard).
        progress if on_progress is not None else None,
        extraction,
    )
    try:
        with ProcessPoolExecutor(max_workers=shards, mp_context=context) as pool:
            futures = [pool.submit(_check_shard, index) for index in range(shards)]
            pending = set(futures)
            while pending:
                _, pending = wait(pending, timeout=0.2)
                _drain(progress, on_progress)
            _drain(progress, on_progress)
            results = {r.source: r for future in futures for r in future.result()}
    finally:
        _work = None
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


def _check_shard(index: int) -> list[CheckResult]:
    """In a shard process: check its part of the sources."""
    work = _work
    assert work is not None, "a shard process is forked from check_in_shards"
    store = Store.open(*work.state)
    extraction = (
        ExtractionClient(work.extraction.connection(index)) if work.extraction is not None else None
    )
    try:
        return run_event_loop(
            check_sources(
                work.config,
                store,
                work.parts[index],
                extraction=extraction,
                on_result=_report,
                timeout=work.timeout,
            )
        )
    finally:
        if extraction is not None:
            extraction.shutdown()
        store.close()


def _report(result: CheckResult) -> None:
    if _work is not None and _work.progress is not None:
        _work.progress.put(result.source)


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
