"""One statement per canonical URL, however many sources track it (issue 17, item 3).

An index that lists a statement and a page source of the same URL watch one statement: an
edit is one version, one event and one alert per notifier (the notifiers of both sources),
`monitor history URL` shows one timeline, and counts do not double.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import LoopbackServer, check_json, run_cli, source_table, write_config
from notify_support import Receiver
from pages import PARTNERSHIP, newsroom_index, press_release
from ui_support import AsgiClient

from monitor.review.app import create_ui
from monitor.sources.config import load_config
from monitor.state.store import Store

STATEMENT = "/news/2026/partnership"
OTHER = "/news/2026/results"
TITLE = "Example Corp and Sample Industries partner"
RESULTS = ["Example Corp today reported revenue of 4.2 billion dollars for the quarter."]


class Newsroom:
    """A newsroom on the loopback server: an index and its statement pages."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.listed = [STATEMENT, OTHER]
        self.text = list(PARTNERSHIP)
        server.page(OTHER, press_release("Example Corp reports results", RESULTS))
        self.publish()

    def publish(self) -> None:
        titles = {OTHER: "Example Corp reports results"}
        items = [(path, titles.get(path, TITLE)) for path in self.listed]
        self.server.page("/news/", newsroom_index(items))
        self.server.page(STATEMENT, press_release(TITLE, self.text))

    def edit(self, old: str, new: str) -> None:
        self.text = [p.replace(old, new) for p in self.text]
        self.publish()


@pytest.fixture
def newsroom(http_server: LoopbackServer) -> Newsroom:
    return Newsroom(http_server)


def hooks(server: LoopbackServer, *names: str) -> tuple[dict[str, Receiver], str]:
    """Webhook receivers on the loopback server, and their `[notifiers.*]` tables."""
    receivers = {name: Receiver() for name in names}
    tables = ""
    for name, receiver in receivers.items():
        server.route(f"/{name}", receiver)
        tables += f'[notifiers.{name}]\ntype = "webhook"\nurl = "{server.url("/" + name)}"\n'
    return receivers, tables


def two_sources(
    tmp_path: Path, server: LoopbackServer, index_notify: str, page_notify: str, tables: str
) -> Path:
    """The newsroom index and a page source of its partnership statement."""
    index = source_table("newsroom", server.url("/news/"), "index", f"notify = {index_notify}")
    # the same statement, written with a tracking parameter: the same canonical URL
    page_url = server.url(STATEMENT + "?utm_source=newsletter")
    page = source_table("partnership", page_url, "page", f"notify = {page_notify}")
    return write_config(tmp_path, index + page + tables)


def kinds(events: list[dict]) -> list[tuple[str, str]]:
    return [(e["event"], e["source"]) for e in events if e["event"] not in ("baseline",)]


def test_one_edit_of_a_statement_two_sources_track_is_one_changed_event_and_one_alert_per_notifier(
    http_server, newsroom, tmp_path
):
    receivers, tables = hooks(http_server, "team", "analysts")
    config = two_sources(tmp_path, http_server, '["team"]', '["team", "analysts"]', tables)
    state = tmp_path / "state"
    assert check_json(config, state)[0] == 0

    newsroom.edit("will provide dedicated capacity", "may provide capacity")
    code, events = check_json(config, state)

    assert code == 0
    changed = [e for e in events if e["event"] == "changed"]
    assert len(changed) == 1, events
    assert changed[0]["url"] == http_server.url(STATEMENT)
    assert changed[0]["source"] in ("newsroom", "partnership")
    # each notifier once: the union of both sources' notifiers, never one alert per source
    assert [json.loads(body)["event"] for _h, body in receivers["team"].received] == ["changed"]
    assert [json.loads(body)["event"] for _h, body in receivers["analysts"].received] == ["changed"]


def test_a_source_checking_a_statement_after_another_recorded_its_edit_reports_nothing(
    http_server, newsroom, tmp_path
):
    receivers, tables = hooks(http_server, "team", "analysts")
    config = two_sources(tmp_path, http_server, '["team"]', '["analysts"]', tables)
    state = tmp_path / "state"
    check_json(config, state)

    newsroom.edit("will provide dedicated capacity", "may provide capacity")
    _code, by_index = check_json(config, state, "newsroom")
    _code, by_page = check_json(config, state, "partnership")

    assert kinds(by_index) == [("changed", "newsroom")]
    assert kinds(by_page) == []  # version 2 is the one the index's check recorded
    # the page source's notifier heard of the edit its source tracks, once
    assert len(receivers["team"].received) == 1
    assert len(receivers["analysts"].received) == 1


