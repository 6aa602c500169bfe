"""Webhook alerts to a real HTTP receiver on 127.0.0.1: payload, signature, and its faults."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from notify_support import Receiver, alert, changed_event, make_config, queue_alert

from monitor.alerts.channels.webhook import parse_retry_after
from monitor.alerts.outbox import RetryPolicy, deliver_due
from monitor.clock import utcnow
from monitor.sources.config import Config
from monitor.state.store import Store, StoreError

NO_JITTER = RetryPolicy(jitter=0.0)
SECRET = "signing-secret-123"


@pytest.fixture
def receiver(http_server: Any) -> Receiver:
    receiver = Receiver()
    http_server.route("/hook", receiver)
    return receiver


def hook_config(http_server: Any, **settings: Any) -> Config:
    return make_config({"hook": {"type": "webhook", "url": http_server.url("/hook"), **settings}})


async def test_posts_the_stored_event_signed_with_a_delivery_id(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    queued = queue_alert(store, changed_event())
    config = hook_config(http_server, secret=SECRET, headers={"Authorization": "Bearer abc123"})

    report = await deliver_due(store, config)

    assert report.sent == [queued.id]
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert json.loads(body) == queued.event.to_json()
    assert body == json.dumps(queued.event.to_json(), ensure_ascii=False).encode("utf-8")
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Monitor-Signature"], expected)
    assert headers["X-Monitor-Delivery"] == queued.delivery_id
    assert headers["X-Monitor-Event"] == "changed"
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer abc123"
    assert alert(store, queued.id).status == "sent"


async def test_no_signature_without_a_secret(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    queue_alert(store, changed_event())

    await deliver_due(store, hook_config(http_server))

    headers, _body = receiver.received[0]
    assert "X-Monitor-Signature" not in headers


async def test_server_error_then_success_with_the_same_delivery_id(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(500, {}, b"database on fire")]
    queued = queue_alert(store, changed_event())
    config = hook_config(http_server)
    now = utcnow()

    first = await deliver_due(store, config, now=now, policy=NO_JITTER)
    failed = alert(store, queued.id)
    early = await deliver_due(store, config, now=now + dt.timedelta(seconds=29))
    later = await deliver_due(store, config, now=failed.next_attempt_at)

    assert first.failed == [queued.id] and early.sent == [] and later.sent == [queued.id]
    assert failed.status == "pending" and failed.attempts == 1
    assert failed.next_attempt_at == now + dt.timedelta(seconds=30)
    assert failed.last_error == (
        f"webhook {http_server.url('/')}… answered HTTP 500 Internal Server Error: "
        "database on fire (attempt 1; next attempt in 30s)"
    )
    assert receiver.delivery_ids() == [queued.delivery_id, queued.delivery_id]
    assert alert(store, queued.id).status == "sent"


async def test_backoff_doubles_per_attempt(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(502, {}, b"")] * 3
    queued = queue_alert(store, changed_event())
    config = hook_config(http_server)
    now = utcnow()
    waits = []
    for _ in range(3):
        await deliver_due(store, config, now=now, policy=NO_JITTER)
        next_at = alert(store, queued.id).next_attempt_at
        waits.append((next_at - now).total_seconds())
        now = next_at

    assert waits == [30, 60, 120]


async def test_429_retry_after_sets_the_next_attempt(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(429, {"Retry-After": "120"}, b"slow down")]
    queued = queue_alert(store, changed_event())
    now = utcnow()

    await deliver_due(store, hook_config(http_server), now=now)

    failed = alert(store, queued.id)
    assert failed.next_attempt_at == now + dt.timedelta(seconds=120)
    assert "HTTP 429 Too Many Requests: slow down" in (failed.last_error or "")
    assert "next attempt in 2m" in (failed.last_error or "")


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("90", now) == 90
    assert parse_retry_after("Wed, 01 May 2024 12:05:00 GMT", now) == 300
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


async def test_timeout_is_a_clear_failure(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.delay = 2.0
    queued = queue_alert(store, changed_event())
    started = time.monotonic()

    report = await deliver_due(store, hook_config(http_server, timeout="300ms"))

    assert time.monotonic() - started < 1.5
    assert report.failed == [queued.id]
    error = alert(store, queued.id).last_error or ""
    assert "did not answer within 0.3s (the notifier's timeout)" in error


async def test_redirect_is_not_followed(store: Store, http_server: Any, receiver: Receiver) -> None:
    elsewhere = http_server.url("/elsewhere")
    receiver.replies = [(302, {"Location": elsewhere + "?token=abcdef123"}, b"")]
    queued = queue_alert(store, changed_event())

    report = await deliver_due(store, hook_config(http_server))

    assert report.failed == [queued.id]
    assert http_server.hits("/elsewhere") == 0
    error = alert(store, queued.id).last_error or ""
    assert f"answered HTTP 302 Found, a redirect to {http_server.url('/')}…" in error
    assert "redirects are not followed, so set the notifier's url to the final address" in error
    assert "abcdef123" not in error


async def test_refused_alert_is_retried_until_give_up(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(404, {}, b"no such hook")]
    queued = queue_alert(store, changed_event())

    await deliver_due(store, hook_config(http_server))

    failed = alert(store, queued.id)
    assert failed.status == "pending"
    assert "HTTP 404 Not Found: no such hook (the receiver refused the alert" in (
        failed.last_error or ""
    )


async def test_secrets_never_reach_last_error(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    token = "tok-0123456789abcdef"
    url = (
        http_server.url("/hook").replace("http://", "http://robot:pa55word-xyz@") + f"?key={token}"
    )
    receiver.replies = [(401, {}, f"bad key {token}, bad secret {SECRET}".encode())]
    queued = queue_alert(store, changed_event())
    config = make_config({"hook": {"type": "webhook", "url": url, "secret": SECRET}})

    await deliver_due(store, config)

    error = alert(store, queued.id).last_error or ""
    assert "HTTP 401 Unauthorized: bad key ***, bad secret ***" in error
    for secret in (token, SECRET, "pa55word-xyz", "robot"):
        assert secret not in error


@pytest.mark.parametrize("how", ["mark skipped", "mark raises"])
async def test_crash_between_send_and_mark_resends_the_same_delivery_id(
    tmp_path: Path, http_server: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    store = Store.open(tmp_path / "state")
    queued = queue_alert(store, changed_event())
    config = hook_config(http_server)

    def lost_mark(*args: object, **kwargs: object) -> None:
        if how == "mark raises":
            raise StoreError("cannot write the state database: disk I/O error")

    monkeypatch.setattr(store, "mark_sent", lost_mark)
    crashed = await deliver_due(store, config)
    store.close()

    restarted = Store.open(tmp_path / "state")  # the next process
    try:
        assert alert(restarted, queued.id).status == "pending"
        resent = await deliver_due(restarted, config, ignore_backoff=True)
        after = await deliver_due(restarted, config, ignore_backoff=True)
        final = alert(restarted, queued.id)
    finally:
        restarted.close()

    assert crashed.sent == ([] if how == "mark raises" else [queued.id])  # the crash: no record
    assert resent.sent == [queued.id] and after.sent == []
    assert receiver.delivery_ids() == [queued.delivery_id, queued.delivery_id]
    assert final.status == "sent"


async def test_connection_refused(store: Store, http_server: Any) -> None:
    queued = queue_alert(store, changed_event())
    config = make_config({"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}})

    await deliver_due(store, config)

    error = alert(store, queued.id).last_error or ""
    assert error.startswith("cannot connect to webhook http://127.0.0.1:9/…: ")


# ---------------------------------------------------------------------------------------------
# The diff link and the timestamped signature (replay protection)
# ---------------------------------------------------------------------------------------------


def verify_receiver_side(secret: str, headers: dict[str, str], body: bytes, now: float) -> str:
    """What the README tells a receiver to do; returns "ok" or why the delivery is refused."""
    timestamp = headers.get("X-Monitor-Timestamp", "")
    if not timestamp.isdigit():
        return "no timestamp"
    if abs(now - int(timestamp)) > 300:
        return "stale"
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(headers.get("X-Monitor-Signature-256", ""), expected):
        return "bad signature"
    return "ok"


async def test_body_links_to_the_diff_page_when_public_url_is_set(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    queued = queue_alert(store, changed_event())
    config = make_config(
        {"hook": {"type": "webhook", "url": http_server.url("/hook")}},
        public_url="https://monitor.example.org/",
    )

    await deliver_due(store, config)

    body = json.loads(receiver.received[0][1])
    assert body["link"] == (
        "https://monitor.example.org/diff?url=https%3A%2F%2Fnews.example.org%2Fstatement-1"
        "&from=1&to=2"
    )
    assert {k: v for k, v in body.items() if k != "link"} == queued.event.to_json()


async def test_a_timestamp_is_signed_with_the_body_and_fresh_on_each_retry(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(500, {}, b"busy")]
    queue_alert(store, changed_event())
    config = hook_config(http_server, secret=SECRET)
    now = utcnow()

    await deliver_due(store, config, now=now, policy=NO_JITTER)
    time.sleep(1.1)  # a retry a second later carries a later timestamp
    await deliver_due(store, config, now=now + dt.timedelta(hours=1), policy=NO_JITTER)

    (first, body), (retry, again) = receiver.received
    assert body == again and int(retry["X-Monitor-Timestamp"]) > int(first["X-Monitor-Timestamp"])
    for headers in (first, retry):
        sent_at = int(headers["X-Monitor-Timestamp"])
        assert abs(sent_at - time.time()) < 60
        assert verify_receiver_side(SECRET, headers, body, now=sent_at + 1) == "ok"
        # the body-only signature old receivers check is unchanged
        old = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Monitor-Signature"] == old
    # a delivery captured and replayed later is refused, and so is a moved timestamp
    assert verify_receiver_side(SECRET, first, body, now=time.time() + 3600) == "stale"
    forged = {**first, "X-Monitor-Timestamp": str(int(time.time()))}
    assert verify_receiver_side(SECRET, forged, body, now=time.time()) == "bad signature"
