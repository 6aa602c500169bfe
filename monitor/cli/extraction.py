"""One process that extracts statements for every shard of a large `monitor check`.

A large check runs one shard process per core, each fetching and comparing its share of the
sources (`monitor.cli.shards`). Most pages keep their statement and need no extractor; each
page whose statement may have changed does (lxml, trafilatura and htmldate: about 0.12 s of
CPU to import, then about 5 ms a page). The extraction process is forked at the very start
of the check, before the pipeline's own imports, and loads the extractor on the core that
the start-up leaves idle; the shards send it the changed pages of known statements instead
of loading the extractor themselves, and come out even: one that met more changed pages no
longer finishes last. A new statement is still extracted by the shard that finds it (see
`CheckContext.extract`): at a source's first check every page is new, and one process for
all of them would hold the shards back.
Measured on 1,000 pages with 100 edits (`benchmarks/cycle.py`'s cycle 2, alternated with
the shards extracting for themselves): the first request leaves 0.1 s sooner (0.47 s instead
of 0.57 s) and the cycle takes 5.5 % less wall time for 6 % more CPU (the process parses a
changed page again to learn its container); the shards' peak RSS falls from 83 to 71 MiB.
When most pages change at once (a template change, the first run after the digest's form
changed), sending them all here made the run slower: 1,000 pages whose statements all
changed took 7.8-9.4 s against 6.9-8.7 s with the shards extracting for themselves (five
windows, 4 alternations each), for 1.2-2.4 s more CPU (this process parses each page again;
each page travels here and back). The cores are busy either way: a shard spends about 9 ms
of CPU on a changed page without extracting it (fetch, digest, diff, meaning, archive,
store). Capping the pages a shard leaves waiting here (at 1, 2 or 3) did not help; so once
most of the pages a shard compared have changed (`DigestTally`), it extracts them itself.

Each shard talks to it over a connection of its own, through an `ExtractionClient` (an
executor for `CheckContext.extraction`). An extraction process that dies (killed, out of
memory) fails the pages it held with BrokenProcessPool; the shards then extract what is left
themselves and the pipeline tries those pages once more there, so a check never depends on
it.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import multiprocessing
import pickle
import queue
import signal
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, InvalidStateError
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing.connection import Connection, wait
from typing import Any

log = logging.getLogger(__name__)

_CLOSE_WAIT = 5.0  # seconds the process gets to end once every shard is done


class ExtractionProcess:
    """The extraction process, and the end of each shard's connection to it."""

    def __init__(self, shards: int) -> None:
        pairs = [multiprocessing.Pipe() for _ in range(shards)]
        self._ends = [shard_end for shard_end, _ in pairs]
        process_ends = [process_end for _, process_end in pairs]
        context = multiprocessing.get_context("fork")  # as the shards: see monitor.cli.shards
        self._process = context.Process(
            target=_serve, args=(process_ends, self._ends), name="monitor-extraction", daemon=True
        )
        self._process.start()
        for end in process_ends:  # the process's alone: it sees a shard leave as end of file
            end.close()

    @property
    def pid(self) -> int | None:
        """The extraction process's id."""
        return self._process.pid

    def connection(self, shard: int) -> Connection:
        """Shard `shard`'s end of its connection (to use in that shard's process)."""
        return self._ends[shard]

    def close(self) -> None:
        """Let the process end (every connection closed here, as in the ended shards)."""
        for end in self._ends:
            end.close()
        self._process.join(_CLOSE_WAIT)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def start_extraction(shards: int) -> ExtractionProcess | None:
    """An extraction process for `shards` shards; None when it cannot start (the shards then
    extract for themselves)."""
    try:
        return ExtractionProcess(shards)
    except OSError as exc:  # out of processes or memory: a slower check, not a failed one
        log.warning("no extraction process (%s); each shard extracts its own pages", exc)
        return None


def _serve(connections: list[Connection], others: list[Connection]) -> None:
    """The extraction process: answer each job with its result, until every shard has left."""
    from monitor.extract.base import load_extractor

    for end in others:  # the shards' ends, inherited from the fork
        end.close()
    # Ctrl-C reaches every process of the terminal: the parent ends the check, and this
    # process ends with it when the shards' connections close.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    load_extractor()
    # Forked during the start-up, when the collector is paused (monitor.cli.main):
    # frozen as the start-up's objects are there, then back on.
    gc.freeze()
    gc.enable()
    live = list(connections)
    while live:
        for connection in wait(live):
            assert isinstance(connection, Connection)
            try:
                job_id, job = pickle.loads(connection.recv_bytes())
                connection.send_bytes(pickle.dumps((job_id, *_outcome(job))))
            except (EOFError, OSError):  # that shard has left (ended, or killed)
                live.remove(connection)