def test_a_page_source_added_for_a_statement_an_index_tracks_continues_its_timeline(
    http_server, newsroom, tmp_path
):
    # the index alone first: it records the statement
    index = source_table("newsroom", http_server.url("/news/"), "index")
    config = write_config(tmp_path, index)
    state = tmp_path / "state"
    check_json(config, state)
    newsroom.edit("will provide dedicated capacity", "may provide capacity")
    # then a page source of the same statement, checked on its own (a run of page sources
    # reads only the statements at their URLs): the edit is the statement's version 2,
    # not a second statement's baseline
    page = source_table("partnership", http_server.url(STATEMENT + "?utm_source=newsletter"))
    config = write_config(tmp_path, index + page)
    code, events = check_json(config, state, "partnership")

    assert code == 0
    assert [(e["event"], e["version"]) for e in events] == [("changed", 2)]
    listed = run_cli("statements", "partnership", "--state", str(state), "--format", "json")
    assert [json.loads(line)["url"] for line in listed.stdout.splitlines()] == [
        http_server.url(STATEMENT)
    ]


def test_history_of_a_statement_two_sources_track_is_one_timeline(http_server, newsroom, tmp_path):
    config = two_sources(tmp_path, http_server, "[]", "[]", "")
    state = tmp_path / "state"
    check_json(config, state)
    newsroom.edit("will provide dedicated capacity", "may provide capacity")
    check_json(config, state, "newsroom")  # the index's check sees the first edit
    newsroom.edit("spring of 2027", "autumn of 2027")
    check_json(config, state, "partnership")  # the page source's check sees the second

    shown = run_cli(
        "history", http_server.url(STATEMENT), "--state", str(state), "--format", "json"
    )
    versions = [json.loads(line)["version"] for line in shown.stdout.splitlines()]
    assert versions == [1, 2, 3]
    text = run_cli("history", http_server.url(STATEMENT), "--state", str(state)).stdout
    assert "tracked by newsroom, partnership" in text
    both = run_cli(
        "diff",
        http_server.url(STATEMENT),
        "--from",
        "1",
        "--to",
        "3",
        "--state",
        str(state),
        "--format",
        "json",
    )
    after = " ".join(c.get("after", "") for c in json.loads(both.stdout)["changes"])
    assert "may provide capacity" in after and "autumn of 2027" in after
    assert (
        "autumn of 2027"
        in run_cli("show", http_server.url(STATEMENT), "--state", str(state)).stdout
    )
    for source in ("newsroom", "partnership"):
        listed = run_cli("statements", source, "--state", str(state), "--format", "json")
        mine = [json.loads(line) for line in listed.stdout.splitlines()]
        assert {"url": http_server.url(STATEMENT), "version": 3} in [
            {"url": s["url"], "version": s["version"]} for s in mine
        ]


def test_counts_of_a_shared_statement_do_not_double(http_server, newsroom, tmp_path):
    config = two_sources(tmp_path, http_server, "[]", "[]", "")
    state = tmp_path / "state"
    check_json(config, state)
    newsroom.edit("will provide dedicated capacity", "may provide capacity")
    check_json(config, state)

    store = Store.open(state)
    client = AsgiClient(create_ui(lambda: store, lambda: load_config(config)))
    dashboard = client.get("/").text
    assert "2 statements tracked" in dashboard  # partnership and results, once each
    assert "1 change in the last 7 days" in dashboard
    page = client.get("/statement", params={"url": http_server.url(STATEMENT)}).text
    assert "Sources" in page and "/sources/newsroom" in page and "/sources/partnership" in page
    assert len(store.events(kinds=["changed"])) == 1
    store.close()


