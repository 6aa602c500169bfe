"""Apprise alerts, through Apprise's json:// service to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest
from notify_support import Receiver, alert, changed_event, make_config, queue_alert

from monitor.alerts.outbox import deliver_due
from monitor.sources.config import Config
from monitor.state.store import Store

TOKEN = "apprise-token-9f8e7d6c"


@pytest.fixture
def receiver(http_server: Any) -> Receiver:
    receiver = Receiver()
    http_server.route("/apprise", receiver)
    return receiver


def apprise_config(http_server: Any, *urls: str) -> Config:
    default = f"json://bot:{TOKEN}@127.0.0.1:{http_server.port}/apprise"
    return make_config({"chat": {"type": "apprise", "urls": list(urls or [default])}})


async def test_title_and_body_come_from_the_templates(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    queued = queue_alert(store, changed_event(), ["chat"])

    report = await deliver_due(store, apprise_config(http_server))

    assert report.sent == [queued.id]
    assert len(receiver.received) == 1
    payload = json.loads(receiver.received[0][1])
    assert payload["title"] == "[monitor] Changed: Joint statement on AI safety (newsroom)"
    assert (
        "Removed paragraph:\n- The old paragraph <script>alert(1)</script>." in payload["message"]
    )
    assert "+ A brand new commitment." in payload["message"]


async def test_failure_is_retried_and_names_the_service_without_its_token(
    store: Store, http_server: Any, receiver: Receiver
) -> None:
    receiver.replies = [(500, {}, b"nope")]
    queued = queue_alert(store, changed_event(), ["chat"])
    config = apprise_config(http_server)

    failed = await deliver_due(store, config)
    error = alert(store, queued.id).last_error or ""
    retried = await deliver_due(store, config, ignore_backoff=True)

    assert failed.failed == [queued.id] and retried.sent == [queued.id]
    assert error.startswith(
        f"Apprise could not notify 1 of 1: JSON (json://127.0.0.1:{http_server.port}/…): failure"
    )
    assert "500" in error
    assert TOKEN not in error and "bot" not in error


async def test_a_url_apprise_cannot_use_is_a_clear_error(store: Store) -> None:
    queued = queue_alert(store, changed_event(), ["chat"])
    config = make_config({"chat": {"type": "apprise", "urls": [f"nosuchservice://{TOKEN}/x"]}})

    await deliver_due(store, config)

    error = alert(store, queued.id).last_error or ""
    assert error.startswith(
        "Apprise cannot use URL #1 (nosuchservice://…/…) of notifier chat: check its scheme"
    )
    assert TOKEN not in error
