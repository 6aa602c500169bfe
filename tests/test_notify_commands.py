"""The `monitor outbox` and `monitor notify --test` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from notify_support import Receiver, changed_event, queue_alert

from monitor.alerts.commands import notify_command, outbox_command
from monitor.state.store import Store


@pytest.fixture
def receiver(http_server: Any) -> Receiver:
    receiver = Receiver()
    http_server.route("/hook", receiver)
    return receiver


@pytest.fixture
def config_file(tmp_path: Path, http_server: Any) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""
[notifiers.hook]
type = "webhook"
url = "{http_server.url("/hook")}"
secret = "cli-secret-value"
"""
    )
    return path


def run(command: Any, *args: str) -> Any:
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


def state_with_alerts(tmp_path: Path) -> tuple[Path, list[int]]:
    state = tmp_path / "state"
    store = Store.open(state)
    ids = [queue_alert(store, changed_event(title=t)).id for t in ("First", "Second")]
    store.mark_failed([ids[0]], "webhook … answered HTTP 500", store.outbox()[0].created_at)
    store.mark_failed([ids[1]], "gave up", store.outbox()[1].created_at, dead=True)
    store.close()
    return state, ids


def test_outbox_lists_pending_and_dead_alerts(tmp_path: Path, config_file: Path) -> None:
    state, ids = state_with_alerts(tmp_path)

    result = run(outbox_command, "--config", str(config_file), "--state", str(state))

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(
        f"#{ids[0]} pending hook  changed: First (newsroom)  [1 attempt, next "
    )
    assert lines[1] == "    last error: webhook … answered HTTP 500"
    assert lines[2].startswith(f"#{ids[1]} dead    hook  changed: Second (newsroom)  [1 attempt]")


def test_outbox_json_lines(tmp_path: Path, config_file: Path) -> None:
    state, ids = state_with_alerts(tmp_path)

    result = run(
        outbox_command, "--config", str(config_file), "--state", str(state), "--format", "json"
    )

    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["id"], r["status"], r["notifier"]) for r in rows] == [
        (ids[0], "pending", "hook"),
        (ids[1], "dead", "hook"),
    ]
    assert rows[0]["event"]["title"] == "First"


def test_outbox_retry_and_purge(tmp_path: Path, config_file: Path) -> None:
    state, ids = state_with_alerts(tmp_path)
    where = ["--config", str(config_file), "--state", str(state)]

    retried = run(outbox_command, "retry", *where, str(ids[1]), str(ids[0]))
    purged = run(outbox_command, "purge", *where)

    assert retried.exit_code == 0
    assert f"alert #{ids[0]} is pending, not dead; left as it is" in retried.output
    assert "1 dead alert is pending again" in retried.output
    assert purged.output.strip() == "Deleted 0 dead alerts."
    store = Store.open(state)
    assert [a.status for a in store.outbox()] == ["pending", "pending"]
    store.close()


def test_group_options_reach_the_subcommands(tmp_path: Path, config_file: Path) -> None:
    state, _ids = state_with_alerts(tmp_path)

    result = run(outbox_command, "--config", str(config_file), "--state", str(state), "purge")

    assert result.output.strip() == "Deleted 1 dead alert."


def test_a_bad_configuration_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[notifiers.hook]\ntype = "webhook"\nurl = "ftp://x"\n')

    result = run(outbox_command, "--config", str(broken), "--state", str(tmp_path / "s"))
    missing = run(notify_command, "--test", "hook", "--config", str(tmp_path / "nope.toml"))

    assert result.exit_code == 2 and "must start with http:// or https://" in result.output
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_notify_test_delivers_through_one_notifier(config_file: Path, receiver: Receiver) -> None:
    result = run(notify_command, "--test", "hook", "--config", str(config_file))

    assert result.exit_code == 0
    assert result.output.startswith("hook: test message delivered (webhook to http://127.0.0.1:")
    headers, body = receiver.received[0]
    assert json.loads(body)["event"] == "test"
    assert headers["X-Monitor-Event"] == "test" and "X-Monitor-Signature" in headers


def test_notify_test_prints_the_exact_failure(config_file: Path, receiver: Receiver) -> None:
    receiver.replies = [(403, {}, b"signature mismatch")]

    result = run(notify_command, "--test", "hook", "--config", str(config_file))

    assert result.exit_code == 1
    assert "hook: test message NOT delivered: webhook http://127.0.0.1:" in result.output
    assert "answered HTTP 403 Forbidden: signature mismatch" in result.output
    assert "cli-secret-value" not in result.output


def test_notify_test_unknown_notifier(config_file: Path) -> None:
    result = run(notify_command, "--test", "hooks", "--config", str(config_file))

    assert result.exit_code == 2
    assert "no notifier is named 'hooks' (configured: hook)" in result.output
