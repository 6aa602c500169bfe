"""The web UI's pages through the ASGI app: content, links, filters, feed, 404s, headers.

Most tests read the state built by real `monitor check` runs (ui_support); a few build odd
states directly with the store (hostile URLs, credentials, control characters, sources
that left the configuration).
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import feedparser
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from ui_support import (  # noqa: F401
    CORP_TITLE,
    HOSTILE_TITLE,
    IMG,
    QUOTES,
    SCRIPT,
    AsgiClient,
    UiState,
    config_of,
    loopback,
    snapshot,
    ui_state,
)

from monitor.clock import utcnow
from monitor.events import Event
from monitor.fetch import Validators
from monitor.review.app import CONTENT_SECURITY_POLICY, create_ui, stylesheet
from monitor.sources.config import Config
from monitor.state.records import Discovered, Fetched, NewVersion, SourceUpdate
from monitor.state.store import Store, StoreError

NOT_FETCHED = Fetched(Validators(), None)


@pytest.fixture(scope="module")
def client(ui_state: UiState) -> AsgiClient:  # noqa: F811
    store, config = ui_state.store(), ui_state.config()
    return AsgiClient(create_ui(lambda: store, lambda: config))


def q(url: str) -> str:
    return quote(url, safe="")


class Page(HTMLParser):
    """What a browser sees in a page: tags, attributes, links, and the visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.text_parts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    @property
    def links(self) -> list[str]:
        return [v or "" for tag, name, v in self.attributes if tag == "a" and name == "href"]

    def links_to(self, path: str) -> list[str]:
        return [link for link in self.links if urlsplit(link).path == path]


def page_paths(state: UiState) -> list[str]:
    return [
        "/",
        "/sources/corp",
        "/sources/hostile",
        "/sources/broken",
        f"/statement?url={q(state.corp_url)}",
        f"/statement?url={q(state.hostile_url)}",
        f"/diff?url={q(state.corp_url)}",
        f"/diff?url={q(state.hostile_url)}",
        f"/diff?url={q(state.corp_url)}&from=1&to=3",
        "/events",
        "/events?type=changed",
    ]


# --- every page --------------------------------------------------------------------------------


