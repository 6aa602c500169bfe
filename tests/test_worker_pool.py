"""A killed extraction worker costs nothing: the pool is replaced and the check retried; a
worker's memory is capped so a pathological page fails alone."""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LoopbackServer
from service_support import STATEMENT, Daemon, descendants, page_source, wait_until, write_config

from monitor.daemon.service import make_pool, stop_pool

pytestmark = pytest.mark.slow  # real process pools and a daemon


def _page(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<html><head><title>Partnership</title></head><body><article>"
        f"<h1>Example Corp announces a partnership</h1>{body}</article></body></html>"
    )


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.close()


def test_the_daemon_checks_on_after_its_extraction_worker_is_killed(
    http_server: LoopbackServer, tmp_path: Path, daemons: list[Daemon]
) -> None:
    url = http_server.page("/s", _page(STATEMENT))
    config = write_config(tmp_path / "sources.toml", page_source("corp", url), interval="1s")
    daemon = Daemon(config, tmp_path / "state", tmp_path / "daemon.log", args=["--workers", "1"])
    daemons.append(daemon.start())

    def events() -> list[dict[str, str]]:
        return list(daemon.get("/api/events?limit=100").json()["events"])

    wait_until(lambda: any(e["event"] == "baseline" for e in events()), 20, "a baseline")
    children = set(descendants(daemon.pid))
    helpers = {pid for pid in children if _parent(pid) == daemon.pid}
    workers = children - helpers  # the fork server's children
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)

    http_server.page("/s", _page([STATEMENT[0].replace("multi-year", "ten-year"), *STATEMENT[1:]]))
    wait_until(lambda: any(e["event"] == "changed" for e in events()), 30, "the edit found")
    assert [e for e in events() if e["event"] == "error"] == []
    assert "pool of workers was replaced" in daemon.log()
    # And it keeps going: a second edit is found too.
    http_server.page("/s", _page([STATEMENT[0].replace("multi-year", "two-year"), *STATEMENT[1:]]))
    wait_until(lambda: sum(e["event"] == "changed" for e in events()) >= 2, 30, "the second edit")


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def test_a_workers_memory_is_capped_and_a_memory_error_breaks_nothing() -> None:
    limit = 1024**3
    pool = make_pool(1, memory=limit)
    assert pool is not None
    try:
        soft, _hard = pool.submit(resource.getrlimit, resource.RLIMIT_AS).result(60)
        assert soft == limit
        with pytest.raises(MemoryError):
            pool.submit(bytearray, 2 * limit).result(60)
        assert pool.submit(len, "still here").result(60) == len("still here")
    finally:
        stop_pool(pool, 5)