def test_a_removal_two_sources_see_at_once_is_reported_once_and_so_is_the_return(
    http_server, newsroom, tmp_path
):
    receivers, tables = hooks(http_server, "team")
    config = two_sources(tmp_path, http_server, '["team"]', '["team"]', tables)
    state = tmp_path / "state"
    check_json(config, state)

    http_server.page(STATEMENT, "gone", status=404)
    _code, gone = check_json(config, state)
    newsroom.publish()  # it answers again
    _code, back = check_json(config, state, "partnership", "newsroom")

    assert [e["event"] for e in gone if e["event"] == "removed"] == ["removed"]
    assert [e["event"] for e in back if e["event"] == "restored"] == ["restored"]
    assert [json.loads(b)["event"] for _h, b in receivers["team"].received] == [
        "removed",
        "restored",
    ]


def test_a_move_seen_by_one_listing_leaves_the_statement_tracked_by_another_source(
    http_server, newsroom, tmp_path
):
    config = two_sources(tmp_path, http_server, "[]", "[]", "")
    state = tmp_path / "state"
    check_json(config, state)

    # The listing now links the statement's text under a new URL; the old URL still answers.
    http_server.page(STATEMENT + "-2026", press_release(TITLE, PARTNERSHIP))
    newsroom.listed = [STATEMENT + "-2026", OTHER]
    newsroom.publish()
    _code, moved = check_json(config, state, "newsroom")
    assert [(e["event"], e.get("moved_from")) for e in moved if e["event"] != "baseline"] == [
        ("moved", http_server.url(STATEMENT))
    ]

    # The page source still tracks the old URL: an edit there is reported, by it.
    newsroom.edit("will provide dedicated capacity", "may provide capacity")
    _code, edited = check_json(config, state)
    assert kinds(edited) == [("changed", "partnership")]
    as_page = run_cli("statements", "partnership", "--state", str(state), "--format", "json")
    assert [json.loads(line)["status"] for line in as_page.stdout.splitlines()] == ["active"]
    as_index = run_cli("statements", "newsroom", "--state", str(state), "--format", "json")
    statuses = {
        json.loads(line)["url"]: json.loads(line)["status"] for line in as_index.stdout.splitlines()
    }
    assert statuses[http_server.url(STATEMENT)] == "moved"


def test_a_statement_two_listings_publish_in_one_run_is_new_once_and_alerts_both(
    http_server, newsroom, tmp_path
):
    receivers, tables = hooks(http_server, "team", "analysts")
    http_server.page("/other/", newsroom_index([(OTHER, "Results")]))
    first = source_table("newsroom", http_server.url("/news/"), "index", 'notify = ["team"]')
    second = source_table(
        "wire", http_server.url("/other/"), "index", 'notify = ["analysts"]\nlinks = "h2 a"'
    )
    config = write_config(tmp_path, first + second + tables)
    state = tmp_path / "state"
    newsroom.listed = [OTHER]
    newsroom.publish()
    assert check_json(config, state)[0] == 0

    newsroom.listed = [STATEMENT, OTHER]
    newsroom.publish()
    http_server.page("/other/", newsroom_index([(STATEMENT, TITLE), (OTHER, "Results")]))
    _code, events = check_json(config, state)

    assert [e["event"] for e in events if e["event"] == "new"] == ["new"]
    assert len(receivers["team"].received) == 1
    assert len(receivers["analysts"].received) == 1


def test_sources_reading_a_shared_statement_differently_never_take_each_other_for_an_edit(
    http_server, newsroom, tmp_path
):
    index = source_table("newsroom", http_server.url("/news/"), "index")
    # the page source drops a sentence the index would keep: it reads the page for both
    page = source_table(
        "partnership",
        http_server.url(STATEMENT),
        "page",
        "ignore = ['Financial terms of the agreement were not disclosed[.]']",
    )
    config = write_config(tmp_path, index + page)
    state = tmp_path / "state"
    check_json(config, state)

    newsroom.edit("will provide dedicated capacity", "may provide capacity")
    _code, by_index = check_json(config, state, "newsroom")
    later = [check_json(config, state, *names)[1] for names in (("partnership",), ())]

    changed = [e for e in by_index if e["event"] == "changed"]
    assert len(changed) == 1
    assert "Financial terms" not in json.dumps(changed[0]["changes"])  # only the edit
    assert [kinds(events) for events in later] == [[], []]
    text = run_cli("show", http_server.url(STATEMENT), "--state", str(state)).stdout
    assert "may provide capacity" in text and "Financial terms" not in text
