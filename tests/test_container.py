"""The learned statement container: noise outside it is skipped, any edit inside is not."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import check_json, source_table, write_config
from pages import PARTNERSHIP, Noise, press_release
from selectolax.lexbor import LexborHTMLParser

import monitor.check.pipeline as pipeline
from monitor.extract.article import extract_article
from monitor.extract.container import _css_path, _element_at, container_digest, learn_container

TITLE = "Example Corp and Sample Industries announce research partnership"
PAGE = press_release(TITLE, PARTNERSHIP)


def learned(html: str) -> tuple[str, str]:
    found = learn_container(html, extract_article(html))
    assert found is not None
    return found


def body_edit(old: str, new: str) -> str:
    """The page with one edit inside the statement's body."""
    edited = [p.replace(old, new, 1) for p in PARTNERSHIP]
    assert edited != PARTNERSHIP
    return press_release(TITLE, edited)


def test_container_holds_the_statement_and_not_the_page_chrome():
    path, _ = learned(PAGE)
    last_step = path.rsplit(">", 1)[-1]
    assert "body" not in last_step and "main" not in last_step


# Pages whose statement reads as before: the digest stays, so extraction is skipped.
NOISE: dict[str, Callable[[str], str]] = {
    "timestamp, views, ad slot and sidebar": lambda _: press_release(
        TITLE,
        PARTNERSHIP,
        Noise(views=9, rendered_at="tomorrow", ad_slot="ad-7", most_read=["Other story"]),
    ),
    "related posts and the main wrapper's class": lambda _: press_release(
        TITLE, PARTNERSHIP, Noise(related=["A new related post"], wrapper_class="content v2")
    ),
    "a class added to a body paragraph (markup only)": lambda page: page.replace(
        "<p>Under", '<p class="lead">Under', 1
    ),
    "indentation inside the body": lambda page: page.replace("        <p>", "<p>"),
}


@pytest.mark.parametrize("noise", NOISE.values(), ids=NOISE.keys())
def test_noise_around_or_in_the_markup_keeps_the_digest(noise: Callable[[str], str]):
    path, digest = learned(PAGE)
    assert container_digest(noise(PAGE), path) == digest


