"""Prometheus metrics of the daemon, in a registry of its own (served at /metrics).

Two kinds of numbers:

- counted as checks happen (reset by a restart, as Prometheus counters are):
  `monitor_checks_total{source,outcome}`, `monitor_check_duration_seconds{kind}` and
  `monitor_changes_total{source,event}`;
- read from the state database and the scheduler at each scrape, so they are true across
  restarts: alerts by status, each source's last check and last success, failure streaks,
  the scheduler's last tick, checks in flight, overdue sources.

Outcomes of a check: `ok`, `error` (the check ran and recorded an error) and `timeout` (the
watchdog cancelled it at its time limit).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence

import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from monitor.daemon.scheduler import Health
from monitor.events import Event
from monitor.state.store import Store, StoreError, error_text

log = logging.getLogger(__name__)

OUTCOMES = ("ok", "error", "timeout")
ALERT_STATUSES = ("pending", "sent", "dead")
CHANGE_KINDS = ("new", "changed", "moved", "removed", "restored")  # what a statement did
# From a conditional GET answered 304 (milliseconds) to an index with fresh statements.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The daemon's metrics; `observe_check` after each check, `render()` for a scrape."""

    def __init__(
        self,
        store: Callable[[], Store],
        health: Callable[[], Health],
    ) -> None:
        # `_created` series double every counter's output and few dashboards use them.
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        self.checks = Counter(
            "monitor_checks",
            "Checks of a source, by outcome (ok, error, timeout).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "monitor_check_duration_seconds",
            "How long one check of one source took, by kind of source.",
            ["kind"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.changes = Counter(
            "monitor_changes",
            "Alerting events found by checks: new, changed, moved, removed statements.",
            ["source", "event"],
            registry=self.registry,
        )
        self.registry.register(StateCollector(store, health))
        ProcessCollector(registry=self.registry)  # RSS, CPU, open files of this process

    def track(self, sources: Iterable[str]) -> None:
        """Show every outcome of these sources at 0 from the start, so rates work at once."""
        for name in sources:
            for outcome in OUTCOMES:
                self.checks.labels(name, outcome)

    def forget(self, sources: Iterable[str]) -> None:
        """Drop the series of sources removed from the configuration."""
        for name in sources:
            for outcome in OUTCOMES:
                _remove(self.checks, name, outcome)
            for kind in sorted(CHANGE_KINDS):
                _remove(self.changes, name, kind)

    def observe_check(
        self, source: str, kind: str, outcome: str, duration: float, events: Sequence[Event]
    ) -> None:
        """Count one finished check and what it found."""
        self.checks.labels(source, outcome).inc()
        self.duration.labels(kind).observe(duration)
        for event in events:
            if event.event in CHANGE_KINDS:
                self.changes.labels(source, event.event).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def _remove(counter: Counter, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never observed
        counter.remove(*labels)


class StateCollector(Collector):
    """Numbers read at scrape time from the state database and the scheduler."""

    def __init__(self, store: Callable[[], Store], health: Callable[[], Health]) -> None:
        self._store = store
        self._health = health

    def describe(self) -> list[Metric]:
        return []  # computed at scrape time; nothing to describe up front

    def collect(self) -> Iterator[Metric]:
        yield from self._scheduler_metrics()
        try:
            yield from self._alert_metrics()
            yield from self._source_metrics()
        except (StoreError, sa.exc.SQLAlchemyError) as exc:
            # A locked or unwritable database must not break the scrape of everything else.
            log.warning("metrics: cannot read the state database: %s", error_text(exc))

    def _scheduler_metrics(self) -> Iterator[Metric]:
        health = self._health()
        tick = GaugeMetricFamily(
            "monitor_scheduler_last_tick_timestamp_seconds",
            "When the scheduler last proved it is alive (Unix time).",
        )
        if health.last_tick is not None:
            tick.add_metric([], health.last_tick.timestamp())
        yield tick
        yield _gauge("monitor_up", "1 while the daemon is healthy (/healthz 200).", health.ok)
        yield _gauge("monitor_sources", "Sources scheduled.", health.sources)
        yield _gauge("monitor_checks_running", "Checks in flight.", health.running)
        yield _gauge(
            "monitor_sources_overdue",
            "Sources without a successful check for `overdue_after` periods.",
            len(health.overdue),
        )
        yield _gauge(
            "monitor_checks_stuck", "Checks in flight past their time limit.", len(health.stuck)
        )

    def _alert_metrics(self) -> Iterator[Metric]:
        stored, retrying = self._store().alert_counts()
        counts = {status: stored.get(status, 0) for status in ALERT_STATUSES}
        alerts = GaugeMetricFamily(
            "monitor_alerts",
            "Alerts in the outbox by status: pending (to send), sent, dead (gave up).",
            labels=["status"],
        )
        for status, count in counts.items():
            alerts.add_metric([status], count)
        yield alerts
        yield _gauge(
            "monitor_alerts_failing",
            "Pending alerts whose last delivery attempt failed (retried with backoff).",
            retrying,
        )

    def _source_metrics(self) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            "monitor_source_last_success_timestamp_seconds",
            "When each source was last checked successfully (Unix time).",
            labels=["source"],
        )
        checked = GaugeMetricFamily(
            "monitor_source_last_check_timestamp_seconds",
            "When each source was last checked, whatever the outcome (Unix time).",
            labels=["source"],
        )
        failures = GaugeMetricFamily(
            "monitor_source_consecutive_failures",
            "Failed checks in a row of each source (0 after a success).",
            labels=["source"],
        )
        for record in self._store().sources():
            if record.last_success_at is not None:
                success.add_metric([record.name], record.last_success_at.timestamp())
            if record.last_check_at is not None:
                checked.add_metric([record.name], record.last_check_at.timestamp())
            failures.add_metric([record.name], record.consecutive_failures)
        yield from (success, checked, failures)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))
