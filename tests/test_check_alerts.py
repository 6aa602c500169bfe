"""Alerts from `monitor check` end to end: a real page server and a real webhook receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from conftest import LoopbackServer, check_json, open_state, source_table, write_config
from notify_support import Receiver
from pages import PARTNERSHIP, press_release

pytestmark = pytest.mark.usefixtures("state_database")  # SQLite and PostgreSQL

TITLE = "Example Corp and Sample Industries announce research partnership"
SECRET = "hook-secret-for-tests"


def setup(server: LoopbackServer, tmp_path: Path, hook_path: str = "/hook") -> Path:
    url = server.page("/s", press_release(TITLE, PARTNERSHIP))
    return write_config(
        tmp_path,
        source_table("corp", url)
        + f'[notifiers.hook]\ntype = "webhook"\nurl = "{server.url(hook_path)}"\n'
        'secret = "${HOOK_SECRET}"\ntimeout = "2s"\n',
        defaults="error_alert_after = 2",
    )


def check(config: Path, state: Path) -> int:
    code, _events = check_json(config, state, env={"HOOK_SECRET": SECRET})
    return code


def edit(server: LoopbackServer, old: str, new: str) -> None:
    paragraphs = [p.replace(old, new) for p in PARTNERSHIP]
    server.page("/s", press_release(TITLE, paragraphs))


def test_a_change_is_posted_once_signed(http_server, tmp_path):
    receiver = Receiver()
    http_server.route("/hook", receiver)
    config = setup(http_server, tmp_path)
    state = tmp_path / "state"
    check(config, state)
    assert receiver.received == []  # the baseline alerts nobody
    edit(http_server, "spring of 2027", "autumn of 2027")
    assert check(config, state) == 0
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Monitor-Signature"] == f"sha256={expected}"
    event = json.loads(body)
    assert event["event"] == "changed" and event["source"] == "corp"
    assert "autumn of 2027" in event["changes"][0]["after"]
    assert SECRET not in body.decode()
    check(config, state)
    assert len(receiver.received) == 1  # delivered once


def test_alert_for_a_receiver_that_was_down_arrives_on_the_next_check(http_server, tmp_path):
    receiver = Receiver(replies=[(503, {}, b"maintenance")])
    http_server.route("/hook", receiver)
    config = setup(http_server, tmp_path)
    state = tmp_path / "state"
    check(config, state)
    edit(http_server, "spring of 2027", "autumn of 2027")
    check(config, state)
    assert len(receiver.received) == 1  # refused with 503
    (pending,) = open_state(state).outbox(status="pending")
    assert "503" in (pending.last_error or "")
    check(config, state)  # nothing new on the page, but the pending alert goes now
    assert len(receiver.received) == 2
    assert receiver.delivery_ids()[0] == receiver.delivery_ids()[1]  # the same alert
    assert open_state(state).outbox(status="pending") == []


def test_failing_source_alerts_once_after_a_streak_and_once_on_recovery(http_server, tmp_path):
    receiver = Receiver()
    http_server.route("/hook", receiver)
    config = setup(http_server, tmp_path)
    state = tmp_path / "state"
    check(config, state)
    http_server.page("/s", "down", status=500, content_type="text/plain")
    for _ in range(4):
        assert check(config, state) == 1
    kinds = [json.loads(body)["event"] for _h, body in receiver.received]
    assert kinds == ["error"]
    assert json.loads(receiver.received[0][1])["failures"] == 2
    http_server.page("/s", press_release(TITLE, PARTNERSHIP))
    assert check(config, state) == 0
    kinds = [json.loads(body)["event"] for _h, body in receiver.received]
    assert kinds == ["error", "recovered"]