def test_every_page_answers_with_the_security_headers(
    client: AsgiClient,
    ui_state: UiState,  # noqa: F811
) -> None:
    extra = ["/feed.xml", "/static/style.css", "/nope", "/sources/nope", "/diff?url=x&from=a"]
    for path in [*page_paths(ui_state), *extra]:
        response = client.get(path)
        headers = response.headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    policy = {d.split()[0]: d.split()[1:] for d in CONTENT_SECURITY_POLICY.split("; ")}
    assert policy == {
        "default-src": ["'none'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


def test_pages_are_plain_html_without_script_or_inline_style(
    client: AsgiClient,
    ui_state: UiState,  # noqa: F811
) -> None:
    for path in page_paths(ui_state):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        page = Page(response.text)
        assert "script" not in page.tags and "style" not in page.tags, path
        names = {name for _tag, name, _value in page.attributes}
        assert "style" not in names
        assert not [name for name in names if name.startswith("on")]
        stylesheets = [
            v for tag, name, v in page.attributes if tag == "link" and name == "href" and v
        ]
        assert f"/static/style.css?v={stylesheet()[1]}" in stylesheets
        for link in page.links:
            assert link.startswith(("/", "#", "http://", "https://")), (path, link)
        assert 'name="viewport"' in response.text


def test_stylesheet_is_served_as_a_versioned_file(client: AsgiClient) -> None:
    css, version = stylesheet()
    response = client.get(f"/static/style.css?v={version}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert "immutable" in response.headers["cache-control"]
    assert response.content == css
    assert "#diff-side:target ~ .view-side" in response.text  # views switch without script
    assert "immutable" not in client.get("/static/style.css").headers["cache-control"]


def test_head_requests_work(client: AsgiClient) -> None:
    response = client.request("HEAD", "/")
    assert response.status_code == 200
    assert response.content == b""


# --- dashboard, source ---------------------------------------------------------------------------


def test_dashboard_shows_sources_with_status_and_recent_changes(client: AsgiClient) -> None:
    page = Page(client.get("/").text)
    text = page.text
    assert "3 sources · 1 failing · 2 statements tracked · 3 changes in the last 7 days" in text
    assert "failing (3 checks in a row)" in text
    assert "HTTP 500" in text  # the error message of the broken source
    assert page.links_to("/sources/corp") and page.links_to("/sources/broken")
    diffs = [parse_qs(urlsplit(link).query) for link in page.links_to("/diff")]
    assert {(d["from"][0], d["to"][0]) for d in diffs} == {("1", "2"), ("2", "3")}
    assert "View changes v2 → v3" in text
    assert "1 modified · 1 added · 1 moved" in text


def test_source_page_lists_its_statements(client: AsgiClient, ui_state: UiState) -> None:  # noqa: F811
    page = Page(client.get("/sources/corp").text)
    assert CORP_TITLE in page.text
    assert "every 1h" in page.text
    statement_links = page.links_to("/statement")
    assert statement_links
    assert parse_qs(urlsplit(statement_links[0]).query)["url"] == [ui_state.corp_url]
    assert "latest changes" in page.text
    assert page.links_to("/events")  # all events of the source
    assert any("source=corp" in link for link in page.links_to("/feed.xml"))


def test_failing_source_page_shows_the_error(client: AsgiClient) -> None:
    text = Page(client.get("/sources/broken").text).text
    assert "failing (3 checks in a row)" in text
    assert "HTTP 500" in text
    assert "No statement tracked yet." in text


def test_unknown_source_is_a_404_page(client: AsgiClient) -> None:
    response = client.get("/sources/nope")
    assert response.status_code == 404
    assert "There is no source named “nope”" in Page(response.text).text
    assert 'href="/"' in response.text  # a way back


# --- statement ----------------------------------------------------------------------------------


def test_statement_page_is_a_timeline_with_links_to_each_diff(
    client: AsgiClient,
    ui_state: UiState,  # noqa: F811
) -> None:
    page = Page(client.get(f"/statement?url={q(ui_state.corp_url)}").text)
    text = page.text
    assert text.index("Version 3") < text.index("Version 2") < text.index("Version 1")
    assert "1 modified · 1 removed · similarity 91.02%" in text
    assert "first version recorded" in text
    pairs = {
        (d["from"][0], d["to"][0])
        for d in (parse_qs(urlsplit(link).query) for link in page.links_to("/diff"))
    }
    assert pairs == {("1", "2"), ("2", "3"), ("1", "3")}  # each change, and v1 to the latest
    assert ("form", "action", "/diff") in page.attributes
    assert "Show the 5 paragraphs" in text  # the latest text


def test_statement_url_is_found_when_not_canonical(
    client: AsgiClient,
    ui_state: UiState,  # noqa: F811
) -> None:
    tracked = f"{ui_state.corp_url}?utm_source=newsletter#top"
    response = client.get(f"/statement?url={q(tracked)}")
    assert response.status_code == 200
    assert CORP_TITLE in response.text


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/statement?url=https%3A%2F%2Fexample.org%2Fnone", 404, "No statement is tracked at"),
        ("/statement", 400, "Say which statement"),
        ("/statement?url=x&source=corp", 404, "in source “corp”"),
    ],
)
def test_statement_errors(client: AsgiClient, path: str, status: int, message: str) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert message in Page(response.text).text


# --- diff ---------------------------------------------------------------------------------------


def test_diff_defaults_to_the_latest_change(client: AsgiClient, ui_state: UiState) -> None:  # noqa: F811
    response = client.get(f"/diff?url={q(ui_state.corp_url)}")
    assert response.status_code == 200
    html = response.text
    text = Page(html).text
    assert "version 2" in text and "version 3" in text
    assert "1 modified · 1 added · 1 moved" in text
    assert html.count("<del>spring</del>") == 2 and html.count("<ins>autumn</ins>") == 2
    assert "¶2 moved here from ¶3" in text and "¶3 moved from here to ¶2" in text
    assert 'id="diff-inline"' in html and 'id="diff-side"' in html
    assert 'href="#diff-side"' in html
    page = Page(html)
    earlier = [link for link in page.links_to("/diff") if "from=1&to=2" in link]
    assert earlier, "a link to the earlier change"


def test_diff_between_any_two_versions(client: AsgiClient, ui_state: UiState) -> None:  # noqa: F811
    html = client.get(f"/diff?url={q(ui_state.corp_url)}&from=1&to=3").text
    assert "<del>Both companies will continue" in html  # removed by the 1 → 2 change
    assert "<ins>autumn</ins>" in html  # from the 2 → 3 change
    only_to = Page(client.get(f"/diff?url={q(ui_state.corp_url)}&to=2").text).text
    assert "version 1" in only_to and "1 modified · 1 removed" in only_to


def test_diff_permalink_of_alerts_needs_only_url_from_and_to(
    client: AsgiClient,
    ui_state: UiState,  # noqa: F811
) -> None:
    response = client.get(f"/diff?url={q(ui_state.corp_url)}&from=1&to=2")
    assert response.status_code == 200
    assert "<del>an independent</del><ins>a</ins>" in response.text


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("&from=1&to=9", 404, "has no version 9: it has versions 1 to 3"),
        ("&from=7", 404, "has no version 7"),
        ("&from=two", 400, "“from” must be a version number"),
        ("&to=0", 400, "“to” must be a version number from 1 up"),
    ],
)
def test_diff_errors(
    client: AsgiClient,
    ui_state: UiState,  # noqa: F811
    query: str,
    status: int,
    message: str,
) -> None:
    response = client.get(f"/diff?url={q(ui_state.corp_url)}{query}")
    assert response.status_code == status
    assert message in Page(response.text).text


