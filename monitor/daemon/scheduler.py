"""When each source is checked: APScheduler 3 on the daemon's event loop, plus politeness.

Each source has a nominal schedule, an `interval` (from its own key or `[defaults]`) or a
`cron` expression. Checks fire at the nominal times plus a bounded offset (the jitter, 10 %
of the period by default) so sources with the same interval do not stampede. The offset is
computed afresh for every nominal slot from the slot itself, never from the previous
jittered time, so the schedule cannot drift: over a day, a 15-minute source is checked 96
times, however the offsets fall. (APScheduler 3's own `jitter` adds each offset to the last
jittered time, which makes intervals drift long.)

After a restart, a source's first run is derived from its stored `last_check_at`: due in the
future, it waits for that time; overdue or never checked, it runs soon, the longest-waiting
first, spaced evenly over the jitter window (at least the interval, up to five minutes), so
a restart neither re-checks everything at once nor skips anything late.

One run at a time per source (`max_instances=1`); runs missed while the process slept or
the loop was busy collapse into one (`coalesce`) and are never dropped as too late
(`misfire_grace_time=None`).

The scheduler also keeps the daemon's pulse: a heartbeat job records the last tick, and the
checks in flight are tracked with their start times, so /healthz can tell "the scheduler
stopped" and "a check is stuck past its time limit" apart from a healthy, idle daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.base import BaseTrigger

from monitor.sources.config import Config
from monitor.sources.schedule import (
    CronSchedule,
    IntervalSchedule,
    NominalSchedule,
    ScheduleError,
    Timing,
    is_overdue,
    parse_cron,
    timing_of,
)

__all__ = [
    "CronSchedule",
    "IntervalSchedule",
    "NominalSchedule",
    "ScheduleError",
    "Timing",
    "parse_cron",
    "timing_of",
]

log = logging.getLogger(__name__)

UTC = dt.UTC
DEFAULT_JITTER = 0.1  # share of the period
MAX_JITTER = 0.5  # an offset must stay well inside its slot (see JitteredTrigger)
DEFAULT_CHECK_TIMEOUT = 600.0  # seconds one check of one source may take
DEFAULT_OVERDUE_AFTER = 3.0  # periods without a successful check before a source is overdue
DEFAULT_HOST_SPACING = 0.5  # seconds between the starts of two requests to one host
HEARTBEAT_SECONDS = 5.0
MAX_RESTART_SPREAD = 300.0  # seconds: overdue sources of a restart all run within this
STUCK_GRACE = 30.0  # seconds past its time limit before a check counts as stuck
SKIPS_SUMMED_EVERY = 60.0  # seconds: runs skipped meanwhile are told in one log line


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleSettings:
    """How the daemon paces checks; from `[defaults]`, with defaults for keys not there yet.

    `jitter` is a share of each source's period (0 to 0.5); `check_timeout` is the time limit
    of one check in seconds; `overdue_after` counts periods without a successful check;
    `host_spacing` is the least time between the starts of two requests to one host;
    `heartbeat` is how often the scheduler proves it is alive; `skips_summed_every` how often
    runs skipped because the source's previous check still ran are told in the log.
    """

    jitter: float = DEFAULT_JITTER
    check_timeout: float = DEFAULT_CHECK_TIMEOUT
    overdue_after: float = DEFAULT_OVERDUE_AFTER
    host_spacing: float = DEFAULT_HOST_SPACING
    heartbeat: float = HEARTBEAT_SECONDS
    stuck_grace: float = STUCK_GRACE
    skips_summed_every: float = SKIPS_SUMMED_EVERY

    @classmethod
    def from_config(cls, config: Config) -> ScheduleSettings:
        """The settings in `[defaults]`."""
        d = config.defaults
        return cls(
            jitter=d.jitter,
            check_timeout=d.check_timeout,
            overdue_after=d.overdue_after,
            host_spacing=float(d.host_spacing),
        )


# ---------------------------------------------------------------------------------------------
# The trigger
# ---------------------------------------------------------------------------------------------


def slot_offset(seed: str, nominal: dt.datetime, jitter: float, period: float) -> float:
    """The offset of one nominal slot: in [0, jitter * period), the same every time it is asked.

    Derived from the source and the slot, so APScheduler may ask again (it does, to find
    missed runs) and get the same answer, and each source gets its own spread.
    """
    if jitter <= 0 or period <= 0:
        return 0.0
    unit = random.Random(f"{seed}|{nominal.timestamp():.6f}").random()
    return unit * min(jitter, MAX_JITTER) * period


class JitteredTrigger(BaseTrigger):
    """Fires at every nominal time plus that slot's offset; never drifts.

    A fire time `nominal_k + offset_k` with `0 <= offset_k < gap_k` lies inside its slot, so
    the next nominal time after it is `nominal_(k+1)`: the schedule is recovered from the
    previous fire time alone, without state.
    """

    def __init__(self, schedule: NominalSchedule, *, jitter: float, seed: str) -> None:
        self.schedule = schedule
        self.jitter = jitter
        self.seed = seed

    def fire_time(self, nominal: dt.datetime) -> dt.datetime:
        """The jittered fire time of one nominal slot."""
        offset = slot_offset(self.seed, nominal, self.jitter, self.schedule.gap_after(nominal))
        return nominal + dt.timedelta(seconds=offset)

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        after = previous_fire_time if previous_fire_time is not None else now
        return self.fire_time(self.schedule.next_after(after.astimezone(UTC)))

    def __str__(self) -> str:
        return f"{self.schedule}, up to {self.jitter:.0%} later"


# ---------------------------------------------------------------------------------------------
# The first run after a (re)start
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstRun:
    """Where a source's schedule starts: its first fire time and the grid it belongs to."""

    at: dt.datetime
    trigger: JitteredTrigger


