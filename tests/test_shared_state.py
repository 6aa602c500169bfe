"""Two processes on one state: a `monitor check` beside a running daemon."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pages import press_release
from service_support import ROOT, STATEMENT, Daemon, db_rows, page_source, wait_until, write_config

from monitor.clock import utcnow
from monitor.events import Event
from monitor.state.records import CheckFailed, SourceUpdate
from monitor.state.store import Store

TITLE = "Example Corp and Sample Industries announce research partnership"

pytestmark = pytest.mark.slow


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.close()


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `monitor` command in a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )


def test_a_check_beside_the_daemon_that_adds_rows_first_does_not_break_it(
    http_server, tmp_path, daemons
):
    first = http_server.page("/a", press_release(TITLE, STATEMENT))
    good = http_server.page("/c", press_release(TITLE + " (two)", STATEMENT))
    broken = http_server.url("/b")  # 404 until the end: an error each check
    http_server.route("/b", lambda _r: (500, {"Content-Type": "text/plain"}, b"down"))
    config = write_config(
        tmp_path / "sources.toml",
        page_source("a", first),
        defaults="error_alert_after = 2\n",
        notifiers='[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:9/hook"\n',
    )
    state = tmp_path / "state"
    daemon = Daemon(config, state, tmp_path / "daemon.log")
    daemons.append(daemon)
    daemon.start()
    wait_until(lambda: http_server.hits("/a") >= 2, what="the daemon checked a")

    # A second process adds two sources (and a statement) before the daemon knows them.
    config.write_text(config.read_text() + page_source("b", broken) + page_source("c", good))
    done = monitor("check", "--config", str(config), "--state", str(state), "b", "c")
    assert done.returncode == 1, done.stdout + done.stderr
    daemon.send(signal.SIGHUP)
    daemon.wait_for_log(r"reloaded .*added b, c")

    # The daemon goes on checking them: the failing one's streak grows to an error alert,
    # the good one's edit is seen.
    wait_until(
        lambda: (
            db_rows(state, "SELECT consecutive_failures FROM sources WHERE name='b'")[0][0] >= 3
        ),
        timeout=20,
        what="b's failures counted by the daemon",
    )
    errors = db_rows(
        state,
        "SELECT count(*) FROM alerts JOIN events ON events.id = alerts.event_id "
        "WHERE events.kind = 'error'",
    )
    assert errors[0][0] == 1
    wait_until(lambda: http_server.hits("/c") >= 3, what="c checked by the daemon")
    http_server.page("/c", press_release(TITLE + " (two)", [*STATEMENT[:2], "A new paragraph."]))
    wait_until(
        lambda: db_rows(state, "SELECT count(*) FROM events WHERE kind='changed'")[0][0] == 1,
        timeout=20,
        what="the edit of c",
    )
    status = {s["name"]: s for s in daemon.get("/api/sources").json()["sources"]}
    assert status["c"]["last_status"] == "ok"
    assert "HTTP 500" in (status["b"]["last_error"] or "")
    page = daemon.get("/").text
    assert daemon.stop()[0] == 0
    # the short-interval warning names each source once, not again on every reload
    warned = re.findall(r"(\S+(?:, \S+)*) checked more often than once a minute", daemon.log())
    assert warned == ["a", "b, c"]
    for shown in (daemon.log(), page, str(status)):
        assert "UNIQUE" not in shown and "[SQL:" not in shown and "INSERT" not in shown


# ---------------------------------------------------------------------------------------------
# The same race on each database: two Store objects (two processes) on one state
# ---------------------------------------------------------------------------------------------


def failed_check(name: str) -> SourceUpdate:
    url = f"https://example.org/{name}"
    error = Event("error", name, url, error="HTTP 500")
    return SourceUpdate(name, url, "page", utcnow(), error="HTTP 500", events=[error])


def statement_check(name: str, url: str, events: list[Event]) -> SourceUpdate:
    item = CheckFailed(url, events=events)
    return SourceUpdate(name, url, "page", utcnow(), statements=[item])


def test_rows_another_process_added_first_are_read_back(database_url, tmp_path):
    url = database_url
    daemon = Store.open(tmp_path / "state", url)
    other = Store.open(tmp_path / "state", url)  # `monitor check` beside the daemon
    try:
        daemon.save_check(failed_check("a"))  # the daemon has read every id it knows
        page = "https://example.org/b/statement"
        other.save_check(statement_check("b", page, []))  # then another process adds b
        other.save_check(failed_check("b"))

        daemon.save_check(failed_check("b"))  # no constraint error: b is read back
        record = daemon.source("b")
        assert record is not None and record.consecutive_failures == 2  # counted
        oops = Event("error", "b", page, error="HTTP 503")
        daemon.save_check(statement_check("b", page, [oops]))  # the statement is read back

        assert [s.url for s in daemon.statements("b")] == [page]
        assert [e.kind for e in daemon.events(source="b")] == ["error", "error", "error"]
    finally:
        daemon.close()
        other.close()
