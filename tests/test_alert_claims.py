"""Each alert is delivered by one run: claims on the outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import source_table, write_config
from notify_support import Receiver, alert, changed_event, make_config, queue_alert

from monitor.alerts.outbox import plan_round
from monitor.clock import utcnow

ROOT = Path(__file__).resolve().parent.parent


def test_two_runs_claiming_the_same_alerts_get_disjoint_shares(store):
    ids = [queue_alert(store, changed_event(url=f"https://e.org/{n}")).id for n in range(6)]
    now = utcnow()
    until = now + dt.timedelta(minutes=1)

    first = store.claim_alerts(ids[:4], "node-a", until, now)
    second = store.claim_alerts(ids, "node-b", until, now)

    assert first == set(ids[:4])
    assert second == set(ids[4:])  # what node-a holds is left to it
    held = [a.id for a in store.outbox("pending") if a.held_by_another("node-b", now)]
    assert held == ids[:4]


def test_an_alert_another_node_holds_is_due_when_its_claim_runs_out(store):
    # The node holding it may die: the others must wake up when its claim expires, not
    # only when a new alert comes (a node's outbox sleeps until the next alert is due).
    queued = queue_alert(store, changed_event())
    now = utcnow()
    expires = now + dt.timedelta(seconds=30)
    store.claim_alerts([queued.id], "node-a", expires, now)
    config = make_config({"hook": {"type": "webhook", "url": "http://127.0.0.1:9/h"}})

    plan = plan_round(store.outbox("pending"), config, now, owner="node-b")
    assert plan.batches == {} and plan.next_due == expires
    later = plan_round(store.outbox("pending"), config, expires, owner="node-b")
    assert [b.ids for b in later.batches["hook"]] == [[queued.id]]


def test_a_claim_of_a_node_that_died_expires_and_is_taken_over(store):
    queued = queue_alert(store, changed_event())
    now = utcnow()
    store.claim_alerts([queued.id], "dead-node", now + dt.timedelta(seconds=30), now)

    assert store.claim_alerts([queued.id], "other", now + dt.timedelta(minutes=1), now) == set()
    later = now + dt.timedelta(seconds=31)
    assert store.claim_alerts([queued.id], "other", later + dt.timedelta(minutes=1), later) == {
        queued.id
    }


def test_a_sent_alert_is_never_claimed_again_nor_made_pending_by_a_late_failure(store):
    queued = queue_alert(store, changed_event())
    now = utcnow()
    store.claim_alerts([queued.id], "slow", now + dt.timedelta(seconds=1), now)
    later = now + dt.timedelta(seconds=2)  # the slow run's claim ran out; another sent it
    assert store.claim_alerts([queued.id], "fast", later + dt.timedelta(minutes=1), later)
    store.mark_sent([queued.id])

    store.mark_failed([queued.id], "timed out", later)  # the slow run gives up, too late

    assert alert(store, queued.id).status == "sent"
    assert store.claim_alerts([queued.id], "third", later, later + dt.timedelta(hours=1)) == set()


@pytest.mark.slow
def test_overlapping_check_runs_deliver_each_alert_once(http_server, tmp_path):
    # Two `monitor check` runs at once (cron overlapping a manual run) with a slow receiver:
    # both find the same 20 pending alerts; each must reach the receiver exactly once.
    receiver = Receiver(delay=0.05)
    http_server.route("/hook", receiver)
    config = write_config(
        tmp_path,
        source_table("newsroom", http_server.url("/missing"))
        + f'[notifiers.hook]\ntype = "webhook"\nurl = "{http_server.url("/hook")}"\n',
    )
    state = tmp_path / "state"
    from monitor.state.store import Store

    store = Store.open(state)
    for n in range(20):
        queue_alert(store, changed_event(url=f"https://news.example.org/{n}"))
    store.close()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "check",
                "--config",
                str(config),
                "--state",
                str(state),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:
        run.wait(timeout=120)

    delivered = receiver.delivery_ids()
    assert len(delivered) == 20 and len(set(delivered)) == 20
    store = Store.open(state)
    assert {a.status for a in store.outbox()} == {"sent"}
