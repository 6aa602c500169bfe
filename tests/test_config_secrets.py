"""Secrets are needed only where they are used (issue 16, "Risks to close").

`${NAME}` values hold notifier and request secrets. The commands that only read the state
(report, statements, history, diff, show, sources, archive export, outbox) work while such
a variable is unset; those that fetch or send (check, run, notify --test) refuse it before
doing anything, naming file, line and key of every unset variable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LoopbackServer, check_json, run_cli, source_table, write_config
from pages import PARTNERSHIP, press_release

SECRETS = {
    "HOOK_SECRET": "hook-secret-value",
    "SMTP_PASSWORD": "smtp-password-value",
    "NEWS_TOKEN": "news-token-value",
}
NOTIFIERS = """
[notifiers.hook]
type = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "${HOOK_SECRET}"

[notifiers.mail]
type = "email"
smtp_host = "127.0.0.1"
smtp_port = 9
security = "none"
username = "monitor"
password = "${SMTP_PASSWORD}"
from = "monitor@example.org"
to = ["analyst@example.org"]
"""


@pytest.fixture
def checked(http_server: LoopbackServer, tmp_path: Path) -> tuple[Path, Path, str]:
    """A state made by a `monitor check` that had every secret, and its sources file."""
    url = http_server.page("/statement", press_release("Partnership", PARTNERSHIP))
    source = source_table(
        "newsroom", url, extra='headers = { Authorization = "Bearer ${NEWS_TOKEN}" }'
    )
    config = write_config(tmp_path, source + NOTIFIERS, defaults='archive = "versions"\n')
    state = tmp_path / "state"
    assert check_json(config, state, env=SECRETS)[0] in (0, 3)  # 3: no receiver listening
    return config, state, url


def line_of(config: Path, text: str) -> int:
    lines = config.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def test_commands_that_only_read_the_state_work_while_secrets_are_unset(checked, tmp_path):
    config, state, url = checked
    common = ("--config", str(config), "--state", str(state))
    runs = {
        "report": run_cli("report", "--out", str(tmp_path / "report"), *common),
        "statements": run_cli("statements", "newsroom", *common),
        "history": run_cli("history", url, *common),
        "diff": run_cli("diff", url, *common),
        "show": run_cli("show", url, *common),
        "sources": run_cli("sources", *common),
        "archive export": run_cli(
            "archive", "export", "newsroom", "--out", str(tmp_path / "case.warc.gz"), *common
        ),
        "outbox": run_cli("outbox", *common),
    }

    failed = {name: r.stderr for name, r in runs.items() if r.exit_code != 0}
    assert failed == {}
    assert (tmp_path / "report" / "index.html").is_file()
    assert "Partnership" in runs["show"].stdout
    assert "newsroom" in runs["sources"].stdout


@pytest.mark.parametrize(
    "command",
    [
        ("check",),
        ("notify", "--test", "hook"),
        ("run", "--listen", "127.0.0.1:0"),
    ],
    ids=["check", "notify", "run"],
)
def test_commands_that_fetch_or_send_refuse_every_unset_secret_naming_file_line_and_key(
    http_server, tmp_path, command
):
    url = http_server.page("/statement", press_release("Partnership", PARTNERSHIP))
    source = source_table(
        "newsroom", url, extra='headers = { Authorization = "Bearer ${NEWS_TOKEN}" }'
    )
    config = write_config(tmp_path, source + NOTIFIERS)
    state = tmp_path / "state"

    result = run_cli(*command, "--config", str(config), "--state", str(state))

    assert result.exit_code == 2
    message = result.stderr
    for key, name, text in (
        ("sources[0] (newsroom).headers.Authorization", "NEWS_TOKEN", "Authorization"),
        ("notifiers.hook.secret", "HOOK_SECRET", "${HOOK_SECRET}"),
        ("notifiers.mail.password", "SMTP_PASSWORD", "${SMTP_PASSWORD}"),
    ):
        where = f"{config}:{line_of(config, text)}: {key}"
        assert f"{where}: environment variable {name} is not set" in message, message
    assert http_server.requests == []  # refused before anything was fetched
    assert not state.exists()


def test_an_unset_variable_in_a_value_that_cannot_be_checked_without_it_is_refused(tmp_path):
    config = write_config(
        tmp_path,
        '[notifiers.hook]\ntype = "webhook"\nurl = "${HOOK_URL}"\n',
    )
    result = run_cli("sources", "--config", str(config), "--state", str(tmp_path / "state"))
    assert result.exit_code == 2
    assert f"{config}:{line_of(config, 'HOOK_URL')}: notifiers.hook.url: environment " in (
        result.stderr
    )
    assert "must start with http" not in result.stderr  # its value is unknown, not wrong
