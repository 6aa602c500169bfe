"""What one delivery sends: the rendered message, the webhook body and the delivery id.

One alert gives one `Outgoing` whose delivery id is the alert's own (stable across
retries, so receivers can drop duplicates). A digest gathers several alerts; its id is
derived from theirs, and its webhook body lists each alert with its own delivery id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.alerts.messages import MessageRenderer, RenderedMessage, diff_link
from monitor.clock import iso_utc, utcnow
from monitor.events import Event
from monitor.state.records import OutboxAlert


@dataclass(frozen=True)
class Outgoing:
    """One message to deliver through one notifier."""

    delivery_id: str
    kind: str  # the event kind, "digest" or "test"
    message: RenderedMessage
    payload: bytes  # the webhook body (UTF-8 JSON)
    alert_ids: tuple[int, ...] = ()
    delivery_ids: tuple[str, ...] = ()  # of every alert carried (one, or a digest's)


def event_body(event: dict[str, Any]) -> bytes:
    """A JSON body (UTF-8, keys in the contract's order), as the webhook POSTs it."""
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def event_json(event: Event, public_url: str | None) -> dict[str, Any]:
    """The event as the webhook sends it: the contract's JSON, plus `link` to the UI's diff
    page (or the statement's page) when `public_url` is set."""
    out = event.to_json()
    link = diff_link(public_url, event)
    if link is not None:
        out["link"] = link
    return out


def digest_id(delivery_ids: Sequence[str]) -> str:
    """A digest's delivery id: the same for the same set of alerts, on every retry."""
    joined = ",".join(sorted(delivery_ids))
    return "digest-" + hashlib.sha256(joined.encode("ascii")).hexdigest()[:32]


def for_alert(alert: OutboxAlert, renderer: MessageRenderer, public_url: str | None) -> Outgoing:
    """The delivery of one alert."""
    message = renderer.alert(alert.event, public_url=public_url, delivery_id=alert.delivery_id)
    return Outgoing(
        delivery_id=alert.delivery_id,
        kind=alert.event.event,
        message=message,
        payload=event_body(event_json(alert.event, public_url)),
        alert_ids=(alert.id,),
        delivery_ids=(alert.delivery_id,),
    )


def for_digest(
    alerts: Sequence[OutboxAlert],
    renderer: MessageRenderer,
    public_url: str | None,
    now: dt.datetime | None = None,
) -> Outgoing:
    """One delivery carrying several alerts.

    The webhook body is `{"event": "digest", "count": n, "alerts": [{"delivery_id": …,
    "event": {…}}, …], "at": …}`: each event as in the contract, with its own delivery id.
    """
    ids = tuple(a.delivery_id for a in alerts)
    body = {
        "event": "digest",
        "count": len(alerts),
        "alerts": [
            {"delivery_id": a.delivery_id, "event": event_json(a.event, public_url)} for a in alerts
        ],
        "at": iso_utc(now or utcnow()),
    }
    return Outgoing(
        delivery_id=digest_id(ids),
        kind="digest",
        message=renderer.digest([a.event for a in alerts], public_url=public_url),
        payload=event_body(body),
        alert_ids=tuple(a.id for a in alerts),
        delivery_ids=ids,
    )


def test_event(notifier_name: str, now: dt.datetime | None = None) -> Event:
    """The event a `monitor notify --test` message carries."""
    return Event(
        "test",
        "statement-monitor",
        "https://example.invalid/statement-monitor-test",
        title=f"Test message for notifier {notifier_name}",
        summary="If you can read this, alerts reach you through this notifier.",
        at=now or utcnow(),
    )


def for_test(notifier_name: str, renderer: MessageRenderer) -> Outgoing:
    """A test delivery (a fresh delivery id each time)."""
    event = test_event(notifier_name)
    delivery_id = "test-" + uuid.uuid4().hex
    return Outgoing(
        delivery_id=delivery_id,
        kind="test",
        message=renderer.alert(event, public_url=None, delivery_id=delivery_id),
        payload=event_body(event.to_json()),
    )
