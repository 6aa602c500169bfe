"""The rows that let several `monitor run` nodes share one database (PostgreSQL, or SQLite
on one machine): who is alive, who checks which source now, when a host may be asked next.

- `nodes`: each daemon's row, its heartbeat renewed every few seconds; a node whose
  heartbeat is older than `lease_timeout` (or that stopped cleanly) is gone.
- `check_leases`: a node claims a source's check before it starts it. The claim holds a
  lease (renewed with the node's heartbeat, so a long check keeps it) and sets the
  earliest time the next check may start anywhere in the cluster, so no source is checked
  twice at once, nor twice sooner than its schedule allows, whichever nodes' schedules
  say.
- `host_slots`: the next free start time of a request to each host, for politeness across
  nodes.

Times are the nodes' clocks (UTC): keep them in sync (NTP), as for any cluster.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import sqlalchemy as sa

from monitor.state.schema import check_leases_table, host_slots_table, nodes_table
from monitor.state.store import Store, conflict_insert


@dataclass(frozen=True)
class NodeRecord:
    """One daemon sharing the database, as it last reported itself."""

    id: str
    host: str
    pid: int
    listen: str | None
    version: str
    config_hash: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    stopped_at: dt.datetime | None

    def alive(self, now: dt.datetime, timeout: float) -> bool:
        """Still running: not stopped, and heard from within `timeout` seconds."""
        return self.stopped_at is None and now - self.heartbeat_at <= dt.timedelta(seconds=timeout)


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: granted, or refused until `retry_at` (a check started too
    recently), or refused for now (another node holds the check: `retry_at` is None)."""

    granted: bool
    retry_at: dt.datetime | None = None


@dataclass(frozen=True)
class CheckLease:
    """Who claimed a source's last check, until when they hold it, and when the next may
    start."""

    source: str
    node: str | None
    claimed_at: dt.datetime | None
    lease_until: dt.datetime | None
    not_before: dt.datetime | None