def due_after(timing: Timing, last_check_at: dt.datetime | None) -> dt.datetime | None:
    """When a source is next due from its last stored check (None: never checked)."""
    if last_check_at is None:
        return None
    return timing.nominal(last_check_at).next_after(last_check_at)


def plan_first_run(
    name: str,
    timing: Timing,
    last_check_at: dt.datetime | None,
    now: dt.datetime,
    jitter: float,
    *,
    delay: float = 0.0,
) -> FirstRun:
    """The first run of a source, from its last stored check.

    Due later: at its nominal time (plus its offset), on the grid its earlier checks kept.
    Overdue or never checked: `delay` seconds from now (see `restart_delays`), starting a
    grid of its own from there.
    """
    due = due_after(timing, last_check_at)
    if due is not None and due > now:
        trigger = JitteredTrigger(timing.nominal(due), jitter=jitter, seed=name)
        return FirstRun(trigger.fire_time(due), trigger)
    start = now + dt.timedelta(seconds=delay)
    return FirstRun(start, JitteredTrigger(timing.nominal(start), jitter=jitter, seed=name))


def restart_window(timing: Timing, now: dt.datetime, jitter: float) -> float:
    """Seconds over which overdue sources are spread when the daemon (re)starts.

    The jitter window, but at least the period up to five minutes: short intervals get
    their phases spread over the whole period (smooth load from the first cycle on), long
    ones never wait more than a few minutes for an overdue check.
    """
    period = timing.period(now)
    return max(jitter * period, min(period, MAX_RESTART_SPREAD))


def restart_delays(
    waiting: Mapping[str, tuple[Timing, dt.datetime | None]], now: dt.datetime, jitter: float
) -> dict[str, float]:
    """Delays for the sources that should run now: evenly spread, the longest-waiting first.

    `waiting` maps each overdue or never-checked source to its timing and last check.
    Never-checked sources go first (they have no statement recorded yet), then the most
    overdue. Spacing them evenly, rather than at random, leaves no two at the same moment.
    """
    never = dt.datetime.min.replace(tzinfo=UTC)
    order = sorted(waiting, key=lambda name: (waiting[name][1] or never, name))
    count = len(order)
    return {
        name: restart_window(waiting[name][0], now, jitter) * rank / count
        for rank, name in enumerate(order)
    }


