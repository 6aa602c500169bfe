"""More of issue 16 through the CLI on loopback (the first part is test_hostile.py): broken
files fast and located, a damaged state, runaway regexes, a run's time limit, odd pages."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from conftest import check_json, run_cli, source_table, write_config
from pages import PARTNERSHIP, press_release

from monitor.state.store import Store

TITLE = "Example Corp and Sample Industries announce research partnership"


# ---------------------------------------------------------------------------------------------
# hostile sources files: refused fast, with file and line, exit 2
# ---------------------------------------------------------------------------------------------


def _refused(tmp_path: Path, text: str) -> str:
    config = tmp_path / "sources.toml"
    config.write_text(text, encoding="utf-8")
    result = run_cli("check", "--config", str(config), "--state", str(tmp_path / "state"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "[" * 5000 + "]" * 5000 + "\n",
        "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
        '[defaults]\ninterval = "1h"\n\nx = ' + "[" * 40 + "]" * 40 + "\n",
    ],
    ids=["arrays", "inline-tables", "just-too-deep"],
)
def test_deeply_nested_toml_is_a_config_error_with_its_line(tmp_path, text):
    stderr = _refused(tmp_path, text)
    line = text.count("\n", 0, text.index("x =")) + 1
    assert f"sources.toml:{line}: nested too deeply" in stderr


def test_thousands_of_problems_list_the_first_50_and_a_count(tmp_path):
    text = "".join(
        f'[[sources]]\nname = "s{i}"\nurl = "ftp://example.org/{i}"\nkind = "page"\n'
        for i in range(1000)
    )
    stderr = _refused(tmp_path, text)
    listed = [line for line in stderr.splitlines() if ": sources[" in line]
    assert len(listed) == 50
    assert "sources.toml:3: sources[0] (s0).url" in listed[0]
    assert "sources.toml:199: sources[49] (s49).url" in listed[-1]
    assert "and 950 more problems (1000 in all" in stderr


# ---------------------------------------------------------------------------------------------
# a damaged state database: what, where, how to recover; exit 2; never SQL or a traceback
# ---------------------------------------------------------------------------------------------


def _garbage(db: Path) -> None:
    db.write_bytes(bytes(range(256)) * 200)


def _truncated(db: Path) -> None:
    with db.open("r+b") as f:
        f.truncate(5000)


def _bad_pages(db: Path) -> None:
    """Overwrite every table's pages, the schema (page 1) left readable."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    with db.open("r+b") as f:
        length = f.seek(0, 2)
        f.seek(size)
        f.write(b"\xff" * (length - size))


@pytest.mark.parametrize("damage", [_garbage, _truncated, _bad_pages], ids=lambda f: f.__name__)
@pytest.mark.parametrize("command", ["check", "sources", "history"])
def test_a_damaged_state_file_is_a_clear_exit_2(tmp_path, damage, command):
    config = write_config(tmp_path, source_table("corp", "http://127.0.0.1:9/s"))
    state = tmp_path / "state"
    Store.open(state).close()
    db = state / "monitor.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:  # everything into the one file
        conn.execute("PRAGMA journal_mode = DELETE")
    damage(db)
    args = [command, "--config", str(config), "--state", str(state)]
    if command == "history":
        args.append("corp")
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "SELECT" not in result.output
    assert "sqlalche" not in result.output
    assert str(db) in result.stderr
    assert "backup" in result.stderr and ".recover" in result.stderr


def test_a_full_disk_says_disk_full(tmp_path):
    import sqlalchemy as sa

    from monitor.state.store import StoreError

    store = Store.open(tmp_path / "state")
    size = store.engine.connect().exec_driver_sql("PRAGMA page_count").scalar()
    store.engine.dispose()

    @sa.event.listens_for(store.engine, "connect")
    def cap(dbapi_connection, _record):  # a disk that has no room for one more page
        dbapi_connection.execute(f"PRAGMA max_page_count = {size}")

    with pytest.raises(StoreError, match="^disk full: the state database .*monitor.db"):
        for _ in range(100):
            with store.write() as conn:
                conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
                conn.exec_driver_sql("INSERT INTO filler VALUES (randomblob(100000))")


