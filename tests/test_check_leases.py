"""The claims behind several nodes: one check of a source at a time, none too early,
a dead node's claims taken over; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from monitor.clock import utcnow
from monitor.daemon.cluster import check_config_matches, owner_of
from monitor.state.cluster import Claim, Cluster, NodeRecord

SECOND = dt.timedelta(seconds=1)


def test_one_check_of_a_source_at_a_time_and_none_before_its_time(store):
    a, b = Cluster(store, "node-a"), Cluster(store, "node-b")
    now = utcnow()

    assert a.claim_check("news", now, now + 30 * SECOND, now + 50 * SECOND) == Claim(True)
    # while node a checks it, node b may not, even when the time has come
    assert b.claim_check("news", now + 10 * SECOND, now, now, force=True) == Claim(False, None)
    a.finish_check("news")
    # done: node b may check it again at the time node a's claim set, not before
    assert b.claim_check("news", now + SECOND, now, now) == Claim(False, now + 50 * SECOND)
    later = now + 51 * SECOND
    assert b.claim_check("news", later, later + 30 * SECOND, later + 50 * SECOND).granted
    # a check asked for now skips the "not before" rule, never another's lease
    b.finish_check("news")
    assert a.claim_check("news", later + SECOND, later, later, force=True).granted


def test_the_claim_of_a_node_that_died_expires(store):
    dead, alive = Cluster(store, "dead"), Cluster(store, "alive")
    now = utcnow()
    assert dead.claim_check("news", now, now + 10 * SECOND, now).granted
    assert not alive.claim_check("news", now + 5 * SECOND, now, now).granted
    assert alive.claim_check("news", now + 11 * SECOND, now + 20 * SECOND, now).granted


def test_a_heartbeat_renews_the_leases_of_checks_in_flight(store):
    node, other = Cluster(store, "node"), Cluster(store, "other")
    now = utcnow()
    node.join(host="h", pid=1, listen=None, version="x", config_hash="c", now=now)
    assert node.claim_check("slow", now, now + 10 * SECOND, now).granted
    node.beat(now + 8 * SECOND, now + 18 * SECOND, "c")  # the check still runs
    assert not other.claim_check("slow", now + 12 * SECOND, now, now).granted
    node.leave(now + 13 * SECOND)  # a clean stop releases what it held
    assert other.claim_check("slow", now + 13 * SECOND, now, now).granted


def test_nodes_live_while_they_beat(store):
    node = Cluster(store, "n1")
    now = utcnow()
    node.join(host="h", pid=1, listen="127.0.0.1:8787", version="0.1", config_hash="c", now=now)
    (record,) = node.nodes()
    assert record.alive(now + 30 * SECOND, 60)
    assert not record.alive(now + 61 * SECOND, 60)
    node.leave(now + SECOND)
    assert not node.nodes()[0].alive(now + 2 * SECOND, 60)
    assert node.forget_nodes(now + 10 * SECOND) == 1 and node.nodes() == []


def test_host_slots_space_requests_across_nodes(store):
    a, b = Cluster(store, "a"), Cluster(store, "b")
    now = utcnow()
    starts = [c.reserve_host("news.example.org:443", now, 0.5) for c in (a, b, a)]
    assert starts == [now, now + 0.5 * SECOND, now + SECOND]


def test_sources_spread_evenly_and_move_only_with_their_node():
    names = [f"source-{n}" for n in range(3000)]
    two = {name: owner_of(name, {"a", "b"}) for name in names}
    assert 1300 < sum(1 for o in two.values() if o == "a") < 1700
    three = {name: owner_of(name, {"a", "b", "c"}) for name in names}
    moved = [n for n in names if two[n] != three[n]]
    assert all(three[n] == "c" for n in moved)  # only what the new node takes moves
    assert 800 < len(moved) < 1200


def node(config_hash: str, heartbeat: dt.datetime) -> NodeRecord:
    return NodeRecord("n", "h", 1, None, "0.1", config_hash, heartbeat, heartbeat, None)


def test_a_sources_file_no_live_node_runs_is_refused():
    now = utcnow()
    check_config_matches([node("old", now - 600 * SECOND)], "new", now, 60)  # gone: fine
    check_config_matches([node("same", now)], "same", now, 60)
    check_config_matches([node("a", now), node("b", now)], "b", now, 60)  # mid-rollout
    try:
        check_config_matches([node("other", now)], "mine", now, 60)
    except Exception as exc:
        assert "differs from the one the running nodes use" in str(exc)
    else:
        raise AssertionError("a different sources file was accepted")