def test_unknown_statement_diff_is_404(client: AsgiClient) -> None:
    response = client.get("/diff?url=https%3A%2F%2Fexample.org%2Fgone&from=1&to=2")
    assert response.status_code == 404
    assert "No statement is tracked at https://example.org/gone" in Page(response.text).text


def test_unknown_page_is_our_404(client: AsgiClient) -> None:
    response = client.get("/wp-admin/")
    assert response.status_code == 404
    assert "There is no page at /wp-admin/" in Page(response.text).text
    assert client.request("POST", "/").status_code == 405


# --- events -------------------------------------------------------------------------------------


def event_kinds(client: AsgiClient, query: str) -> list[str]:
    page = Page(client.get(f"/events{query}").text)
    classes = [v for tag, name, v in page.attributes if tag == "tr" and name == "class"]
    return [c.removeprefix("event-") for c in classes if c and c.startswith("event-")]


def test_events_lists_everything_newest_first(
    client: AsgiClient,
    ui_state: UiState,  # noqa: F811
) -> None:
    kinds = event_kinds(client, "")
    # the broken source's three failed checks in a row are one row
    assert sorted(kinds) == sorted(["baseline"] * 2 + ["changed"] * 3 + ["error"])
    # ... which sits where its latest error is among the stored events, newest first (which
    # check of a run is recorded first depends on which finishes first)
    stored = [e.kind for e in ui_state.store().events(limit=100)]
    assert kinds.index("error") == stored.index("error")
    assert [k for k in kinds if k != "error"] == [k for k in stored if k != "error"]


def test_repeated_errors_of_a_source_are_one_row_with_a_count(client: AsgiClient) -> None:
    html = client.get("/events?type=error").text
    rows = re.findall(r'<tr class="event-error[^"]*">(.*?)</tr>', html, re.S)
    assert len(rows) == 1
    text = Page(rows[0]).text
    assert "×3" in text and "3 failed checks in a row" in text and "first" in text
    assert "HTTP 500" in text
    # the source's page collapses them too
    source = Page(client.get("/sources/broken").text).text
    assert source.count("×3") == 1


