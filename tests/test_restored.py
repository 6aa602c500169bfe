"""A statement that answered 404 once is still watched, and `restored` when it comes back."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import LoopbackServer
from pages import PARTNERSHIP, newsroom_index, press_release

from monitor.cli.main import main

pytestmark = pytest.mark.usefixtures("state_database")  # SQLite and PostgreSQL

TITLE = "Example Corp and Sample Industries partner"
PATH = "/news/2026/partnership"


def check(config: Path, state: Path) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(
        main, ["check", "--config", str(config), "--state", str(state), "--format", "json"]
    )
    return result.exit_code, [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


def kinds(events: list[dict], url: str) -> list[str]:
    return [e["event"] for e in events if e["url"] == url]


def setup(server: LoopbackServer, tmp_path: Path, kind: str) -> tuple[Path, str]:
    url = server.page(PATH, press_release(TITLE, PARTNERSHIP))
    listing = server.page("/news/", newsroom_index([(PATH, TITLE)]))
    config = tmp_path / "sources.toml"
    config.write_text(
        '[defaults]\ntimeout = "2s"\nretries = 0\nrecheck_removed = "2s"\n'
        f'[[sources]]\nname = "newsroom"\nurl = "{listing if kind == "index" else url}"\n'
        f'kind = "{kind}"\n'
    )
    return config, url


def test_a_listed_statement_gone_once_is_rechecked_less_often_then_restored_and_edits_seen(
    http_server, tmp_path
):
    config, url = setup(http_server, tmp_path, "index")
    state = tmp_path / "state"
    assert kinds(check(config, state)[1], url) == ["baseline"]
    http_server.page(PATH, "gone", status=404)
    assert kinds(check(config, state)[1], url) == ["removed"]
    hits = http_server.hits(PATH)
    check(config, state)  # within recheck_removed: not fetched again
    assert http_server.hits(PATH) == hits

    http_server.page(PATH, press_release(TITLE, PARTNERSHIP))
    time.sleep(2.1)
    code, events = check(config, state)
    assert code == 0 and kinds(events, url) == ["restored"]
    restored = next(e for e in events if e["event"] == "restored")
    assert restored["title"] == TITLE and restored["version"] == 1

    edited = [*PARTNERSHIP[:-1], PARTNERSHIP[-1] + " The agreement runs for five years."]
    http_server.page(PATH, press_release(TITLE, edited))
    code, events = check(config, state)  # active again: checked at every check
    assert kinds(events, url) == ["changed"]


def test_a_page_source_that_comes_back_edited_is_restored_and_changed(http_server, tmp_path):
    config, url = setup(http_server, tmp_path, "page")
    hooks: list[bytes] = []

    def receive(request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        hooks.append(request.rfile.read(int(request.headers["Content-Length"])))
        return 204, {}, b""

    http_server.route("/hook", receive)
    config.write_text(
        config.read_text()
        + f'[notifiers.hook]\ntype = "webhook"\nurl = "{http_server.url("/hook")}"\n'
    )
    state = tmp_path / "state"
    check(config, state)
    http_server.page(PATH, "gone", status=410)
    assert kinds(check(config, state)[1], url) == ["removed"]
    http_server.page(PATH, press_release(TITLE, PARTNERSHIP[:-1]))
    assert kinds(check(config, state)[1], url) == ["restored", "changed"]
    # people are told: one alert each
    assert [json.loads(body)["event"] for body in hooks] == ["removed", "restored", "changed"]
    restored = json.loads(hooks[1])
    assert restored["url"] == url and restored["title"] == TITLE
