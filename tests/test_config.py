"""The configuration file: validated once, with errors naming file, line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli.main import main
from monitor.sources.config import ConfigError, load_config, parse_duration

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=env or {})
    return str(caught.value)


def test_example_config_is_valid_and_shipped_in_the_package():
    config = load_config(ROOT / "sources.toml", environ={})
    assert {s.kind for s in config.sources} >= {"page", "index"}
    shipped = ROOT / "monitor" / "sources" / "example-sources.toml"
    assert shipped.read_text() == (ROOT / "sources.toml").read_text()


def test_misspelt_key_is_named_with_line_and_hint(tmp_path):
    path = write(
        tmp_path,
        '[[sources]]\nname = "a"\nurl = "https://x.org/"\n\n'
        '[[sources]]\nname = "b"\nurl = "https://x.org/b"\nintervall = "5m"\n',
    )
    message = error_of(path)
    assert f"{path}:8" in message
    assert "sources[1] (b).intervall" in message
    assert "did you mean 'interval'" in message


def test_bad_values_are_explained(tmp_path):
    path = write(tmp_path, '[[sources]]\nname = "a"\nurl = "ftp://x.org/"\ninterval = "soon"\n')
    message = error_of(path)
    assert "not an http:// or https:// URL" in message
    assert "'soon' is not a duration" in message
    assert f"{path}:4" in message


def test_duplicate_source_names_are_refused(tmp_path):
    path = write(
        tmp_path,
        '[[sources]]\nname = "a"\nurl = "https://x.org/"\n'
        '[[sources]]\nname = "a"\nurl = "https://x.org/2"\n',
    )
    message = error_of(path)
    assert "two sources are named 'a'" in message and f"{path}:5" in message


def test_unknown_notifier_and_type(tmp_path):
    path = write(
        tmp_path,
        '[[sources]]\nname = "a"\nurl = "https://x.org/"\nnotify = ["tean"]\n\n'
        '[notifiers.team]\ntype = "webhook"\nurl = "https://h.org/"\n',
    )
    assert "no notifier is named 'tean' (did you mean 'team'?)" in error_of(path)
    path = write(tmp_path, '[notifiers.team]\ntype = "pager"\nurl = "https://h.org/"\n')
    assert 'type must be one of "webhook", "email", "apprise"' in error_of(path)


def test_secrets_come_from_the_environment(tmp_path):
    path = write(
        tmp_path,
        '[notifiers.team]\ntype = "webhook"\nurl = "https://h.org/"\nsecret = "${HOOK_SECRET}"\n',
    )
    message = error_of(path)
    assert "environment variable HOOK_SECRET is not set" in message and f"{path}:4" in message
    config = load_config(path, environ={"HOOK_SECRET": "s3cret"})
    notifier = config.notifiers["team"]
    assert notifier.secret.get_secret_value() == "s3cret"  # type: ignore[union-attr]
    assert "s3cret" not in repr(config)


def test_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, '[[sources]]\nname = "a\nurl = "https://x.org/"\n')
    message = error_of(path)
    assert str(path) in message and "line 2" in message


def test_durations():
    assert parse_duration("30s") == 30
    assert parse_duration("15m") == 900
    assert parse_duration("1h") == 3600
    assert parse_duration("1d") == 86400
    assert parse_duration(5) == 5
    assert parse_duration("0s", allow_zero=True) == 0
    for bad in ("0s", "-1m", "1 week", True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_short_interval_is_allowed_with_a_warning(tmp_path, caplog):
    path = write(tmp_path, '[[sources]]\nname = "a"\nurl = "https://x.org/"\ninterval = "2s"\n')
    config = load_config(path, environ={})
    assert config.interval_of(config.sources[0]) == 2
    assert "more often than once a minute" in caplog.text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (None, "no such file"),
        ('[[sources]]\nname = "a"\n', "missing required key 'url'"),
        ("not toml at all [", "not valid TOML"),
    ],
    ids=["missing", "incomplete", "garbage"],
)
def test_cli_refuses_a_broken_config_with_exit_2(tmp_path, text, words):
    path = tmp_path / "sources.toml"
    if text is not None:
        path.write_text(text)
    result = CliRunner().invoke(
        main, ["check", "--config", str(path), "--state", str(tmp_path / "state")]
    )
    assert result.exit_code == 2
    assert words in result.stderr
    assert not (tmp_path / "state").exists()  # nothing ran


def test_daemon_keys_and_cron(tmp_path):
    path = write(
        tmp_path,
        '[defaults]\njitter = 0.2\nhost_spacing = "0s"\ncheck_timeout = "2m"\n'
        '[[sources]]\nname = "a"\nurl = "https://x.org/"\ncron = "0 9 * * 1-5"\n',
    )
    config = load_config(path, environ={})
    assert config.defaults.host_spacing == 0 and config.defaults.check_timeout == 120
    assert config.sources[0].cron == "0 9 * * 1-5"
    path = write(tmp_path, '[[sources]]\nname = "a"\nurl = "https://x.org/"\ncron = "9 * *"\n')
    assert "has 3 fields" in error_of(path)
    path = write(
        tmp_path,
        '[[sources]]\nname = "a"\nurl = "https://x.org/"\ncron = "0 9 * * *"\ninterval = "1h"\n',
    )
    assert "either interval or cron" in error_of(path)


def test_every_key_the_example_mentions_is_accepted(tmp_path):
    """The commented-out keys of the example are real: uncommented, the file still loads."""
    text = (ROOT / "sources.toml").read_text()
    defaults_part = text.split("# --- Sources", 1)[0]
    keys = re.findall(r"^# (\w+ = (?:\"[^\"]*\"|\S+))", defaults_part, re.MULTILINE)
    assert len(keys) >= 10
    path = write(tmp_path, "[defaults]\n" + "\n".join(keys) + "\n")
    config = load_config(path, environ={"PGPASSWORD": "the example's database password"})
    assert config.defaults.host_spacing == 0.5 and config.defaults.error_alert_after == 3
