"""`monitor run`: the daemon that checks every source on its schedule until it is stopped.

One process, one event loop, everything on it: the APScheduler scheduler, the checks (their
fetches share one polite HTTP client), the outbox worker that delivers alerts, and the HTTP
endpoint (uvicorn). Page extraction, the only CPU-heavy step, runs in a process pool so a
slow page never stalls the loop.

Lifecycle:

- start: configuration and state are opened and the address is bound before anything runs,
  so a mistake is one clear message and exit status 2;
- SIGHUP: the configuration is read again; sources are added, removed or rescheduled; an
  invalid file is logged and the running configuration kept;
- SIGTERM / SIGINT: no new checks; checks in flight get a few seconds to finish, then are
  abandoned (a check writes all it found in one transaction at its end, so an abandoned one
  leaves no trace); the outbox finishes or abandons its round (an abandoned delivery is
  retried with the same delivery id); exit status 0, within 10 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import ipaddress
import logging
import multiprocessing
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy as sa
import uvicorn

from monitor.alerts.outbox import OutboxWorker
from monitor.archive.keeper import apply_retention
from monitor.check import pipeline
from monitor.check.pipeline import CheckContext, CheckResult, check_source, fetch_settings
from monitor.cli.main import frozen_start_up
from monitor.cli.options import fail, open_config, open_store
from monitor.clock import iso_or_none, utcnow
from monitor.daemon.cluster import (
    ClusterConfigMismatch,
    ClusterSpacing,
    Membership,
    NodeStatus,
    config_hash,
)
from monitor.daemon.logs import LogFormat, Secrets, configure_logging
from monitor.daemon.metrics import Metrics
from monitor.daemon.pool import DEFAULT_WORKER_MEMORY, WorkerPool, cap_memory
from monitor.daemon.scheduler import (
    CheckScheduler,
    Health,
    ScheduleError,
    ScheduleSettings,
    Timing,
    assess_health,
    source_health,
    timing_of,
)
from monitor.daemon.web import create_app
from monitor.events import Event
from monitor.fetch.base import Fetcher
from monitor.fetch.client import FetchSettings
from monitor.fetch.polite import POLITENESS_WAIT, HostSpacing, PoliteFetcher, Spacing
from monitor.fetch.router import open_fetcher
from monitor.sources.config import Config, ConfigError, Source, format_duration, load_config
from monitor.sources.durations import parse_size
from monitor.sources.urls import canonical_url, redact_url
from monitor.state.recorder import Recorder
from monitor.state.store import Store, StoreError, error_text

log = logging.getLogger(__name__)
check_log = logging.getLogger("monitor.check")

MIN_TOKEN_LENGTH = 16
# The shutdown budget, in seconds: well inside the 10 s promised (and systemd's default 90 s).
DRAIN_CHECKS = 5.0
DRAIN_OUTBOX = 2.0
STOP_WEB = 1.0
STOP_POOL = 1.0
# Retention (`keep_versions`, `archive_keep`): a first pass soon after start, then hourly.
RETENTION_FIRST = 60.0
RETENTION_EVERY = 3600.0

CheckFunction = Callable[[Source, CheckContext], Awaitable[CheckResult]]


class ServiceError(Exception):
    """The daemon cannot start; the message says why and what to do."""


# ---------------------------------------------------------------------------------------------
# The listening address and the token
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ListenAddress:
    """Where the HTTP endpoint listens: `HOST:PORT` (`[::1]:8787` for IPv6)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        host, sep, port = text.strip().rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ServiceError(
                f"--listen {text!r}: write HOST:PORT, e.g. 127.0.0.1:8787 or 0.0.0.0:8787"
            )
        return cls(host, int(port))

    @property
    def is_loopback(self) -> bool:
        """True when only this machine can connect (127.0.0.0/8, ::1, localhost)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name: it may resolve to anything

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def check_token(address: ListenAddress, token: str | None) -> str | None:
    """The token to require (None: open), or ServiceError when the address needs one."""
    token = (token or "").strip() or None
    if token is None and not address.is_loopback:
        raise ServiceError(
            f"--listen {address} lets other machines reach the daemon, so it needs an access "
            "token: set MONITOR_TOKEN (or pass --token), e.g. "
            "MONITOR_TOKEN=$(openssl rand -hex 32)"
        )
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ServiceError(
            f"the access token is {len(token)} characters long; use at least "
            f"{MIN_TOKEN_LENGTH} (e.g. `openssl rand -hex 32`)"
        )
    return token


def bind(address: ListenAddress) -> socket.socket:
    """A socket bound to the address, so a busy port is reported before anything starts."""
    try:
        infos = socket.getaddrinfo(
            address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ServiceError(f"--listen {address}: unknown host ({exc.strerror})") from None
    family, kind, proto, _name, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise ServiceError(f"cannot listen on {address}: {exc.strerror}") from None
    return sock


# ---------------------------------------------------------------------------------------------
# The extraction pool
# ---------------------------------------------------------------------------------------------


def make_pool(workers: int, memory: int | None = DEFAULT_WORKER_MEMORY) -> Executor | None:
    """A process pool for extraction, and for the comparison and findings of an edit (None
    for `workers == 0`: all in the loop).

    Workers come from a fork server that has the extraction and findings code imported:
    quick to start, and never forked from this multi-threaded process. A worker that dies
    (killed, out of memory) breaks only the pool it was in: `WorkerPool` starts a new one.
    Each worker's address space is capped at `memory` bytes (None: no cap).
    """
    if workers <= 0:
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["monitor.extract.article", "monitor.meaning"])
    daemon = os.getpid()
    return WorkerPool(
        lambda: ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_worker_init,
            initargs=(daemon, memory),
        )
    )


def _worker_init(daemon: int, memory: int | None = None) -> None:
    """In each worker: leave signals to the daemon, exit when the daemon is gone, and stay
    within `memory` bytes of address space."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    cap_memory(memory)
    threading.Thread(target=_exit_with, args=(daemon,), name="daemon-watch", daemon=True).start()