def test_events_filters(client: AsgiClient) -> None:
    assert event_kinds(client, "?source=corp") == ["changed", "changed", "baseline"]
    assert event_kinds(client, "?type=error") == ["error"]  # three, collapsed
    assert event_kinds(client, "?source=corp&type=changed") == ["changed"] * 2
    tomorrow = (utcnow() + dt.timedelta(days=1)).date().isoformat()
    yesterday = (utcnow() - dt.timedelta(days=1)).date().isoformat()
    assert event_kinds(client, f"?since={tomorrow}") == []
    assert len(event_kinds(client, f"?since={yesterday}")) == 6
    # a submitted form with blank fields is no filter
    assert len(event_kinds(client, "?source=&type=&since=")) == 6


def test_events_form_keeps_the_filters(client: AsgiClient) -> None:
    page = Page(client.get("/events?source=corp&type=changed").text)
    assert ("form", "action", "/events") in page.attributes
    assert ("form", "method", "get") in page.attributes
    html = client.get("/events?source=corp&type=changed").text
    assert '<option value="corp" selected>' in html
    assert '<option value="changed" selected>' in html
    assert "of corp of type changed" in page.text


def test_events_limit_and_more(client: AsgiClient) -> None:
    page = Page(client.get("/events?limit=2").text)
    assert len(event_kinds(client, "?limit=2")) == 2
    assert "The latest 2 events" in page.text
    more = [link for link in page.links_to("/events") if "limit=4" in link]
    assert more


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?type=exploded", "Unknown event type 'exploded'"),
        ("?since=yesterday", "Cannot read the date 'yesterday'"),
        ("?limit=many", "The limit must be a whole number"),
    ],
)
def test_events_bad_filters_are_400(client: AsgiClient, query: str, message: str) -> None:
    response = client.get(f"/events{query}")
    assert response.status_code == 400
    assert message in Page(response.text).text


# --- feed ---------------------------------------------------------------------------------------


def test_feed_is_valid_atom_of_changes(client: AsgiClient, ui_state: UiState) -> None:  # noqa: F811
    response = client.get("/feed.xml")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert len(feed.entries) == 3  # the changes, not baselines or errors
    titles = [entry.title for entry in feed.entries]
    assert f"changed: {HOSTILE_TITLE}" in titles  # hostile text comes back as text
    for entry in feed.entries:
        link = urlsplit(entry.link)
        assert (link.scheme, link.netloc, link.path) == ("http", "testserver", "/diff")
        assert entry.id.startswith("urn:uuid:")
    newest = feed.entries[0]
    assert "<del>spring</del>" in newest.content[0].value
    assert "<ins>autumn</ins>" in newest.content[0].value
    assert len({entry.id for entry in feed.entries}) == 3
    # entries are stable: the same ids on the next fetch
    again = feedparser.parse(client.get("/feed.xml").content)
    assert [e.id for e in again.entries] == [e.id for e in feed.entries]


def test_feed_of_one_source(client: AsgiClient) -> None:
    feed = feedparser.parse(client.get("/feed.xml?source=hostile").content)
    assert not feed.bozo
    assert [entry.title for entry in feed.entries] == [f"changed: {HOSTILE_TITLE}"]


def test_feed_links_to_the_public_url(ui_state: UiState) -> None:  # noqa: F811
    store = ui_state.store()
    config = ui_state.config()
    defaults = config.defaults.model_copy(update={"public_url": "https://mon.example/"})
    config = config.model_copy(update={"defaults": defaults})
    client = AsgiClient(create_ui(lambda: store, lambda: config))
    feed = feedparser.parse(client.get("/feed.xml").content)
    assert all(entry.link.startswith("https://mon.example/diff?") for entry in feed.entries)


# --- hostile text -------------------------------------------------------------------------------


def test_hostile_text_is_escaped_in_every_page(client: AsgiClient, ui_state: UiState) -> None:  # noqa: F811
    for path in page_paths(ui_state):
        html = client.get(path).text
        assert SCRIPT not in html and IMG not in html and QUOTES not in html, path
        assert "onerror=alert(1)>" not in html
    html = client.get(f"/diff?url={q(ui_state.hostile_url)}").text
    page = Page(html)
    assert "script" not in page.tags and "img" not in page.tags and "b" not in page.tags
    for hostile in (SCRIPT, IMG, QUOTES):
        assert hostile in page.text  # shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.fixture
