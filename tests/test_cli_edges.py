"""The command line's rough edges: options, read commands, wording, tables, exit codes."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import LoopbackServer
from pages import PARTNERSHIP, press_release
from service_support import ROOT

from monitor.cli.main import main
from monitor.state.store import Store

TITLE = "Example Corp and Sample Industries announce research partnership"
EDITED = [*PARTNERSHIP[:-1], PARTNERSHIP[-1] + " The agreement runs for five years."]
LONG_NAME = "ministry-of-foreign-affairs-press-office"
LONG_PATH = "/press/2026/11/" + "-".join(["joint-statement-on-the-partnership"] * 5)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def write_config(tmp_path: Path, sources: str, extra: str = "") -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(f'[defaults]\ntimeout = "2s"\nretries = 0\n{extra}\n{sources}')
    return path


def source(name: str, url: str) -> str:
    return f'[[sources]]\nname = "{name}"\nurl = "{url}"\nkind = "page"\n'


@pytest.fixture
def checked(http_server: LoopbackServer, tmp_path: Path) -> tuple[Path, Path, str]:
    """A statement with two versions in the state; (config, state, url)."""
    url = http_server.page(LONG_PATH, press_release(TITLE, PARTNERSHIP))
    config = write_config(tmp_path, source(LONG_NAME, url))
    state = tmp_path / "state"
    assert run("check", "--config", str(config), "--state", str(state)).exit_code == 0
    http_server.page(LONG_PATH, press_release(TITLE, EDITED))
    assert run("check", "--config", str(config), "--state", str(state)).exit_code == 0
    return config, state, url


# ---------------------------------------------------------------------------------------------
# Options and read commands
# ---------------------------------------------------------------------------------------------

READ_COMMANDS = [
    ["statements", "corp"],
    ["history", "https://example.org/a"],
    ["diff", "https://example.org/a"],
    ["show", "https://example.org/a"],
    ["outbox"],
    ["outbox", "retry"],
    ["outbox", "purge"],
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a))
def test_read_commands_do_not_create_a_missing_state(tmp_path, args):
    missing = tmp_path / "no-state-here"
    result = run(*args, "--state", str(missing))
    assert result.exit_code == 2
    assert f"no state in {missing}/ yet" in result.output
    assert not missing.exists()


@pytest.mark.parametrize(
    "args",
    [["statements", LONG_NAME], ["history", "{url}"], ["diff", "{url}"], ["show", "{url}"]],
    ids=lambda a: a[0],
)
def test_statements_history_diff_and_show_accept_config(checked, args):
    config, state, url = checked
    filled = [a.format(url=url) for a in args]
    result = run(*filled, "--config", str(config), "--state", str(state))
    assert result.exit_code == 0, result.output


def test_a_misspelt_source_name_is_named_from_the_config(checked):
    config, state, _url = checked
    result = run(
        "statements", "ministry-of-foreign-affairs", "--config", str(config), "--state", str(state)
    )
    assert result.exit_code == 2
    assert f"did you mean {LONG_NAME!r}" in result.output


def test_sources_as_json_lines(checked):
    config, state, url = checked
    result = run("sources", "--config", str(config), "--state", str(state), "--format", "json")
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["name"], r["url"], r["status"]) for r in rows] == [(LONG_NAME, url, "ok")]
    assert rows[0]["last_change"].endswith("Z") and rows[0]["consecutive_failures"] == 0


def test_sources_of_a_file_not_checked_yet_creates_no_state(tmp_path):
    config = write_config(tmp_path, source("corp", "https://example.org/a"))
    result = run("sources", "--config", str(config), "--state", str(tmp_path / "state"))
    assert result.exit_code == 0 and "not checked" in result.output
    assert not (tmp_path / "state").exists()


def test_show_prints_the_full_text_of_a_version(checked):
    _config, state, url = checked
    latest = run("show", url, "--state", str(state))
    first = run("show", url, "--version", "1", "--state", str(state))
    as_json = json.loads(run("show", url, "--state", str(state), "--format", "json").output)
    missing = run("show", url, "--version", "7", "--state", str(state))

    assert latest.exit_code == 0 and first.exit_code == 0
    assert latest.output.startswith(TITLE + "\n") and "version 2 of 2" in latest.output
    assert "\n\n".join(EDITED) in latest.output
    assert "\n\n".join(PARTNERSHIP) in first.output and "five years" not in first.output
    assert as_json["version"] == 2 and as_json["text"] == "\n\n".join(EDITED)
    assert missing.exit_code == 2 and "has no version 7 (versions 1 to 2)" in missing.output


def test_diff_json_numbers_paragraphs_as_the_text_does(checked):
    _config, state, url = checked
    text = run("diff", url, "--state", str(state)).output
    change = json.loads(run("diff", url, "--state", str(state), "--format", "json").output)[
        "changes"
    ][0]
    assert f"¶{len(PARTNERSHIP)}" in text
    assert change["new_paragraph"] == change["old_paragraph"] == len(PARTNERSHIP)
    assert change["new_index"] == len(PARTNERSHIP) - 1  # unchanged: counted from 0


# ---------------------------------------------------------------------------------------------
# Wording and exit codes
# ---------------------------------------------------------------------------------------------


def test_the_summary_counts_each_failed_source_once(http_server, tmp_path):
    sources = "".join(source(f"s{i}", http_server.url(f"/gone{i}")) for i in range(3))
    config = write_config(tmp_path, sources)
    result = run("check", "--config", str(config), "--state", str(tmp_path / "state"))
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "3 sources checked, 3 failed"


def test_check_exits_3_when_alerts_could_not_be_delivered(http_server, tmp_path):
    url = http_server.page("/a", press_release(TITLE, PARTNERSHIP))
    http_server.route("/hook", lambda _r: (500, {}, b"receiver down"))
    hook = f'[notifiers.hook]\ntype = "webhook"\nurl = "{http_server.url("/hook")}"\n'
    config = write_config(tmp_path, source("corp", url) + hook)
    state = ["--config", str(config), "--state", str(tmp_path / "state")]
    assert run("check", *state).exit_code == 0  # a baseline: nothing to send
    http_server.page("/a", press_release(TITLE, EDITED))
    assert run("check", *state).exit_code == 3
    http_server.route("/hook", lambda _r: (204, {}, b""))
    assert run("check", *state).exit_code == 0  # the queued alert went out


def test_outbox_works_without_the_sources_file_and_retry_names_missing_ids(checked, tmp_path):
    _config, state, _url = checked
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    store = Store.open(state)
    assert store.outbox() == []  # no notifier: nothing queued
    store.close()
    os.chdir(elsewhere)  # no sources.toml here
    try:
        listed = run("outbox", "--state", str(state))
        none_dead = run("outbox", "retry", "--state", str(state))
        missing = run("outbox", "retry", "99", "--state", str(state))
    finally:
        os.chdir(ROOT)
    assert listed.exit_code == 0 and "The outbox is empty." in listed.output
    assert none_dead.exit_code == 0 and none_dead.output.strip() == "No dead alerts to retry."
    assert missing.exit_code == 1 and "there is no alert #99" in missing.output


def test_a_config_error_names_the_source(tmp_path):
    config = write_config(
        tmp_path,
        source("corp", "https://x.org/")
        + source("ministry", "https://x.org/b")
        + 'interval = "soon"\n',
    )
    result = run("check", "--config", str(config))
    assert result.exit_code == 2
    assert "sources[1] (ministry).interval" in result.output


# ---------------------------------------------------------------------------------------------
# Tables: a narrow terminal and a pipe
# ---------------------------------------------------------------------------------------------


def in_terminal(args: list[str], columns: int) -> str:
    """The real `monitor` in a pseudo-terminal `columns` wide; what it printed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "LINES"}}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm", NO_COLOR="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        stdin=follower,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    process.wait(30)
    os.close(leader)
    text = out.decode().replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # bold and colours: not what is checked


@pytest.mark.parametrize("command", ["sources", "history"])
def test_a_narrow_terminal_keeps_names_and_urls_whole(checked, command):
    config, state, url = checked
    target = [] if command == "sources" else [LONG_NAME]
    shown = in_terminal(
        [command, *target, "--config", str(config), "--state", str(state)], columns=60
    )
    lines = shown.splitlines()
    assert url in lines  # whole, on a line of its own: the terminal folds it, nothing cuts it
    if command == "sources":
        assert LONG_NAME in lines
    assert "…" not in shown


def test_a_wide_terminal_gets_a_table(checked):
    config, state, _url = checked
    shown = in_terminal(["statements", LONG_NAME, "--state", str(state)], columns=400)
    assert "┃ title" in shown


def test_piped_tables_are_tab_separated_and_never_cut(checked):
    config, state, url = checked
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "sources",
            "--config",
            str(config),
            "--state",
            str(state),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"},
        timeout=60,
    )
    header, row = done.stdout.splitlines()
    assert header.split("\t") == ["source", "kind", "last check", "status", "last change", "url"]
    assert row.split("\t")[0] == LONG_NAME and row.split("\t")[-1] == url
    assert len(url) > 200 and not row.endswith(" ")