def _exit_with(daemon: int) -> None:
    """Exit as soon as the daemon process has ended.

    A SIGKILLed daemon cannot shut its pool down, and nothing else would end its workers:
    they wait for work on a pipe they hold both ends of, and the fork server (their parent)
    lives as long as they do. A pidfd tells when exactly that process ended (no pid reuse);
    without one (not Linux), poll.
    """
    try:
        handle = os.pidfd_open(daemon)
    except (AttributeError, OSError):
        while _alive(daemon):
            time.sleep(1.0)
    else:
        select.select([handle], [], [])  # readable once the process has exited
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pool(executor: Executor | None, timeout: float) -> None:
    """Shut the pool down without waiting for a long extraction: stop it after `timeout`."""
    if executor is None:
        return
    # The pool's processes are private; reading them is the only way to bound the wait
    # (and to spare the interpreter's exit hook from waiting on a runaway extraction).
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.terminate()


# ---------------------------------------------------------------------------------------------
# uvicorn, without its signal handling
# ---------------------------------------------------------------------------------------------


class _WebServer(uvicorn.Server):
    """uvicorn's server, leaving SIGTERM/SIGINT to the daemon (which stops it in order)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def web_server(app: Any) -> _WebServer:
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,  # our logging setup (monitor.daemon.logs) formats its lines
        access_log=False,  # an access log would record `?token=…`
        server_header=False,
        timeout_graceful_shutdown=int(STOP_WEB) or 1,
    )
    return _WebServer(config)


async def _stop_web(server: _WebServer | None, web: asyncio.Task[None] | None) -> None:
    """Ask uvicorn to stop, and cancel it if it takes longer than its short grace."""
    if server is None or web is None:
        return
    server.should_exit = True
    try:
        await asyncio.wait_for(web, STOP_WEB + 1)
    except (TimeoutError, asyncio.CancelledError):
        web.cancel()
    except Exception:
        pass  # already reported when it stopped


async def _warm_up(executor: Executor | None) -> None:
    """Start the extraction workers now, so the first checks do not wait for them."""
    if executor is None:
        return
    loop = asyncio.get_running_loop()
    workers = getattr(executor, "_max_workers", 1)
    with contextlib.suppress(Exception):
        await asyncio.gather(*(loop.run_in_executor(executor, os.getpid) for _ in range(workers)))


# ---------------------------------------------------------------------------------------------
# The daemon
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _ReloadPlan:
    """What a reload sets, computed (and so validated) before anything changes."""

    settings: ScheduleSettings
    fetch: FetchSettings


class Service:
    """The running daemon: scheduler, checks, outbox worker, HTTP endpoint, signals.

    `run(sock)` serves until `stop()` (SIGTERM/SIGINT) and returns the exit status.
    `reload()` is SIGHUP. `check(name)` is one scheduled check, with its watchdog.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        config_path: Path | None = None,
        token: str | None = None,
        workers: int = 0,
        worker_memory: int | None = DEFAULT_WORKER_MEMORY,
        settings: ScheduleSettings | None = None,
        secrets: Secrets | None = None,
        check_function: CheckFunction = check_source,
        membership: Membership | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self.config_path = config_path or config.path
        self.token = token
        self.workers = workers
        self.worker_memory = worker_memory
        self.settings = settings or ScheduleSettings.from_config(config)
        self.secrets = secrets or Secrets()
        self._check_function = check_function
        self.scheduler = CheckScheduler(self.check, self.settings)
        self.membership = membership or Membership(
            store,
            lease_timeout=config.defaults.lease_timeout,
            config_hash=config_hash(self.config_path),
        )
        # Politeness across nodes needs the database when nodes may be on other machines.
        shared = store.database is not None and not store.database.is_sqlite
        self.spacing: Spacing = (
            ClusterSpacing(self.membership.cluster, self.settings.host_spacing)
            if shared
            else HostSpacing(self.settings.host_spacing)
        )
        self._metrics = Metrics(lambda: self._store, self.health)
        self.outbox = OutboxWorker(store, config, owner=self.membership.node_id)
        # Checks that finish together are written together, in a thread (off the loop).
        self.recorder = Recorder(store)
        self.executor: Executor | None = None
        self._fetcher: Fetcher | None = None
        self._leases: dict[Fetcher, int] = {}
        self._stop = asyncio.Event()
        self._reloading: set[asyncio.Task[None]] = set()
        self._reload_lock = asyncio.Lock()
        self.stopping = False
        self.address: tuple[str, int] | None = None
        # Sources paused from the web UI: not scheduled until resumed. Kept across reloads
        # (the file does not know about them), not across restarts.
        self._paused: set[str] = set()
        self._asked_now: set[str] = set()  # "check now": runs even if checked just before

    # -- what the web app reads ----------------------------------------------------------

    @property
    def config(self) -> Config:
        return self._config

    @property
    def store(self) -> Store:
        return self._store

    @property
    def metrics(self) -> Metrics:
        return self._metrics

    def health(self) -> Health:
        """The scheduler's pulse, stuck checks and overdue sources, as /healthz reports them."""
        now = dt.datetime.now(dt.UTC)
        started = self.scheduler.started_at or now
        try:
            records = {r.name: r for r in self._store.sources()}
            pending = self._store.pending_count()
        except (StoreError, sa.exc.SQLAlchemyError) as exc:
            log.error("health: cannot read the state database: %s", error_text(exc))
            return dataclasses.replace(
                assess_health(self.scheduler, [], 0, stopping=self.stopping),
                status="failing",
                problems=(f"the state database cannot be read: {error_text(exc)}",),
            )
        sources = []
        for name in self.scheduler.scheduled:
            timing = self.scheduler.timing(name)
            record = records.get(name)
            if timing is None:
                continue
            sources.append(
                source_health(
                    name,
                    timing.period(now),
                    record.last_check_at if record else None,
                    record.last_success_at if record else None,
                    started,
                    now,
                    self.settings,
                )
            )
        return assess_health(self.scheduler, sources, pending, stopping=self.stopping)

    def nodes(self) -> list[NodeStatus]:
        """The nodes sharing the database, this one included (for /healthz)."""
        return self.membership.statuses()

    @property
    def node_id(self) -> str:
        return self.membership.node_id

    def source_statuses(self) -> list[dict[str, Any]]:
        """Every configured source with its schedule and last results (for /api/sources).

        Sources other nodes check show that node and the earliest time of their next check.
        """
        records = {r.name: r for r in self._store.sources()}
        leases = self.membership.cluster.leases()
        overdue = set(self.health().overdue)
        statuses = []
        for source in self._config.sources:
            record = records.get(source.name)
            timing = self.scheduler.timing(source.name)
            lease = leases.get(source.name)
            run = self.scheduler.running.get(source.name)
            next_check = self.scheduler.next_run(source.name)
            if next_check is None and lease is not None and timing is None:
                next_check = lease.not_before  # another node's: not before this
            statuses.append(
                {
                    "name": source.name,
                    "url": redact_url(source.url),
                    "kind": source.kind,
                    "enabled": source.enabled,
                    "interval": self._config.interval_of(source),
                    "cron": timing.cron if timing else None,
                    "next_check_at": iso_or_none(next_check),
                    "node": self.membership.owner(source.name),
                    "running": run is not None and not run.waiting(),
                    "waiting_for_host": run is not None and run.waiting(),
                    "overdue": source.name in overdue,
                    "last_check_at": iso_or_none(record.last_check_at if record else None),
                    "last_success_at": iso_or_none(record.last_success_at if record else None),
                    "last_change_at": iso_or_none(record.last_change_at if record else None),
                    "last_status": record.last_status if record else None,
                    "last_error": record.last_error if record else None,
                    "consecutive_failures": record.consecutive_failures if record else 0,
                    "paused": source.name in self._paused,
                }
            )
        return statuses

    # -- what the web UI's buttons do ---------------------------------------------------

    def recheck(self, name: str) -> bool:
        """Check a source now, through the scheduler; False unless it is scheduled."""
        started = self.scheduler.run_now(name)
        if started:
            self._asked_now.add(name)
            log.info("%s: a check now was asked for", name)
        return started

    def pause(self, name: str) -> bool:
        """No more checks of a source until `resume()`; False when no such source is enabled."""
        if _find(self._config, name) is None:
            return False
        if name not in self._paused:
            self._paused.add(name)
            self._schedule(self._config)
            log.info("%s: paused; no checks until it is resumed", name)
        return True

    def resume(self, name: str) -> bool:
        """Schedule a paused source again (due at once when its interval has passed)."""
        if name not in self._paused:
            return _find(self._config, name) is not None
        self._paused.discard(name)
        self._schedule(self._config)
        log.info("%s: resumed", name)
        return True

    def paused_sources(self) -> frozenset[str]:
        return frozenset(self._paused)

    # -- running -------------------------------------------------------------------------

    async def run(self, sock: socket.socket | None) -> int:
        """Serve until stopped; returns the exit status (0 after SIGTERM/SIGINT)."""
        self._install_signals(asyncio.get_running_loop())
        async with self.started():
            server, web = None, None
            if sock is not None:
                server = web_server(create_app(self, token=self.token))
                web = asyncio.create_task(server.serve(sockets=[sock]), name="http")
                while not server.started and not web.done():
                    await asyncio.sleep(0.01)  # announce the address once it answers
                self.address = sock.getsockname()[:2]
                log.info("listening on http://%s", _address_text(self.address))
            status = await self._wait_for_stop(web)
            self.stopping = True
            self.scheduler.pause()
            abandoned = await self.scheduler.drain(DRAIN_CHECKS)
            if abandoned:
                log.warning(
                    "abandoned the checks of %s: nothing of them was recorded; they run "
                    "again at the next start",
                    ", ".join(abandoned),
                )
            await self.outbox.stop(timeout=DRAIN_OUTBOX)
            await _stop_web(server, web)
        log.info("stopped")
        return status

    @contextlib.asynccontextmanager
    async def started(self, *, schedule: bool = True) -> AsyncIterator[Service]:
        """Everything a check needs, running: pool, HTTP client, outbox worker, scheduler.

        With `schedule=False` no source is scheduled (checks run only through `check()`).
        Leaving it stops them in order, each step bounded (the whole well under 10 s).
        """
        pipeline.load_for_changes()  # before the event loop has work to stall
        self.executor = make_pool(self.workers, self.worker_memory)
        warm = asyncio.create_task(_warm_up(self.executor), name="warm-up")
        retention = asyncio.create_task(self._retention(), name="retention")
        self._fetcher = await self._open_fetcher()
        await self.membership.join()
        loop = asyncio.get_running_loop()

        def nodes_changed() -> None:  # in the heartbeat's thread
            if schedule:
                loop.call_soon_threadsafe(self._rebalance)

        self.membership.start_heartbeat(nodes_changed)
        self.outbox.start()
        self.scheduler.start()
        if schedule:
            self._schedule(self._config)
        try:
            yield self
        finally:
            self.stopping = True
            warm.cancel()
            retention.cancel()
            self.scheduler.pause()
            await self.scheduler.drain(0)
            self.scheduler.shutdown()
            await self.outbox.stop(timeout=DRAIN_OUTBOX)
            try:
                await self.membership.leave()  # the other nodes take the sources over now
            except Exception as exc:
                log.warning("could not tell the other nodes this one stops: %s", exc)
            for fetcher in {*self._leases, *([self._fetcher] if self._fetcher else [])}:
                with contextlib.suppress(Exception):
                    await fetcher.__aexit__(None, None, None)
            self._fetcher = None
            await asyncio.to_thread(stop_pool, self.executor, STOP_POOL)
            self._store.close()

    def _rebalance(self) -> None:
        """Nodes joined or left: schedule the sources this node owns now."""
        if self.stopping:
            return
        self._schedule(self._config)
        log.info(
            "cluster: %d nodes; this node (%s) checks %d of %d sources",
            len(self.membership.live),
            self.membership.node_id,
            len(self.scheduler.scheduled),
            sum(1 for s in self._config.sources if s.enabled),
        )

    async def _retention(self) -> None:
        """Apply the retention rules periodically (in a thread: it deletes rows and files)."""
        delay = RETENTION_FIRST
        while True:
            await asyncio.sleep(delay)
            delay = RETENTION_EVERY
            defaults = self._config.defaults  # re-read: SIGHUP may have changed the rules
            if defaults.keep_versions is None and defaults.archive_keep is None:
                continue
            try:
                await asyncio.to_thread(apply_retention, self._config, self._store)
            except Exception:
                log.exception("retention failed; it runs again in an hour")

    def stop(self) -> None:
        """Ask the daemon to stop (SIGTERM, SIGINT)."""
        if not self._stop.is_set():
            log.info("stopping: finishing the checks in flight")
        self.stopping = True
        self._stop.set()

    async def _wait_for_stop(self, web: asyncio.Task[None] | None) -> int:
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._stop.wait())]
        if web is not None:
            waiters.append(web)
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if web is not None and web in done:
            # The endpoint is part of the contract (/healthz): without it, stop and say so.
            error = web.exception() if not web.cancelled() else None
            log.error("the HTTP endpoint stopped unexpectedly (%s); shutting down", error)
            self.stop()
            return 1
        return 0

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGTERM, self.stop)
        loop.add_signal_handler(signal.SIGINT, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)

    # -- schedule and reload -------------------------------------------------------------

    def _timings(self, config: Config) -> dict[str, Timing]:
        return {s.name: timing_of(s, config) for s in config.sources if s.enabled}

    def _schedule(self, config: Config) -> tuple[list[str], list[str], list[str]]:
        self._paused &= {s.name for s in config.sources if s.enabled}  # gone from the file
        timings = {
            n: t
            for n, t in self._timings(config).items()
            if n not in self._paused and self.membership.owns(n)
        }
        last_checks = {r.name: r.last_check_at for r in self._store.sources()}
        added, removed, rescheduled = self.scheduler.sync(timings, last_checks)
        self._metrics.track(added)
        self._metrics.forget(n for n in removed if n not in self._paused)  # paused: kept
        return added, removed, rescheduled

    def reload(self) -> None:
        """SIGHUP: read the configuration file again and apply it whole, or keep the old one.

        The file is read and validated in a thread, so a large or broken file never stalls
        the event loop (and /healthz with it); reloads run one at a time, in order.
        """
        path = self.config_path
        if path is None:
            log.warning("reload: the configuration was not read from a file; nothing to do")
            return
        task = asyncio.get_running_loop().create_task(self._reload(path))
        self._reloading.add(task)
        task.add_done_callback(self._reloading.discard)

    async def _reload(self, path: Path) -> None:
        async with self._reload_lock:
            try:
                config = await asyncio.to_thread(load_config, path)
                plan = self._plan(config)  # everything that can refuse the file, run first
            except (ConfigError, ScheduleError) as exc:
                log.error("reload refused, the running configuration stays in use:\n%s", exc)
                return
            except Exception:
                log.exception("reload failed; the running configuration stays in use")
                return
            self._apply(config, plan)

    def _plan(self, config: Config) -> _ReloadPlan:
        """What a reload would set, computed without touching the running state.

        Raises (ConfigError, ScheduleError or anything unexpected) before anything changes,
        so a reload is applied whole or not at all.
        """
        settings = ScheduleSettings.from_config(config)
        timings = self._timings(config)  # a bad cron expression refuses the whole file
        for timing in timings.values():
            now = utcnow()
            timing.nominal(now).next_after(now)  # a timing that cannot run refuses it too
            timing.period(now)
        return _ReloadPlan(settings, fetch_settings(config))

    def _apply(self, config: Config, plan: _ReloadPlan) -> None:
        old = self._config
        self._config = config
        self.secrets.use(config, [self.token])
        self.settings = plan.settings
        self.scheduler.settings = dataclasses.replace(
            self.settings, heartbeat=self.scheduler.settings.heartbeat
        )
        self.spacing.spacing = self.settings.host_spacing
        self.membership.config_hash = config_hash(self.config_path)
        self.membership.lease_timeout = config.defaults.lease_timeout
        self.outbox.reload(config)
        if plan.fetch != fetch_settings(old):
            asyncio.get_running_loop().create_task(self._replace_fetcher())
        added, removed, rescheduled = self._schedule(config)
        log.info(
            "reloaded %s: %d sources scheduled%s",
            self.config_path,
            len(self.scheduler.scheduled),
            _changes(added, removed, rescheduled),
        )

    async def _open_fetcher(self) -> Fetcher:
        fetcher = PoliteFetcher(open_fetcher(fetch_settings(self._config)), self.spacing)
        await fetcher.__aenter__()
        return fetcher

    async def _replace_fetcher(self) -> None:
        """New fetch settings: new checks use a new client; the old one closes when idle."""
        old, self._fetcher = self._fetcher, await self._open_fetcher()
        if old is not None and self._leases.get(old, 0) == 0:
            self._leases.pop(old, None)
            await old.__aexit__(None, None, None)

    @contextlib.asynccontextmanager
    async def _lease_fetcher(self) -> AsyncIterator[Fetcher]:
        fetcher = self._fetcher
        if fetcher is None:
            raise RuntimeError("the daemon is not running")
        self._leases[fetcher] = self._leases.get(fetcher, 0) + 1
        try:
            yield fetcher
        finally:
            self._leases[fetcher] -= 1
            if self._leases[fetcher] == 0:
                del self._leases[fetcher]
                if fetcher is not self._fetcher:  # replaced by a reload meanwhile
                    await fetcher.__aexit__(None, None, None)

    # -- one check -----------------------------------------------------------------------

    async def check(self, name: str, *, force: bool = False) -> None:
        """One scheduled check of a source, cancelled at its time limit (the watchdog).

        It runs only if this node claims it: another node may hold it (skipped), or a check
        may have started too recently for the schedule (postponed to when one may start);
        `force` (a check asked for now) skips the second rule.
        """
        source = _find(self._config, name)
        if source is None or name in self._paused:
            return  # removed by a reload or paused while it waited
        timing = self.scheduler.timing(name) or timing_of(source, self._config)
        forced = force or name in self._asked_now
        self._asked_now.discard(name)
        try:
            claim = await self.membership.claim(
                name, timing.period(utcnow()), self.settings.jitter, force=forced
            )
        except Exception as exc:
            log.error("%s: cannot claim the check in the database: %s", name, error_text(exc))
            return  # the database is away: the next scheduled check tries again
        if not claim.granted:
            if claim.retry_at is not None:  # checked just before (by another node): later
                self.scheduler.postpone(name, claim.retry_at)
                log.debug("%s: checked recently; postponed to %s", name, claim.retry_at)
            else:
                log.debug("%s: being checked by another node; skipped", name)
            return
        try:
            await self._claimed_check(source)
        finally:
            with contextlib.suppress(Exception):
                await self.membership.finish(name)

    async def _claimed_check(self, source: Source) -> None:
        """One check this node holds the claim of, with its watchdog."""
        name = source.name
        limit = self.settings.check_timeout
        deadline = asyncio.timeout(limit)
        started = time.monotonic()
        checked_at = utcnow()
        run = self.scheduler.running.get(name)

        def waiting_for_host(seconds: float) -> None:
            # Queueing behind the host's other requests is not work: the time limit (and
            # the stuck-check watchdog) wait for it, and the check shows as waiting.
            when = deadline.when()
            if when is not None:
                deadline.reschedule(when + seconds)
            if run is not None:
                run.waited += seconds
                run.waiting_until = max(run.waiting_until, time.monotonic() + seconds)

        hearing = POLITENESS_WAIT.set(waiting_for_host)
        try:
            async with self._lease_fetcher() as fetcher:
                ctx = CheckContext(
                    self._config,
                    self._store,
                    fetcher,
                    self.executor,
                    recorder=self.recorder,
                    store_in_thread=True,
                )
                async with deadline:
                    result = await self._check_function(source, ctx)
            outcome = "ok" if result.ok else "error"
        except TimeoutError:
            if not deadline.expired():
                raise
            message = (
                f"the check took longer than its {format_duration(limit)} time limit and "
                "was stopped; nothing of it was recorded"
            )
            result = await asyncio.to_thread(self._record_error, source, message, checked_at)
            outcome = "timeout"
        except Exception as exc:
            if isinstance(exc, sa.exc.SQLAlchemyError):  # no traceback: it would show the SQL
                log.error("the check of %s failed unexpectedly: %s", name, error_text(exc))
            else:
                log.exception("the check of %s failed unexpectedly", name)
            message = f"the check failed unexpectedly: {error_text(exc)}"
            result = await asyncio.to_thread(self._record_error, source, message, checked_at)
            outcome = "error"
        finally:
            POLITENESS_WAIT.reset(hearing)
        duration = time.monotonic() - started
        self._report(source, outcome, dataclasses.replace(result, duration=duration))

    def _record_error(self, source: Source, message: str, checked_at: dt.datetime) -> CheckResult:
        """Store a check that did not finish as an `error`, like any failed check.

        The pipeline's failure-streak rule applies, so a source that keeps hitting its time
        limit alerts like one that keeps failing.
        """
        url = canonical_url(source.url)
        error = Event("error", source.name, url, error=message, at=checked_at)
        update = pipeline.source_update(
            source, self._config, checked_at, error=message, events=[error]
        )
        try:
            record = self._store.source(source.name)
            failures = record.consecutive_failures if record else 0
            update = pipeline.failure_streak_alerts(
                update, failures, self._config.defaults.error_alert_after
            )
            self._store.save_check(update)
        except (StoreError, sa.exc.SQLAlchemyError) as exc:
            log.error("%s: could not record the failed check: %s", source.name, error_text(exc))
        return CheckResult(source.name, list(update.events), message)

    def _report(self, source: Source, outcome: str, result: CheckResult) -> None:
        """One log line, the metrics, and a wake-up for the outbox when alerts were queued."""
        counts: dict[str, int] = {}
        for event in result.events:
            counts[event.event] = counts.get(event.event, 0) + 1
        error = result.error or next((e.error for e in result.events if e.error), None)
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        check_log.log(
            logging.INFO if outcome == "ok" else logging.WARNING,
            "%s %s in %.2fs %s%s%s",
            source.name,
            outcome,
            result.duration,
            redact_url(source.url),
            f" ({summary})" if summary else "",
            f": {error}" if error and outcome != "ok" else "",
            extra={
                "source": source.name,
                "url": redact_url(source.url),
                "outcome": outcome,
                "duration": round(result.duration, 3),
                "events": counts,
                **({"error": error} if error else {}),
            },
        )
        self._metrics.observe_check(
            source.name, source.kind, outcome, result.duration, result.events
        )
        if any(event.alerts for event in result.events):
            self.outbox.wake()


