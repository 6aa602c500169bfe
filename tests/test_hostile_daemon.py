"""The daemon under hostile sources files (issue 16): a SIGHUP reload is applied whole or
not at all, and a huge broken file is read off the event loop."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from pages import press_release
from service_support import STATEMENT, Daemon, page_source, wait_until, write_config

pytestmark = pytest.mark.slow  # the daemon as a subprocess

TITLE = "Example Corp and Sample Industries announce research partnership"


@pytest.fixture
def daemon_of(tmp_path: Path) -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.close()


def test_a_reload_with_a_nan_interval_changes_nothing(http_server, tmp_path, daemon_of):
    a = http_server.page("/a", press_release(TITLE, STATEMENT))
    b = http_server.page("/b", press_release(TITLE + " (b)", STATEMENT[:2]))
    config = write_config(tmp_path / "sources.toml", page_source("a", a) + page_source("b", b))
    daemon = Daemon(config, tmp_path / "state", tmp_path / "daemon.log")
    daemon_of.append(daemon)
    daemon.start()
    wait_until(lambda: http_server.hits("/b") >= 1, what="a first check of b")

    bad = page_source("a", a) + page_source("b", b, "interval = nan") + page_source("c", a)
    write_config(config, bad)
    daemon.send(signal.SIGHUP)
    daemon.wait_for_log("reload refused")
    assert "must be a finite number" in daemon.log()
    sources = daemon.get("/api/sources")
    assert sources.status_code == 200
    assert [s["name"] for s in sources.json()["sources"]] == ["a", "b"]
    hits = http_server.hits("/b")
    wait_until(lambda: http_server.hits("/b") >= hits + 2, what="b still checked")
    assert daemon.get("/healthz").status_code == 200

    # thousands of problems: refused quickly, listed in part, the endpoint answering
    many = "".join(page_source(f"s{i}", f"ftp://example.org/{i}") for i in range(3000))
    write_config(config, many)
    daemon.send(signal.SIGHUP)
    assert daemon.get("/healthz").status_code == 200
    daemon.wait_for_log("and 2950 more problems")
    assert [s["name"] for s in daemon.get("/api/sources").json()["sources"]] == ["a", "b"]
    assert daemon.stop()[0] == 0
