"""This daemon as one node of a cluster sharing one database.

Any number of `monitor run` nodes may share a PostgreSQL database (or, on one machine,
the SQLite state). Each node:

- joins with a row of its own and renews its heartbeat every `lease_timeout / 4`, from a
  thread of its own, so a busy event loop never makes a healthy node look dead;
- schedules only the sources it owns: each source belongs to one live node, chosen by
  rendezvous hashing over the live nodes' ids, so the sources spread evenly, and when a
  node joins or goes quiet only its share moves;
- claims each check in the database before running it (`monitor.state.cluster`): no
  two checks of a source run at once, nor start closer than the schedule allows (the
  interval less its jitter); a check that comes too early is postponed to the allowed
  time, not dropped. So while the nodes' views of who is alive differ (for a heartbeat
  or so), and when a source changes hands, it is still checked once per interval;
- on PostgreSQL, waits for each host's turn in the database (`ClusterSpacing`), so the
  politeness spacing holds across nodes.

A node that dies stops renewing: after `lease_timeout` the others count it gone, take its
sources over (checked within about one interval, overdue ones first) and, once its claims
expire, its alerts. A node that stops cleanly hands its sources over at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.clock import iso_or_none, utcnow
from monitor.fetch.polite import origin_of
from monitor.state.cluster import Claim, Cluster, NodeRecord
from monitor.state.store import Store

log = logging.getLogger(__name__)

# Two checks of one source start at least (1 - jitter) periods apart, as the jittered
# schedule of one node does, less this much for the latency of the claim itself.
CLAIM_SLACK = 1.0  # seconds, at most 5 % of the period
# Rows of nodes gone for this long are deleted (they only fill `monitor nodes`).
FORGET_NODES_AFTER = dt.timedelta(days=7)


class ClusterConfigMismatch(Exception):
    """This node's sources file differs from the one the live nodes run."""


