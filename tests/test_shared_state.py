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
