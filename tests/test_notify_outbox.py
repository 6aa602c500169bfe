"""The outbox worker: scheduling, give-up, digests, isolation between notifiers, the daemon loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from notify_support import (
    Receiver,
    SmtpServer,
    alert,
    changed_event,
    make_config,
    queue_alert,
)

from monitor.alerts.channels import ChannelOptions
from monitor.alerts.outbox import OutboxWorker, RetryPolicy, deliver_due
from monitor.clock import utcnow
from monitor.state.store import Store

NO_JITTER = RetryPolicy(jitter=0.0)


@pytest.fixture
def receiver(http_server: Any) -> Receiver:
    receiver = Receiver()
    http_server.route("/hook", receiver)
    return receiver


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    await server.start()
    yield server
    await server.stop()


def hook(http_server: Any, path: str = "/hook", **settings: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": http_server.url(path), **settings}


def event_at(minutes_ago: float, title: str) -> Any:
    return changed_event(title=title, at=utcnow() - dt.timedelta(minutes=minutes_ago))


# ---------------------------------------------------------------------------------------------
# Backoff and giving up
# ---------------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_capped_jitter() -> None:
    policy = RetryPolicy(base=30, cap=3600, jitter=0.25)

    assert [policy.delay(n, lambda: 0.0) for n in range(9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert policy.delay(0, lambda: 1.0) == 22.5  # jitter takes at most a quarter off
    assert policy.delay(500, lambda: 0.0) == 3600


async def test_an_alert_gives_up_after_alert_give_up(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(500, {}, b"")]
    old = queue_alert(store, event_at(60 * 50, "Old"))  # 50 hours ago; give-up is 2 days
    young = queue_alert(store, event_at(60 * 47.9, "Young"))
    config = make_config({"hook": hook(http_server)})
    now = utcnow()

    report = await deliver_due(store, config, now=now, policy=NO_JITTER)

    assert report.dead == [old.id] and report.failed == [young.id]
    dead = alert(store, old.id)
    assert dead.status == "dead"
    assert "(gave up after 1 attempt: alert_give_up is 2d; `monitor outbox retry" in (
        dead.last_error or ""
    )
    # the last attempt is scheduled at the give-up time, not after it
    deadline = young.created_at + dt.timedelta(days=2)
    assert alert(store, young.id).next_attempt_at == min(now + dt.timedelta(seconds=30), deadline)

    assert store.retry_dead([old.id]) == 1
    again = await deliver_due(store, config, ignore_backoff=True)
    assert old.id in again.sent


async def test_ignore_backoff_sends_alerts_left_from_earlier_runs(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(503, {}, b"")]
    queued = queue_alert(store, changed_event())
    config = make_config({"hook": hook(http_server)})
    await deliver_due(store, config)

    honoured = await deliver_due(store, config)  # the daemon: not due yet
    forced = await deliver_due(store, config, ignore_backoff=True)  # `monitor check`

    assert honoured.sent == [] and forced.sent == [queued.id]
    assert len(receiver.received) == 2


# ---------------------------------------------------------------------------------------------
# Notifiers are independent; a receiver's failure holds back only its own alerts
# ---------------------------------------------------------------------------------------------


async def test_a_dead_receiver_never_delays_the_others(store: Store, http_server: Any) -> None:
    slow, fast = Receiver(delay=4.0), Receiver()
    http_server.route("/slow", slow)
    http_server.route("/fast", fast)
    for title in ("one", "two"):
        queue_alert(store, changed_event(title=title), ["slow", "fast"])
    config = make_config(
        {
            "slow": hook(http_server, "/slow", timeout="1500ms"),
            "fast": hook(http_server, "/fast"),
        }
    )
    started = time.monotonic()

    report = await deliver_due(store, config)

    # both reach the fast receiver before the slow one's timeout has even run out
    assert len(fast.received) == 2 and all(t - started < 1.5 for t in fast.arrivals)
    assert len(report.sent) == 2 and len(report.failed) == 2
    assert len(slow.received) == 1  # the second alert waits with the first: the receiver is down
    assert "did not answer within 1.5s" in report.errors["slow"]


async def test_a_receiver_wide_failure_holds_back_the_notifiers_other_alerts(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(503, {"Retry-After": "60"}, b"maintenance")]
    ids = [queue_alert(store, changed_event(title=f"t{i}")).id for i in range(3)]
    now = utcnow()

    report = await deliver_due(store, make_config({"hook": hook(http_server)}), now=now)

    assert len(receiver.received) == 1 and report.failed == ids
    later = [alert(store, i) for i in ids[1:]]
    assert all(a.next_attempt_at == now + dt.timedelta(seconds=60) for a in later)
    assert all(
        (a.last_error or "").startswith("not attempted: the alert before it to hook failed: ")
        for a in later
    )


async def test_a_message_specific_refusal_does_not_hold_back_the_others(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(413, {}, b"too large")]
    ids = [queue_alert(store, changed_event(title=f"t{i}")).id for i in range(3)]

    report = await deliver_due(store, make_config({"hook": hook(http_server)}))

    assert report.failed == ids[:1] and report.sent == ids[1:]


async def test_alerts_of_a_removed_notifier_wait_with_a_clear_error(store: Store) -> None:
    queued = queue_alert(store, changed_event(), ["gone"])

    report = await deliver_due(store, make_config({}))

    assert report.failed == [queued.id]
    assert (alert(store, queued.id).last_error or "").startswith(
        "notifier 'gone' is no longer in the configuration"
    )


# ---------------------------------------------------------------------------------------------
# Digests
# ---------------------------------------------------------------------------------------------


async def test_a_digest_webhook_gets_one_message_when_the_window_closes(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    alerts = [queue_alert(store, event_at(m, f"Statement {m}")) for m in (50, 20, 5)]
    config = make_config({"hook": hook(http_server, digest="1h")})
    opens = alerts[0].created_at

    early = await deliver_due(store, config, now=opens + dt.timedelta(minutes=59))
    late = await deliver_due(store, config, now=opens + dt.timedelta(hours=1), ignore_backoff=True)
    after = await deliver_due(store, config, now=opens + dt.timedelta(hours=3))

    assert early.sent == [] and early.waiting == [a.id for a in alerts]
    assert early.next_due == opens + dt.timedelta(hours=1)
    assert late.sent == [a.id for a in alerts] and late.messages == 1 and after.sent == []
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    payload = json.loads(body)
    assert payload["event"] == "digest" and payload["count"] == 3
    assert [item["delivery_id"] for item in payload["alerts"]] == [a.delivery_id for a in alerts]
    assert [item["event"] for item in payload["alerts"]] == [a.event.to_json() for a in alerts]
    assert headers["X-Monitor-Event"] == "digest"
    assert headers["X-Monitor-Delivery"].startswith("digest-")


async def test_a_digest_email_lists_every_change(store: Store, smtp: SmtpServer) -> None:
    alerts = [queue_alert(store, event_at(m, f"Statement {m}"), ["mail"]) for m in (90, 30)]
    config = make_config({"mail": smtp.notifier(digest="1h")})

    report = await deliver_due(store, config, options=ChannelOptions(smtp.client_context()))

    assert report.sent == [a.id for a in alerts] and len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["Subject"] == "[monitor] 2 alerts: newsroom"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert "Changed: Statement 90" in content and "Changed: Statement 30" in content
    assert content.count("Removed paragraph:") == 2


# ---------------------------------------------------------------------------------------------
# A broken user template never blocks delivery
# ---------------------------------------------------------------------------------------------


async def test_a_broken_user_template_still_delivers_with_the_built_in_one(
    store: Store, smtp: SmtpServer, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "alert_subject.txt").write_text("{{ alert.title | no_such_filter }}")
    queued = queue_alert(store, changed_event(), ["mail"])
    config = make_config({"mail": smtp.notifier()}, templates=str(folder))

    report = await deliver_due(store, config, options=ChannelOptions(smtp.client_context()))

    assert report.sent == [queued.id]
    assert smtp.messages[0]["Subject"] == (
        "[monitor] Changed: Joint statement on AI safety (newsroom)"
    )
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"template {folder / 'alert_subject.txt'}")
    assert (
        "line 1: syntax error: No filter named 'no_such_filter'; used the built-in"
        in (report.problems[0])
    )


# ---------------------------------------------------------------------------------------------
# The daemon's worker
# ---------------------------------------------------------------------------------------------


async def wait_for(condition: Any, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_the_worker_delivers_when_woken_and_retries_on_its_own(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(500, {}, b"")]
    worker = OutboxWorker(
        store,
        make_config({"hook": hook(http_server)}),
        policy=RetryPolicy(base=0.2, jitter=0.0),
        min_wait=0.05,
    )
    worker.start()
    try:
        await wait_for(lambda: worker.rounds >= 1)
        queued = queue_alert(store, changed_event())
        worker.wake()
        await wait_for(lambda: alert(store, queued.id).status == "sent")
    finally:
        await worker.stop()

    assert receiver.delivery_ids() == [queued.delivery_id, queued.delivery_id]
    assert not worker.running


async def test_stopping_abandons_a_delivery_in_flight_safely(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.delay = 1.0
    queued = queue_alert(store, changed_event())
    config = make_config({"hook": hook(http_server, timeout="5s")})
    worker = OutboxWorker(store, config)
    worker.start()
    await wait_for(lambda: len(receiver.received) == 1)

    started = time.monotonic()
    await worker.stop(timeout=0.1)

    assert time.monotonic() - started < 0.5
    assert alert(store, queued.id).status == "pending"  # not recorded: will be sent again
    receiver.delay = 0.0
    report = await deliver_due(store, config, ignore_backoff=True)
    assert report.sent == [queued.id]
    assert receiver.delivery_ids() == [queued.delivery_id, queued.delivery_id]