def odd_state(tmp_path: Path) -> Store:
    """A state the pipeline would rarely produce: hostile URLs, credentials, control chars."""
    store = Store.open(tmp_path / "state")
    at = utcnow()
    one = "https://example.org/one"
    js = "javascript:alert(1)"
    title = "Control\x01chars\x0b and <script>alert(1)</script>"
    store.save_check(
        SourceUpdate(
            name="odd",
            url="https://user:secret@example.org/news/",
            kind="index",
            checked_at=at,
            statements=[
                NewVersion(
                    one,
                    snapshot(title, "First paragraph.\n\nSecond paragraph."),
                    base_version=0,
                    fetched=NOT_FETCHED,
                    events=[Event("baseline", "odd", one, title=title, version=1, at=at)],
                ),
                Discovered(
                    js,
                    "new",
                    title="Pending <b>bold</b>",
                    events=[
                        Event("moved", "odd", js, title="Moved", version=1, moved_from=js, at=at),
                        Event("error", "odd", js, error="failed <img src=x onerror=alert(1)>"),
                    ],
                ),
            ],
        )
    )
    store.save_check(
        SourceUpdate(name="gone", url="https://example.org/gone/", kind="page", checked_at=at)
    )
    return store


def test_odd_state_is_shown_safely(odd_state: Store) -> None:
    config = config_of(
        {"name": "odd", "url": "https://example.org/news/", "kind": "index"},
        {"name": "fresh", "url": "https://example.org/fresh", "kind": "page"},
    )
    client = AsgiClient(create_ui(lambda: odd_state, lambda: config))
    dashboard = Page(client.get("/").text)
    assert "not checked yet" in dashboard.text  # fresh
    assert "not in the configuration" in dashboard.text  # gone
    assert "secret" not in client.get("/").text  # the state's URL carries a password
    for path in ["/", "/events", "/sources/odd", "/sources/gone", "/sources/fresh"]:
        response = client.get(path)
        assert response.status_code == 200, path
        page = Page(response.text)
        for link in page.links:
            assert not link.lower().startswith("javascript"), (path, link)
        assert "img" not in page.tags and "b" not in page.tags
    pending = client.get(f"/statement?url={q('javascript:alert(1)')}")
    assert pending.status_code == 200
    assert "No version stored yet" in Page(pending.text).text
    assert client.get(f"/diff?url={q('javascript:alert(1)')}").status_code == 404
    single = Page(client.get(f"/diff?url={q('https://example.org/one')}").text).text
    assert "only one version so far" in single
    assert "no changes" in single


def test_feed_drops_characters_xml_cannot_carry(odd_state: Store) -> None:
    at = utcnow()
    url = "https://example.org/one"
    title = "Edited\x01 \x1b[2J <script>alert(1)</script> \ufffe"
    odd_state.save_check(
        SourceUpdate(
            name="odd",
            url="https://example.org/news/",
            kind="index",
            checked_at=at,
            statements=[
                NewVersion(
                    url,
                    snapshot(title, "First paragraph.\n\nSecond paragraph\x02 edited."),
                    base_version=1,
                    fetched=NOT_FETCHED,
                    events=[Event("changed", "odd", url, title=title, version=2, at=at)],
                )
            ],
        )
    )
    client = AsgiClient(create_ui(lambda: odd_state, lambda: config_of()))
    body = client.get("/feed.xml").content
    assert b"\x01" not in body and b"\x1b" not in body and b"\x02" not in body
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.entries[0].title.strip() == "changed: Edited [2J <script>alert(1)</script>"


# --- the app as the daemon uses it --------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/review"])
def test_links_work_when_mounted(ui_state: UiState, prefix: str) -> None:  # noqa: F811
    """As the daemon mounts it (at "/", after its own routes), or under a prefix."""
    store, config = ui_state.store(), ui_state.config()
    ui = create_ui(lambda: store, lambda: config)
    healthz = Route("/healthz", lambda _request: PlainTextResponse("ok"))
    client = AsgiClient(Starlette(routes=[healthz, Mount(prefix or "/", app=ui)]))
    assert client.get("/healthz").text == "ok"
    page = Page(client.get(f"{prefix}/").text)
    assert page.links_to(f"{prefix}/sources/corp")
    assert all(link.startswith((f"{prefix}/", "http")) for link in page.links), page.links
    assert client.get(f"{prefix}/sources/corp").status_code == 200
    assert client.get(f"{prefix}/nope").status_code == 404
    css = [v for tag, name, v in page.attributes if tag == "link" and name == "href"]
    assert any(v and v.startswith(f"{prefix}/static/style.css?v=") for v in css)