# ---------------------------------------------------------------------------------------------
# The scheduler
# ---------------------------------------------------------------------------------------------

CheckFunction = Callable[[str], Awaitable[None]]

# APScheduler 3's warning (on its logger "apscheduler.scheduler") for a run that came due
# while the job's previous run, the source's previous check, was still going.
_SKIPPED = 'Execution of job "%s" skipped: maximum number of running instances reached (%d)'


class SkippedRuns(logging.Filter):
    """APScheduler's line per skipped run, summed up: one line at the first, one per window.

    A check that outlasts its source's interval makes APScheduler skip the runs that come due
    meanwhile (one at a time per source) and log a warning for each. A daemon that has
    fallen behind on a thousand sources would write a thousand such lines per interval, and
    the lines people look for would drown in them. As a filter on APScheduler's logger, this
    holds those lines back: the first skip is told at once, in our words, and the rest are
    counted and told in one line per window by `report()` (the scheduler's heartbeat calls
    it), for as long as runs go on being skipped. Other lines of that logger pass untouched;
    if a release of APScheduler words the warning otherwise, it passes untouched too.
    """

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self._clock = clock
        self._opened: float | None = None  # when the current window began: at its first skip
        self._skipped: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != _SKIPPED or not isinstance(record.args, tuple) or not record.args:
            return True
        job = record.args[0]
        name = str(getattr(job, "id", job))
        if self._opened is None:
            self._opened = self._clock()
            log.warning(
                "a check of %s came due while the previous one was still running: skipped "
                "(such skips are summed up every %g s from now on)",
                name,
                self.window,
            )
        else:
            self._skipped[name] += 1
        return False

    def report(self, *, closing: bool = False) -> None:
        """Tell in one line the runs skipped since the window began, once it has passed (or
        now, when the scheduler is `closing`). While runs go on being skipped, the next
        window begins at once; a window without any ends the episode, so the next skip is
        told at once again."""
        if self._opened is None:
            return
        now = self._clock()
        if not closing and now - self._opened < self.window:
            return
        if not self._skipped:
            self._opened = None
            return
        most = ", ".join(f"{name} ({runs})" for name, runs in self._skipped.most_common(5))
        sources = len(self._skipped)
        log.warning(
            "%d more checks of %d %s skipped in the last %.1f s: each came due while the "
            "previous one was still running (checks take longer than their interval: the "
            "daemon is behind). Most skipped: %s",
            self._skipped.total(),
            sources,
            "source" if sources == 1 else "sources",
            now - self._opened,
            most,
        )
        self._opened = now
        self._skipped.clear()


@dataclass
class RunningCheck:
    """A check in flight: since when (monotonic and wall clock), and how long of it was
    spent waiting for its host's turn (politeness), which is not working."""

    source: str
    started: float
    started_at: dt.datetime
    waited: float = 0.0
    waiting_until: float = 0.0  # monotonic: waiting for its host until then

    def waiting(self, now: float | None = None) -> bool:
        """True while the check only waits for its host's turn."""
        return (time.monotonic() if now is None else now) < self.waiting_until

    def worked(self, now: float) -> float:
        """Seconds of the check so far, less its waits for the host."""
        return now - self.started - self.waited


