"""`monitor run` as users run it: a real subprocess, real pages and receivers on loopback."""

from __future__ import annotations

import itertools
import json
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from conftest import LoopbackServer
from pages import press_release
from service_support import (
    STATEMENT,
    Daemon,
    db_rows,
    descendants,
    metric,
    page_source,
    rss_kib,
    running,
    wait_until,
    write_config,
)

# the daemon as a subprocess: seconds per test
pytestmark = pytest.mark.slow

TITLE = "Example Corp and Sample Industries announce research partnership"
TOKEN = "s3cret-token-for-the-tests-0123456789"


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[Daemon]]:
    """Daemons started by a test; whatever is still running at the end is killed."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.close()


def new_daemon(
    daemons: list[Daemon], tmp_path: Path, config: Path, *args: str, **env: str
) -> Daemon:
    daemon = Daemon(config, tmp_path / "state", tmp_path / "daemon.log", args=args, env=env)
    daemons.append(daemon)
    return daemon


def checks(daemon: Daemon, source: str, outcome: str = "ok") -> float:
    return metric(
        daemon.get("/metrics").text, "monitor_checks_total", source=source, outcome=outcome
    )


# ---------------------------------------------------------------------------------------------
# The endpoint and a clean stop
# ---------------------------------------------------------------------------------------------


def test_serves_health_metrics_and_api_then_stops_on_sigterm(http_server, tmp_path, daemons):
    good = http_server.page("/news/partnership", press_release(TITLE, STATEMENT))
    gone = http_server.url("/news/missing")
    config = write_config(
        tmp_path / "sources.toml", page_source("corp", good) + page_source("broken", gone)
    )
    daemon = new_daemon(daemons, tmp_path, config).start()
    wait_until(lambda: checks(daemon, "corp") >= 2, what="two checks of corp")
    wait_until(lambda: checks(daemon, "broken", "error") >= 1, what="a failed check")

    health = daemon.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    # the broken source is overdue after three failed intervals: degraded, still 200
    assert body["status"] in {"ok", "degraded"}
    assert set(body["overdue_sources"]) <= {"broken"}
    assert body["last_tick"] and body["sources"] == 2 and body["pending_alerts"] == 0

    metrics = daemon.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "monitor_check_duration_seconds_bucket" in metrics.text
    assert metric(metrics.text, "monitor_source_last_success_timestamp_seconds", source="corp")
    assert metric(metrics.text, "monitor_alerts", status="pending") == 0

    sources = {s["name"]: s for s in daemon.get("/api/sources").json()["sources"]}
    assert sources["corp"]["last_status"] == "ok" and sources["corp"]["next_check_at"]
    assert sources["broken"]["last_status"] == "error"
    assert "404" in sources["broken"]["last_error"]

    events = daemon.get("/api/events", params={"source": "corp"}).json()["events"]
    assert [e["event"] for e in events] == ["baseline"]
    assert daemon.get("/api/events", params={"limit": "x"}).status_code == 400
    assert daemon.get("/").status_code == 200

    code, took = daemon.stop()
    assert code == 0, daemon.log()
    assert took < 10
    log = daemon.log()
    # one line per check, with source, URL, outcome and duration
    assert "monitor.check: corp ok in" in log and good in log
    assert "monitor.check: broken error in" in log
    assert "Traceback" not in log


def test_sigterm_abandons_a_hung_check_and_exits_0_quickly(http_server, tmp_path, daemons):
    release = threading.Event()

    def hang(_request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        release.wait(30)
        return 200, {"Content-Type": "text/html"}, press_release(TITLE, STATEMENT).encode()

    http_server.route("/slow", hang)
    config = write_config(
        tmp_path / "sources.toml",
        page_source("slow", http_server.url("/slow")),
        defaults="",
    )
    config.write_text(config.read_text().replace('timeout = "2s"', 'timeout = "60s"'))
    daemon = new_daemon(daemons, tmp_path, config).start()
    wait_until(lambda: http_server.hits("/slow") >= 1, what="the slow request")
    time.sleep(0.3)
    try:
        code, took = daemon.stop()
    finally:
        release.set()
    assert code == 0, daemon.log()
    assert took < 10
    assert "abandoned the checks of slow" in daemon.log()
    # nothing of the abandoned check was recorded
    assert db_rows(daemon.state, "SELECT count(*) FROM sources")[0][0] == 0


# ---------------------------------------------------------------------------------------------
# Reload
# ---------------------------------------------------------------------------------------------


def test_sighup_keeps_the_old_config_when_the_new_one_is_broken_and_applies_a_good_one(
    http_server, tmp_path, daemons
):
    first = http_server.page("/a", press_release(TITLE, STATEMENT))
    second = http_server.page("/b", press_release(TITLE + " (update)", STATEMENT[:2]))
    config = write_config(tmp_path / "sources.toml", page_source("a", first))
    daemon = new_daemon(daemons, tmp_path, config).start()
    wait_until(lambda: http_server.hits("/a") >= 1, what="a first check of a")

    config.write_text(config.read_text() + '\n[[sources]]\nname = "b"\nurll = "oops"\n')
    daemon.send(signal.SIGHUP)
    daemon.wait_for_log("reload refused")
    assert "unknown key 'urll'" in daemon.log()
    hits = http_server.hits("/a")
    wait_until(lambda: http_server.hits("/a") >= hits + 2, what="a still checked")
    assert daemon.get("/healthz").status_code == 200
    assert http_server.hits("/b") == 0

    write_config(config, page_source("b", second))  # a removed, b added
    daemon.send(signal.SIGHUP)
    daemon.wait_for_log(r"reloaded .*added b; removed a")
    wait_until(lambda: http_server.hits("/b") >= 2, what="checks of the new source")
    after = http_server.hits("/a")
    time.sleep(1.5)
    assert http_server.hits("/a") <= after + 1  # at most one check that was in flight
    names = [s["name"] for s in daemon.get("/api/sources").json()["sources"]]
    assert names == ["b"]
    assert daemon.stop()[0] == 0


# ---------------------------------------------------------------------------------------------
# Isolation: a slow source
# ---------------------------------------------------------------------------------------------


def test_a_source_that_always_times_out_does_not_delay_the_others(http_server, tmp_path, daemons):
    stop = threading.Event()

    def stall(_request: BaseHTTPRequestHandler) -> None:
        stop.wait(10)  # never answers within the 2 s timeout
        return None

    http_server.route("/stall", stall)
    fast = [http_server.page(f"/fast{i}", press_release(f"{TITLE} {i}", STATEMENT)) for i in (1, 2)]
    sources = page_source("stall", http_server.url("/stall")) + "".join(
        page_source(f"fast{i}", url) for i, url in enumerate(fast, 1)
    )
    # one host for all three: the per-host cap and spacing are shared too
    config = write_config(tmp_path / "sources.toml", sources, interval="2s")
    daemon = new_daemon(daemons, tmp_path, config, "--workers", "1").start()
    try:
        wait_until(lambda: http_server.hits("/stall") >= 1, what="the stalled request")
        before = [http_server.hits(f"/fast{i}") for i in (1, 2)]
        # Each fast source is checked every 2 s plus up to 10 % of jitter, and its request
        # may wait up to 1 s for the host's spacing (0.5 s after each of the other two): two
        # more checks of each take at most 6.4 s while the stalled source hangs.
        wait_until(
            lambda: all(
                http_server.hits(f"/fast{i}") - b >= 2 for i, b in zip((1, 2), before, strict=True)
            ),
            timeout=8,
            what="two more checks of each fast source",
        )
        wait_until(lambda: checks(daemon, "stall", "error") >= 1, what="the timeout recorded")
        record = db_rows(
            daemon.state, "SELECT last_status, last_error FROM sources WHERE name = 'stall'"
        )
        assert record[0][0] == "error" and "2 s" in record[0][1]
    finally:
        stop.set()
    assert daemon.stop()[0] == 0


# ---------------------------------------------------------------------------------------------
# Crash safety
# ---------------------------------------------------------------------------------------------


class Receiver:
    """A webhook receiver that records every delivery id it accepts."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def __call__(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        length = int(request.headers.get("Content-Length", "0"))
        body = json.loads(request.rfile.read(length) or b"{}")
        with self.lock:
            self.deliveries.append((request.headers.get("X-Monitor-Delivery", ""), body))
        return 200, {"Content-Type": "text/plain"}, b"ok"