# Pages whose statement or headline changed: the digest must change (or the container be
# gone), so the check extracts and compares in full. Each case: the page before, after.
MINIFIED = press_release(TITLE, ["Part one ends here", *PARTNERSHIP]).replace(
    "here</p>\n        <p>", "here</p><p>"
)
# A logo heading before the headline's, outside the statement's container.
LOGO_PAGE = PAGE.replace("<nav>", "<h1>Example Corp Newsroom</h1><nav>", 1)
# The headline from metadata only (no <h1>), under the attribute names sites also use.
_NO_H1 = PAGE.replace(f"<h1>{TITLE}</h1>", "").replace(f"<title>{TITLE} | ", "<title>")
TWITTER_PAGE = _NO_H1.replace('property="og:title"', 'property="twitter:title"')
CAPITALS_PAGE = _NO_H1.replace('property="og:title"', 'name="OG:TITLE"')
# "Headline - Example Corp Newsroom" whose site name is given: only then is the name cut off.
SITE_NAME_PAGE = _NO_H1.replace(
    f'<meta property="og:title" content="{TITLE}">',
    '<meta property="og:site_name" content="Example Corp Newsroom">',
).replace("<title>", f"<title>{TITLE} - ")
EDITS: dict[str, tuple[str, str]] = {
    "one word of the body": (PAGE, body_edit("multi-year", "multiyear")),
    "one digit of the body": (PAGE, body_edit("2027", "2028")),
    "a sentence removed": (
        PAGE,
        body_edit(" Financial terms of the agreement were not disclosed.", ""),
    ),
    "a paragraph added": (PAGE, press_release(TITLE, [*PARTNERSHIP, "A new closing line."])),
    "a space inside a word": (PAGE, body_edit("infrastructure", "infra structure")),
    "a word moved to the next paragraph, no whitespace between paragraphs": (
        MINIFIED,
        MINIFIED.replace("here</p><p>", "</p><p>here"),
    ),
    "the headline": (PAGE, press_release(TITLE + ".", PARTNERSHIP)),
    "the headline in the <h1> only": (
        PAGE,
        PAGE.replace(f"<h1>{TITLE}</h1>", f"<h1>{TITLE} (updated)</h1>"),
    ),
    "the og:title only": (PAGE, PAGE.replace(f'content="{TITLE}"', f'content="{TITLE}, revised"')),
    "a word inside a link of the body": (
        PAGE,
        PAGE.replace("dedicated capacity", 'dedicated <a href="/c">spare capacity</a>'),
    ),
    "a space removed where a link of the body starts": (
        PAGE.replace("dedicated capacity", 'dedicated <a href="/c">capacity</a>'),
        PAGE.replace("dedicated capacity", 'dedicated<a href="/c">capacity</a>'),
    ),
}
# Each place the extractor reads the headline from (`monitor.extract.article._title`: every
# <h1>, the metadata titles by either attribute in any case, the site's name it strips off),
# edited alone: the extracted title changes, and so must the digest.
HEADLINE_SOURCES: dict[str, tuple[str, str]] = {
    "the headline in the second <h1>, the site's logo in the first": (
        LOGO_PAGE,
        LOGO_PAGE.replace(f"<h1>{TITLE}</h1>", f"<h1>{TITLE.replace('research', 'science')}</h1>"),
    ),
    "a twitter:title given by property=": (
        TWITTER_PAGE,
        TWITTER_PAGE.replace(f'content="{TITLE}"', f'content="{TITLE}, revised"'),
    ),
    "an og:title given by name=, in capitals": (
        CAPITALS_PAGE,
        CAPITALS_PAGE.replace(f'content="{TITLE}"', f'content="{TITLE}, revised"'),
    ),
    "the site's name, which the extractor strips from the title": (
        SITE_NAME_PAGE,
        SITE_NAME_PAGE.replace('content="Example Corp Newsroom"', 'content="Sample Media"'),
    ),
}


@pytest.mark.parametrize(("before", "after"), EDITS.values(), ids=EDITS.keys())
def test_any_edit_in_the_statement_or_its_headline_changes_the_digest(before: str, after: str):
    assert before != after
    path, digest = learned(before)
    assert container_digest(after, path) != digest


@pytest.mark.parametrize(("before", "after"), HEADLINE_SOURCES.values(), ids=HEADLINE_SOURCES)
def test_every_place_the_headline_is_read_from_is_in_the_digest(before: str, after: str):
    old, new = extract_article(before).title, extract_article(after).title
    assert old != new
    path, digest = learned(before)
    assert container_digest(after, path) != digest


def test_an_edit_of_the_visible_body_is_seen_when_the_page_also_hides_a_copy_of_it():
    # Pages repeat the body as plain text for search engines (microdata, hidden), and that
    # copy is the smallest element holding the statement's first and last words: a
    # container there never saw edits made to the visible paragraphs.
    copy = "\n".join(html.escape(p) for p in PARTNERSHIP)
    hidden = f'<div itemscope hidden><div itemprop="articleBody">{copy}</div></div>'
    page = PAGE.replace("</main>", f"{hidden}</main>").replace(
        '<div class="post-body">', '<div class="post-body"><script>track("body")</script>'
    )
    path, digest = learned(page)
    visible_edit = page.replace("<p>Under the agreement", "<p>Under the new agreement", 1)
    assert container_digest(visible_edit, path) != digest