def config_hash(path: Path | None) -> str:
    """sha256 of the sources file as written (every node must run the same file)."""
    if path is None or not path.is_file():
        return hashlib.sha256(b"").hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_node_id() -> str:
    """A node's id: its machine and process, plus a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class NodeStatus:
    """A node as /healthz and `monitor nodes` show it."""

    record: NodeRecord
    alive: bool
    this: bool

    def to_json(self) -> dict[str, Any]:
        """The node as JSON (for /healthz and `monitor nodes --format json`)."""
        node = self.record
        return {
            "id": node.id,
            "host": node.host,
            "pid": node.pid,
            "listen": node.listen,
            "version": node.version,
            "config_hash": node.config_hash,
            "started_at": iso_or_none(node.started_at),
            "last_heartbeat": iso_or_none(node.heartbeat_at),
            "stopped_at": iso_or_none(node.stopped_at),
            "alive": self.alive,
            "this": self.this,
        }


def node_statuses(
    cluster: Cluster, lease_timeout: float, this: str | None = None
) -> list[NodeStatus]:
    """Every node that shared the database, alive or not, the newest first (blocking)."""
    now = utcnow()
    return [
        NodeStatus(node, node.alive(now, lease_timeout), node.id == this)
        for node in cluster.nodes()
    ]


def check_config_matches(
    nodes: Collection[NodeRecord], mine: str, now: dt.datetime, lease_timeout: float
) -> None:
    """Refuse to run a sources file that no live node runs.

    While a new file is rolled out (each node reloaded in turn) the live nodes may run two
    files; a node starting then must run one of them.
    """
    live = [n for n in nodes if n.alive(now, lease_timeout)]
    hashes = {n.config_hash for n in live}
    if live and mine not in hashes:
        theirs = ", ".join(sorted(f"{n.id} ({n.config_hash[:12]})" for n in live))
        raise ClusterConfigMismatch(
            f"this node's sources file (sha256 {mine[:12]}) differs from the one the running "
            f"nodes use: {theirs}. Every node must read the same file: copy it here (or "
            "reload the others with SIGHUP after changing theirs), then start again"
        )


def owner_of(source: str, nodes: Collection[str]) -> str | None:
    """The node that checks a source: the highest score of hash(node, source).

    Rendezvous hashing: every node computes the same owner from the same set of live nodes,
    the sources spread evenly, and a node joining or leaving moves only its own share.
    """
    best: tuple[bytes, str] | None = None
    for node in nodes:
        score = hashlib.blake2b(f"{node}\0{source}".encode(), digest_size=8).digest()
        if best is None or score > best[0]:
            best = (score, node)
    return best[1] if best else None


class Membership:
    """This node's place in the cluster: its row, the live nodes, what it owns and claims.

    Every database call runs in a thread, off the event loop.
    """

    def __init__(
        self,
        store: Store,
        *,
        lease_timeout: float,
        config_hash: str,
        listen: str | None = None,
        node_id: str | None = None,
    ) -> None:
        self.node_id = node_id or new_node_id()
        self.cluster = Cluster(store, self.node_id)
        self.lease_timeout = lease_timeout
        self.config_hash = config_hash
        self.listen = listen
        self._live: frozenset[str] = frozenset({self.node_id})
        self.joined = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def heartbeat(self) -> float:
        """Seconds between two heartbeats: four per lease, so one late beat loses nothing."""
        return max(0.2, min(15.0, self.lease_timeout / 4))

    @property
    def live(self) -> frozenset[str]:
        """The ids of the nodes alive at the last heartbeat (this one included)."""
        return self._live

    def owner(self, source: str) -> str | None:
        """The node that checks `source`, as this node sees the cluster."""
        return owner_of(source, self._live)

    def owns(self, source: str) -> bool:
        """True when this node is the one to check `source`."""
        return self.owner(source) == self.node_id

    async def join(self) -> None:
        """Add this node's row and learn who else is alive."""
        now = utcnow()
        await asyncio.to_thread(
            self.cluster.join,
            host=socket.gethostname(),
            pid=os.getpid(),
            listen=self.listen,
            version=__version__,
            config_hash=self.config_hash,
            now=now,
        )
        self.joined = True
        await self.beat()
        await asyncio.to_thread(self.cluster.forget_nodes, now - FORGET_NODES_AFTER)

    async def beat(self) -> bool:
        """Renew this node's heartbeat and its leases; True when the live nodes changed."""
        return await asyncio.to_thread(self._beat)

    def _beat(self) -> bool:
        now = utcnow()
        until = now + dt.timedelta(seconds=self.lease_timeout)
        self.cluster.beat(now, until, self.config_hash)
        nodes = self.cluster.nodes()
        live = frozenset({n.id for n in nodes if n.alive(now, self.lease_timeout)} | {self.node_id})
        changed = live != self._live
        self._live = live
        return changed

    def start_heartbeat(self, on_change: Callable[[], None]) -> None:
        """Beat from a thread of its own until `leave()`; `on_change` is called (in that
        thread: hand it to the loop) when nodes join or leave."""

        def run() -> None:
            while not self._stop.wait(self.heartbeat):
                try:
                    if self._beat():
                        on_change()
                except Exception as exc:  # the database is away: the next beat tries again
                    log.warning("cluster heartbeat failed: %s", exc)

        self._stop.clear()
        self._thread = threading.Thread(target=run, name="cluster-heartbeat", daemon=True)
        self._thread.start()

    async def leave(self) -> None:
        """A clean stop: this node's sources go to the others at their next heartbeat."""
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)
            self._thread = None
        if self.joined:
            await asyncio.to_thread(self.cluster.leave, utcnow())
            self.joined = False

    async def claim(
        self, source: str, period: float, jitter: float, *, force: bool = False
    ) -> Claim:
        """Claim a check of `source` to run now; its schedule runs every `period` seconds,
        each check up to `jitter` periods late."""
        now = utcnow()
        gap = period * (1 - jitter) - min(CLAIM_SLACK, 0.05 * period)
        return await asyncio.to_thread(
            self.cluster.claim_check,
            source,
            now,
            now + dt.timedelta(seconds=self.lease_timeout),
            now + dt.timedelta(seconds=max(0.0, gap)),
            force=force,
        )

    async def finish(self, source: str) -> None:
        """The check is recorded: release its claim."""
        await asyncio.to_thread(self.cluster.finish_check, source)

    def statuses(self) -> list[NodeStatus]:
        """Every known node, alive or not (blocking: call it in a thread)."""
        return node_statuses(self.cluster, self.lease_timeout, self.node_id)

    def check_config(self) -> None:
        """Refuse to join a cluster whose live nodes run another sources file (blocking).
        Raises ClusterConfigMismatch."""
        check_config_matches(self.cluster.nodes(), self.config_hash, utcnow(), self.lease_timeout)


class ClusterSpacing:
    """Host politeness shared by every node: each request's start time is reserved in the
    database, so `host_spacing` holds between requests from any nodes."""

    def __init__(self, cluster: Cluster, spacing: float) -> None:
        self.cluster = cluster
        self.spacing = spacing

    async def reserve(self, url: str) -> float:
        """Reserve the next turn of the URL's host; returns the seconds until it."""
        if self.spacing <= 0:
            return 0.0
        now = utcnow()
        start = await asyncio.to_thread(
            self.cluster.reserve_host, origin_of(url), now, self.spacing
        )
        return max(0.0, (start - utcnow()).total_seconds())
