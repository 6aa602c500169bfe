"""The outbox worker: delivers queued alerts, retrying with backoff until they give up.

The pipeline writes alert rows in the same transaction as the snapshot and event that
caused them; this module only reads and marks them. One round (`deliver_due`):

1. plan: pick the pending alerts that are due, grouped per notifier; a digest notifier's
   alerts wait until the oldest is `digest` old, then go as one message;
2. deliver: every notifier runs concurrently (a dead receiver never delays the others),
   its messages in order, each bounded by the channel's own timeout;
3. record: an alert is marked sent right after its receiver accepted it. If the process
   dies in between, the next round sends it again with the same delivery id, so
   receivers see one id at most twice, never two ids for one alert. A failure schedules
   the next attempt (exponential backoff with jitter, or the receiver's Retry-After);
   after `alert_give_up` since the alert was created it becomes dead (`monitor outbox`).

When a failure is the receiver's (down, refusing logins, overloaded), the notifier's
remaining messages of that round are not attempted: they are scheduled together with the
failed one, with the same error in `last_error`.

`monitor check` calls `deliver_due(..., ignore_backoff=True)` once before it exits, which
tries every pending alert whatever its backoff (digest windows still apply); the daemon
runs an `OutboxWorker`, which honours backoff and wakes when the next alert is due or
when the pipeline calls `wake()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from monitor.alerts.channels import ChannelOptions, NotifierSettings
from monitor.alerts.errors import DeliveryError
from monitor.alerts.messages import MessageRenderer
from monitor.alerts.outgoing import Outgoing, for_alert, for_digest
from monitor.alerts.redact import redactor_for
from monitor.clock import MAX_SERVER_DELAY, utcnow
from monitor.sources.config import Config, format_duration
from monitor.state.records import OutboxAlert
from monitor.state.store import Store, StoreError

log = logging.getLogger(__name__)

MIN_RETRY_AFTER = 1.0  # seconds: a Retry-After of 0 must not make a busy loop
# A delivery must end well inside its claim (`lease_timeout`), or another node could take
# the alert over while it is still being sent.
SEND_SHARE_OF_LEASE = 0.8


# ---------------------------------------------------------------------------------------------
# Backoff and the round's report
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: `base * factor**attempts` seconds, at most `cap`.

    Jitter takes up to `jitter` (a fraction) off each delay at random, so alerts that
    failed together do not all retry in the same second.
    """

    base: float = 30.0
    factor: float = 2.0
    cap: float = 3600.0
    jitter: float = 0.25

    def delay(self, attempts: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the attempt number `attempts + 1` failed."""
        raw = min(self.cap, self.base * self.factor ** min(attempts, 64))
        return raw * (1.0 - self.jitter * rng())


DEFAULT_POLICY = RetryPolicy()


@dataclass
class DeliveryReport:
    """What one round did: alert ids sent, failed (retried later), dead, or waiting."""

    sent: list[int] = field(default_factory=list)
    messages: int = 0  # messages accepted by receivers (a digest is one)
    failed: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # in a digest window not yet closed
    errors: dict[str, str] = field(default_factory=dict)  # notifier -> its last error
    problems: list[str] = field(default_factory=list)  # template errors worked around
    next_due: dt.datetime | None = None  # when something is due next (None: nothing pending)

    @property
    def ok(self) -> bool:
        """True when nothing failed or died this round."""
        return not self.failed and not self.dead

    def summary(self) -> str:
        """One line for people, e.g. "alerts: 3 sent, 1 to retry"."""
        parts = [f"{len(self.sent)} sent"]
        if self.failed:
            parts.append(f"{len(self.failed)} to retry")
        if self.dead:
            parts.append(f"{len(self.dead)} gave up (see `monitor outbox`)")
        if self.waiting:
            parts.append(f"{len(self.waiting)} waiting for their digest")
        return "alerts: " + ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# Planning a round
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """Alerts sent as one message: one alert, or a digest of several."""

    notifier: str
    alerts: tuple[OutboxAlert, ...]
    digest: bool = False

    @property
    def ids(self) -> list[int]:
        return [a.id for a in self.alerts]


@dataclass(frozen=True)
class Plan:
    """The batches of one round per notifier (in order), and what waits."""

    batches: dict[str, list[Batch]]
    waiting: list[int]
    next_due: dt.datetime | None  # `now` when something is due now


def plan_round(
    pending: Sequence[OutboxAlert],
    config: Config,
    now: dt.datetime,
    *,
    ignore_backoff: bool = False,
    owner: str | None = None,
) -> Plan:
    """Group pending alerts into this round's batches; work out when the next is due.

    An alert another run or node (not `owner`) holds a claim on is theirs to send: it is
    due, at the earliest, when their claim runs out (when they died meanwhile, it is then
    this run's to send).
    """
    by_notifier: dict[str, list[OutboxAlert]] = {}
    for alert in pending:
        by_notifier.setdefault(alert.notifier, []).append(alert)
    batches: dict[str, list[Batch]] = {}
    waiting: list[int] = []
    upcoming: list[dt.datetime] = []
    for name, everyone in by_notifier.items():
        held = [a for a in everyone if owner is not None and a.held_by_another(owner, now)]
        upcoming += [a.claimed_until for a in held if a.claimed_until is not None]
        alerts = [a for a in everyone if a not in held]
        due = [a for a in alerts if ignore_backoff or a.next_attempt_at <= now]
        upcoming += [a.next_attempt_at for a in alerts if a.next_attempt_at > now]
        notifier = config.notifiers.get(name)
        window = notifier.digest if notifier is not None else None
        if not due:
            continue
        if window is None:
            batches[name] = [Batch(name, (a,)) for a in due]
            continue
        closes = min(a.created_at for a in due) + dt.timedelta(seconds=window)
        if closes <= now:
            batches[name] = [Batch(name, tuple(due), digest=True)]
        else:
            waiting += [a.id for a in due]
            upcoming.append(closes)
    if batches:
        upcoming.append(now)
    return Plan(batches, waiting, min(upcoming) if upcoming else None)


# ---------------------------------------------------------------------------------------------
# One round
# ---------------------------------------------------------------------------------------------


async def deliver_due(
    store: Store,
    config: Config,
    *,
    now: dt.datetime | None = None,
    ignore_backoff: bool = False,
    policy: RetryPolicy = DEFAULT_POLICY,
    options: ChannelOptions | None = None,
    renderer: MessageRenderer | None = None,
    limit: int = 500,
    rng: Callable[[], float] = random.random,
    owner: str | None = None,
) -> DeliveryReport:
    """Send every due alert once and record the outcome; returns what happened.

    `ignore_backoff=True` (for `monitor check`) also sends pending alerts whose next
    attempt is later. `now` fixes the clock (tests); `policy`, `options` and `rng` make
    backoff, TLS trust and jitter injectable. `owner` names who claims the alerts (a
    daemon node; by default this process): alerts another run or node has claimed are
    left to it.
    """
    now = now or utcnow()
    owner = owner or default_owner()
    # The store is called in threads: in the daemon, the event loop keeps serving meanwhile.
    pending = await asyncio.to_thread(store.outbox, status="pending", limit=limit)
    plan = plan_round(pending, config, now, ignore_backoff=ignore_backoff, owner=owner)
    report = DeliveryReport(waiting=list(plan.waiting))
    round_ = _Round(
        store=store,
        config=config,
        now=now,
        policy=policy,
        options=options or ChannelOptions(),
        renderer=renderer or MessageRenderer(config.defaults.templates),
        report=report,
        rng=rng,
        owner=owner,
    )
    await asyncio.gather(
        *(round_.deliver_notifier(name, batches) for name, batches in plan.batches.items())
    )
    report.next_due = await asyncio.to_thread(
        next_due, store, config, now, limit=limit, owner=owner
    )
    return report


def next_due(
    store: Store,
    config: Config,
    now: dt.datetime | None = None,
    *,
    limit: int = 500,
    owner: str | None = None,
) -> dt.datetime | None:
    """When the next round has something to send (digest windows included)."""
    now = now or utcnow()
    owner = owner or default_owner()
    pending = store.outbox(status="pending", limit=limit)
    return plan_round(pending, config, now, owner=owner).next_due


def default_owner() -> str:
    """Who claims alerts when no node is named: this process, on this machine."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Round:
    """The shared state of one `deliver_due` call."""

    store: Store
    config: Config
    now: dt.datetime
    policy: RetryPolicy
    options: ChannelOptions
    renderer: MessageRenderer
    report: DeliveryReport
    rng: Callable[[], float]
    owner: str

    async def deliver_notifier(self, name: str, batches: list[Batch]) -> None:
        """Send one notifier's batches in order; stop at a receiver-wide failure."""
        notifier = self.config.notifiers.get(name)
        for index, planned in enumerate(batches):
            batch = await self._claim(planned)
            if batch is None:
                continue  # another run or node is delivering these
            error = await self._attempt(notifier, batch)
            if error is None:
                continue
            log.warning("notifier %s: %s", name, error.message)
            self.report.errors[name] = error.message
            wait = self._wait(batch, error.retry_after)
            await self._record_failure(batch, error.message, wait)
            if error.whole_receiver:
                note = f"not attempted: the alert before it to {name} failed: {error.message}"
                for later in batches[index + 1 :]:
                    held = await self._claim(later)
                    if held is not None:
                        await self._record_failure(held, note, wait)  # retried together with it
                return

    async def _attempt(
        self, notifier: NotifierSettings | None, batch: Batch
    ) -> DeliveryError | None:
        """Send one batch and mark it sent; returns the error instead of raising."""
        if notifier is None:
            return DeliveryError(
                f"notifier {batch.notifier!r} is no longer in the configuration: add it back "
                "(the alert is retried until it gives up) or remove its alerts with "
                "`monitor outbox purge`"
            )
        lease = self.config.defaults.lease_timeout
        try:
            outgoing = self._compose(batch)
            # Within the claim: past it, another node may take the alert over and send it.
            async with asyncio.timeout(lease * SEND_SHARE_OF_LEASE):
                await notifier.send(outgoing, self.options)
        except DeliveryError as exc:
            return exc
        except asyncio.CancelledError:
            # stopping: let the next run (or another node) send it now, not after the lease
            with contextlib.suppress(StoreError):
                self.store.release_alerts(batch.ids, self.owner)
            raise
        except TimeoutError:
            return DeliveryError(
                f"the delivery took longer than {lease * SEND_SHARE_OF_LEASE:g}s "
                "(lease_timeout); abandoned, it is tried again"
            )
        except Exception as exc:  # a bug or an unexpected library error: keep the round going
            message = redactor_for(notifier)(f"unexpected {type(exc).__name__}: {exc}")
            log.error("notifier %s: %s", batch.notifier, message)
            return DeliveryError(message)
        await self._mark_sent(batch, outgoing)
        return None

    async def _claim(self, batch: Batch) -> Batch | None:
        """The part of the batch this run now holds (None: another run holds all of it).

        Only what a run holds is sent or marked: two runs or nodes at once never deliver
        one alert twice, nor count one failure twice.
        """
        lease = dt.timedelta(seconds=self.config.defaults.lease_timeout)
        until = max(self.now, utcnow()) + lease
        try:
            taken = await asyncio.to_thread(
                self.store.claim_alerts, batch.ids, self.owner, until, self.now
            )
        except StoreError as exc:
            log.error("notifier %s: cannot claim alerts to deliver: %s", batch.notifier, exc)
            return None
        held = tuple(a for a in batch.alerts if a.id in taken)
        return Batch(batch.notifier, held, batch.digest) if held else None

    def _compose(self, batch: Batch) -> Outgoing:
        public_url = self.config.defaults.public_url
        if batch.digest:
            outgoing = for_digest(batch.alerts, self.renderer, public_url, self.now)
        else:
            outgoing = for_alert(batch.alerts[0], self.renderer, public_url)
        for problem in outgoing.message.problems:
            if problem not in self.report.problems:
                self.report.problems.append(problem)
        return outgoing

    async def _mark_sent(self, batch: Batch, outgoing: Outgoing) -> None:
        try:
            await asyncio.to_thread(self.store.mark_sent, batch.ids, at=self.now)
        except StoreError as exc:
            # Delivered but not recorded: the next round sends it again with the same id.
            log.error(
                "notifier %s accepted delivery %s but it could not be recorded (%s); "
                "it will be sent again with the same delivery id",
                batch.notifier,
                outgoing.delivery_id,
                exc,
            )
            return
        self.report.sent += batch.ids
        self.report.messages += 1
        log.info("notifier %s: delivered %s", batch.notifier, outgoing.delivery_id)

    def _wait(self, batch: Batch, retry_after: float | None) -> float:
        """Seconds until the next attempt: the receiver's Retry-After, else the backoff."""
        if retry_after is not None:
            return min(max(retry_after, MIN_RETRY_AFTER), MAX_SERVER_DELAY)
        return self.policy.delay(max(a.attempts for a in batch.alerts), self.rng)

    async def _record_failure(self, batch: Batch, message: str, wait: float) -> None:
        """Schedule the next attempt of every alert of a batch, or give up on it."""
        give_up = dt.timedelta(seconds=self.config.defaults.alert_give_up)
        attempt = max(a.attempts for a in batch.alerts) + 1
        alive = [a for a in batch.alerts if self.now < a.created_at + give_up]
        dead = [a for a in batch.alerts if self.now >= a.created_at + give_up]
        try:
            if alive:
                deadline = min(a.created_at for a in alive) + give_up
                next_at = min(self.now + dt.timedelta(seconds=wait), deadline)
                note = f"{message} (attempt {attempt}; next attempt in {_until(next_at, self.now)})"
                await asyncio.to_thread(
                    self.store.mark_failed, [a.id for a in alive], note, next_at
                )
                self.report.failed += [a.id for a in alive]
            for alert in dead:
                note = (
                    f"{message} (gave up after {_attempts(attempt)}: alert_give_up is "
                    f"{format_duration(give_up.total_seconds())}; "
                    f"`monitor outbox retry {alert.id}` queues it again)"
                )
                await asyncio.to_thread(
                    self.store.mark_failed, [alert.id], note, self.now, dead=True
                )
                self.report.dead.append(alert.id)
        except StoreError as exc:
            log.error("notifier %s: the failure could not be recorded: %s", batch.notifier, exc)


def _attempts(count: int) -> str:
    return f"{count} attempt" + ("" if count == 1 else "s")


def _until(when: dt.datetime, now: dt.datetime) -> str:
    return format_duration(max(1, round((when - now).total_seconds())))


# ---------------------------------------------------------------------------------------------
# The daemon's worker
# ---------------------------------------------------------------------------------------------


class OutboxWorker:
    """Delivers continuously inside the daemon: `start()`, `wake()`, `reload()`, `stop()`.

    It runs a round, then sleeps until the next alert is due (at least `min_wait`, at
    most `idle` seconds) or until `wake()` is called (thread-safe; the pipeline calls it
    after queueing alerts). A round that fails (e.g. the database is locked) is logged and
    tried again after `error_wait` seconds.
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        options: ChannelOptions | None = None,
        idle: float = 300.0,
        min_wait: float = 1.0,
        error_wait: float = 30.0,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.owner = owner or default_owner()
        self.config = config
        self.policy = policy
        self.options = options or ChannelOptions()
        self.idle = idle
        self.min_wait = min_wait
        self.error_wait = error_wait
        self.last_report: DeliveryReport | None = None
        self.rounds = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start delivering in the running event loop."""
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task = self._loop.create_task(self._run(), name="outbox-worker")

    def wake(self) -> None:
        """Deliver now (new alerts were queued); safe to call from any thread."""
        if self._loop is not None and self._wakeup is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def reload(self, config: Config) -> None:
        """Use a new configuration from the next round on (SIGHUP)."""
        self.config = config
        self.wake()

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the round in flight (up to `timeout` seconds, then abandon it) and stop.

        An abandoned delivery is not marked sent, so it is retried with the same delivery id.
        """
        task = self._task
        if task is None:
            return
        self._stopping = True
        self.wake()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    async def _run(self) -> None:
        assert self._wakeup is not None
        while not self._stopping:
            self._wakeup.clear()
            wait = await self._round()
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)

    async def _round(self) -> float:
        """Run one round; returns how long to sleep before the next."""
        try:
            report = await deliver_due(
                self.store, self.config, policy=self.policy, options=self.options, owner=self.owner
            )
        except StoreError as exc:
            log.error("outbox: %s; trying again in %gs", exc, self.error_wait)
            return self.error_wait
        except Exception:
            log.exception("outbox: a delivery round failed; trying again in %gs", self.error_wait)
            return self.error_wait
        self.rounds += 1
        self.last_report = report
        if report.next_due is None:
            return self.idle
        seconds = (report.next_due - utcnow()).total_seconds()
        return min(self.idle, max(self.min_wait, seconds))
