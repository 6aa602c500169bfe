"""Index and feed sources: statements discovered, announced once, then tracked like pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import (
    LoopbackServer,
    check_json,
    checked_yesterday,
    open_state,
    run_cli,
    source_table,
    write_config,
)
from pages import PARTNERSHIP, Noise, newsroom_index, press_release, rss_feed

from monitor.extract.discover import DiscoveryError, links_from_feed, links_from_index

pytestmark = pytest.mark.usefixtures("state_database")  # SQLite and PostgreSQL

STATEMENTS = {
    "/news/2026/partnership": ("Example Corp and Sample Industries partner", PARTNERSHIP),
    "/news/2026/results": (
        "Example Corp reports third-quarter results",
        [
            "Example Corp today reported revenue of 4.2 billion dollars for the third quarter, "
            "an increase of twelve percent over the same quarter of last year.",
            "Operating income grew to 1.1 billion dollars, driven by the cloud platform.",
        ],
    ),
}
NEW_STATEMENT = (
    "/news/2026/board",
    "Example Corp appoints a new chair of the board",
    [
        "The board of Example Corp today appointed Maria Rossi as its chair, effective "
        "the first of January 2027.",
        "Ms Rossi has served on the board since 2019 and chairs its audit committee.",
    ],
)


def serve_statement(server: LoopbackServer, path: str, title: str, body: list[str], **kw) -> None:
    server.page(path, press_release(title, body, **kw))


def serve_newsroom(server: LoopbackServer, paths: list[str], **kw) -> str:
    items = [(p, STATEMENTS.get(p, NEW_STATEMENT[1:])[0]) for p in paths]
    return server.page("/news/", newsroom_index(items, **kw))


def config_for(tmp_path: Path, url: str, kind: str = "index", extra: str = "") -> Path:
    return write_config(tmp_path, source_table("newsroom", url, kind), defaults=extra)


def check(config: Path, state: Path) -> tuple[int, list[dict]]:
    return check_json(config, state)


@pytest.fixture
def newsroom(http_server: LoopbackServer, tmp_path: Path):
    for path, (title, body) in STATEMENTS.items():
        serve_statement(http_server, path, title, body)
    serve_statement(http_server, "/news/old-story", "Old story", PARTNERSHIP[:2])
    url = serve_newsroom(http_server, list(STATEMENTS))
    return http_server, config_for(tmp_path, url), tmp_path / "state"


def test_index_first_check_is_a_silent_baseline_of_every_listed_statement(newsroom):
    server, config, state = newsroom
    code, events = check(config, state)
    assert code == 0
    assert sorted((e["event"], e["url"]) for e in events) == [
        ("baseline", server.url(path)) for path in sorted(STATEMENTS)
    ]
    assert server.hits("/news/old-story") == 0  # the sidebar's "popular" link is chrome
    assert open_state(state).outbox() == []


def test_new_statement_gives_exactly_one_new_event(newsroom):
    server, config, state = newsroom
    check(config, state)
    path, title, body = NEW_STATEMENT
    serve_statement(server, path, title, body)
    serve_newsroom(server, [path, *STATEMENTS], rendered_at="2026-11-27 10:00")
    code, events = check(config, state)
    assert code == 0
    assert [(e["event"], e["url"]) for e in events] == [("new", server.url(path))]
    assert events[0]["title"] == title
    assert events[0]["summary"].startswith("The board of Example Corp today appointed")
    code, events = check(config, state)
    assert events == []


def test_noise_on_the_index_and_statements_is_silent(newsroom):
    server, config, state = newsroom
    check(config, state)
    serve_newsroom(
        server,
        list(STATEMENTS),
        popular=[("/news/other", "A different popular story"), ("/tag/x/", "Tag page link")],
        rendered_at="2026-11-30 12:00",
    )
    for path, (title, body) in STATEMENTS.items():
        serve_statement(server, path, title, body, noise=Noise(views=77, rendered_at="later"))
    code, events = check(config, state)
    assert (code, events) == (0, [])


def test_edit_of_a_discovered_statement_gives_one_changed(newsroom):
    server, config, state = newsroom
    check(config, state)
    title, body = STATEMENTS["/news/2026/results"]
    edited = [body[0].replace("twelve percent", "eleven percent"), body[1]]
    serve_statement(server, "/news/2026/results", title, edited)
    code, events = check(config, state)
    assert [(e["event"], e["url"]) for e in events] == [
        ("changed", server.url("/news/2026/results"))
    ]
    assert events[0]["changes"][0]["before"] == body[0]


def test_statement_that_moved_to_a_new_url_is_moved_not_new(newsroom):
    server, config, state = newsroom
    check(config, state)
    title, body = STATEMENTS["/news/2026/results"]
    serve_statement(server, "/news/2026/q3-results", title, body)
    server.page("/news/2026/results", "gone", status=404, content_type="text/plain")
    serve_newsroom(server, ["/news/2026/partnership", "/news/2026/q3-results"])
    code, events = check(config, state)
    assert [(e["event"], e["url"], e.get("moved_from")) for e in events] == [
        ("moved", server.url("/news/2026/q3-results"), server.url("/news/2026/results"))
    ]


def test_tracking_parameters_on_a_listed_link_are_not_new(newsroom):
    server, config, state = newsroom
    check(config, state)
    paths = [f"{p}?utm_source=newsroom&utm_medium=web#main" for p in STATEMENTS]
    serve_newsroom(server, paths)
    assert check(config, state) == (0, [])


def test_layout_change_with_no_links_is_one_error_and_no_removals(newsroom):
    server, config, state = newsroom
    check(config, state)
    server.page("/news/", "<html><body><main><p>We have moved things around.</p></main></body>")
    code, events = check(config, state)
    assert code == 1
    assert [e["event"] for e in events] == ["error"]
    assert "no statement links" in events[0]["error"]
    statuses = {s.status for s in open_state(state).statements("newsroom")}
    assert statuses == {"active"}


def test_index_that_briefly_fails_keeps_its_statements(newsroom):
    server, config, state = newsroom
    check(config, state)
    server.page("/news/", "down", status=500, content_type="text/plain")
    code, events = check(config, state)
    assert code == 1 and [e["event"] for e in events] == ["error"]
    serve_newsroom(server, list(STATEMENTS))
    assert check(config, state) == (0, [])


def test_new_statement_pages_are_fetched_a_few_per_check(http_server, tmp_path):
    paths = [f"/news/s{i}" for i in range(7)]
    for i, path in enumerate(paths):
        serve_statement(http_server, path, f"Statement number {i} of the week", PARTNERSHIP)
    items = [(p, f"Statement number {i} of the week") for i, p in enumerate(paths)]
    url = http_server.page("/news/", newsroom_index(items))
    config = config_for(tmp_path, url, extra="max_new_per_check = 3")
    state = tmp_path / "state"
    code, events = check(config, state)
    assert [e["url"] for e in events] == [http_server.url(p) for p in paths[:3]]
    code, events = check(config, state)
    assert sorted(e["url"] for e in events) == [http_server.url(p) for p in paths[3:6]]
    assert {e["event"] for e in events} == {"baseline"}  # listed at first sight


def test_feed_source_tracks_items(http_server, tmp_path):
    base = http_server.url("")
    items = [(p, t, f"guid-{i}") for i, (p, (t, _)) in enumerate(STATEMENTS.items())]
    for path, (title, body) in STATEMENTS.items():
        serve_statement(http_server, path, title, body)
    feed_url = http_server.page(
        "/feed.xml", rss_feed(items, base), content_type="application/rss+xml"
    )
    config = config_for(tmp_path, feed_url, kind="feed")
    state = tmp_path / "state"
    code, events = check(config, state)
    assert code == 0 and {e["event"] for e in events} == {"baseline"} and len(events) == 2
    path, title, body = NEW_STATEMENT
    serve_statement(http_server, path, title, body)
    http_server.page(
        "/feed.xml",
        rss_feed([(path, title, "guid-new"), *items], base),
        content_type="application/rss+xml",
    )
    code, events = check(config, state)
    assert [(e["event"], e["title"]) for e in events] == [("new", title)]


@pytest.mark.usefixtures("same_utc_day")
def test_a_feed_answering_304_after_a_new_item_is_read_in_full_once_a_day(http_server, tmp_path):
    # A cache in front of the feed answers 304 to its old ETag though the feed changed.
    base = http_server.url("")
    items = [(p, t, f"guid-{i}") for i, (p, (t, _)) in enumerate(STATEMENTS.items())]
    for path, (title, body) in STATEMENTS.items():
        serve_statement(http_server, path, title, body)
    feed = {"now": rss_feed(items, base).encode()}

    def handler(req):
        if req.headers.get("If-None-Match") == '"feed-1"':
            return 304, {"ETag": '"feed-1"'}, b""
        return 200, {"Content-Type": "application/rss+xml", "ETag": '"feed-1"'}, feed["now"]

    http_server.route("/feed.xml", handler)
    config = config_for(tmp_path, http_server.url("/feed.xml"), kind="feed")
    state = tmp_path / "state"
    assert {e["event"] for e in check(config, state)[1]} == {"baseline"}
    path, title, body = NEW_STATEMENT
    serve_statement(http_server, path, title, body)
    feed["now"] = rss_feed([(path, title, "guid-new"), *items], base).encode()
    assert check(config, state)[1] == []  # the same day: the stale 304 hides the new item
    checked_yesterday(state)
    assert [(e["event"], e["title"]) for e in check(config, state)[1]] == [("new", title)]


def test_feed_that_is_not_xml_is_an_error(http_server, tmp_path):
    url = http_server.page("/feed.xml", "<html><body>Not a feed</body></html>")
    config = config_for(tmp_path, url, kind="feed")
    code, events = check(config, tmp_path / "state")
    assert code == 1 and [e["event"] for e in events] == ["error"]


def test_statements_command_lists_tracked_statements(newsroom):
    server, config, state = newsroom
    check(config, state)
    result = run_cli("statements", "--state", str(state), "newsroom")
    assert result.exit_code == 0
    assert "third-quarter results" in result.stdout
    assert "active" in result.stdout


# -- discovery on its own ---------------------------------------------------------------------


def test_links_resolve_relative_and_protocol_relative_and_skip_other_hosts():
    html = """<html><body><main>
      <a href="statement-one">The first statement of the year</a>
      <a href="//example.org/news/two">The second statement of the year</a>
      <a href="https://elsewhere.org/news/three">A statement on another site</a>
      <a href="/news/four#comments">The fourth statement of the year</a>
    </main></body></html>"""
    links = links_from_index(html, "https://example.org/news/")
    assert [link.url for link in links] == [
        "https://example.org/news/statement-one",
        "https://example.org/news/two",
        "https://example.org/news/four",
    ]


def test_links_selector_overrides_the_automatic_choice():
    html = """<html><body><nav><a href="/x/nav-statement">A statement linked from nav</a></nav>
      <ul class="press"><li><a href="/p/1">One</a></li><li><a href="/p/2">Two</a></li></ul>
      </body></html>"""
    links = links_from_index(html, "https://example.org/", "ul.press a")
    assert [link.url for link in links] == ["https://example.org/p/1", "https://example.org/p/2"]
    with pytest.raises(DiscoveryError, match="not valid CSS"):
        links_from_index(html, "https://example.org/", "ul[[")


def test_listing_with_5000_links_is_read_in_order():
    items = "".join(
        f'<li><a href="/news/item-{i}">Statement number {i} of the archive</a></li>'
        for i in range(5000)
    )
    links = links_from_index(
        f"<html><body><main><ul>{items}</ul></main></body></html>", "https://example.org/news/"
    )
    assert len(links) == 5000
    assert links[0].url.endswith("/news/item-0") and links[-1].url.endswith("/news/item-4999")


def test_feed_with_duplicate_guids_gives_one_statement_per_link():
    feed = rss_feed(
        [("/a", "First", "same-guid"), ("/a", "First again", "same-guid"), ("/b", "Second", "b")],
        "https://example.org",
    )
    links = links_from_feed(feed, "https://example.org/feed.xml")
    assert [link.url for link in links] == ["https://example.org/a", "https://example.org/b"]


def test_atom_feed_is_read():
    atom = """<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>News</title>
      <entry><title>Atom statement</title><id>urn:uuid:1</id>
        <link href="https://example.org/atom/1"/><updated>2026-11-20T10:00:00Z</updated>
        <content type="html">&lt;p&gt;First paragraph.&lt;/p&gt;&lt;p&gt;Second.&lt;/p&gt;</content>
      </entry></feed>"""
    (link,) = links_from_feed(atom, "https://example.org/atom.xml")
    assert link.url == "https://example.org/atom/1"
    assert link.title == "Atom statement"
    assert link.published is not None and link.published.isoformat() == "2026-11-20"
    assert link.summary == "First paragraph.\n\nSecond."


def test_not_a_feed_is_refused():
    with pytest.raises(DiscoveryError, match="not an RSS or Atom feed"):
        links_from_feed(b"\x00\x01 binary junk", "https://example.org/feed")


def test_link_to_a_page_that_names_a_tracked_statement_as_canonical_is_not_new(newsroom):
    server, config, state = newsroom
    check(config, state)
    title, body = STATEMENTS["/news/2026/results"]
    # the listing now links a printable copy that declares the original as canonical
    serve_statement(server, "/news/2026/results/print", title, body, canonical="/news/2026/results")
    serve_newsroom(server, ["/news/2026/results/print", *STATEMENTS])
    assert check(config, state) == (0, [])
    aliases = [s for s in open_state(state).statements("newsroom") if s.status == "alias"]
    assert [s.url for s in aliases] == [server.url("/news/2026/results/print")]
    assert check(config, state) == (0, [])  # and it is not fetched again


def test_index_can_follow_the_feed_it_advertises(http_server, tmp_path):
    base = http_server.url("")
    for path, (title, body) in STATEMENTS.items():
        serve_statement(http_server, path, title, body)
    path, title, body = NEW_STATEMENT
    serve_statement(http_server, path, title, body)
    feed = rss_feed([(path, title, "g-board")], base)
    http_server.page("/feed.xml", feed, content_type="application/rss+xml")
    items = [(p, t) for p, (t, _b) in STATEMENTS.items()]
    url = http_server.page("/news/", newsroom_index(items, feed_href="/feed.xml"))
    config = config_for(tmp_path, url, extra="")
    config.write_text(config.read_text() + "follow_feed = true\n")
    code, events = check(config, tmp_path / "state")
    assert code == 0
    assert sorted(e["url"] for e in events) == sorted(
        http_server.url(p) for p in [path, *STATEMENTS]
    )  # the feed's item, which the page does not list, is tracked too