def _outcome(job: bytes) -> tuple[bool, bytes]:
    """Whether the pickled job succeeded, and its result or error, pickled: any error, even
    one whose pickle fails, is answered, so the shard always hears back."""
    try:
        ok, value = True, pickle.loads(job)()
    except Exception as exc:
        ok, value = False, exc
    try:
        return ok, pickle.dumps(value)
    except Exception as exc:
        failure = RuntimeError(f"the extraction process could not send back {value!r}: {exc}")
        return False, pickle.dumps(failure)


class ExtractionClient(Executor):
    """A shard's way to the extraction process, as an executor (`CheckContext.extraction`).

    Jobs are written and answers read in two threads of their own, so that the shard's
    event loop never waits while the process is busy. When the process is gone, its pending
    jobs fail with BrokenProcessPool and later ones run in the calling thread.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._outbox: queue.SimpleQueue[tuple[int, Callable[[], Any]] | None] = queue.SimpleQueue()
        self._pending: dict[int, Future[Any]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._here = False  # the process is gone: jobs run in the calling thread
        for work in (self._send, self._receive):
            name = f"extraction-{work.__name__[1:]}"
            threading.Thread(target=work, name=name, daemon=True).start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        job = partial(fn, *args, **kwargs)
        future: Future[Any] = Future()
        with self._lock:
            if not self._here:
                job_id = next(self._ids)
                self._pending[job_id] = future
                self._outbox.put((job_id, job))
                return future
        _settle(future, job)
        return future

    def renew(self) -> None:
        """After BrokenProcessPool: run every later job here (the process is not restarted:
        what is left of a one-shot check is cheaper to extract in place)."""
        with self._lock:
            self._here = True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Leave the extraction process: it sees end of file even while this process's
        receiving thread still holds the connection open."""
        self._outbox.put(None)
        with contextlib.suppress(OSError):
            fileno = self._connection.fileno()
            with socket.fromfd(fileno, socket.AF_UNIX, socket.SOCK_STREAM) as duplicate:
                duplicate.shutdown(socket.SHUT_RDWR)

    def _send(self) -> None:
        while (item := self._outbox.get()) is not None:
            job_id, job = item
            try:
                # pickled apart from its id, so that the process answers even a job it
                # cannot rebuild
                message = pickle.dumps((job_id, pickle.dumps(job)))
            except Exception:  # a job only this process can run (a local function)
                future = self._take(job_id)
                if future is not None:
                    _settle(future, job)
                continue
            try:
                self._connection.send_bytes(message)
            except OSError:
                return  # the process is gone: `_receive` hears it and fails the pending jobs

    def _receive(self) -> None:
        while True:
            try:
                job_id, ok, payload = pickle.loads(self._connection.recv_bytes())
            except (EOFError, OSError):
                self._process_gone()
                return
            future = self._take(job_id)
            if future is None:
                continue
            try:
                value = pickle.loads(payload)
            except Exception as exc:  # an error class that cannot be rebuilt here
                failure = f"unreadable answer from the extraction process: {exc}"
                ok, value = False, RuntimeError(failure)
            _resolve(future, ok, value)

    def _take(self, job_id: int) -> Future[Any] | None:
        with self._lock:
            return self._pending.pop(job_id, None)

    def _process_gone(self) -> None:
        with self._lock:
            self._here = True
            failed, self._pending = self._pending, {}
        for future in failed.values():
            _resolve(future, False, BrokenProcessPool("the extraction process ended"))


def _settle(future: Future[Any], job: Callable[[], Any]) -> None:
    """Run the job here and give the future its outcome."""
    try:
        ok, value = True, job()
    except Exception as exc:
        ok, value = False, exc
    _resolve(future, ok, value)


def _resolve(future: Future[Any], ok: bool, value: Any) -> None:
    try:
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    except InvalidStateError:  # cancelled meanwhile (the run's time limit): nobody waits
        pass