class CheckScheduler:
    """Runs `check(name)` for every scheduled source at its times, on the running loop.

    `sync()` makes the jobs match a set of sources (at start and on reload); `running`
    lists the checks in flight; `last_tick` is the heartbeat. Stop with `pause()`, then
    `drain()` what is in flight, then `shutdown()`.
    """

    HEARTBEAT_ID = "__heartbeat__"

    def __init__(
        self,
        check: CheckFunction,
        settings: ScheduleSettings,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self._check = check
        self._clock = clock
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._skips = SkippedRuns(settings.skips_summed_every)
        self._timings: dict[str, Timing] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.running: dict[str, RunningCheck] = {}
        self.last_tick: dt.datetime | None = None
        self.last_tick_monotonic: float | None = None
        self.started_at: dt.datetime | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start ticking on the running event loop."""
        self._scheduler.configure(event_loop=asyncio.get_running_loop())
        self._scheduler.add_job(
            self._heartbeat,
            "interval",
            seconds=self.settings.heartbeat,
            id=self.HEARTBEAT_ID,
            next_run_time=self._clock(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        logging.getLogger("apscheduler.scheduler").addFilter(self._skips)
        self._scheduler.start()
        self.started_at = self._clock()

    @property
    def ticking(self) -> bool:
        """True while the scheduler runs and is not paused."""
        return bool(self._scheduler.state == STATE_RUNNING)

    def pause(self) -> None:
        """Start no more checks (those in flight go on)."""
        if self._scheduler.running:
            self._scheduler.pause()

    async def drain(self, timeout: float) -> list[str]:
        """Wait up to `timeout` seconds for the checks in flight; cancel the rest.

        Returns the names of the sources whose check was abandoned. Abandoning is safe: a
        check writes everything it found in one transaction at its very end, so a cancelled
        check leaves the state as it was before it started.
        """
        tasks = list(self._tasks.values())
        if not tasks:
            return []
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        abandoned = sorted(name for name, task in self._tasks.items() if task in pending)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        return abandoned

    def shutdown(self) -> None:
        """Stop the scheduler (call `drain()` first)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._skips.report(closing=True)
        logging.getLogger("apscheduler.scheduler").removeFilter(self._skips)

    # -- the sources -------------------------------------------------------------------------

    def sync(
        self,
        timings: Mapping[str, Timing],
        last_checks: Mapping[str, dt.datetime | None],
    ) -> tuple[list[str], list[str], list[str]]:
        """Schedule exactly these sources; returns (added, removed, rescheduled) names.

        A source whose timing is unchanged keeps its job and next run. New and rescheduled
        sources start from their last stored check (see `plan_first_run`).
        """
        now = self._clock()
        added: list[str] = []
        removed: list[str] = []
        rescheduled: list[str] = []
        for name in sorted(set(self._timings) - set(timings)):
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(name)
            del self._timings[name]
            removed.append(name)
        changed = {n: t for n, t in timings.items() if self._timings.get(n) != t}
        waiting = {
            name: (timing, last_checks.get(name))
            for name, timing in changed.items()
            if (due_after(timing, last_checks.get(name)) or now) <= now
        }
        delays = restart_delays(waiting, now, self.settings.jitter)
        for name, timing in sorted(changed.items()):
            first = plan_first_run(
                name,
                timing,
                last_checks.get(name),
                now,
                self.settings.jitter,
                delay=delays.get(name, 0.0),
            )
            self._scheduler.add_job(
                self._job,
                trigger=first.trigger,
                args=[name],
                id=name,
                name=f"check {name}",
                next_run_time=first.at,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                replace_existing=True,
            )
            (added if name not in self._timings else rescheduled).append(name)
            self._timings[name] = timing
        return added, removed, rescheduled

    def run_now(self, name: str) -> bool:
        """Check a scheduled source now (its job fires at once); False when not scheduled.

        The job keeps its trigger, so the checks after this one stay on the source's grid.
        A check already in flight is not doubled: it is the check that was asked for.
        """
        job = self._scheduler.get_job(name)
        if job is None:
            return False
        if name not in self.running:
            job.modify(next_run_time=self._clock())
        return True

    def postpone(self, name: str, when: dt.datetime) -> None:
        """Run a source's check at `when` instead (its grid goes on from there)."""
        job = self._scheduler.get_job(name)
        if job is not None:
            job.modify(next_run_time=when)

    def next_run(self, name: str) -> dt.datetime | None:
        """When a source is checked next (None when it is not scheduled)."""
        job = self._scheduler.get_job(name)
        return job.next_run_time if job is not None else None

    def timing(self, name: str) -> Timing | None:
        return self._timings.get(name)

    @property
    def scheduled(self) -> list[str]:
        return sorted(self._timings)

    # -- health ------------------------------------------------------------------------------

    def stalled_for(self) -> float | None:
        """Seconds since the heartbeat was due, when it is late by more than two beats."""
        if self.last_tick_monotonic is None:
            return None
        silent = time.monotonic() - self.last_tick_monotonic
        return silent if silent > 3 * self.settings.heartbeat else None

    def stuck(self) -> list[RunningCheck]:
        """Checks in flight for longer than the time limit plus a grace: the watchdog failed."""
        limit = self.settings.check_timeout + self.settings.stuck_grace
        now = time.monotonic()
        return [run for run in self.running.values() if run.worked(now) > limit]

    # -- jobs --------------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        self.last_tick = self._clock()
        self.last_tick_monotonic = time.monotonic()
        self._skips.report()

    async def _job(self, name: str) -> None:
        """One scheduled check, tracked while in flight."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks[name] = task
        self.running[name] = RunningCheck(name, time.monotonic(), self._clock())
        try:
            await self._check(name)
        except Exception:
            # The check function records its own failures; this is a bug, kept out of the
            # scheduler so one source cannot stop the others.
            log.exception("check of %s failed unexpectedly", name)
        finally:
            self._tasks.pop(name, None)
            self.running.pop(name, None)


# ---------------------------------------------------------------------------------------------
# Health
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceHealth:
    """How one scheduled source is doing, from its stored record and the scheduler."""

    name: str
    overdue: bool  # no successful check for `overdue_after` periods
    late: bool  # not even attempted for `overdue_after` periods plus the time limit


@dataclass(frozen=True)
class Health:
    """The daemon's health: `failing` (HTTP 503) when checks stopped, else ok or degraded."""

    status: str  # "ok", "degraded" (some source overdue), "failing"
    problems: tuple[str, ...]
    last_tick: dt.datetime | None
    started_at: dt.datetime | None
    sources: int
    running: int
    overdue: tuple[str, ...]
    late: tuple[str, ...]
    stuck: tuple[str, ...]
    pending_alerts: int

    @property
    def ok(self) -> bool:
        return self.status != "failing"


def source_health(
    name: str,
    period: float,
    last_check_at: dt.datetime | None,
    last_success_at: dt.datetime | None,
    started_at: dt.datetime,
    now: dt.datetime,
    settings: ScheduleSettings,
) -> SourceHealth:
    """Whether one source is overdue (failing for long) or late (not being checked)."""
    window = dt.timedelta(seconds=settings.overdue_after * period)
    attempted = max(last_check_at or started_at, started_at)
    limit = dt.timedelta(seconds=settings.check_timeout)
    return SourceHealth(
        name,
        overdue=is_overdue(period, last_success_at, started_at, now, settings.overdue_after),
        late=now - attempted > window + limit,
    )


def assess_health(
    scheduler: CheckScheduler,
    sources: list[SourceHealth],
    pending_alerts: int,
    *,
    stopping: bool = False,
) -> Health:
    """Put the pulse, the watchdog and the sources together into one verdict."""
    problems: list[str] = []
    if stopping:
        problems.append("the daemon is shutting down")
    elif not scheduler.ticking:
        problems.append("the scheduler is not running")
    silent = scheduler.stalled_for()
    if silent is not None:
        problems.append(f"the scheduler has not ticked for {silent:.0f} s")
    stuck = scheduler.stuck()
    for run in stuck:
        elapsed = time.monotonic() - run.started
        problems.append(
            f"the check of {run.source} has run for {elapsed:.0f} s, past its "
            f"{scheduler.settings.check_timeout:g} s time limit"
        )
    late = [s.name for s in sources if s.late and s.name not in scheduler.running]
    if sources and len(late) == len(sources):
        problems.append(f"no source has been checked on time ({len(late)} late)")
    overdue = [s.name for s in sources if s.overdue]
    status = "failing" if problems else ("degraded" if overdue else "ok")
    return Health(
        status=status,
        problems=tuple(problems),
        last_tick=scheduler.last_tick,
        started_at=scheduler.started_at,
        sources=len(sources),
        running=sum(1 for run in scheduler.running.values() if not run.waiting()),
        overdue=tuple(overdue),
        late=tuple(late),
        stuck=tuple(run.source for run in stuck),
        pending_alerts=pending_alerts,
    )
