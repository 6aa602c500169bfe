"""Each source's timing: every `interval`, or at the times of a crontab expression.

The nominal schedule (no jitter) is the sources file's meaning; the daemon's scheduler
jitters it, and the dashboard and /healthz judge "overdue" from it with one rule
(`is_overdue`).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from apscheduler.triggers.cron import CronTrigger

from monitor.sources.durations import format_duration

if TYPE_CHECKING:
    from monitor.sources.config import Config, Source

UTC = dt.UTC


class ScheduleError(ValueError):
    """A source's schedule cannot be used (e.g. a cron expression that does not parse)."""


@dataclass(frozen=True)
class Timing:
    """A source's nominal schedule: every `interval` seconds, or at the times of `cron`."""

    interval: float
    cron: str | None = None

    def nominal(self, anchor: dt.datetime) -> NominalSchedule:
        """The schedule as times: the cron expression's, or `anchor + k * interval`."""
        if self.cron is not None:
            return CronSchedule(self.cron)
        return IntervalSchedule(anchor, self.interval)

    def period(self, around: dt.datetime) -> float:
        """Seconds between two nominal runs near `around` (the interval, for an interval)."""
        if self.cron is None:
            return self.interval
        schedule = CronSchedule(self.cron)
        return schedule.gap_after(schedule.next_after(around))


def timing_of(source: Source, config: Config) -> Timing:
    """The timing of a source: its `cron` when it has one, else its interval."""
    return Timing(interval=config.interval_of(source), cron=source.cron)


class NominalSchedule(Protocol):
    """Times without jitter."""

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first nominal time strictly after `moment`."""
        ...

    def gap_after(self, nominal: dt.datetime) -> float:
        """Seconds from a nominal time to the next one."""
        ...


@dataclass(frozen=True)
class IntervalSchedule:
    """`anchor + k * interval` for every whole k."""

    anchor: dt.datetime
    interval: float

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        elapsed = (moment - self.anchor).total_seconds()
        slots = int(elapsed // self.interval) + 1
        candidate = self.anchor + dt.timedelta(seconds=slots * self.interval)
        # Float rounding can land exactly on `moment`; strictly after is the contract.
        if candidate <= moment:
            candidate += dt.timedelta(seconds=self.interval)
        return candidate

    def gap_after(self, nominal: dt.datetime) -> float:
        return self.interval

    def __str__(self) -> str:
        return f"every {format_duration(self.interval)}"


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


@functools.lru_cache(maxsize=256)
def parse_cron(expression: str) -> CronTrigger:
    """A crontab expression (minute hour day month weekday, in local time) as a trigger.

    Weekday numbers mean what they mean in crontab (0 and 7 are Sunday). APScheduler 3 reads
    0 as Monday, so numbers are translated to day names before it sees them.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"cron {expression!r} has {len(fields)} fields; write five: "
            'minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5"'
        )
    try:
        fields[4] = _crontab_weekdays(fields[4])
        return CronTrigger.from_crontab(" ".join(fields))
    except ValueError as exc:
        raise ScheduleError(
            f"cron {expression!r} is not a valid crontab expression: {exc}"
        ) from None


def _crontab_weekdays(field: str) -> str:
    """Translate crontab weekday numbers ("1-5", "0,6") to names APScheduler reads right."""

    def name(token: str) -> str:
        if token.isdigit():
            number = int(token)
            if number > 7:
                raise ValueError(f"day of week {number} is not between 0 and 7")
            return _CRON_DAYS[number]
        return token

    parts = []
    for part in field.split(","):
        if "/" in part and any(c.isdigit() for c in part.split("/")[0]):
            raise ValueError("steps over numbered weekdays are ambiguous; list the days instead")
        parts.append("-".join(name(bound) for bound in part.split("-")))
    return ",".join(parts)


@dataclass(frozen=True)
class CronSchedule:
    """The times of a crontab expression."""

    expression: str

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        after = moment + dt.timedelta(microseconds=1)
        fire = parse_cron(self.expression).get_next_fire_time(None, after)
        if fire is None:  # pragma: no cover - five-field crontab expressions always recur
            raise ScheduleError(f"cron {self.expression!r} never fires again")
        return fire.astimezone(UTC)

    def gap_after(self, nominal: dt.datetime) -> float:
        return (self.next_after(nominal) - nominal).total_seconds()

    def __str__(self) -> str:
        return f"cron {self.expression!r}"


def is_overdue(
    period: float,
    last_success_at: dt.datetime | None,
    since: dt.datetime,
    now: dt.datetime,
    overdue_after: float,
) -> bool:
    """No successful check for `overdue_after` periods, counted from the last success (or
    from `since`, when the daemon started watching, for a source never checked yet)."""
    succeeded = last_success_at or since
    return now - succeeded > dt.timedelta(seconds=overdue_after * period)
