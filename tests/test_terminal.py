"""Escape injection: what a page or a receiver sends never drives the terminal.

A scraped title, paragraph or a receiver's answer holding ANSI/OSC sequences, C1 controls or
bidi overrides is printed by every command without them (monitor.terminal.for_terminal).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LoopbackServer, run_cli, source_table, write_config
from pages import PARTNERSHIP, press_release

from monitor.alerts.messages import one_line
from monitor.terminal import for_terminal

CLEAR = "\x1b[2J\x1b[H"
OSC_TITLE = "\x1b]0;pwned\x07"
FAKE_LINK = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
C1_CSI = "\x9b31m"
RLO = "\u202e"
HOSTILE = CLEAR + OSC_TITLE + FAKE_LINK + C1_CSI + RLO
TITLE = f"Example Corp{HOSTILE} announces a partnership"


def _has_controls(text: str) -> bool:
    return any(c in text for c in ("\x1b", "\x9b", "\x07", RLO, "\x9d"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[2Jhello", "hello"),
        ("\x1b]0;title\x07text", "text"),
        ("\x1b]8;;https://x.example/\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("a\x9b31mb", "ab"),
        ("a\x00b\x7fc\x85d", "abcd"),
        ("left\u202eright\u2066x\u2069", "leftrightx"),
        ("two\nlines\tok", "two\nlines\tok"),
        ("Déjà vu — “quoted”", "Déjà vu — “quoted”"),
    ],
)
def test_for_terminal_strips_sequences_and_controls(raw: str, expected: str) -> None:
    assert for_terminal(raw) == expected


def test_a_mail_subject_holds_no_bidi_override() -> None:
    assert one_line(f"Statement{RLO}txt.exe changed") == "Statement txt.exe changed"


def test_no_command_prints_a_pages_escape_sequences(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    paragraphs = [p + HOSTILE for p in PARTNERSHIP]
    url = http_server.page("/s", press_release(TITLE, paragraphs))
    # A receiver that answers with escape sequences: quoted in the outbox and on stderr.
    http_server.page("/hook", f"no {CLEAR}{OSC_TITLE} thanks", status=400)
    config = write_config(
        tmp_path,
        source_table("corp", url)
        + f'[notifiers.hook]\ntype = "webhook"\nurl = "{http_server.url("/hook")}"\n',
    )
    state = str(tmp_path / "state")
    first = run_cli("check", "--config", str(config), "--state", state)
    edited = [p.replace("multi-year", "ten-year") + HOSTILE for p in PARTNERSHIP]
    http_server.page("/s", press_release(TITLE, edited))
    second = run_cli("check", "--config", str(config), "--state", state)
    assert "ten-year" in second.stdout

    outputs = {
        "check (baseline)": first.stdout + first.stderr,
        "check (changed)": second.stdout + second.stderr,
        "statements": run_cli("statements", "--state", state, "corp").stdout,
        "sources": run_cli("sources", "--config", str(config), "--state", state).stdout,
        "history": run_cli("history", "--state", state, url).stdout,
        "diff": run_cli("diff", "--state", state, url).stdout,
        "show": run_cli("show", "--state", state, url).stdout,
        "outbox": run_cli("outbox", "--state", state).stdout,
    }
    for name, text in outputs.items():
        assert "Example Corp" in text or name in ("sources",), name
        assert not _has_controls(text), (name, text)
    assert "thanks" in outputs["outbox"]