class Cluster:
    """The cluster rows of one store, seen from node `node_id`."""

    def __init__(self, store: Store, node_id: str) -> None:
        self.store = store
        self.node_id = node_id

    # -- nodes -------------------------------------------------------------------------------

    def join(
        self,
        *,
        host: str,
        pid: int,
        listen: str | None,
        version: str,
        config_hash: str,
        now: dt.datetime,
    ) -> None:
        """Add this node's row (a new id per start)."""
        with self.store.write() as conn:
            conn.execute(
                sa.insert(nodes_table).values(
                    id=self.node_id,
                    host=host,
                    pid=pid,
                    listen=listen,
                    version=version,
                    config_hash=config_hash,
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def beat(self, now: dt.datetime, lease_until: dt.datetime, config_hash: str) -> None:
        """This node is alive: renew its heartbeat and the leases of its checks in flight."""
        with self.store.write() as conn:
            conn.execute(
                sa.update(nodes_table)
                .where(nodes_table.c.id == self.node_id)
                .values(heartbeat_at=now, config_hash=config_hash, stopped_at=None)
            )
            conn.execute(
                sa.update(check_leases_table)
                .where(
                    check_leases_table.c.node == self.node_id,
                    check_leases_table.c.lease_until.is_not(None),
                )
                .values(lease_until=lease_until)
            )

    def leave(self, now: dt.datetime) -> None:
        """A clean stop: the others take this node's sources over at once."""
        with self.store.write() as conn:
            conn.execute(
                sa.update(nodes_table)
                .where(nodes_table.c.id == self.node_id)
                .values(stopped_at=now, heartbeat_at=now)
            )
            conn.execute(
                sa.update(check_leases_table)
                .where(check_leases_table.c.node == self.node_id)
                .values(lease_until=None)
            )

    def nodes(self) -> list[NodeRecord]:
        """Every node that ever joined, the newest first."""
        query = sa.select(nodes_table).order_by(nodes_table.c.started_at.desc())
        with self.store.engine.connect() as conn:
            return [NodeRecord(**row._mapping) for row in conn.execute(query)]

    def forget_nodes(self, before: dt.datetime) -> int:
        """Delete the rows of nodes not heard from since `before`; returns how many."""
        with self.store.write() as conn:
            result = conn.execute(sa.delete(nodes_table).where(nodes_table.c.heartbeat_at < before))
        return int(result.rowcount)

    # -- checks ------------------------------------------------------------------------------

    def claim_check(
        self,
        source: str,
        now: dt.datetime,
        lease_until: dt.datetime,
        not_before: dt.datetime,
        *,
        force: bool = False,
    ) -> Claim:
        """Claim the next check of a source: refused while another node holds it, or until
        the stored `not_before` when a check started too recently (`force` skips that rule,
        for a check asked for now)."""
        claim = {
            "source": source,
            "node": self.node_id,
            "claimed_at": now,
            "lease_until": lease_until,
            "not_before": not_before,
            "now": now,
        }
        upsert = _claim(self.store.engine.dialect.name, force=force)
        with self.store.write() as conn:
            granted = conn.execute(upsert, claim).first() is not None
            if granted:
                return Claim(True)
            row = conn.execute(_LEASE_OF, {"source_name": source}).one()
        held = row.lease_until is not None and row.lease_until > now and row.node != self.node_id
        return Claim(False, None if held else row.not_before)

    def finish_check(self, source: str) -> None:
        """The check is recorded: release its lease (the `not_before` rule stays)."""
        with self.store.write() as conn:
            conn.execute(_RELEASE, {"source_name": source, "node_id": self.node_id})

    def leases(self) -> dict[str, CheckLease]:
        """Each source's lease row, by source name."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(check_leases_table))
            return {row.source: CheckLease(**row._mapping) for row in rows}

    # -- politeness --------------------------------------------------------------------------

    def reserve_host(self, host: str, now: dt.datetime, spacing: float) -> dt.datetime:
        """The start time of a request to `host`: the host's next free slot (or now), which
        is then moved `spacing` seconds later for whoever asks next, on any node."""
        table = host_slots_table
        with self.store.write() as conn:
            first = conflict_insert(conn.dialect.name, table).values(host=host, next_at=now)
            conn.execute(first.on_conflict_do_nothing())  # another node may add it meanwhile
            free = conn.execute(
                sa.select(table.c.next_at).where(table.c.host == host).with_for_update()
            ).scalar_one()
            start = max(free, now)
            conn.execute(
                sa.update(table)
                .where(table.c.host == host)
                .values(next_at=start + dt.timedelta(seconds=spacing))
            )
        return start


# A check's claim and release, built once: every check of every node runs them, and
# SQLAlchemy spent most of their time building the statements (see `monitor.state.store`).
_LEASE_OF = sa.select(check_leases_table).where(
    check_leases_table.c.source == sa.bindparam("source_name")
)
_RELEASE = (
    sa.update(check_leases_table)
    .where(
        check_leases_table.c.source == sa.bindparam("source_name"),
        check_leases_table.c.node == sa.bindparam("node_id"),
    )
    .values(lease_until=None)
)


@functools.cache
def _claim(dialect: str, *, force: bool) -> sa.Executable:
    """The claim of a source's check, in this database's dialect: one statement, one round
    trip. A first claim inserts the row (the parameters `source`, `node`, `claimed_at`,
    `lease_until`, `not_before`); a later one updates it only where the lease is free at
    `now` (or this node's own) and, unless `force`, the time has come. It returns the
    source's name when the claim is granted."""
    table = check_leases_table
    insert = conflict_insert(dialect, table)
    claimed = insert.excluded
    free = sa.or_(
        table.c.lease_until.is_(None),
        table.c.lease_until <= sa.bindparam("now", type_=table.c.lease_until.type),
        table.c.node == claimed.node,
    )
    if not force:
        due = sa.or_(
            table.c.not_before.is_(None),
            table.c.not_before <= sa.bindparam("now", type_=table.c.not_before.type),
        )
        free = sa.and_(free, due)
    columns = ("node", "claimed_at", "lease_until", "not_before")
    claim = {column: claimed[column] for column in columns}
    upsert = insert.on_conflict_do_update(index_elements=[table.c.source], set_=claim, where=free)
    return upsert.returning(table.c.source)
