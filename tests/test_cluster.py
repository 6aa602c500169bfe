"""Several `monitor run` nodes on one PostgreSQL: each check and each alert done once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import sqlalchemy as sa
from notify_support import Receiver
from pages import press_release
from service_support import ROOT, STATEMENT, Daemon, page_source, wait_until, write_config

pytestmark = pytest.mark.slow

TITLE = "Example Corp and Sample Industries announce research partnership"


class Pages:
    """N statement pages on the loopback server; records when each was fetched."""

    def __init__(self, server, count: int) -> None:
        self.server = server
        self.count = count
        self.hits: dict[str, list[float]] = defaultdict(list)
        self.edited: set[int] = set()
        self.lock = threading.Lock()
        for n in range(count):
            server.route(f"/s{n}", self._handler(n))

    def _handler(self, n: int):
        def reply(_request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
            with self.lock:
                self.hits[f"s{n}"].append(time.monotonic())
                extra = ["A paragraph added in an edit."] if n in self.edited else []
            body = press_release(f"{TITLE} {n}", [*STATEMENT, *extra])
            return 200, {"Content-Type": "text/html; charset=utf-8"}, body.encode()

        return reply

    def sources(self) -> str:
        return "".join(page_source(f"s{n}", self.server.url(f"/s{n}")) for n in range(self.count))

    def edit_all(self) -> None:
        with self.lock:
            self.edited = set(range(self.count))

    def gaps(self, since: float = 0.0) -> list[float]:
        """Every gap between two fetches of one page (after `since`)."""
        with self.lock:
            return [
                later - earlier
                for times in self.hits.values()
                for earlier, later in zip(times, times[1:], strict=False)
                if earlier >= since
            ]


@pytest.fixture
def cluster_db(postgres) -> Iterator[str]:
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
def nodes() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.close()


def start_node(config: Path, tmp_path: Path, url: str, nodes: list[Daemon], n: int) -> Daemon:
    daemon = Daemon(
        config,
        tmp_path / f"state{n}",
        tmp_path / f"node{n}.log",
        args=["--database", url, "--workers", "1"],
    )
    nodes.append(daemon)
    return daemon.start(wait=True)


def query(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def checked_by(url: str) -> dict[str, int]:
    return dict(query(url, "SELECT node, count(*) FROM check_leases GROUP BY node"))


INTERVAL = 6.0
SHARED_INTERVAL = 12.0  # 300 sources: 25 checks/s, within what a loaded 2-core test box does


def test_nodes_share_the_sources_and_check_each_once_per_interval(
    http_server, tmp_path, cluster_db, nodes
):
    pages = Pages(http_server, 300)
    config = write_config(
        tmp_path / "sources.toml",
        pages.sources(),
        interval=f"{SHARED_INTERVAL:g}s",
        defaults='host_spacing = "0s"\nlease_timeout = "4s"\n',
    )
    first = start_node(config, tmp_path, cluster_db, nodes, 1)
    second = start_node(config, tmp_path, cluster_db, nodes, 2)
    wait_until(
        lambda: len(checked_by(cluster_db)) == 2 and sum(checked_by(cluster_db).values()) == 300,
        timeout=40,
        what="both nodes checking, every source claimed",
    )
    time.sleep(2.5 * SHARED_INTERVAL)

    # No source was fetched twice within half its interval, by whichever nodes.
    assert min(pages.gaps()) > SHARED_INTERVAL * 0.5
    shares = checked_by(cluster_db)
    assert all(90 <= count <= 210 for count in shares.values()), shares  # about half each
    # each page kept its rhythm: about once per interval
    recent = time.monotonic() - 2 * SHARED_INTERVAL
    with pages.lock:
        counts = [sum(1 for t in times if t >= recent) for times in pages.hits.values()]
    assert len(counts) == 300 and min(counts) >= 1 and max(counts) <= 3

    # Any node shows the whole cluster.
    health = first.get("/healthz").json()
    assert health["status"] in ("ok", "degraded")
    assert sorted(n["alive"] for n in health["nodes"]) == [True, True]
    assert {n["id"] for n in health["nodes"]} == set(shares)
    statuses = second.get("/api/sources").json()["sources"]
    assert len(statuses) == 300 and {s["node"] for s in statuses} == set(shares)
    assert all(s["last_status"] == "ok" for s in statuses)
    listed = subprocess.run(
        [sys.executable, "-m", "monitor", "nodes", "--database", cluster_db, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["alive"] for r in rows] == [True, True]
    assert len({r["config_hash"] for r in rows}) == 1

    # A third node takes a share at once, still without a duplicate check.
    third = start_node(config, tmp_path, cluster_db, nodes, 3)
    joined = time.monotonic()
    wait_until(lambda: len(checked_by(cluster_db)) == 3, timeout=30, what="the third node")
    time.sleep(2 * SHARED_INTERVAL)
    assert min(pages.gaps(since=joined - SHARED_INTERVAL)) > SHARED_INTERVAL * 0.5
    assert third.get("/healthz").json()["nodes"][0]["alive"]
    for daemon in nodes:
        assert daemon.stop()[0] == 0


def test_a_killed_node_s_checks_and_alerts_are_taken_over_each_alert_sent_once(
    http_server, tmp_path, cluster_db, nodes
):
    pages = Pages(http_server, 100)
    receiver = Receiver(delay=0.02)
    http_server.route("/hook", receiver)
    notifier = f'[notifiers.hook]\ntype = "webhook"\nurl = "{http_server.url("/hook")}"\n'
    config = write_config(
        tmp_path / "sources.toml",
        pages.sources(),
        interval=f"{INTERVAL:g}s",
        defaults='host_spacing = "0s"\nlease_timeout = "4s"\n',
        notifiers=notifier,
    )
    doomed = start_node(config, tmp_path, cluster_db, nodes, 1)
    survivor = start_node(config, tmp_path, cluster_db, nodes, 2)
    wait_until(
        lambda: query(cluster_db, "SELECT count(*) FROM snapshots")[0][0] == 100,
        timeout=40,
        what="every baseline",
    )
    pages.edit_all()
    wait_until(lambda: len(receiver.received) >= 10, timeout=30, what="the first alerts")
    doomed.kill()  # SIGKILL mid-cycle: its checks in flight and claims are left behind
    killed = time.monotonic()
    # A `monitor check` beside the cluster delivers what is pending too, never twice.
    subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(config)]
        + ["--database", cluster_db, "--state", str(tmp_path / "cli")],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )

    # Waited for as "at least", then counted: a failure then tells a slow run from an edit
    # reported twice or an alert sent twice.
    def changed_events() -> int:
        return query(cluster_db, "SELECT count(*) FROM events WHERE kind = 'changed'")[0][0]

    def alerts_sent() -> int:
        return query(cluster_db, "SELECT count(*) FROM alerts WHERE status = 'sent'")[0][0]

    wait_until(
        lambda: changed_events() >= 100,
        timeout=3 + INTERVAL * 3 + 20,
        what="every edit seen, the killed node's sources by the survivor",
    )
    wait_until(lambda: alerts_sent() >= 100, timeout=60, what="every alert sent")
    taken_over = time.monotonic() - killed
    assert taken_over < 3 + 2 * INTERVAL + 20
    assert (changed_events(), alerts_sent()) == (100, 100)

    delivered = receiver.delivery_ids()
    expected = {row[0] for row in query(cluster_db, "SELECT delivery_id FROM alerts")}
    assert set(delivered) == expected
    repeats = len(delivered) - len(set(delivered))
    assert repeats <= 1  # at most the one delivery the kill interrupted
    # The killed node is gone from /healthz once its last heartbeat is older than the lease
    # timeout (4 s): waited for, since the `monitor check` above may have delivered every
    # alert sooner than that.
    wait_until(
        lambda: [n["alive"] for n in survivor.get("/healthz").json()["nodes"]] == [True],
        timeout=4 + 10,
        what="the killed node gone from /healthz",
    )
    assert survivor.stop()[0] == 0


def test_a_node_with_a_different_sources_file_refuses_to_join(
    http_server, tmp_path, cluster_db, nodes
):
    pages = Pages(http_server, 3)
    config = write_config(tmp_path / "sources.toml", pages.sources(), interval="1m")
    start_node(config, tmp_path, cluster_db, nodes, 1)
    other = write_config(tmp_path / "other.toml", pages.sources() + "\n# changed\n", interval="1m")
    refused = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--config", str(other)]
        + ["--database", cluster_db, "--state", str(tmp_path / "s2"), "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert refused.returncode == 2
    assert "differs from the one the running nodes use" in refused.stderr
