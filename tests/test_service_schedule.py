"""Scheduling maths: jitter without drift, restarts from stored times, cron, host spacing."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from monitor.daemon.scheduler import (
    CronSchedule,
    IntervalSchedule,
    JitteredTrigger,
    ScheduleError,
    ScheduleSettings,
    Timing,
    parse_cron,
    plan_first_run,
    restart_delays,
    timing_of,
)
from monitor.fetch.polite import HostSpacing
from monitor.sources.config import parse_config

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def fire_times(trigger: JitteredTrigger, first: dt.datetime, count: int) -> list[dt.datetime]:
    """Fire times as APScheduler asks for them: each from the previous fire time."""
    times = [first]
    while len(times) < count:
        times.append(trigger.get_next_fire_time(times[-1], times[-1]))
    return times


def test_jitter_never_drifts_the_schedule():
    interval = 900.0
    trigger = JitteredTrigger(IntervalSchedule(T0, interval), jitter=0.1, seed="newsroom")
    times = fire_times(trigger, trigger.fire_time(T0), 2000)
    for k, fired in enumerate(times):
        offset = (fired - (T0 + dt.timedelta(seconds=k * interval))).total_seconds()
        assert 0 <= offset < 0.1 * interval  # each run stays in its own slot
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert statistics.mean(gaps) == pytest.approx(interval, abs=0.1)  # the mean is honest
    assert statistics.pstdev(gaps) > 10  # and the runs do spread


def test_the_offset_of_a_slot_is_the_same_however_often_it_is_asked():
    trigger = JitteredTrigger(IntervalSchedule(T0, 60), jitter=0.1, seed="a")
    assert trigger.fire_time(T0) == trigger.fire_time(T0)
    others = {
        JitteredTrigger(IntervalSchedule(T0, 60), jitter=0.1, seed=f"s{i}").fire_time(T0)
        for i in range(20)
    }
    assert len(others) == 20  # each source has its own offset


def test_missed_runs_are_found_and_coalesced_from_the_nominal_grid():
    # After the loop slept for an hour, APScheduler walks from the last fire time to now.
    trigger = JitteredTrigger(IntervalSchedule(T0, 60), jitter=0.1, seed="a")
    now = T0 + dt.timedelta(hours=1, seconds=30)
    fired = trigger.fire_time(T0)
    missed = []
    while fired <= now:
        missed.append(fired)
        fired = trigger.get_next_fire_time(fired, now)
    assert len(missed) == 61  # one per slot: coalesced into one run by the scheduler
    assert fired > now and fired - now < dt.timedelta(seconds=60)


def test_jitter_zero_fires_on_the_nominal_times():
    trigger = JitteredTrigger(IntervalSchedule(T0, 30), jitter=0, seed="a")
    assert fire_times(trigger, T0, 3) == [T0 + dt.timedelta(seconds=s) for s in (0, 30, 60)]


def test_a_source_checked_recently_waits_for_its_due_time_after_a_restart():
    timing = Timing(interval=600)
    last = T0 - dt.timedelta(seconds=100)
    first = plan_first_run("a", timing, last, T0, jitter=0.1)
    due = last + dt.timedelta(seconds=600)
    assert due <= first.at < due + dt.timedelta(seconds=60)
    after = first.trigger.get_next_fire_time(first.at, first.at)
    assert due + dt.timedelta(seconds=600) <= after < due + dt.timedelta(seconds=660)


def test_overdue_and_new_sources_run_soon_evenly_spread_longest_waiting_first():
    hourly = Timing(interval=3600)
    waiting = {f"s{i:02d}": (hourly, T0 - dt.timedelta(hours=2 + i)) for i in range(50)}
    waiting |= {f"n{i:02d}": (hourly, None) for i in range(50)}
    delays = restart_delays(waiting, T0, jitter=0.1)
    runs = {
        name: plan_first_run(name, timing, last, T0, 0.1, delay=delays[name]).at
        for name, (timing, last) in waiting.items()
    }
    assert all(T0 <= run < T0 + dt.timedelta(seconds=360) for run in runs.values())  # none skipped
    ordered = sorted(runs.values())
    gaps = [(b - a).total_seconds() for a, b in zip(ordered, ordered[1:], strict=False)]
    assert gaps == pytest.approx([3.6] * 99, abs=1e-3)  # no stampede: evenly spaced
    assert runs["n00"] < runs["s49"] < runs["s00"]  # never checked, then the most overdue


def test_short_intervals_spread_their_phases_over_the_whole_interval():
    timing = Timing(interval=30)
    delays = restart_delays({f"s{i}": (timing, None) for i in range(10)}, T0, jitter=0.1)
    assert sorted(delays.values()) == pytest.approx([3.0 * i for i in range(10)])
    first = plan_first_run("s9", timing, None, T0, 0.1, delay=delays["s9"])
    following = first.trigger.get_next_fire_time(first.at, first.at)
    assert 30 <= (following - first.at).total_seconds() < 33  # a full interval after


def test_cron_weekdays_mean_what_they_mean_in_crontab():
    friday = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)  # a Friday
    weekdays = CronSchedule("0 9 * * 1-5")
    monday = weekdays.next_after(friday)
    assert monday.astimezone(parse_cron("0 9 * * 1-5").timezone).strftime("%a") == "Mon"
    sunday = CronSchedule("0 9 * * 0").next_after(friday)
    assert sunday.astimezone(parse_cron("0 9 * * 0").timezone).strftime("%a") == "Sun"
    assert CronSchedule("0 9 * * 7").next_after(friday) == sunday


@pytest.mark.parametrize(
    "expression, message",
    [("0 9 * *", "five"), ("61 * * * *", "not a valid"), ("0 9 * * 8", "not a valid")],
)
def test_bad_cron_expressions_are_refused_with_a_message(expression, message):
    with pytest.raises(ScheduleError, match=message):
        parse_cron(expression)


def test_cron_runs_are_jittered_inside_their_slot():
    trigger = JitteredTrigger(CronSchedule("*/10 * * * *"), jitter=0.1, seed="c")
    start = trigger.get_next_fire_time(None, T0)
    times = fire_times(trigger, start, 50)
    for fired in times:
        minute = fired.astimezone(dt.UTC).replace(second=0, microsecond=0)
        assert minute.minute % 10 == 0 and (fired - minute).total_seconds() < 60


def test_settings_and_timing_come_from_the_configuration(tmp_path):
    config = parse_config(
        '[defaults]\ninterval = "15m"\n[[sources]]\nname = "a"\nurl = "https://e.org/"\n'
        '[[sources]]\nname = "b"\nurl = "https://e.org/b"\ninterval = "1h"\n',
        tmp_path / "sources.toml",
        {},
    )
    assert timing_of(config.sources[0], config) == Timing(interval=900)
    assert timing_of(config.sources[1], config) == Timing(interval=3600)
    settings = ScheduleSettings.from_config(config)
    assert settings.jitter == 0.1 and settings.check_timeout == 600


async def test_host_spacing_spaces_requests_to_one_host_only():
    spacing = HostSpacing(0.1, clock=lambda: 100.0)  # five requests asked at one moment
    waits = [await spacing.reserve(f"http://{h}.example.org/page") for h in "aaabb"]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.0, 0.1])  # each host queues on its own
