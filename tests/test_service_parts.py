"""The daemon's parts in-process: watchdog, health verdicts, the token gate, logs, options."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pages import PARTNERSHIP, press_release

from monitor.check.pipeline import CheckContext, CheckResult
from monitor.clock import utcnow
from monitor.daemon.cluster import NodeStatus
from monitor.daemon.logs import JsonFormatter, Secrets, TextFormatter
from monitor.daemon.metrics import Metrics
from monitor.daemon.scheduler import (
    CheckScheduler,
    Health,
    RunningCheck,
    ScheduleSettings,
    Timing,
    assess_health,
    source_health,
)
from monitor.daemon.service import ListenAddress, Service, ServiceError, check_token
from monitor.daemon.web import create_app
from monitor.sources.config import Config, Source, parse_config
from monitor.state.records import SourceUpdate
from monitor.state.store import Store

TOKEN = "a-token-that-is-long-enough"
HOOK_SECRET = "hook-signing-secret-42"


def make_config(tmp_path: Path, extra: str = "") -> Config:
    text = (
        '[defaults]\ninterval = "1d"\nerror_alert_after = 1\n'
        '[[sources]]\nname = "a"\nurl = "http://127.0.0.1:9/a"\n'
        f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:9/hook"\n'
        f'secret = "{HOOK_SECRET}"\n{extra}'
    )
    return parse_config(text, tmp_path / "sources.toml", {})


# ---------------------------------------------------------------------------------------------
# Watchdog
# ---------------------------------------------------------------------------------------------


async def hang(source: Source, ctx: CheckContext) -> CheckResult:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


async def explode(source: Source, ctx: CheckContext) -> CheckResult:
    raise RuntimeError("a bug in a stage")


async def test_a_check_past_its_time_limit_is_cancelled_and_recorded_as_an_error(tmp_path, store):
    settings = ScheduleSettings(check_timeout=0.2)
    service = Service(make_config(tmp_path), store, settings=settings, check_function=hang)
    async with service.started(schedule=False):
        started = time.monotonic()
        await service.check("a")
        assert time.monotonic() - started < 2
        record = store.source("a")
        assert record is not None and record.last_status == "error"
        assert "time limit" in (record.last_error or "")
        events = store.events(source="a")
        assert [e.kind for e in events] == ["error"]
        # the failure-streak rule of the pipeline applies: error_alert_after = 1 alerts now
        assert [a.notifier for a in store.outbox()] == ["hook"]
        text = service.metrics.render().decode()
        assert 'monitor_checks_total{outcome="timeout",source="a"} 1.0' in text


async def test_waiting_for_the_host_s_turn_does_not_count_against_the_time_limit(
    tmp_path, store, http_server
):
    # Three sources on one host, a second apart: the last waits 2 s for its turn, more than
    # the 1.5 s a check may take, yet none of them is a timeout.
    urls = [http_server.page(f"/{n}", press_release(f"Statement {n}", PARTNERSHIP)) for n in "xyz"]
    text = '[defaults]\ninterval = "1d"\ntimeout = "2s"\nretries = 0\n' + "".join(
        f'[[sources]]\nname = "{n}"\nurl = "{u}"\n' for n, u in zip("xyz", urls, strict=True)
    )
    config = parse_config(text, tmp_path / "sources.toml", {})
    settings = ScheduleSettings(check_timeout=1.5, host_spacing=1.0)
    service = Service(config, store, settings=settings)
    async with service.started():
        for name in "xyz":
            service.recheck(name)  # all three at once, through the scheduler
        # Until the first has its turn (the scheduler may be slow to start it on a busy
        # machine: a fixed half second was not always enough).
        for _ in range(50):
            await asyncio.sleep(0.1)
            statuses = service.source_statuses()
            if sum(1 for s in statuses if s["waiting_for_host"]) == 2:
                break
        for _ in range(100):
            if all((r := store.source(n)) and r.last_status for n in "xyz"):
                break
            await asyncio.sleep(0.1)
    # the first got its turn at once; two are queued for the host: waiting, not running
    waiting = [s for s in statuses if s["waiting_for_host"]]
    assert len(waiting) == 2 and not any(s["running"] for s in waiting)
    assert [store.source(n).last_status for n in "xyz"] == ["ok", "ok", "ok"]


async def test_a_check_that_crashes_is_recorded_and_the_daemon_goes_on(tmp_path, store):
    service = Service(make_config(tmp_path), store, check_function=explode)
    async with service.started(schedule=False):
        await service.check("a")
        await service.check("a", force=True)  # asked for again at once: runs again
    record = store.source("a")
    assert record is not None and record.consecutive_failures == 2
    assert "RuntimeError: a bug in a stage" in (record.last_error or "")


# ---------------------------------------------------------------------------------------------
# Health
# ---------------------------------------------------------------------------------------------


async def test_health_fails_when_the_scheduler_stops_ticking_or_a_check_is_stuck():
    async def nothing(name: str) -> None:
        return None

    settings = ScheduleSettings(check_timeout=10, stuck_grace=5, heartbeat=1)
    scheduler = CheckScheduler(nothing, settings)
    scheduler.start()
    try:
        await asyncio.sleep(0.05)
        assert assess_health(scheduler, [], 0).status == "ok"

        scheduler.last_tick_monotonic = time.monotonic() - 60
        stalled = assess_health(scheduler, [], 0)
        assert stalled.status == "failing"
        assert "has not ticked for 60 s" in stalled.problems[0]

        scheduler.last_tick_monotonic = time.monotonic()
        scheduler.running["a"] = RunningCheck("a", time.monotonic() - 20, scheduler._clock())
        stuck = assess_health(scheduler, [], 0)
        assert stuck.status == "failing" and stuck.stuck == ("a",)
        assert "past its 10 s time limit" in stuck.problems[0]
    finally:
        scheduler.shutdown()


async def test_runs_skipped_while_a_check_outlasts_its_interval_are_summed_up_in_the_log(caplog):
    """APScheduler skips each run that comes due while the source's previous check still
    runs, with a warning per skipped run: a daemon behind on many sources flooded its log.
    The first skip is told at once, the rest in one line per window."""
    checks = 0

    async def slow(name: str) -> None:
        nonlocal checks
        checks += 1
        await asyncio.sleep(0.7)

    settings = ScheduleSettings(jitter=0, heartbeat=0.1, skips_summed_every=0.4)
    scheduler = CheckScheduler(slow, settings)
    caplog.set_level(logging.WARNING)
    scheduler.start()
    try:
        scheduler.sync({"a": Timing(interval=0.05)}, {"a": None})
        await asyncio.sleep(1.6)
    finally:
        scheduler.shutdown()

    assert checks >= 2  # the source is still checked whenever its last check has ended
    assert not [r for r in caplog.records if r.name.startswith("apscheduler")]
    told = [r.getMessage() for r in caplog.records if r.name == "monitor.daemon.scheduler"]
    assert told[0].startswith("a check of a came due while the previous one was still running")
    summaries = [m for m in told[1:] if re.match(r"\d+ more checks of 1 source skipped", m)]
    # about 30 runs came due and were skipped in 1.6 s: told in a few lines, not 30
    assert len(told) <= 6 and summaries, told
    skipped = sum(int(m.split()[0]) for m in summaries)
    assert skipped >= 10 and "Most skipped: a (" in summaries[0]


def test_sources_are_overdue_when_failing_and_late_when_not_checked():
    import datetime as dt

    now = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    settings = ScheduleSettings(overdue_after=3, check_timeout=600)
    fine = source_health("a", 3600, now - hour, now - hour, now - 10 * hour, now, settings)
    failing = source_health("b", 3600, now - hour, now - 4 * hour, now - 10 * hour, now, settings)
    stopped = source_health(
        "c", 3600, now - 4 * hour, now - 4 * hour, now - 10 * hour, now, settings
    )
    restarted = source_health(
        "d", 3600, now - 9 * hour, now - 9 * hour, now - 60 * dt.timedelta(seconds=1), now, settings
    )
    assert (fine.overdue, fine.late) == (False, False)
    assert (failing.overdue, failing.late) == (True, False)
    assert (stopped.overdue, stopped.late) == (True, True)
    assert restarted.late is False  # a restart gives every source a fresh window


def client_for(app: Any) -> httpx.AsyncClient:
    """An HTTP client talking to the app in-process."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8787"
    )