def test_an_unexpected_failure_is_a_500_page_with_the_headers(ui_state: UiState) -> None:  # noqa: F811
    store = ui_state.store()

    def config_that_breaks() -> Config:
        raise RuntimeError("boom <script>")

    client = AsgiClient(create_ui(lambda: store, config_that_breaks), raise_errors=False)
    response = client.get("/")
    assert response.status_code == 500
    assert "failed to render" in response.text
    assert "boom" not in response.text  # details go to the log, not to the page
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_unreadable_state_is_a_503_page() -> None:
    def broken_store() -> Store:
        raise StoreError("cannot open the state database: disk I/O error")

    client = AsgiClient(create_ui(broken_store, lambda: config_of()))
    response = client.get("/")
    assert response.status_code == 503
    assert "disk I/O error" in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_config_is_read_on_every_request(ui_state: UiState) -> None:  # noqa: F811
    store = ui_state.store()
    configs = [config_of(), ui_state.config()]
    client = AsgiClient(create_ui(lambda: store, lambda: configs[-1]))
    assert "every 1h" in client.get("/").text
    configs.append(config_of())  # e.g. SIGHUP removed every source
    text = Page(client.get("/").text).text
    assert "every 1h" not in text
    assert re.search(r"not in the configuration", text)


# --- search and unread marks on the dashboard -------------------------------------------------


@pytest.mark.parametrize(
    ("query", "sources", "statements"),
    [
        ("corp", ["corp"], [CORP_TITLE]),  # a source's name (and its statements)
        ("RESEARCH partnership", [], [CORP_TITLE]),  # a title, whatever its case
        ("/news/hostile", ["hostile"], [HOSTILE_TITLE]),  # a URL
        ("nothing-like-this", [], []),
    ],
)
def test_dashboard_search_finds_sources_and_statements(
    client: AsgiClient, query: str, sources: list[str], statements: list[str]
) -> None:
    html = client.get(f"/?q={quote(query)}").text
    page = Page(html)
    listed = re.findall(r'<tr class="source-\w+[^"]*">\s*<td data-label="Source" class="main">\s*'
                        r'<div class="title"><a href="/sources/([^"]+)"', html)  # fmt: skip
    assert listed == sources
    for title in statements:
        assert title in page.text
    if not statements:
        assert f"No statement matches “{query}”" in page.text
    assert f'value="{query}"' in html  # the form shows the search back
    for row in re.findall(r'<tr class="event-[^"]*">(.*?)</tr>', html, re.S):
        assert any(t in Page(row).text for t in statements)  # recent changes narrowed too


def test_dashboard_marks_changes_since_the_last_visit(client: AsgiClient) -> None:
    first = client.get("/")
    assert "new since your last visit" not in first.text  # a first visit marks nothing
    seen = int(first.cookies["seen"])
    changes = re.findall(r'<tr class="event-(\w+)', first.text)
    assert changes and set(changes) <= {"changed", "new", "moved", "removed"}

    again = client.get("/", headers={"Cookie": f"seen={seen}"})
    assert "new since your last visit" not in again.text
    assert "seen" not in again.cookies  # nothing newer: the cookie stays as it is

    # Seen before the last two events: the changes among them are marked, and counted.
    earlier = client.get("/", headers={"Cookie": f"seen={seen - 2}"})
    marked = re.findall(r'<tr class="event-\w+ unread">', earlier.text)
    assert 1 <= len(marked) <= 2
    assert f"{len(marked)} new since your last visit" in Page(earlier.text).text
    assert earlier.cookies["seen"] == str(seen)
    assert client.get("/", headers={"Cookie": "seen=junk"}).status_code == 200
