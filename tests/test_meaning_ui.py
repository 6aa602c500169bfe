"""What a change means, on the review UI's diff page and in the Atom feed (state built by
real `monitor check` runs, see ui_support)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import feedparser
import pytest
from ui_support import (  # noqa: F401
    IMG,
    SCRIPT,
    AsgiClient,
    UiState,
    loopback,
    snapshot,
    ui_state,
)

from monitor.clock import utcnow
from monitor.events import Event
from monitor.fetch import Validators
from monitor.review.app import create_ui
from monitor.state.records import Fetched, NewVersion, SourceUpdate
from monitor.state.store import Store


@pytest.fixture(scope="module")
def client(ui_state: UiState) -> AsgiClient:  # noqa: F811
    store, config = ui_state.store(), ui_state.config()
    return AsgiClient(create_ui(lambda: store, lambda: config))


def q(url: str) -> str:
    return quote(url, safe="")


class Findings(HTMLParser):
    """The findings list of a diff page (links and lines) and the text of every element id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[tuple[str | None, str]] = []  # (href, line)
        self.ids: dict[str, list[str]] = {}
        self._open: list[tuple[str, str | None]] = []  # (tag, id) of open elements
        self._in_meaning = False
        self._href: str | None = None
        self._line: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and "meaning" in (a.get("class") or ""):
            self._in_meaning = True
        if self._in_meaning and tag == "li":
            self._line, self._href = [], None
        if self._in_meaning and tag == "a":
            self._href = a.get("href")
        if tag not in ("br", "img", "input", "meta", "link"):
            self._open.append((tag, a.get("id")))
            if a.get("id"):
                self.ids[a["id"] or ""] = []

    def handle_endtag(self, tag: str) -> None:
        if self._in_meaning and tag == "li" and self._line is not None:
            self.findings.append((self._href, " ".join("".join(self._line).split())))
            self._line = None
        if tag == "section":
            self._in_meaning = False
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._line is not None:
            self._line.append(data)
        for _, element_id in self._open:
            if element_id:
                self.ids[element_id].append(data)

    def text_of(self, element_id: str) -> str:
        return " ".join("".join(self.ids[element_id]).split())


def test_diff_page_shows_the_findings_above_the_diff_linked_to_their_paragraphs(
    client: AsgiClient,
    ui_state: UiState,  # noqa: F811
) -> None:
    html = client.get(f"/diff?url={q(ui_state.corp_url)}&from=2&to=3").text
    page = Findings(html)
    assert [line for _, line in page.findings] == [
        '"in the spring of 2027" → "in the autumn of 2027" (date)',
        'sentence added: "Example Corp will publish a yearly report on the research the'
        ' partnership supports."',
    ]
    assert html.index('class="meaning"') < html.index('id="diff-side"')
    for href, _line in page.findings:
        assert href is not None and href.startswith("#")
        target = href[1:]
        assert target in page.ids, f"{href} points nowhere"
    date_target = page.findings[0][0] or ""
    assert "autumn of 2027" in page.text_of(date_target[1:])
    added_target = page.findings[1][0] or ""
    assert page.text_of(added_target[1:]).startswith("¶5 added Example Corp will publish")


def test_findings_are_made_for_any_two_versions(client: AsgiClient, ui_state: UiState) -> None:  # noqa: F811
    html = client.get(f"/diff?url={q(ui_state.corp_url)}&from=1&to=3").text
    lines = [line for _, line in Findings(html).findings]
    assert lines[0] == '"in the spring of 2027" → "in the autumn of 2027" (date)'
    assert any(line.startswith('sentence removed: "Both companies will continue') for line in lines)


def test_hostile_findings_are_text(client: AsgiClient, ui_state: UiState) -> None:  # noqa: F811
    html = client.get(f"/diff?url={q(ui_state.hostile_url)}").text
    page = Findings(html)
    lines = [line for _, line in page.findings]
    assert any(IMG in line and line.startswith("sentence removed:") for line in lines)
    assert any(SCRIPT in line and line.startswith("sentence added:") for line in lines)
    section = html[html.index('class="meaning"') : html.index("</section>")]
    assert "<img" not in section and "<script" not in section
    assert "&lt;img src=x onerror=alert(1)&gt;" in section
    for href, _ in page.findings:
        assert href is not None and href[1:] in page.ids


def test_a_diff_without_findings_has_no_findings_section(
    client: AsgiClient,
    ui_state: UiState,  # noqa: F811
) -> None:
    html = client.get(f"/diff?url={q(ui_state.corp_url)}&from=1&to=2").text
    assert [line for _, line in Findings(html).findings] == [
        'sentence removed: "Both companies will continue to work with other partners, and the'
        " agreement does not give either company exclusive rights to the other's te…\""
    ]
    same = client.get(f"/diff?url={q(ui_state.corp_url)}&from=2&to=2").text
    assert 'class="meaning"' not in same


def test_feed_entry_starts_with_the_findings(client: AsgiClient, ui_state: UiState) -> None:  # noqa: F811
    feed = feedparser.parse(client.get("/feed.xml").content)
    newest = feed.entries[0].content[0].value
    assert newest.lstrip().startswith("<ul>")
    items = re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', newest)
    assert [line for _, line in items] == [
        '"in the spring of 2027" → "in the autumn of 2027" (date)',
        'sentence added: "Example Corp will publish a yearly report on the research the'
        ' partnership supports."',
    ]
    for href, _ in items:
        link = urlsplit(href.replace("&amp;", "&"))
        assert link.path == "/diff" and re.fullmatch(r"p\d+", link.fragment)


def test_headline_finding_links_to_the_title(tmp_path) -> None:  # noqa: ANN001
    """A headline edit, stored as the pipeline would, is a finding linked to the page title."""
    store = Store.open(tmp_path / "state")
    url = "https://example.org/s"
    at = utcnow()
    for version, title in ((1, "Acme to cut 500 jobs"), (2, "Acme to cut 300 jobs")):
        kind = "baseline" if version == 1 else "changed"
        store.save_check(
            SourceUpdate(
                name="s",
                url=url,
                kind="page",
                checked_at=at,
                statements=[
                    NewVersion(
                        url,
                        snapshot(title, "Body."),
                        base_version=version - 1,
                        fetched=Fetched(Validators(), None),
                        events=[Event(kind, "s", url, version=version, at=at)],
                    )
                ],
            )
        )
    html = AsgiClient(create_ui(lambda: store, lambda: None)).get(f"/diff?url={q(url)}").text
    page = Findings(html)
    assert page.findings == [
        ("#diff-title", 'headline: "Acme to cut 500 jobs" → "Acme to cut 300 jobs"')
    ]
    assert page.text_of("diff-title") == "Acme to cut 300 jobs"