def test_of_wrappers_holding_only_the_statement_the_outermost_is_the_holder():
    # The search reads from the end of the page and skips the wrappers around the
    # statement; it still settles on the outermost of equal text, as a search of the whole
    # page for the shortest holder does (tied lengths: the first in the page). The
    # container learned is the holder's parent.
    page = PAGE.replace(
        '<div class="post-body">', '<div id="outer"><div id="inner"><div class="post-body">'
    ).replace("</article>", "</div></div></article>")
    path, _ = learned(page)
    tree = LexborHTMLParser(page)
    container, outer = _element_at(tree, path.split(":", 1)[1]), tree.css_first("#outer")
    assert container is not None and outer is not None and outer.parent is not None
    assert container.mem_id == outer.parent.mem_id, path


# A paragraph added near the statement's body (beside its element, in its table, above the
# page's wrapper): the extractor reads it as part of the statement, so the digest must see
# it, wherever it lies.
NOTE = "Editor's note: this statement was corrected on 3 December to give the term."
# An older site's layout: the statement in a table cell, beside navigation and a sidebar.
TABLE_PAGE = (
    f"<html><head><title>{TITLE}</title></head><body>"
    '<div id="wrapper"><table class="layout"><tr><td class="nav"><ul>'
    + "".join(f'<li><a href="/n{i}">Section {i}</a></li>' for i in range(8))
    + f'</ul></td><td class="main"><h1>{TITLE}</h1>'
    + "".join(f"<p>{paragraph}</p>" for paragraph in PARTNERSHIP)
    + '</td><td class="side">'
    + "".join(f'<p><a href="/s{i}">Other story number {i} of the day</a></p>' for i in range(5))
    + '</td></tr><tr><td colspan="3">Copyright Example Corp</td></tr></table></div>'
    "<footer><p>Contact us</p></footer></body></html>"
)

# A bare release page: its one wrapper right below <body>.
BARE_PAGE = (
    f'<html><head><title>{TITLE}</title></head><body><div class="page"><h1>{TITLE}</h1>'
    '<div class="release">'
    + "".join(f"<p>{paragraph}</p>" for paragraph in PARTNERSHIP)
    + "</div></div></body></html>"
)

EDGE_EDITS: dict[str, str] = {
    "an editor's note after the body": PAGE.replace(
        "</div>\n      </article>", f"</div>\n<p>{NOTE}</p>\n      </article>", 1
    ),
    "an update above the body": PAGE.replace(
        '<div class="post-body">', f'<p class="update">{NOTE}</p><div class="post-body">', 1
    ),
    # The body inside a wrapper with more in it (the container): the note lands beside it.
    "a note beside the body's wrapper": PAGE.replace(
        '<div class="post-body">',
        '<div class="entry"><ul class="share"><li><a href="/s">Share</a></li></ul>'
        '<div class="post-body">',
        1,
    ).replace("</div>\n      </article>", f"</div></div>\n<p>{NOTE}</p>\n      </article>", 1),
    "a note in the body's table cell": TABLE_PAGE.replace(
        '</td><td class="side">', f'<p>{NOTE}</p></td><td class="side">', 1
    ),
    # Misplaced between two cells: lexbor moves it in front of the table, where a container
    # inside the table misses it; lxml, and so the extractor, reads it in place.
    "a note written between the table's cells": TABLE_PAGE.replace(
        '<td class="side">', f'<p>{NOTE}</p><td class="side">', 1
    ),
    # Outside the container, right below <body>: the extractor reads it as the statement's
    # first paragraph.
    "a notice above the page's wrapper": BARE_PAGE.replace(
        '<div class="page">', f'<p>{NOTE}</p><div class="page">', 1
    ),
    # The same notice as a quote or as preformatted text: read too, and no <p> was added.
    "a quoted notice above the page's wrapper": BARE_PAGE.replace(
        '<div class="page">', f'<blockquote>{NOTE}</blockquote><div class="page">', 1
    ),
    "a preformatted notice above the page's wrapper": BARE_PAGE.replace(
        '<div class="page">', f'<pre>{NOTE}</pre><div class="page">', 1
    ),
}
# The note as EDGE_EDITS add it, in each of its forms (removed to get the page before).
_NOTE_ADDED = re.compile(rf'<(p|blockquote|pre)(?: class="update")?>{re.escape(NOTE)}</\1>')