class EditedPages:
    """Pages whose statement gets a new sentence at every request (a change per check),
    until `freeze()`: from then on each page stays as it last was."""

    def __init__(self, server: LoopbackServer, count: int) -> None:
        self.frozen = threading.Event()
        self.urls = []
        for index in range(count):
            server.route(f"/edited/{index}", self._page(index))
            self.urls.append(server.url(f"/edited/{index}"))

    def freeze(self) -> None:
        self.frozen.set()

    def _page(self, index: int):
        revisions = itertools.count(1)
        revision = 0

        def page(_request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
            nonlocal revision
            if not self.frozen.is_set() or revision == 0:
                revision = next(revisions)
            paragraphs = [*STATEMENT, f"Revision {revision} of statement {index} adds one line."]
            html = press_release(f"{TITLE} {index}", paragraphs)
            return 200, {"Content-Type": "text/html; charset=utf-8"}, html.encode()

        return page


def assert_consistent(state: Path) -> None:
    """No half-written check: versions complete, one event per version, alerts per event."""
    gaps = db_rows(
        state,
        """SELECT st.id, st.version, count(sn.id), coalesce(max(sn.version), 0)
           FROM statements st LEFT JOIN snapshots sn ON sn.statement_id = st.id
           GROUP BY st.id""",
    )
    for statement, version, snapshots, latest in gaps:
        assert version == snapshots == latest, (statement, version, snapshots, latest)
    per_version = db_rows(
        state,
        """SELECT statement_id, version, count(*) FROM events
           WHERE kind IN ('baseline', 'changed') GROUP BY statement_id, version""",
    )
    assert all(n == 1 for _s, _v, n in per_version), per_version
    snapshots = db_rows(state, "SELECT count(*) FROM snapshots")[0][0]
    assert snapshots == len(per_version)
    orphans = db_rows(
        state,
        """SELECT count(*) FROM events e LEFT JOIN alerts a ON a.event_id = e.id
           WHERE e.kind = 'changed' AND a.id IS NULL""",
    )
    assert orphans[0][0] == 0
    doubles = db_rows(
        state, "SELECT event_id, count(*) FROM alerts GROUP BY event_id HAVING count(*) > 1"
    )
    assert doubles == []


def test_sigkill_mid_cycle_then_restart_loses_and_repeats_nothing(http_server, tmp_path, daemons):
    receiver = Receiver()
    http_server.route("/hook", receiver)
    pages = EditedPages(http_server, 3)
    notifiers = f'[notifiers.hook]\ntype = "webhook"\nurl = "{http_server.url("/hook")}"\n'
    config = write_config(
        tmp_path / "sources.toml",
        "".join(page_source(f"s{i}", url) for i, url in enumerate(pages.urls)),
        notifiers=notifiers,
        # An alert the killed daemon had claimed waits for its claim to expire: as a node
        # on another machine would, the restarted one cannot tell a dead owner from a slow
        # one before then. A short lease keeps the test short.
        defaults='lease_timeout = "3s"\n',
    )
    first = new_daemon(daemons, tmp_path, config).start()
    wait_until(
        lambda: (
            db_rows(first.state, "SELECT count(*) FROM events WHERE kind = 'changed'")[0][0] >= 3
        ),
        timeout=20,
        what="changes found",
    )
    time.sleep(0.7)  # into the middle of a cycle
    helpers = descendants(first.pid)
    assert helpers  # the fork server and the extraction workers
    first.kill()
    assert_consistent(first.state)
    # the extraction workers notice and leave; nothing of the killed daemon lingers
    wait_until(lambda: not running(helpers), timeout=10, what="the workers to exit")
    alerts_before = db_rows(first.state, "SELECT count(*) FROM alerts")[0][0]

    second = new_daemon(daemons, tmp_path, config).start()
    wait_until(
        lambda: db_rows(second.state, "SELECT count(*) FROM alerts")[0][0] > alerts_before + 2,
        timeout=20,
        what="more changes after the restart",
    )
    pages.freeze()  # the daemon stops finding changes
    wait_until(
        lambda: (
            db_rows(second.state, "SELECT count(*) FROM alerts WHERE status != 'sent'")[0][0] == 0
        ),
        timeout=20,
        what="every alert delivered",
    )
    assert second.stop()[0] == 0
    assert_consistent(second.state)

    alerts = {row[0] for row in db_rows(second.state, "SELECT delivery_id FROM alerts")}
    received = [delivery for delivery, _body in receiver.deliveries]
    assert set(received) == alerts  # none lost, none invented
    repeats = len(received) - len(set(received))
    # at-least-once across a SIGKILL: only a delivery the kill interrupted between the
    # receiver's 200 and its record may come again, with the same delivery id
    assert repeats <= 1, repeats
    kinds = {body["event"] for _delivery, body in receiver.deliveries}
    assert kinds == {"changed"}


# ---------------------------------------------------------------------------------------------
# Access token
# ---------------------------------------------------------------------------------------------


def test_refuses_to_listen_beyond_loopback_without_a_token(tmp_path, daemons):
    config = write_config(tmp_path / "sources.toml", "")
    daemon = new_daemon(daemons, tmp_path, config)
    daemon.start(wait=False, listen="0.0.0.0:0")
    assert daemon.process is not None
    assert daemon.process.wait(15) == 2
    log = daemon.log()
    assert "needs an access token" in log and "MONITOR_TOKEN" in log
    assert "listening on" not in log


def test_token_is_enforced_everywhere_but_healthz(tmp_path, daemons):
    config = write_config(tmp_path / "sources.toml", "")
    daemon = new_daemon(daemons, tmp_path, config, MONITOR_TOKEN=TOKEN)
    daemon.start(listen="127.0.0.2:0")
    assert daemon.base_url.startswith("http://127.0.0.2:")
    assert daemon.get("/healthz").status_code == 200
    for path in ("/metrics", "/api/sources", "/api/events", "/"):
        assert daemon.get(path).status_code == 401, path
        wrong = daemon.get(path, headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        right = daemon.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200, path
    visit = daemon.get("/api/sources", params={"token": TOKEN, "x": "1"})
    assert visit.status_code == 303
    assert visit.headers["location"] == "/api/sources?x=1"
    cookie = visit.cookies.get("token")
    assert cookie and cookie != TOKEN  # a session value derived from it (test_web_risks)
    assert daemon.get("/api/sources", cookies={"token": cookie}).status_code == 200
    assert daemon.stop()[0] == 0
    assert TOKEN not in daemon.log()


def test_200_sources_on_a_short_interval_keep_memory_steady(http_server, tmp_path, daemons):
    for i in range(200):
        body = [f"Statement {i}: {STATEMENT[0]}", *STATEMENT[1:]]
        http_server.page(f"/s/{i}", press_release(f"{TITLE} ({i})", body))
    sources = "".join(page_source(f"s{i}", http_server.url(f"/s/{i}")) for i in range(200))
    config = write_config(
        tmp_path / "sources.toml", sources, defaults='host_spacing = "0s"\nper_host = 8'
    )
    daemon = new_daemon(daemons, tmp_path, config).start()
    # warm-up: every source checked at least twice (caches, pools and the store are filled)
    wait_until(lambda: checks(daemon, "s199") >= 2, timeout=60, what="warm-up")
    time.sleep(5)
    warm = rss_kib(daemon.pid)
    started = checks(daemon, "s0")
    time.sleep(30)
    assert checks(daemon, "s0") >= started + 10  # still checking every few seconds
    growth = rss_kib(daemon.pid) / warm - 1
    assert growth < 0.10, f"RSS grew {growth:.0%} after warm-up"
    assert daemon.get("/healthz").status_code == 200
    assert daemon.stop()[0] == 0
