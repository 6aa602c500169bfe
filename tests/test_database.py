"""The database named by a URL: --database, MONITOR_DATABASE_URL or `[defaults] database`,
the same for every command; the password never shown."""

from __future__ import annotations

import sqlalchemy as sa
from conftest import check_json, run_cli, source_table, write_config
from pages import PARTNERSHIP, press_release

from monitor.state.database import choose_database, mask_password

TITLE = "Example Corp and Sample Industries announce research partnership"


def test_the_database_is_chosen_from_option_then_environment_then_file(tmp_path):
    state = tmp_path / "state"
    env = {"MONITOR_DATABASE_URL": "postgresql://env@db/monitor"}
    assert choose_database(state, "postgresql://given@db/m", "sqlite:///x.db", env).url == (
        "postgresql://given@db/m"
    )
    assert choose_database(state, None, "sqlite:///x.db", env).url == "postgresql://env@db/monitor"
    assert choose_database(state, None, "sqlite:///x.db", {}).url == "sqlite:///x.db"
    default = choose_database(state, None, None, {})
    assert default.url == f"sqlite:///{state / 'monitor.db'}" and default.is_default


def test_secrets_in_the_url_are_filled_in_only_to_connect(tmp_path):
    database = choose_database(tmp_path, "postgresql://monitor:${PGPASSWORD}@db/m", None, {})
    assert database.resolved({"PGPASSWORD": "p@ss/word"}) == (
        "postgresql+psycopg://monitor:p%40ss%2Fword@db/m"
    )
    assert database.shown() == "postgresql://monitor:***@db/m"
    assert mask_password("postgresql://monitor:hunter2@db:5432/m") == (
        "postgresql://monitor:***@db:5432/m"
    )


def test_every_command_uses_the_database_given_on_the_command_line(http_server, tmp_path, postgres):
    url = postgres.create_database()
    page = http_server.page("/statement", press_release(TITLE, PARTNERSHIP))
    config = write_config(tmp_path, source_table("newsroom", page))
    state = tmp_path / "state"

    code, events = check_json(config, state, env={"MONITOR_DATABASE_URL": url})
    assert code == 0 and [e["event"] for e in events] == ["baseline"]
    assert not (state / "monitor.db").exists()  # nothing went to SQLite

    listed = run_cli("statements", "--state", str(state), "--database", url, "newsroom")
    assert listed.exit_code == 0 and page in listed.stdout
    shown = run_cli("show", "--state", str(state), page, env={"MONITOR_DATABASE_URL": url})
    assert shown.exit_code == 0 and PARTNERSHIP[0][:40] in shown.stdout
    outbox = run_cli("outbox", "--database", url)
    assert outbox.exit_code == 0
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM snapshots")).scalar() == 1
    engine.dispose()
    postgres.drop_database(url)


def test_the_sources_file_can_name_the_database(http_server, tmp_path, postgres):
    url = postgres.create_database()
    page = http_server.page("/statement", press_release(TITLE, PARTNERSHIP))
    config = write_config(
        tmp_path,
        source_table("newsroom", page),
        defaults=f'database = "{url.replace("monitor@", "monitor:${{PGPASSWORD}}@")}"\n',
    )
    code, events = check_json(config, tmp_path / "state", env={"PGPASSWORD": "unused"})
    assert code == 0 and [e["event"] for e in events] == ["baseline"]
    listed = run_cli("sources", "--config", str(config), "--state", str(tmp_path / "state"))
    assert "newsroom" in listed.stdout and "ok" in listed.stdout
    postgres.drop_database(url)


def test_an_unreachable_database_is_a_clear_message_without_the_password(tmp_path):
    config = write_config(tmp_path, "")
    result = run_cli(
        "check",
        "--config",
        str(config),
        "--database",
        "postgresql://monitor:hunter2@127.0.0.1:9/monitor",
    )
    assert result.exit_code == 2
    assert "cannot open the state database postgresql://monitor:***@127.0.0.1:9/monitor" in (
        result.stderr
    )
    assert "hunter2" not in result.stdout + result.stderr


def test_a_read_command_on_an_empty_state_says_so_whatever_the_database(tmp_path):
    result = run_cli("history", "--state", str(tmp_path / "nothing"), "x")
    assert result.exit_code == 2 and "no state in" in result.stderr
    assert not (tmp_path / "nothing").exists()


def test_a_bad_database_url_in_the_sources_file_is_refused_with_its_line(tmp_path):
    config = write_config(tmp_path, "", defaults='database = "mysql://x@y/z"\n')
    result = run_cli("check", "--config", str(config))
    assert result.exit_code == 2
    assert "defaults.database" in result.stderr and "postgresql://" in result.stderr