class FakeDaemon:
    """What the web app reads, with a health verdict set by the test."""

    def __init__(self, config: Config, store: Store, health: Health) -> None:
        self.config = config
        self.store = store
        self._health = health
        self.metrics = Metrics(lambda: store, lambda: self._health)
        self.calls: list[tuple[str, str]] = []  # the buttons' calls, in order
        self._paused: set[str] = set()

    def health(self) -> Health:
        return self._health

    def source_statuses(self) -> list[dict[str, Any]]:
        return [{"name": "a", "url": "http://127.0.0.1:9/a", "last_status": None}]

    node_id = "test-node"

    def nodes(self) -> list[NodeStatus]:
        return []

    def recheck(self, name: str) -> bool:
        self.calls.append(("recheck", name))
        return name not in self._paused

    def pause(self, name: str) -> bool:
        self.calls.append(("pause", name))
        self._paused.add(name)
        return True

    def resume(self, name: str) -> bool:
        self.calls.append(("resume", name))
        self._paused.discard(name)
        return True

    def paused_sources(self) -> frozenset[str]:
        return frozenset(self._paused)


HEALTHY = Health(
    status="ok",
    problems=(),
    last_tick=None,
    started_at=None,
    sources=1,
    running=0,
    overdue=(),
    late=(),
    stuck=(),
    pending_alerts=0,
)