@pytest.mark.parametrize(
    ("pattern", "outcome"),
    [("(a+)+$", "baseline"), ("(a|aa)+$", "error")],
    ids=["nested-repeat", "alternation"],
)
def test_a_runaway_ignore_pattern_cannot_hang_a_check(http_server, tmp_path, pattern, outcome):
    """`(a+)+$` hangs Python's `re` for ever on 40 a's; `regex` runs it at once, and a
    pattern that still backtracks for minutes fails its own check after 1 s."""
    paragraphs = [*PARTNERSHIP[:2], "a" * 40 + "!", *PARTNERSHIP[2:]]
    slow = http_server.page("/slow", press_release(TITLE, paragraphs))
    good = http_server.page("/good", press_release(TITLE, PARTNERSHIP))
    config = write_config(
        tmp_path,
        source_table("slow", slow, extra=f"ignore = ['{pattern}']") + source_table("good", good),
    )
    # The runaway pattern holds the one-shot run's event loop for its 1 s: the other fetch
    # must outlast that on a loaded machine too (the tests' usual 2 s timeout did not).
    config.write_text(config.read_text().replace('timeout = "2s"', 'timeout = "10s"'))
    code, events = check_json(config, tmp_path / "state")
    by_source = {e["source"]: e for e in events}
    assert by_source["good"]["event"] == "baseline"
    assert by_source["slow"]["event"] == outcome
    assert code == (0 if outcome == "baseline" else 1)
    if outcome == "error":
        assert f"ignore pattern '{pattern}' took longer than 1s" in by_source["slow"]["error"]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x0b", "\x0c", "\x1b", "\x7f"], ids=repr)
def test_a_control_character_in_a_page_changes_nothing(http_server, tmp_path, char):
    clean = press_release(TITLE, PARTNERSHIP)
    dirty = clean.replace("<head>", "<head>" + char, 1).replace("multi-year", f"multi-{char}year")
    url = http_server.page("/s", dirty)
    config = write_config(tmp_path, source_table("corp", url))
    code, events = check_json(config, tmp_path / "state")
    assert code == 0 and [(e["event"], e["title"]) for e in events] == [("baseline", TITLE)]
    store = Store.open(tmp_path / "state")
    snapshot = store.snapshot(store.statements()[0].id)
    assert snapshot is not None
    assert not any(c in snapshot.text for c in "\x00\x01\x0b\x0c\x1b\x7f")
    assert snapshot.text.count("\n\n") == len(PARTNERSHIP) - 1  # no spurious paragraph


def _short_body(req):
    body = press_release(TITLE, PARTNERSHIP).encode()
    req.send_response(200)
    req.send_header("Content-Type", "text/html; charset=utf-8")
    req.send_header("Content-Length", str(len(body) + 5000))
    req.end_headers()
    req.wfile.write(body[: len(body) // 2])
    req.wfile.flush()
    req.close_connection = True


def test_a_body_shorter_than_its_content_length_is_an_error(http_server, tmp_path):
    http_server.route("/s", _short_body)
    config = write_config(tmp_path, source_table("corp", http_server.url("/s")))
    code, events = check_json(config, tmp_path / "state")
    assert code == 1 and [e["event"] for e in events] == ["error"]
    body = press_release(TITLE, PARTNERSHIP).encode()  # as _short_body sends half of it
    shortfall = f"after {len(body) // 2} of the {len(body) + 5000} bytes it announced"
    assert shortfall in events[0]["error"]
    assert Store.open(tmp_path / "state").statements() == []  # no truncated baseline


def _slow_answer(req):
    threading.Event().wait(1.5)  # under the 2 s fetch timeout, over the run's limit
    return 200, {"Content-Type": "text/html"}, press_release(TITLE, PARTNERSHIP).encode()


def test_check_timeout_bounds_the_whole_run(http_server, tmp_path):
    http_server.route("/slow", _slow_answer)
    good = http_server.page("/good", press_release(TITLE, PARTNERSHIP))
    config = write_config(
        tmp_path, source_table("slow", http_server.url("/slow")) + source_table("good", good)
    )
    result = run_cli(
        "check",
        "--config",
        str(config),
        "--state",
        str(tmp_path / "state"),
        "--format",
        "json",
        "--timeout",
        "700ms",
    )
    events = {e["source"]: e for e in map(json.loads, result.stdout.splitlines())}
    assert result.exit_code == 1
    assert events["good"]["event"] == "baseline"
    assert events["slow"]["event"] == "error"
    assert "not finished within the run's time limit (0.7s" in events["slow"]["error"]
    bad = run_cli("check", "--config", str(config), "--timeout", "nan")
    assert bad.exit_code == 2 and "--timeout" in bad.stderr


def test_a_host_with_more_sources_than_its_spacing_allows_is_warned_of(tmp_path, caplog):
    sources = "".join(
        source_table(f"s{i}", f"https://crowded.example/{i}", extra='interval = "1m"')
        for i in range(150)
    ) + source_table("alone", "https://quiet.example/", extra='interval = "1m"')
    config = write_config(tmp_path, sources, defaults='host_spacing = "500ms"')
    result = run_cli("sources", "--config", str(config), "--state", str(tmp_path / "state"))
    assert result.exit_code == 0
    assert "150 sources on crowded.example need 75s per round" in caplog.text
    assert "quiet.example" not in caplog.text