def _find(config: Config, name: str) -> Source | None:
    for source in config.sources:
        if source.name == name and source.enabled:
            return source
    return None


def _changes(added: list[str], removed: list[str], rescheduled: list[str]) -> str:
    parts = [
        f"{label} {', '.join(names)}"
        for label, names in (("added", added), ("removed", removed), ("rescheduled", rescheduled))
        if names
    ]
    return f" ({'; '.join(parts)})" if parts else " (no change to the schedule)"


def _address_text(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def default_workers() -> int:
    """Extraction processes: one per CPU, at most 4 (extraction is a small share of a check)."""
    return max(1, min(4, os.cpu_count() or 1))


def run(
    config_path: Path,
    state_dir: Path,
    listen: str,
    token: str | None,
    log_format: LogFormat,
    log_level: str,
    workers: int | None,
    worker_memory: str,
) -> NoReturn:
    """`monitor run` (`monitor.daemon.commands`): start the daemon with these options, and
    exit with its status once it stops."""
    # What start-up made (the imported modules, the configuration) lives as long as the
    # daemon: frozen, it is out of the sight of the collections that follow. Each full
    # collection otherwise held the event loop for about 60 ms (the soak benchmark: 4 in
    # its first 2.5 minutes).
    with frozen_start_up():
        # A reload asked for while starting would kill the process (SIGHUP's default action);
        # the file is being read anyway. The event loop takes SIGHUP over once it runs.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        secrets = Secrets()
        secrets.use(None, [token])
        configure_logging(log_format, getattr(logging, log_level.upper()), secrets)
        try:
            address = ListenAddress.parse(listen)
            token = check_token(address, token)
        except ServiceError as exc:
            fail(str(exc))
        try:
            memory = parse_size(worker_memory) if worker_memory.strip() != "0" else 0
        except ValueError as exc:
            fail(f"--worker-memory {worker_memory!r}: {exc}")
        config = open_config(config_path)
        secrets.use(config, [token])
        store = open_store(state_dir, config)
        membership = Membership(
            store,
            lease_timeout=config.defaults.lease_timeout,
            config_hash=config_hash(config_path),
            listen=str(address),
        )
        try:
            membership.check_config()
        except ClusterConfigMismatch as exc:
            fail(str(exc))
        except (StoreError, sa.exc.SQLAlchemyError) as exc:
            fail(f"cannot read the cluster's nodes: {error_text(exc)}")
        try:
            sock = bind(address)
        except ServiceError as exc:
            fail(str(exc))
        service = Service(
            config,
            store,
            config_path=config_path,
            token=token,
            workers=default_workers() if workers is None else workers,
            worker_memory=memory or None,
            secrets=secrets,
            membership=membership,
        )
    enabled = sum(1 for s in config.sources if s.enabled)
    log.info(
        "monitor run: %d sources from %s, state in %s, node %s",
        enabled,
        config_path,
        store.database.shown() if store.database else state_dir,
        membership.node_id,
    )
    status = asyncio.run(service.run(sock))
    sys.exit(status)