@pytest.mark.parametrize("edited", EDGE_EDITS.values(), ids=EDGE_EDITS)
def test_a_paragraph_added_near_the_body_that_the_extractor_reads_changes_the_digest(
    edited: str,
):
    before = _NOTE_ADDED.sub("", edited)
    assert NOTE in extract_article(edited).text and NOTE not in extract_article(before).text
    path, digest = learned(before)
    assert container_digest(edited, path) != digest


def test_a_path_stored_by_an_older_version_of_the_container_gives_no_digest():
    # `css:` paths named the smallest holder, whose digest missed paragraphs added beside
    # it: such a page is extracted once and its container learned anew.
    path, _ = learned(PAGE)
    assert path.startswith("css2:")
    holder = 'css:html > body > main > article > div[class="post-body"]'
    assert container_digest(PAGE, holder) is None


def test_the_tree_kept_from_the_last_digest_serves_only_that_same_page():
    # A changed page is digested, then learned from the same text: its tree is parsed once.
    # Any other text, even an equal copy, is parsed afresh.
    path, digest = learned(PAGE)
    edited = body_edit("open infrastructure", "closed infrastructure")
    assert container_digest(edited, path) != digest
    assert learned(PAGE) == (path, digest)
    assert learned(edited)[1] == container_digest(edited, path) != digest


# Pages whose every element a path is written for and read back.
PATH_PAGES: dict[str, str] = {
    "a press release": LOGO_PAGE,
    "ids, one given twice, and nested wrappers": PAGE.replace(
        '<div class="post-body">',
        '<div id="a"><div id="b"><div class="post-body">',
    )
    .replace("</article>", "</div></div></article>")
    .replace("<footer", '<div id="a"><div></div><div>twice</div></div><footer'),
    "svg, tables and an id anchored deep": (
        '<html><body><div id="x.1:y"><table><tr><td><svg><title>icon</title></svg></td>'
        "<td><div>cell</div><div>cell two</div></td></tr></table></div>"
        "<section><div><div>deep</div></div></section></body></html>"
    ),
}


@pytest.mark.parametrize("page", PATH_PAGES.values(), ids=PATH_PAGES)
def test_a_path_is_read_back_as_the_css_engine_reads_it(page: str):
    # Paths are walked step by step rather than handed to lexbor's CSS engine (cheaper):
    # for every element, the walk finds what the engine finds for its path.
    tree = LexborHTMLParser(page)
    for node in tree.css("*"):
        path = _css_path(node)
        walked, matched = _element_at(tree, path), tree.css(path)
        expected = matched[0] if len(matched) == 1 else None
        assert (walked and walked.mem_id) == (expected and expected.mem_id), path
        if path.startswith("html") or path.count('[id="a"]') == 0:
            assert walked is not None and walked.mem_id == node.mem_id, path


def test_a_statement_in_a_table_right_below_body_is_always_extracted_in_full():
    # What is written between its cells would be moved out of the table, into <body>: no
    # element below <body> could hold it, so no container is learned.
    page = TABLE_PAGE.replace('<div id="wrapper">', "").replace("</table></div>", "</table>")
    assert NOTE not in page and learn_container(page, extract_article(page)) is None
    assert learned(TABLE_PAGE)[0] == 'css2:[id="wrapper"]'


def test_a_container_that_is_gone_gives_no_digest():
    path, _ = learned(PAGE)
    assert container_digest("<html><body><p>Redesigned</p></body></html>", path) is None
    assert container_digest("", path) is None


def test_a_path_stored_by_an_older_version_gives_no_digest():
    # Older versions stored XPaths: the page is then extracted once and learned anew.
    assert container_digest(PAGE, "/html/body/main/article/div") is None


def test_the_container_is_anchored_at_an_id_and_survives_a_wrapper_added_above_it():
    page = PAGE.replace('<article class="post">', '<article class="post" id="story">')
    path, digest = learned(page)
    assert re.search(r'\[id="story"\]', path)
    wrapped = page.replace("<main", '<div class="shell"><main').replace("</main>", "</main></div>")
    assert container_digest(wrapped, path) == digest


