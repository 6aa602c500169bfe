"""Hostile servers and broken files: one source's trouble never ends a run, every file
problem is a clear message (exit 2), and the state stays as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import (
    LoopbackServer,
    check_json,
    run_cli,
    serving,
    source_table,
    write_config,
)
from notify_support import Receiver
from pages import PARTNERSHIP, press_release

from monitor.check import pipeline
from monitor.clock import MAX_SERVER_DELAY, retry_after_seconds
from monitor.state.store import Store

TITLE = "Example Corp and Sample Industries announce research partnership"
HUGE = "99999999999999999999"


def test_a_huge_retry_after_is_one_sources_error_and_the_others_are_recorded(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    good = http_server.page("/good", press_release(TITLE, PARTNERSHIP))
    bad = http_server.page("/bad", "busy", status=429, headers={"Retry-After": HUGE})
    config = write_config(tmp_path, source_table("good", good) + source_table("bad", bad))

    code, events = check_json(config, tmp_path / "state")

    assert code == 1
    kinds = {e["source"]: e["event"] for e in events}
    assert kinds == {"good": "baseline", "bad": "error"}
    assert "429" in next(e["error"] for e in events if e["source"] == "bad")
    assert Store.open(tmp_path / "state").source("good") is not None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HUGE, MAX_SERVER_DELAY),
        ("9" * 400, MAX_SERVER_DELAY),  # float() of it is infinite
        ("120", 120.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_SERVER_DELAY),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
    ],
)
def test_every_server_given_delay_is_clamped(header: str, expected: float | None) -> None:
    assert retry_after_seconds(header) == expected


def test_a_receiver_asking_to_wait_forever_gets_a_counted_attempt(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    page = http_server.page("/s", press_release(TITLE, PARTNERSHIP))
    hook = Receiver(replies=[(429, {"Retry-After": HUGE}, b"slow down")] * 5)
    http_server.route("/hook", hook)
    body = source_table("corp", page) + (
        f'[notifiers.hook]\ntype = "webhook"\nurl = "{http_server.url("/hook")}"\ntimeout = "2s"\n'
    )
    config = write_config(tmp_path, body)
    state = tmp_path / "state"
    check_json(config, state)  # the baseline: nothing to send
    http_server.page(
        "/s", press_release(TITLE, [p.replace("research", "study") for p in PARTNERSHIP])
    )

    code, events = check_json(config, state)
    again, _ = check_json(config, state)  # the pending alert is tried again, not a crash

    assert [e["event"] for e in events] == ["changed"]
    assert code == 3 and again == 3  # checked, but the alert could not be delivered
    alerts = Store.open(state).outbox()
    assert len(alerts) == 1 and alerts[0].status == "pending" and alerts[0].attempts == 2


def test_an_unexpected_failure_in_one_check_is_that_sources_error(
    http_server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = http_server.page("/good", press_release(TITLE, PARTNERSHIP))
    odd = http_server.page("/odd", press_release("BOOM " + TITLE, PARTNERSHIP))
    real = pipeline.read_statement

    def fragile(html: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if "BOOM" in html:
            raise RuntimeError("an extractor bug")
        return real(html, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "read_statement", fragile)
    config = write_config(tmp_path, source_table("good", good) + source_table("odd", odd))

    code, events = check_json(config, tmp_path / "state")

    assert code == 1
    by_source = {e["source"]: e for e in events}
    assert by_source["good"]["event"] == "baseline"
    assert by_source["odd"]["event"] == "error"
    assert "RuntimeError: an extractor bug" in by_source["odd"]["error"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[defaults]\ninterval = nan\n", "finite"),
        ("[defaults]\ninterval = inf\n", "finite"),
        ('[defaults]\ninterval = "999999999d"\n', "ten years"),
        ("[defaults]\ntimeout = -inf\n", "finite"),
        ("a = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
        (
            '[[sources]]\nname = "a"\nurl = "http://127.0.0.1:9/"\nselector = "div[["\n',
            "not a valid CSS selector",
        ),
        (
            '[[sources]]\nname = "a"\nurl = "http://127.0.0.1:9/"\nkind = "index"\n'
            'links = "a:nope(1)"\n',
            "not a valid CSS selector",
        ),
    ],
)
def test_broken_files_are_refused_with_a_message(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "sources.toml"
    config.write_text(text, encoding="utf-8")

    result = run_cli("check", "--config", str(config), "--state", str(tmp_path / "state"))

    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "state").exists()


def test_an_ipv6_literal_source_is_checked(tmp_path: Path) -> None:
    try:
        context = serving(ipv6=True)
        server = context.__enter__()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        url = server.page("/s", press_release(TITLE, PARTNERSHIP))
        assert url.startswith("http://[::1]:")
        config = write_config(tmp_path, source_table("v6", url))

        code, events = check_json(config, tmp_path / "state")

        assert code == 0, events
        assert [(e["event"], e["url"]) for e in events] == [("baseline", url)]
    finally:
        context.__exit__(None, None, None)


EVIL_TITLE = (
    "Evil \x1b]0;pwned\x07\x1b[2J\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ "
    "\u202eexe.txt"
)


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["statements", "evil"],
        ["history", "evil"],
        ["sources"],
    ],
)
def test_escape_sequences_in_scraped_titles_never_reach_the_terminal(
    http_server: LoopbackServer, tmp_path: Path, command: list[str]
) -> None:
    url = http_server.page("/s", press_release(EVIL_TITLE, PARTNERSHIP))
    config = write_config(tmp_path, source_table("evil", url))
    state = tmp_path / "state"
    if command[0] != "check":  # the check itself prints the baseline with its title
        check_json(config, state)

    result = run_cli(command[0], "--config", str(config), "--state", str(state), *command[1:])

    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "\x07" not in result.output
    if command[0] != "sources":
        assert "Evil" in result.output  # the title is shown, only its controls are gone