async def test_healthz_answers_503_with_the_problems(tmp_path, store):
    failing = dataclasses.replace(
        HEALTHY, status="failing", problems=("the scheduler has not ticked for 60 s",)
    )
    async with client_for(create_app(FakeDaemon(make_config(tmp_path), store, failing))) as c:
        response = await c.get("/healthz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["the scheduler has not ticked for 60 s"]
    async with client_for(create_app(FakeDaemon(make_config(tmp_path), store, HEALTHY))) as c:
        assert (await c.get("/healthz")).json()["status"] == "ok"


# ---------------------------------------------------------------------------------------------
# The token gate and the review UI mount
# ---------------------------------------------------------------------------------------------


def gated(tmp_path: Path, store: Store) -> httpx.AsyncClient:
    daemon = FakeDaemon(make_config(tmp_path), store, HEALTHY)
    return client_for(create_app(daemon, token=TOKEN))


async def test_the_token_is_asked_everywhere_but_healthz(tmp_path, store):
    async with gated(tmp_path, store) as client:
        assert (await client.get("/healthz")).status_code == 200
        for path in ("/", "/metrics", "/api/sources", "/api/events", "/anything"):
            response = await client.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"].startswith("Bearer")
        page = await client.get("/", headers={"Accept": "text/html"})
        assert "?token=" in page.text and page.headers["content-type"].startswith("text/html")
        wrong = await client.get("/api/sources", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await client.get("/api/sources", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200


async def test_visiting_with_the_token_once_sets_a_cookie_and_hides_the_token(tmp_path, store):
    async with gated(tmp_path, store) as client:
        assert (await client.get("/?token=wrong")).status_code == 401
        response = await client.get(f"/api/events?kind=new&token={TOKEN}")
        assert response.status_code == 303
        assert response.headers["location"] == "/api/events?kind=new"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        # the client keeps the cookie, as a browser does
        assert (await client.get("/api/events?kind=new")).status_code == 200


async def test_the_review_ui_is_mounted_at_the_root(tmp_path, store):
    daemon = FakeDaemon(make_config(tmp_path), store, HEALTHY)
    async with client_for(create_app(daemon)) as client:
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_api_events_filters_and_validates(tmp_path, store):
    app = create_app(FakeDaemon(make_config(tmp_path), store, HEALTHY))
    async with client_for(app) as client:
        assert (await client.get("/api/events")).json() == {"events": []}
        assert (await client.get("/api/events?since=yesterday")).status_code == 400
        assert (await client.get("/api/events?limit=0")).status_code == 400
        good = await client.get("/api/events?since=2026-11-26&kind=new,changed")
        assert good.status_code == 200


# ---------------------------------------------------------------------------------------------
# Logs and options
# ---------------------------------------------------------------------------------------------


def log_line(formatter: logging.Formatter, message: str, **extra: Any) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("test.service.logs")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning(message, extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_logs_never_show_secrets(tmp_path):
    secrets = Secrets()
    secrets.use(make_config(tmp_path), [TOKEN])
    message = f"webhook said {HOOK_SECRET!r}; token {TOKEN}"
    text = log_line(TextFormatter(secrets), message)
    assert HOOK_SECRET not in text and TOKEN not in text and "***" in text
    line = log_line(JsonFormatter(secrets), message, source="a", error=f"bad {TOKEN}")
    entry = json.loads(line)
    assert entry["source"] == "a" and entry["level"] == "warning"
    assert TOKEN not in line and HOOK_SECRET not in line


@pytest.mark.parametrize(
    "text, host, port, loopback",
    [
        ("127.0.0.1:8787", "127.0.0.1", 8787, True),
        ("localhost:80", "localhost", 80, True),
        ("[::1]:8787", "::1", 8787, True),
        ("0.0.0.0:8787", "0.0.0.0", 8787, False),
        ("monitor.example.org:443", "monitor.example.org", 443, False),
    ],
)
def test_listen_addresses(text, host, port, loopback):
    address = ListenAddress.parse(text)
    assert (address.host, address.port, address.is_loopback) == (host, port, loopback)


@pytest.mark.parametrize("text", ["8787", "host:", ":8787", "host:99999"])
def test_bad_listen_addresses_are_refused(text):
    with pytest.raises(ServiceError, match="HOST:PORT"):
        ListenAddress.parse(text)


def test_a_token_is_required_beyond_loopback_and_must_not_be_short():
    with pytest.raises(ServiceError, match="needs an access token"):
        check_token(ListenAddress("0.0.0.0", 8787), None)
    with pytest.raises(ServiceError, match="at least 16"):
        check_token(ListenAddress("0.0.0.0", 8787), "short")
    assert check_token(ListenAddress("127.0.0.1", 8787), None) is None
    assert check_token(ListenAddress("0.0.0.0", 8787), TOKEN) == TOKEN


# ---------------------------------------------------------------------------------------------
# The UI's buttons: check now, pause, resume
# ---------------------------------------------------------------------------------------------


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "the page has no button form"
    return match.group(1)


async def test_buttons_post_with_the_csrf_token_and_come_back_to_the_page(tmp_path, store):
    daemon = FakeDaemon(make_config(tmp_path), store, HEALTHY)
    async with client_for(create_app(daemon)) as client:
        dashboard = await client.get("/")
        token = csrf_of(dashboard.text)
        assert 'action="/sources/a/recheck"' in dashboard.text
        assert 'action="/sources/a/pause"' in dashboard.text

        response = await client.post(
            "/sources/a/pause", data={"csrf": token, "back": "/?q=a&done=x&done_for=y"}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/?q=a&done=pause&done_for=a"
        page = await client.get(response.headers["location"])
        assert "a is paused: no checks until it is resumed." in page.text
        assert 'action="/sources/a/resume"' in page.text  # paused: resume instead of pause
        assert 'action="/sources/a/recheck"' not in page.text
        assert "badge-paused" in page.text

        back = await client.post("/sources/a/resume", data={"csrf": token, "back": "/sources/a"})
        assert back.headers["location"] == "/sources/a?done=resume&done_for=a"
        now = await client.post("/sources/a/recheck", data={"csrf": token})
        assert now.headers["location"] == "/?done=recheck&done_for=a"
    assert daemon.calls == [("pause", "a"), ("resume", "a"), ("recheck", "a")]


@pytest.mark.parametrize(
    ("form", "path", "status"),
    [
        ({}, "/sources/a/pause", 403),  # no token
        ({"csrf": "0" * 64}, "/sources/a/pause", 403),  # a wrong one
        ({"csrf": "CSRF"}, "/sources/nope/pause", 404),  # no such source
        ({"csrf": "CSRF"}, "/sources/a/delete", 404),  # no such action
    ],
)
async def test_buttons_refuse_forms_without_the_right_token(tmp_path, store, form, path, status):
    daemon = FakeDaemon(make_config(tmp_path), store, HEALTHY)
    async with client_for(create_app(daemon)) as client:
        token = csrf_of((await client.get("/")).text)
        data = {k: token if v == "CSRF" else v for k, v in form.items()}
        response = await client.post(path, data=data, headers={"Accept": "text/html"})
        assert response.status_code == status
        assert "Not done" in response.text
        assert (await client.get(f"{path}")).status_code in (404, 405)  # never a GET
    assert daemon.calls == []


@pytest.mark.parametrize("back", ["//evil.example/x", "https://evil.example/", "/\\evil", "x"])
async def test_buttons_never_send_the_browser_to_another_site(tmp_path, store, back):
    daemon = FakeDaemon(make_config(tmp_path), store, HEALTHY)
    async with client_for(create_app(daemon)) as client:
        token = csrf_of((await client.get("/")).text)
        response = await client.post("/sources/a/recheck", data={"csrf": token, "back": back})
    assert response.headers["location"] == "/?done=recheck&done_for=a"


async def test_buttons_are_behind_the_token_and_their_csrf_token_follows_from_it(tmp_path, store):
    daemon = FakeDaemon(make_config(tmp_path), store, HEALTHY)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with client_for(create_app(daemon, token=TOKEN)) as client:
        assert (await client.post("/sources/a/pause", data={"csrf": "x"})).status_code == 401
        token = csrf_of((await client.get("/", headers=auth)).text)
        assert token != TOKEN and TOKEN not in (await client.get("/", headers=auth)).text
    # another daemon with the same access token: pages opened before a restart still work
    async with client_for(create_app(daemon, token=TOKEN)) as client:
        response = await client.post("/sources/a/pause", data={"csrf": token}, headers=auth)
        assert response.status_code == 303
    async with client_for(create_app(daemon, token=TOKEN + "-other")) as client:
        other = {"Authorization": f"Bearer {TOKEN}-other"}
        response = await client.post("/sources/a/pause", data={"csrf": token}, headers=other)
        assert response.status_code == 403
    assert daemon.calls == [("pause", "a")]


async def test_a_paused_source_is_not_checked_until_resumed_even_across_a_reload(tmp_path, store):
    config_path = tmp_path / "sources.toml"
    config = make_config(tmp_path)
    config_path.write_text(
        '[defaults]\ninterval = "1d"\n[[sources]]\nname = "a"\nurl = "http://127.0.0.1:9/a"\n'
        '[[sources]]\nname = "b"\nurl = "http://127.0.0.1:9/b"\n',
        encoding="utf-8",
    )
    checked: list[str] = []

    async def count(source: Source, ctx: CheckContext) -> CheckResult:
        checked.append(source.name)
        return CheckResult(source.name)

    # Both were checked just now: the schedule alone would not check them for a day.
    for name in ("a", "b"):
        store.save_check(SourceUpdate(name, f"http://127.0.0.1:9/{name}", "page", utcnow()))
    service = Service(config, store, config_path=config_path, check_function=count)
    async with service.started():
        assert service.pause("a") and not service.pause("nope")
        assert "a" not in service.scheduler.scheduled
        assert {s["name"]: s["paused"] for s in service.source_statuses()} == {"a": True}
        assert not service.recheck("a")  # paused: no check
        service.reload()  # the file now has a second source; "a" stays paused
        await wait_for(lambda: len(service.config.sources) == 2)
        statuses = {s["name"]: s["paused"] for s in service.source_statuses()}
        assert statuses == {"a": True, "b": False}
        assert service.scheduler.scheduled == ["b"]
        assert service.recheck("b")
        await wait_for(lambda: checked == ["b"])
        assert service.resume("a") and service.scheduler.scheduled == ["a", "b"]
        assert service.recheck("a")
        await wait_for(lambda: checked == ["b", "a"])
        assert service.scheduler.next_run("a") is not None  # back on its daily schedule
        assert service.health().ok
        assert service.pause("a")
        # a paused source keeps its series: its counts do not restart from zero
        text = service.metrics.render().decode()
        assert 'monitor_checks_total{outcome="ok",source="a"} 1.0' in text


async def wait_for(condition: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