def test_hostile_markup_gives_a_digest_or_none_never_an_error():
    path, _ = learned(PAGE)
    for page in ("\x00", "<" * 10_000, "<html><body>\ud800</body></html>", "<div>" * 5_000):
        assert container_digest(page, path) is None or isinstance(container_digest(page, path), str)


def test_monitor_check_skips_extraction_for_noise_and_still_reports_every_edit(
    tmp_path: Path, http_server: Any, monkeypatch: pytest.MonkeyPatch
):
    extractions: list[str] = []
    real = pipeline.read_statement

    def counted(html: str, *args: Any, **kwargs: Any) -> Any:
        extractions.append(html)
        return real(html, *args, **kwargs)

    monkeypatch.setattr(pipeline, "read_statement", counted)
    config = write_config(tmp_path, source_table("news", http_server.url("/s")))
    state = tmp_path / "state"

    def check(page: str) -> list[dict[str, Any]]:
        http_server.page("/s", page)
        extractions.clear()
        return check_json(config, state)[1]

    assert [e["event"] for e in check(PAGE)] == ["baseline"]
    # Noise around the statement and markup-only noise inside it: silent, no extraction.
    noisy = NOISE["a class added to a body paragraph (markup only)"](
        press_release(TITLE, PARTNERSHIP, Noise(views=7, rendered_at="later"))
    )
    assert check(noisy) == [] and extractions == []
    # An edit inside the body and one of the headline alone: both found, in full.
    edited = noisy.replace("multi-year", "multiyear")
    (body_change,) = check(edited)
    assert body_change["event"] == "changed" and len(extractions) == 1
    assert "multiyear" in json.dumps(body_change["changes"])
    retitled = (
        edited.replace(f"<h1>{TITLE}</h1>", f"<h1>{TITLE} (updated)</h1>")
        .replace(f"<title>{TITLE}", f"<title>{TITLE} (updated)")
        .replace(f'content="{TITLE}"', f'content="{TITLE} (updated)"')
    )
    (headline,) = check(retitled)
    assert headline["event"] == "changed"
    assert "title" in [c["part"] for c in headline["changes"] if "part" in c]


def the_change(tmp_path: Path, http_server: Any, before: str, after: str) -> dict[str, Any]:
    """The one event of a `monitor check` of `after`, the check before it having recorded
    `before` as its baseline; asserted to be `changed`."""
    config = write_config(tmp_path, source_table("news", http_server.url("/s")))
    state = tmp_path / "state"
    http_server.page("/s", before)
    assert [e["event"] for e in check_json(config, state)[1]] == ["baseline"]
    http_server.page("/s", after)
    (changed,) = check_json(config, state)[1]
    assert changed["event"] == "changed"
    return dict(changed)


def test_monitor_check_reports_a_quiet_edit_of_a_headline_that_follows_the_logos_h1(
    tmp_path: Path, http_server: Any
):
    # Only the visible headline changes: not the body, not the metadata, not the logo's
    # <h1> before it. The extractor reads it; the digest must not skip the page.
    retitled = LOGO_PAGE.replace(f"<h1>{TITLE}</h1>", f"<h1>{TITLE} ended</h1>")
    assert the_change(tmp_path, http_server, LOGO_PAGE, retitled)["title"] == f"{TITLE} ended"


@pytest.mark.parametrize(
    "where",
    [
        "an editor's note after the body",
        "a note written between the table's cells",
        "a notice above the page's wrapper",
        "a quoted notice above the page's wrapper",
    ],
)
def test_monitor_check_reports_an_editors_note_added_near_the_body(
    tmp_path: Path, http_server: Any, where: str
):
    noted = EDGE_EDITS[where]
    before = _NOTE_ADDED.sub("", noted)
    assert NOTE in json.dumps(the_change(tmp_path, http_server, before, noted)["changes"])
