"""Find the statements a listing points to: links on a newsroom index page, items of a feed."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from monitor.sources.urls import canonical_url, same_site

if TYPE_CHECKING:  # loaded by links_from_feed: an index page without a feed needs none of it
    import feedparser


class DiscoveryError(Exception):
    """The listing could not be read, or holds no statement links (message for people)."""


@dataclass(frozen=True)
class Link:
    """A statement found on a listing, in listing order."""

    url: str  # canonical
    title: str | None = None
    published: dt.date | None = None
    summary: str | None = None  # a feed item's own text, used when its page yields none


# Page regions that hold navigation rather than the listing itself.
_CHROME_TAGS = ("nav", "header", "footer", "aside", "form", "script", "style", "noscript")
_CHROME_WORDS = re.compile(
    r"(^|[\s_-])(nav|navbar|navigation|menu|breadcrumbs?|pagination|pager|paging|footer|"
    r"header|masthead|sidebar|side-bar|widget|share|sharing|social|cookie|consent|banner|"
    r"related|popular|most-read|mostread|trending|tags?|tag-cloud|newsletter|subscribe|"
    r"skip-link|site-links)($|[\s_-])",
    re.IGNORECASE,
)
# Links to pages that list or describe, rather than state.
_NOT_A_STATEMENT = re.compile(
    r"/(tags?|topics?|categor(y|ies)|authors?|people|search|feed|rss|atom|login|signin|"
    r"sign-in|register|subscribe|newsletter|privacy|terms|cookies?|legal|contact|careers|jobs|"
    r"about|archive|archives|page)(/|$)|[?&](page|p|tag|category|author|s|q)=|/page/\d+",
    re.IGNORECASE,
)
_FILE_EXTENSION = re.compile(
    r"\.(jpe?g|png|gif|svg|webp|ico|css|js|json|xml|zip|gz|mp4|mp3|woff2?|ttf)$", re.IGNORECASE
)
_MAIN_XPATH = "//main | //*[@role='main'] | //*[@id='main' or @id='content' or @id='main-content']"


def links_from_index(html: str, base_url: str, selector: str | None = None) -> list[Link]:
    """Statement links on a newsroom listing, in listing order, without duplicates.

    With a CSS `selector`, the matching `<a>` elements (or the links inside matching elements).
    Without one: same-site links inside the page's main content, leaving out navigation,
    headers, footers, sidebars, pagination and tag/author/category pages.
    """
    tree = _parse(html)
    if tree is None:
        return []
    base = _base_url(tree, base_url)
    anchors = (
        _selected_anchors(html, selector)
        if selector
        else [(a.get("href"), _anchor_text(a)) for a in _content_anchors(tree)]
    )
    index = canonical_url(base_url)
    links: dict[str, Link] = {}
    for href, text in anchors:
        url = _statement_url(href, base, index, require_same_site=not selector)
        if url is None:
            continue
        known = links.get(url)
        if known is None:
            links[url] = Link(url=url, title=text or None)
        elif text and len(text) > len(known.title or ""):
            links[url] = Link(url=url, title=text)  # prefer the headline over "Read more"
    if selector:
        return list(links.values())
    # A statement link carries a headline; a bare "More" or an icon alone is chrome.
    return [link for link in links.values() if link.title and len(link.title) >= 12]


def feed_url_of(html: str, base_url: str) -> str | None:
    """The RSS/Atom feed a page advertises with <link rel="alternate">, if any."""
    tree = _parse(html)
    if tree is None:
        return None
    for element in tree.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").lower()
        if "alternate" in rel and ("rss" in kind or "atom" in kind) and element.get("href"):
            return urljoin(_base_url(tree, base_url), element.get("href", ""))
    return None


def links_from_feed(content: bytes | str, base_url: str) -> list[Link]:
    """The items of an RSS 0.9x/1.0/2.0 or Atom feed, in feed order, one per statement.

    Items are identified by their link (canonicalised); an item without a link uses its
    guid when that is a URL. Raises DiscoveryError when the content is not a feed.
    """
    import feedparser

    parsed = feedparser.parse(content, response_headers={"content-location": base_url})
    if not parsed.entries:
        if parsed.bozo and not parsed.get("version"):
            reason = parsed.get("bozo_exception")
            raise DiscoveryError(f"not an RSS or Atom feed ({reason})")
        if not parsed.get("version"):
            raise DiscoveryError("not an RSS or Atom feed")
        return []
    links: dict[str, Link] = {}
    for entry in parsed.entries:
        target = entry.get("link") or _url_like(entry.get("id"))
        if not target:
            continue
        url = canonical_url(urljoin(base_url, target))
        if url in links:
            continue  # duplicate guid or link: one statement
        links[url] = Link(
            url=url,
            title=_clean(entry.get("title")) or None,
            published=_entry_date(entry),
            summary=_feed_text(entry) or None,
        )
    return list(links.values())


# ---------------------------------------------------------------------------------------------


def _parse(html: str) -> lxml.html.HtmlElement | None:
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _base_url(tree: lxml.html.HtmlElement, page_url: str) -> str:
    base = tree.find(".//base[@href]")
    return urljoin(page_url, base.get("href", "")) if base is not None else page_url


def _selected_anchors(html: str, selector: str) -> list[tuple[str | None, str]]:
    """(href, text) of the links the `links` selector picks: the matched `<a>` elements and
    the links inside the other matched elements.

    The selector is read by soupsieve, the same CSS engine as the body `selector`, so both
    keys accept the same dialect.
    """
    from soupsieve import SelectorSyntaxError

    from monitor.extract.article import parse_soup

    try:
        matched = parse_soup(html).select(selector)
    except SelectorSyntaxError as exc:
        reason = str(exc).splitlines()[0]  # the rest repeats the selector with a caret
        raise DiscoveryError(f"links selector {selector!r} is not valid CSS: {reason}") from exc
    anchors: list[tuple[str | None, str]] = []
    for element in matched:
        found = [element] if element.name == "a" else element.find_all("a")
        for anchor in found:
            href = anchor.get("href")
            text = anchor.get_text() or anchor.get("title") or anchor.get("aria-label")
            anchors.append((href if isinstance(href, str) else None, _clean(str(text or ""))))
    return anchors


def _content_anchors(tree: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    roots = tree.xpath(_MAIN_XPATH) or [tree.body if tree.body is not None else tree]
    # the outermost main region only: nested matches would list links twice
    root = roots[0]
    return [a for a in root.iter("a") if not _in_chrome(a, root)]


def _in_chrome(element: lxml.html.HtmlElement, root: lxml.html.HtmlElement) -> bool:
    node = element
    while node is not None and node is not root:
        if node.tag in _CHROME_TAGS or node.get("role") in {"navigation", "banner", "contentinfo"}:
            return True
        marks = f"{node.get('class', '')} {node.get('id', '')}"
        if marks.strip() and _CHROME_WORDS.search(marks):
            return True
        if node.get("rel") and "tag" in node.get("rel", "").split():
            return True
        node = node.getparent()
    return False


def _statement_url(
    href: str | None, base: str, index: str, *, require_same_site: bool
) -> str | None:
    if not href:
        return None
    href = href.strip()
    if href.startswith(("#", "mailto:", "javascript:", "tel:", "data:")):
        return None
    absolute = urljoin(base, href)
    parts = urlsplit(absolute)
    if parts.scheme not in {"http", "https"}:
        return None
    url = canonical_url(absolute)
    if url == index or parts.path in {"", "/"}:
        return None
    if require_same_site and not same_site(url, index):
        return None
    if require_same_site and (_NOT_A_STATEMENT.search(url) or _FILE_EXTENSION.search(parts.path)):
        return None
    return url


def _anchor_text(anchor: lxml.html.HtmlElement) -> str:
    return _clean(anchor.text_content() or anchor.get("title") or anchor.get("aria-label"))


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _url_like(value: str | None) -> str | None:
    return value if value and re.match(r"^https?://", value) else None


def _entry_date(entry: feedparser.FeedParserDict) -> dt.date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return dt.date(value.tm_year, value.tm_mon, value.tm_mday)
    return None


def _feed_text(entry: feedparser.FeedParserDict) -> str:
    content = entry.get("content")
    raw = content[0].get("value", "") if content else entry.get("summary", "")
    if not raw:
        return ""
    tree = _parse(f"<div>{raw}</div>")
    if tree is None:
        return _clean(raw)
    blocks = [_clean(el.text_content()) for el in tree.iter("p", "li", "h2", "h3", "blockquote")]
    blocks = [b for b in blocks if b]
    return "\n\n".join(blocks) if blocks else _clean(tree.text_content())
