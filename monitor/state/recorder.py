"""Record finished checks in the store in small groups, one transaction per group.

A large check finishes hundreds of sources a second. One transaction each would spend
more time committing (and, with several writer processes, waiting for the write lock)
than checking. Checks finishing within a few milliseconds of each other are written
together; each check still lands whole or not at all, snapshot and alerts together, and a
check's caller hears only once its transaction has committed.

The writes run in a thread, one group at a time and in order, so the event loop (the
daemon's checks, its web endpoint) never waits for the database.
"""

from __future__ import annotations

import asyncio
import logging

from monitor.state.store import SourceUpdate, Store, StoreError

log = logging.getLogger(__name__)


class Recorder:
    """Writes `SourceUpdate`s to a store, grouping those that arrive together."""

    def __init__(self, store: Store, *, max_batch: int = 64, max_delay: float = 0.02) -> None:
        self.store = store
        self.max_batch = max_batch
        self.max_delay = max_delay
        self._waiting: list[tuple[SourceUpdate, asyncio.Future[SourceUpdate]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def record(self, update: SourceUpdate) -> SourceUpdate:
        """Write one check; returns it as recorded (`Store.save_checks`) once it is
        committed. Raises StoreError."""
        future: asyncio.Future[SourceUpdate] = asyncio.get_running_loop().create_future()
        self._waiting.append((update, future))
        if len(self._waiting) >= self.max_batch:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_delay, self.flush)
        return await future

    def flush(self) -> None:
        """Start writing everything waiting now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting, []
        if not batch:
            return
        task = asyncio.get_running_loop().create_task(self._write(batch))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    async def _write(self, batch: list[tuple[SourceUpdate, asyncio.Future[SourceUpdate]]]) -> None:
        async with self._writing:
            try:
                recorded = await asyncio.to_thread(
                    self.store.save_checks, [update for update, _ in batch]
                )
            except Exception:  # every waiting check must hear back, whatever went wrong
                # One bad check must not sink the others: write them one by one.
                await asyncio.to_thread(self._write_singly, batch)
                return
        for (_, future), written in zip(batch, recorded, strict=True):
            if not future.done():
                future.set_result(written)

    def _write_singly(self, batch: list[tuple[SourceUpdate, asyncio.Future[SourceUpdate]]]) -> None:
        # In the writing thread: the futures are settled on their loop.
        for update, future in batch:
            if future.done():
                continue
            try:
                written = self.store.save_check(update)
            except Exception as exc:
                log.error("%s: could not record the check: %s", update.name, exc)
                error = exc if isinstance(exc, StoreError) else StoreError(str(exc))
                future.get_loop().call_soon_threadsafe(_settle, future, None, error)
            else:
                future.get_loop().call_soon_threadsafe(_settle, future, written, None)


def _settle(
    future: asyncio.Future[SourceUpdate],
    written: SourceUpdate | None,
    error: BaseException | None,
) -> None:
    if future.done():  # its check was cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    elif written is not None:
        future.set_result(written)
