"""Find the statement in a page: its title, body text (paragraphs kept) and publication date.

Two entry points:

- `extract_article` finds the main content automatically. The HTML is parsed once with lxml;
  trafilatura (fast mode: its fallback extractors cost time and, measured on news pages, lose
  precision) picks the content area from that tree, and this module turns trafilatura's
  structured output into paragraphs.
  Before trafilatura, the tree is prepared: page furniture (navigation, asides, footers,
  buttons) is removed; an article body split into several chunks around ad slots is put
  back together; the body's container sheds the class names that trafilatura would take
  for furniture ("embargo-wrap" holds "bar"); a quote between two body paragraphs (an
  embedded post, a quote box) is kept from trafilatura's embed and widget filters; a
  labelled block of links to other articles ("More great stories", "Don't miss") is
  dropped; text written as lines separated by blank lines (<br><br>) becomes paragraphs.
  After it, what is still noise is dropped: link-only teasers ("Read more: …", "Related"
  lists), headings left with nothing under them, the labels of recommendation widgets left
  without their links ("Most read in world news"), the headline repeated at the top of the
  body, sidebars of layout tables, offers and prompts closing the page's text ("Sign up for
  our newsletter"), and bylines and datelines at the edges of the body ("By Jane Doe | 3 min
  read", see `bylines`).
  When trafilatura finds little, its last-resort rescue (the whole page flattened) gives way
  to the page's own paragraphs minus furniture, unless the rescue holds text the page lacks,
  as with the structured data of a page rendered by scripts.
- `extract_statement` applies one source's settings on top: a CSS `selector` that names the
  body exactly, and `ignore` regexes for text that changes on every visit.

Text is tidied the same way on both paths (whitespace collapsed, paragraphs separated by a
blank line, list items and table rows as their own paragraphs), so that markup-only changes
to a page give the same text and the differ can align paragraphs.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import htmldate
import lxml.html
import trafilatura
from lxml import etree

from monitor import diff
from monitor.extract.base import Article, ExtractionError
from monitor.extract.bylines import drop_bylines
from monitor.extract.patterns import IgnorePattern, PatternTimeout

if TYPE_CHECKING:
    # BeautifulSoup reads pages only for a `selector` and for the fallback when trafilatura
    # finds no content: imported there (0.06-0.1 s, a quarter of the extractor's imports,
    # which a large check pays before its shard processes fork).
    from bs4 import BeautifulSoup, Tag
    from bs4.element import PageElement

log = logging.getLogger(__name__)

# Pages beyond this size are cut before parsing: a statement is never this long, and the cap
# keeps one pathological page from stalling a whole check cycle.
MAX_HTML_CHARS = 5_000_000


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def extract_article(html: str, url: str | None = None) -> Article:
    """Automatic main-content extraction; `text` is empty when the page holds no article.

    Never raises: malformed, truncated, empty or binary input gives whatever could be read,
    at worst `Article(title="", text="")`.
    """
    html = _capped(html)
    tree = _parse(html)
    if tree is None:
        return Article(title="", text="")
    title, published = _title_and_date(tree, url)  # before the tree is pruned for the body
    canonical = _canonical_url(tree, url)
    try:
        paragraphs = _main_paragraphs(html, tree, url, title)
    except Exception:
        # The daemon checks thousands of pages per cycle; one page that trips a library bug
        # must become "no article here", not a crashed cycle.
        log.exception("article extraction failed for %s", url or "a page")
        paragraphs = []
    return Article(title, _join(paragraphs), published, canonical)


def extract_statement(
    html: str,
    url: str | None = None,
    *,
    selector: str | None = None,
    ignore: Sequence[re.Pattern[str] | IgnorePattern] = (),
) -> Article:
    """The statement of one source: a CSS `selector` override, `ignore` regexes dropped.

    With `selector`, the body is the text of every element it matches (block elements become
    paragraphs); without it, the body is found by `extract_article`. Every match of an
    `ignore` pattern is then removed from the text.

    Raises ExtractionError when the selector is invalid or matches nothing, or when no body
    text remains.
    """
    # C0 controls (but tab and newlines) and DEL mean nothing in HTML text; left in, lxml and
    # htmldate stumble on them (a lost date, a spurious paragraph)
    html = _CONTROLS.sub("", html.replace("\x0b", " ").replace("\x0c", " "))
    article = extract_article(html, url) if selector is None else _select(html, url, selector)
    text = _drop_ignored(article.text, ignore)
    if not text:
        raise ExtractionError("no statement text found in the page")
    text, cut = diff.cap_paragraphs(text)
    if cut:
        log.warning(
            "%s: %d paragraphs after the first %d left out of the statement",
            url or "a page",
            cut,
            diff.MAX_PARAGRAPHS,
        )
    return replace(article, text=text)


# --- Parsing --------------------------------------------------------------------------------

_PARSER = lxml.html.HTMLParser(
    encoding="utf-8",
    collect_ids=False,
    default_doctype=False,
    remove_comments=True,
    remove_pis=True,
)


def _capped(html: str) -> str:
    if len(html) > MAX_HTML_CHARS:
        log.warning("page of %d characters cut to %d before extraction", len(html), MAX_HTML_CHARS)
        return html[:MAX_HTML_CHARS]
    return html


def _parse(html: str) -> lxml.html.HtmlElement | None:
    """The page as an lxml tree, or None when there is nothing to parse."""
    if not html or html.isspace() or _looks_binary(html):
        return None
    try:
        return lxml.html.document_fromstring(_utf8(html), parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None


def parse_soup(html: str) -> BeautifulSoup:
    """The page as a BeautifulSoup tree, built by lxml's parser (for CSS selectors)."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(_utf8(html), "lxml", from_encoding="utf-8")


def _utf8(html: str) -> bytes:
    # Bytes, not str: lxml refuses a str that carries an XML encoding declaration, and
    # "replace" turns lone surrogates (from badly decoded responses) into "?" instead of an error.
    return html.encode("utf-8", "replace")


# Control characters other than tab and line breaks, and the replacement character: text from
# an image, a PDF or a wrongly decoded response, not from an HTML page.
_BINARY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")


def _looks_binary(html: str) -> bool:
    sample = html[:4096]
    return len(_BINARY.findall(sample)) > 0.05 * len(sample)


# --- Title and date -------------------------------------------------------------------------

# Separators between a headline and the site's name in <title> ("Headline | Newsroom").
_TITLE_SEPARATOR = re.compile(r"(\s+(?:\||-|–|—|·|•|::|»|«)\s+)")


def _canonical_url(tree: lxml.html.HtmlElement, url: str | None) -> str | None:
    """The URL the page names as its own (<link rel="canonical">), absolute; None if none."""
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            href = link.get("href", "").strip()
            absolute = urljoin(url, href) if url else href
            return absolute if absolute.startswith(("http://", "https://")) else None
    return None


def _title_and_date(tree: lxml.html.HtmlElement, url: str | None) -> tuple[str, dt.date | None]:
    """The page's headline and publication date; never raises (metadata is a nicety)."""
    try:
        return _title(tree, url), _published(tree, url)
    except Exception:
        log.exception("reading the title and date failed for %s", url or "a page")
        return "", None


def _title(tree: lxml.html.HtmlElement, url: str | None) -> str:
    """The headline: the page's <h1> when the metadata agrees with it, else cleaned metadata."""
    meta = _meta_tags(tree)
    page_title = next((text for t in tree.iter("title") if (text := t.text_content())), "")
    site_names = _site_names(meta, url)
    titles = [
        _strip_site_name(_squash(title), site_names)
        for title in (meta.get("og:title"), meta.get("twitter:title"), page_title)
        if title and not title.isspace()
    ]
    headings = [_squash(h.text_content()) for h in tree.iter("h1")]
    headings = [h for h in headings if h and len(h) < 400]
    # The visible <h1> is the cleanest headline, but pages also use <h1> for their logo or a
    # section name: trust it when it makes up most of a metadata title, or says nearly what
    # one says (the page's own headline a word apart from its metadata, which sites edit
    # separately: reading the metadata then would hide an edit of the visible headline).
    for heading in headings:
        key = _words(heading)
        if key and any(_covers(key, _words(t)) or _nearly(key, _words(t)) for t in titles):
            return heading
    return next((title for title in titles if title), headings[0] if headings else "")


def _covers(part: str, whole: str) -> bool:
    """Whether `part` is in `whole` and makes up at least half of it."""
    return part in whole and 2 * len(part) >= len(whole)


def _nearly(one: str, other: str) -> bool:
    """Whether two word keys share at least three quarters of the words of each."""
    first, second = set(one.split()), set(other.split())
    shared = len(first & second)
    return shared >= 0.75 * len(first) and shared >= 0.75 * len(second)


def _meta_tags(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """<meta property|name=… content=…> of the page, first occurrence of each name winning."""
    found: dict[str, str] = {}
    for element in tree.iter("meta"):
        name = (element.get("property") or element.get("name") or "").strip().lower()
        content = element.get("content")
        if name and content and not content.isspace():
            found.setdefault(name, content)
    return found


# Host labels that say nothing about the site ("www", "co" in "example.co.uk").
_GENERIC_HOST_LABELS = {"www", "com", "org", "net", "gov", "edu", "co", "ac", "news"}


def _site_names(meta: dict[str, str], url: str | None) -> set[str]:
    """Ways the site names itself: og:site_name, application-name, the host's labels."""
    names = {_words(meta.get("og:site_name", "")), _words(meta.get("application-name", ""))}
    labels = _host(url).split(".")[:-1]  # the top-level domain is no name
    names.update(_words(label) for label in labels if label not in _GENERIC_HOST_LABELS)
    names.discard("")
    return names


def _host(url: str | None) -> str:
    try:
        return (urlsplit(url).hostname or "") if url else ""
    except ValueError:  # a malformed URL, such as an unclosed IPv6 bracket
        return ""


def _strip_site_name(title: str, site_names: set[str]) -> str:
    """`title` without a leading or trailing part naming the site ("Headline | Newsroom")."""
    pieces = _TITLE_SEPARATOR.split(title)  # parts, with the separators between them
    parts = pieces[::2]
    first, last = 0, len(parts) - 1

    def names_site(part: str) -> bool:
        key = _words(part)
        # The part is the site's name, a piece of it, or the name plus a word ("Acme Newsroom").
        return not key or any(
            f" {key} " in f" {name} " or (f" {name} " in f" {key} " and len(key) <= len(name) + 12)
            for name in site_names
        )

    while first < last and names_site(parts[last]):
        last -= 1
    while first < last and names_site(parts[first]):
        first += 1
    # "Headline | Site" is the overwhelming use of a pipe: drop a short last part even when the
    # site's name is not known, but never a dash-separated part, which may belong to the title.
    if last == first + 1 and pieces[2 * first + 1].strip() == "|" and len(parts[last].split()) <= 4:
        last -= 1
    return "".join(pieces[2 * first : 2 * last + 1])


def _published(tree: lxml.html.HtmlElement, url: str | None) -> dt.date | None:
    """The publication date from metadata, or None.

    htmldate's fast mode reads metadata and markup only; its extensive search scans all the
    text and costs tens of milliseconds on some pages, for dates that are often wrong anyway.
    """
    found = htmldate.find_date(tree, url=url, extensive_search=False, original_date=True)
    if not found:
        return None
    try:
        return dt.date.fromisoformat(found)
    except ValueError:
        return None


# --- Main content -----------------------------------------------------------------------------


@dataclass
class _Block:
    """One paragraph of extracted text, with what the noise filters need to know."""

    kind: str  # "head", "p", "item", "row", "quote", "code"
    text: str
    link_share: float  # share of the text's characters that sit inside links
    rank: int = 6  # of a heading: 1 for <h1> … 6 for <h6> or unknown


def _main_paragraphs(
    html: str, tree: lxml.html.HtmlElement, url: str | None, title: str
) -> list[str]:
    """The paragraphs of the page's main content, noise removed."""
    _drop_furniture(tree)
    _drop_floods(tree)
    _join_split_bodies(tree)
    _protect_bodies(tree)
    _keep_quotes(tree)
    _drop_related_sections(tree)
    _paragraphs_from_breaks(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=True,
        include_comments=False,
        include_links=True,  # kept to measure link density; targets never reach the text
        include_tables=True,
        include_formatting=False,
        output_format="xml",  # the body tree is all we need: skips trafilatura's text rendering
    )
    # A Document, or None when nothing was found (a dict only with the deprecated as_dict).
    body = getattr(document, "body", None)
    if body is None or _is_rescue(body):
        blocks = _rescued_or_fallback_blocks(body, html)
    else:
        blocks = list(_blocks(body))
    kept = _drop_closing_notices(_drop_noise(blocks, title))
    return drop_bylines([block.text for block in kept])


# Page furniture that is never part of a statement. trafilatura drops it from its main
# extraction too, but not from the rescue it runs when that finds little text, which then
# returns menus and footers as the statement.
_FURNITURE = etree.XPath(
    "//nav | //aside | //footer | //button | //select | //textarea"
    # [@role] first: the comparisons then run only on the few elements that have a role
    # (tried on every element, they were most of this search: 0.9 of 1.1 ms on a 45 KB page)
    " | //*[@role][@role='navigation' or @role='banner' or @role='contentinfo'"
    " or @role='complementary' or @role='search' or @role='dialog']"
    " | //header[not(ancestor::article or ancestor::main or .//h1)]"
)


# Block elements of one kind beyond this many are a flood, not a statement (which keeps at
# most diff.MAX_PARAGRAPHS paragraphs anyway): dropped before trafilatura, whose work grows
# with them (150,000 paragraphs took 24 s per page).
_FLOOD_TAGS = ("p", "li", "tr", "div", "br")


def _drop_floods(tree: lxml.html.HtmlElement) -> None:
    limit = 2 * diff.MAX_PARAGRAPHS
    for tag in _FLOOD_TAGS:
        elements = list(tree.iter(tag))
        if len(elements) > limit:
            log.warning(
                "%d <%s> elements; those after the first %d ignored", len(elements), tag, limit
            )
            for element in elements[limit:]:
                if element.getparent() is not None:
                    element.drop_tree()


def _drop_furniture(tree: lxml.html.HtmlElement) -> None:
    for element in _FURNITURE(tree):
        if element.getparent() is not None:
            element.drop_tree()


def _is_rescue(body: etree._Element) -> bool:
    """Whether trafilatura's output looks like its last-resort rescue: one paragraph of bare text.

    When its main extraction finds little text, trafilatura falls back on text taken from
    structured data, from the whole <article> flattened into one paragraph (headline and byline
    included), or from every text node of the page.
    """
    return len(body) == 1 and body[0].tag == "p" and len(body[0]) == 0


def _rescued_or_fallback_blocks(body: etree._Element | None, html: str) -> list[_Block]:
    """trafilatura's rescue only when it holds text the page's own paragraphs lack.

    That is the body of a script-rendered page, found in its structured data. Otherwise the
    page's text without its furniture, paragraphs kept, is the better reading.
    """
    fallback = _fallback_blocks(html)
    rescued = (body[0].text or "") if body is not None else ""
    if not rescued or "\n" in rescued:  # nothing, or every text node of the page
        return fallback
    rescued_words = Counter(_words(rescued).split())
    fallback_words = Counter(_words(" ".join(block.text for block in fallback)).split())
    shared = sum((fallback_words & rescued_words).values())
    if fallback_words and shared >= 0.9 * fallback_words.total():
        return fallback
    return list(_blocks(body)) if body is not None else fallback


# Elements that carry no text a reader sees, skipped when looking at a quote's neighbours.
_SILENT_TAGS = {"script", "style", "noscript", "template", "link", "meta"}


def _keep_quotes(tree: lxml.html.HtmlElement) -> None:
    """Keep quoted text between a body's paragraphs: an embedded post, a quote box.

    trafilatura drops any element whose class or id names an embed or a social widget, and
    so the <blockquote> that such a wrapper holds between two paragraphs of the statement
    (an embedded post is quoted in the page's HTML before a script dresses it up). A quote
    standing between paragraphs is part of what the statement says, so its wrapper's
    names are removed before extraction. Quotes may follow one another (two embedded posts in
    a row): the run of them is what stands between the paragraphs.
    """
    units = []
    for quote in list(tree.iter("blockquote")):
        unit = quote
        while (parent := unit.getparent()) is not None and _only_child(parent, unit):
            unit = parent
        units.append(unit)

    def beyond_quotes(unit: lxml.html.HtmlElement, before: bool) -> lxml.html.HtmlElement | None:
        neighbour = _neighbour(unit, before=before)
        while neighbour is not None and any(neighbour is other for other in units):
            neighbour = _neighbour(neighbour, before=before)
        return neighbour

    for unit in units:
        if _is_paragraph(beyond_quotes(unit, before=True)) and _is_paragraph(
            beyond_quotes(unit, before=False)
        ):
            for element in unit.iter():
                for name in ("class", "id"):
                    element.attrib.pop(name, None)


def _only_child(parent: lxml.html.HtmlElement, child: lxml.html.HtmlElement) -> bool:
    """Whether `child` is all `parent` shows (scripts aside): a wrapper of it alone."""
    if parent.tag in {"body", "article", "main"} or (parent.text or "").strip():
        return False
    return all(
        element is child or not isinstance(element.tag, str) or element.tag in _SILENT_TAGS
        for element in parent
    ) and not any((element.tail or "").strip() for element in parent)


def _neighbour(element: lxml.html.HtmlElement, *, before: bool) -> lxml.html.HtmlElement | None:
    sibling = element.getprevious() if before else element.getnext()
    while sibling is not None and (not isinstance(sibling.tag, str) or sibling.tag in _SILENT_TAGS):
        sibling = sibling.getprevious() if before else sibling.getnext()
    return sibling


def _is_paragraph(element: lxml.html.HtmlElement | None) -> bool:
    return element is not None and element.tag == "p" and bool(element.text_content().strip())


# The label of a block of links to other articles ("More great stories", "Don't miss").
_RELATED_LABEL = re.compile(
    r"(?:more|other|related|recommended|popular|trending|top|latest|further|similar|featured"
    r"|partner|sponsored)(?:\s+[\w'’-]+){0,3}\s+"
    r"(?:stories|articles|news|posts|reads|reading|links|videos|content|coverage|headlines)"
    r"|related|recommended(?: for you)?|see also|also read|read (?:more|next|also)|up next"
    r"|don'?t miss|must read|you (?:may|might) (?:also )?(?:like|enjoy|have missed)"
    r"|most (?:read|popular|viewed|shared)|editors?'? picks|what to read next|keep reading",
    re.IGNORECASE,
)
_MAX_LABEL_CHARS = 60


def _drop_related_sections(tree: lxml.html.HtmlElement) -> None:
    """Drop a labelled block of links to other articles, with its label.

    A label such as "More great stories" or "DON'T MISS", followed by a block whose text is
    largely links (a list of headlines, teasers), closes many article bodies, or sits among
    their paragraphs; trafilatura keeps such blocks when the links are only part of each
    item's text. A label followed by prose is left alone: it may head part of the statement.
    """
    for label in _related_labels(tree):
        following = label.getnext()
        while following is not None and not _has_text(following):
            following = following.getnext()
        if following is not None and _link_share(following) >= 0.3:
            following.drop_tree()
            label.drop_tree()


def _related_labels(tree: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """Elements whose whole text is a related-articles label (the outermost of nested ones)."""
    found: list[lxml.html.HtmlElement] = []
    for element in tree.iter("h2", "h3", "h4", "h5", "h6", "p", "div", "span", "strong", "b"):
        label = _short_text(element)
        if not label or not _RELATED_LABEL.fullmatch(label):
            continue
        while (parent := element.getparent()) is not None and _wraps_only(parent, element):
            element = parent
        if not any(element is other for other in found):
            found.append(element)
    return found


def _short_text(element: lxml.html.HtmlElement) -> str | None:
    """The element's text, squashed, when it is short enough to be a label; else None."""
    parts, size = [], 0
    for text in element.itertext():
        size += len(text)
        if size > 2 * _MAX_LABEL_CHARS:
            return None
        parts.append(text)
    label = " ".join("".join(parts).split()).strip(" :»›>|-–—")
    return label if len(label) <= _MAX_LABEL_CHARS else None


def _wraps_only(parent: lxml.html.HtmlElement, child: lxml.html.HtmlElement) -> bool:
    """Whether `parent` shows no text but its `child`'s (a wrapper of the label alone)."""
    if (parent.text or "").strip() or (child.tail or "").strip():
        return False
    return all(other is child or not _has_text(other) for other in parent)


def _has_text(element: lxml.html.HtmlElement) -> bool:
    """Whether an element or its tail holds any visible text."""
    if (element.tail or "").strip():
        return True
    if not isinstance(element.tag, str) or element.tag in _SILENT_TAGS:
        return False
    return any(text.strip() for text in element.itertext())


def _link_share(element: lxml.html.HtmlElement) -> float:
    """The share of an element's visible characters that sit inside links."""
    total = len("".join(element.text_content().split()))
    linked = sum(len("".join(a.text_content().split())) for a in element.iter("a"))
    return linked / total if total else 0.0


# Containers whose loose text may be paragraphs separated by blank lines (<br><br>).
_BREAK_CONTAINERS = {
    "div",
    "article",
    "section",
    "main",
    "td",
    "blockquote",
    "body",
    "span",
    "font",
}
# Children that end a paragraph made of loose text.
_BLOCK_CHILDREN = {
    "address", "article", "aside", "blockquote", "div", "dl", "figure", "footer", "form", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hr", "ol", "p", "pre", "section", "table", "ul",
}  # fmt: skip


def _paragraphs_from_breaks(tree: lxml.html.HtmlElement) -> None:
    """Turn loose text separated by blank lines (<br><br>) into paragraphs (<p>).

    Older and hand-written pages write a whole article as text and line breaks in one
    <div>. trafilatura reads such text unevenly: it splits a paragraph before a link and
    glues the link to the next word ("MacBook Prowas released"). As paragraphs, the text
    reads as written. A single <br> stays a line break inside its paragraph.
    """
    containers = {}
    for br in tree.iter("br"):
        parent = br.getparent()
        following = br.getnext()
        if (
            parent is not None
            and parent.tag in _BREAK_CONTAINERS
            and following is not None
            and following.tag == "br"
            and not (br.tail or "").strip()
        ):
            containers[id(parent)] = parent
    for parent in containers.values():
        _split_at_breaks(parent)


def _split_at_breaks(parent: lxml.html.HtmlElement) -> None:
    """Rebuild `parent`'s children: loose runs between <br><br> and blocks become <p>."""
    children = list(parent)
    paragraph = etree.Element("p")
    paragraph.text = parent.text
    parent.text = None
    rebuilt: list[etree._Element] = []

    def flush() -> etree._Element:
        if len(paragraph) or (paragraph.text or "").strip():
            rebuilt.append(paragraph)
        fresh = etree.Element("p")
        return fresh

    index = 0
    while index < len(children):
        child = children[index]
        parent.remove(child)
        tag = child.tag if isinstance(child.tag, str) else ""
        run_end = index
        while (
            tag == "br"
            and run_end + 1 < len(children)
            and children[run_end + 1].tag == "br"
            and not (children[run_end].tail or "").strip()
        ):
            run_end += 1
        if run_end > index:  # two or more line breaks in a row: a paragraph ends
            paragraph = flush()
            paragraph.text = children[run_end].tail
            for skipped in children[index + 1 : run_end + 1]:
                parent.remove(skipped)
            index = run_end + 1
            continue
        if tag in _BLOCK_CHILDREN:
            paragraph = flush()
            tail, child.tail = child.tail, None
            rebuilt.append(child)
            paragraph.text = tail
        else:
            paragraph.append(child)  # an inline element keeps its tail
        index += 1
    flush()
    parent.extend(rebuilt)


# Class or id of a container that holds (a part of) an article's body.
_BODY_CONTAINER = re.compile(
    r"article[-_]{0,2}(?:body|content|text)|story[-_]?(?:body|content)|post[-_]?(?:body|content)"
    r"|entry[-_]content|body[-_]text|rich[-_]?text|articleBody",
    re.IGNORECASE,
)


def _join_split_bodies(tree: lxml.html.HtmlElement) -> None:
    """Put back together an article body that the page splits into chunks around ad slots.

    Such pages repeat the body container (same tag and class) for each chunk; extractors keep
    the first chunk only. Later chunks are moved into the first one, in page order. Chunks
    must sit close together (a common ancestor at most three levels up), with no headline or
    other article between them, so that appended "next article" blocks are not swallowed.
    Chunks that are siblings are left alone: extractors already read them as one body, and
    moving them would put what stands between them (a quote box) out of order. Nor are
    teaser cards joined, containers inside links to other articles.
    """
    groups: dict[tuple[str, str], list[lxml.html.HtmlElement]] = {}
    for element in tree.iter("div", "section", "article", "main"):
        label = element.get("class") or ""
        if element.get("itemprop") == "articleBody" or _BODY_CONTAINER.search(label):
            groups.setdefault((element.tag, label), []).append(element)
    for group in groups.values():
        chunks = [chunk for chunk in group if not any(True for _ in chunk.iterancestors("a"))]
        siblings = all(chunk.getparent() is chunks[0].getparent() for chunk in chunks)
        if len(chunks) > 1 and not siblings and _are_chunks_of_one_body(chunks):
            first = chunks[0]
            for chunk in chunks[1:]:
                first.extend(list(chunk))
                chunk.drop_tree()


def _protect_bodies(tree: lxml.html.HtmlElement) -> None:
    """Keep trafilatura from discarding an article body over an incidental class name.

    trafilatura drops page furniture by substrings of class names ("bar" for sidebars and
    navbars, "overlay", "meta", "slide"), and so also a body container whose other names,
    styling hooks, happen to contain one: "embargo-wrap", "article-overlay-handle".
    With the body gone it falls back on the whole page, promotions and print notices
    included. A container that names itself the body (see `_BODY_CONTAINER`) and holds
    paragraphs keeps only the names that say so.
    """
    for element in tree.iter("div", "section", "article", "main"):
        label = element.get("class") or ""
        if element.get("itemprop") != "articleBody" and not _BODY_CONTAINER.search(label):
            continue
        names = [name for name in label.split() if _BODY_CONTAINER.search(name)]
        if len(names) < len(label.split()) and _holds_paragraphs(element):
            element.set("class", " ".join(names))


def _holds_paragraphs(element: lxml.html.HtmlElement, count: int = 2) -> bool:
    """Whether `element` holds `count` paragraphs of a sentence or more (not a teaser card)."""
    found = 0
    for paragraph in element.iter("p"):
        if len(paragraph.text_content()) > 40:
            found += 1
            if found >= count:
                return True
    return False


def _are_chunks_of_one_body(chunks: list[lxml.html.HtmlElement]) -> bool:
    """Whether same-class containers are consecutive chunks of one article body."""
    ancestor = _common_ancestor(chunks)
    if ancestor is None or ancestor.tag in {"body", "html"}:
        return False
    for chunk in chunks:
        for depth, parent in enumerate(chunk.iterancestors()):
            if parent is ancestor:
                break
            if depth >= 2 or any(parent is other for other in chunks):
                return False
    # Between the chunks: ad slots and embeds, never another headline or article.
    order = list(ancestor.iter())
    inside = {element for chunk in chunks for element in chunk.iter()}
    between = order[order.index(chunks[0]) : order.index(chunks[-1])]
    return not any(element.tag in {"h1", "article"} for element in between if element not in inside)


def _common_ancestor(elements: list[lxml.html.HtmlElement]) -> lxml.html.HtmlElement | None:
    lineage = list(elements[0].iterancestors())
    for element in elements[1:]:
        ancestors = set(element.iterancestors())
        lineage = [parent for parent in lineage if parent in ancestors]
    return lineage[0] if lineage else None


def _blocks(body: etree._Element) -> Iterator[_Block]:
    """The paragraphs of trafilatura's XML body, in order.

    The body is read as mixed content: trafilatura leaves some of a page's paragraphs as
    loose text after a heading or a paragraph (the tail of that element), and those are as
    much the statement as the paragraphs around them.
    """
    return _mixed_blocks(body, kind="p")


# trafilatura's XML elements that hold paragraphs of their own rather than inline text.
_BLOCK_XML_TAGS = {"p", "head", "list", "item", "table", "row", "quote", "code", "div"}
_KIND_OF_TAG = {"head": "head", "item": "item", "quote": "quote", "code": "code"}


class _Text:
    """Text gathered for one paragraph, counting how much of it is link text."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.visible = 0
        self.linked = 0

    def add(self, text: str | None, in_link: bool = False, keep_breaks: bool = False) -> None:
        """Add text; its line breaks are spaces (as in HTML) unless `keep_breaks` (<pre>)."""
        if not text:
            return
        if keep_breaks:
            for index, line in enumerate(text.split("\n")):
                if index:
                    self.add_break()
                self.add(line, in_link)
            return
        text = text.replace("\n", " ")
        self.parts.append(text)
        visible = len(text) - text.count(" ") - text.count("\t")
        self.visible += visible
        self.linked += visible if in_link else 0

    def add_break(self) -> None:
        self.parts.append("\n")

    def add_element(
        self, element: etree._Element, in_link: bool = False, keep_breaks: bool = False
    ) -> None:
        """The text of a trafilatura element and its children (not its own tail)."""
        # Contact addresses are content ("Media contact: press@…"), not links elsewhere.
        target = element.get("target", "") if element.tag == "ref" else ""
        in_link = in_link or (element.tag == "ref" and not target.startswith(("mailto:", "tel:")))
        if element.tag == "lb":
            self.add_break()
        self.add(element.text, in_link, keep_breaks)
        for child in element:
            self.add_element(child, in_link, keep_breaks)
            self.add(child.tail, in_link, keep_breaks)

    @property
    def text(self) -> str:
        return _tidy_line("".join(self.parts))

    @property
    def link_share(self) -> float:
        return self.linked / self.visible if self.visible else 0.0

    def block(self, kind: str, rank: int = 6) -> _Block | None:
        text = self.text
        if not text:
            return None
        return _Block(kind, _bullet(text) if kind == "item" else text, self.link_share, rank)


def _element_blocks(element: etree._Element) -> Iterator[_Block]:
    tag = element.tag
    if tag in {"graphic", "lb"}:
        return
    if tag == "list":
        for item in element:
            yield from _element_blocks(item)
    elif tag == "table":
        yield from _table_blocks(element)
    elif _has_block_children(element):
        yield from _mixed_blocks(element, kind="item" if tag == "item" else "p")
    else:
        text = _Text()
        text.add_element(element, keep_breaks=tag == "code")
        block = text.block(_KIND_OF_TAG.get(tag, "p"), _heading_rank(element.get("rend")))
        if block:
            yield block


def _heading_rank(name: str | None) -> int:
    """1 for "h1" … 6 for "h6" (and for anything else)."""
    if name and len(name) == 2 and name[0] == "h" and name[1] in "123456":
        return int(name[1])
    return 6


def _has_block_children(element: etree._Element) -> bool:
    return any(child.tag in _BLOCK_XML_TAGS for child in element)


def _mixed_blocks(element: etree._Element, kind: str) -> Iterator[_Block]:
    """Blocks of a container holding loose text as well as block children."""
    loose = _Text()
    loose.add(element.text)
    for child in element:
        if child.tag in _BLOCK_XML_TAGS:
            if block := loose.block(kind):
                yield block
            loose = _Text()
            yield from _element_blocks(child)
        else:
            loose.add_element(child)
        loose.add(child.tail)
    if block := loose.block(kind):
        yield block


def _table_blocks(table: etree._Element) -> Iterator[_Block]:
    """A data table gives one paragraph per row; a layout table, the blocks of its cells."""
    if any(_has_block_children(cell) for cell in table.iter("cell")):
        yield from _layout_table_blocks(table)
        return
    for row in table.iter("row"):
        cells = []
        for cell in row:
            text = _Text()
            text.add_element(cell)
            cells.append(text)
        line = " | ".join(text.text for text in cells if text.text)
        if line:
            visible = sum(text.visible for text in cells)
            linked = sum(text.linked for text in cells)
            yield _Block("row", line, linked / visible if visible else 0.0)


def _layout_table_blocks(table: etree._Element) -> Iterator[_Block]:
    """Blocks of a table used for page layout: the main cell only, when one clearly dominates.

    Old-style pages put the article in one cell and a sidebar in the next; the cell holding
    most of the text is the article, the others are boilerplate.
    """
    cells = [cell for cell in table.iter("cell") if not cell.xpath("ancestor::cell")]
    per_cell = [list(_mixed_blocks(cell, kind="p")) for cell in cells]
    sizes = [sum(len(block.text) for block in blocks) for blocks in per_cell]
    total = sum(sizes)
    if total and max(sizes) >= 0.6 * total:
        yield from per_cell[sizes.index(max(sizes))]
        return
    for blocks in per_cell:
        yield from blocks


def _bullet(text: str) -> str:
    return text if text.startswith("- ") else f"- {text}"


# --- Noise --------------------------------------------------------------------------------------


def _drop_noise(blocks: list[_Block], title: str) -> list[_Block]:
    """The blocks that belong to the statement.

    Dropped: links to other pages ("Read more: …", related-article lists, tag lists) with the
    headings over them, ad labels and cookie notices, the labels of recommendation widgets
    left without their links, and the headline repeated at the top (it is the title).
    """
    teasers = _teasers(blocks)
    kept = [
        block
        for index, block in enumerate(blocks)
        if index not in teasers
        and not _heads_empty_section(blocks, teasers, index)
        and not _is_page_notice(block.text)
        and not _is_widget_label(block.text)
    ]
    return _drop_repeated_title(kept, title)


# A block that is only an ad slot's label, or a cookie-consent notice: page furniture that
# sites drop between (or above) the paragraphs of a statement.
_AD_LABEL = re.compile(
    r"^\W*(?:advertisement|advertising|advert|ad|sponsored(?: content)?|anzeige|werbung"
    r"|publicit[ée]|publicidad|pubblicit[àa]|advertentie|reclame"
    r"|(?:story|article) continues below(?: this)? advertisement"
    r"|continue reading below|scroll to continue(?: with content)?)\W*$",
    re.IGNORECASE,
)
_COOKIE_NOTICE = re.compile(r"\b(?:we|this (?:web)?site) uses? cookies\b", re.IGNORECASE)
_COOKIE_CHOICE = re.compile(
    r"\b(?:accept|consent|by continuing|cookie (?:policy|settings|preferences))\b", re.IGNORECASE
)


# The label of a recommendation widget ("Most read in world news", "You may also like..."):
# the widget's links are filled in by a script, or dropped as teasers, and the label is left
# standing alone among or after the paragraphs. Unlike "Related coverage" or "Background",
# these never head part of a statement.
_WIDGET_LABEL = re.compile(
    r"\W*(?:most (?:read|popular|viewed|shared|commented|watched)"
    r"(?: (?:in|on|from) [\w'’ &-]{1,40})?"
    r"|you (?:may|might) (?:also )?(?:like|enjoy|have missed)"
    r"|recommended for you|editors?['’]? picks)\W*",
    re.IGNORECASE,
)


def _is_widget_label(text: str) -> bool:
    return len(text) <= _MAX_LABEL_CHARS and bool(_WIDGET_LABEL.fullmatch(text))


def _is_page_notice(text: str) -> bool:
    if _AD_LABEL.match(text):
        return True
    return len(text) < 400 and bool(_COOKIE_NOTICE.search(text) and _COOKIE_CHOICE.search(text))


# What a page prints after an article rather than in it: offers of newsletters and
# subscriptions, prompts to share or comment. They address the reader: a sentence opening
# with an imperative ("Sign up for…"), or "your inbox"; a statement's own sentence about a
# newsletter ("Readers who subscribe…") does not.
_CLOSING_NOTICE = re.compile(
    r"(?:^|[.!?…]\s+)(?:sign up|subscribe|tell us what you think|share (?:it|this)|follow us)\b"
    r"|\byour (?:inbox|letterbox|mailbox)\b|\blike this (?:story|article)\?|^comments?$",
    re.IGNORECASE,
)
# Longest paragraph taken for such a notice: they are a sentence or two.
_MAX_NOTICE_CHARS = 300


def _drop_closing_notices(blocks: list[_Block]) -> list[_Block]:
    """`blocks` without the notices and credits that close the page's text.

    Notices are offers and prompts (see `_CLOSING_NOTICE`), credits say who wrote the story
    and how to reach them (see `_is_credit_line`). Only a run of them at the very end is
    dropped, from the last block backwards, so that a sentence of the statement that
    mentions a newsletter or a reporter stays.
    """
    end = len(blocks)
    while end > 0 and (
        _is_closing_notice(blocks[end - 1].text)
        or _is_credit_line(blocks[end - 1], blocks[end - 2] if end > 1 else None)
    ):
        end -= 1
    return blocks[:end] if end else blocks


def _is_closing_notice(text: str) -> bool:
    return len(text) <= _MAX_NOTICE_CHARS and bool(_CLOSING_NOTICE.search(text))


# The credits news stories close with: who reported and edited ("Reporting by …; editing by
# …", "AP writers … contributed to this report", "SOURCE: Al Jazeera"), how to reach the
# reporter ("Write to … at …", "Reach the reporters on Twitter at …", "Have a tip? … may be
# reached at …"), and pointers to more coverage ("Follow AP's full coverage of … at …").
_CREDIT_LINE = re.compile(
    r"^[\W_]+$"  # the rule that sets credits apart ("___")
    r"|^\W*(?:(?:additional |with )?(?:reporting|writing|editing)(?: and \w+)? by\b"
    r"|sources?:\s*\S.{0,60}$"
    r"|(?:write to|reach)\b.{0,100}?\bat\s"
    r"|have a (?:news )?tip\b"
    r"|follow (?:\w+['’]s )?(?:full |latest |live )?coverage\b)"
    r"|\bcontributed (?:to )?(?:this|the) (?:report|story|article)\b"
    r"|\b(?:may|can) be reached at\b",
    re.IGNORECASE,
)
# A paragraph that is only an e-mail address or a social-media profile.
_BARE_CONTACT = re.compile(
    r"^(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?:https?://)?(?:www\.)?(?:twitter|x|facebook|instagram|linkedin)\.com/[\w@./-]+)$",
    re.IGNORECASE,
)
# What announces contact details that belong to the statement ("Media contact", "Press:").
_CONTACT_LABEL = re.compile(r"contact|press|media|inquir|enquir|kontakt", re.IGNORECASE)


def _is_credit_line(block: _Block, before: _Block | None) -> bool:
    """Whether a block is a closing credit (`_CREDIT_LINE`) or a reporter's bare address.

    A rule line ("___") counts too: agencies set their credits apart with one.

    A bare address under a contact label ("Media contact" then "press@…") is the
    statement's own contact, not a credit.
    """
    text = block.text
    if len(text) > _MAX_NOTICE_CHARS:
        return False
    if _CREDIT_LINE.search(text):
        return True
    labelled = before is not None and (
        before.kind == "head"
        or (len(before.text) <= _MAX_LABEL_CHARS and bool(_CONTACT_LABEL.search(before.text)))
    )
    return bool(_BARE_CONTACT.match(text)) and not labelled


# Labels that announce a link to another article.
_TEASER_LABEL = re.compile(
    r"^\W*(?:read|see|watch|listen|also|more|related|recommended|trending|popular|latest|top)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’»)\]]*$")


def _teasers(blocks: list[_Block]) -> set[int]:
    """Indexes of the blocks that only point to other pages.

    A paragraph that is (almost) all link text is a teaser when it is labelled ("Related: …"),
    part of a run of such paragraphs (a link list), a list item or heading, at either end of
    the body, or not a sentence (a headline). What is left, a linked sentence on its own
    among the prose, is part of the statement.
    """
    linky = [block.link_share >= 0.8 and block.kind != "code" for block in blocks]
    last = len(blocks) - 1
    teasers = set()
    for index, block in enumerate(blocks):
        in_run = (index > 0 and linky[index - 1]) or (index < last and linky[index + 1])
        if _is_labelled_link(block) or (
            linky[index]
            and (
                in_run
                or index in (0, last)
                or block.kind != "p"
                or not _SENTENCE_END.search(block.text)
            )
        ):
            teasers.add(index)
    return teasers


def _is_labelled_link(block: _Block) -> bool:
    """A link behind a label: "Read more: <link>", "Also on example.com <link>"."""
    unlinked = len(block.text) * (1 - block.link_share)
    return block.link_share >= 0.4 and unlinked <= 40 and bool(_TEASER_LABEL.match(block.text))


def _heads_empty_section(blocks: list[_Block], teasers: set[int], index: int) -> bool:
    """Whether a heading has nothing but teasers under it ("Don't miss", "Related stories").

    Its section runs to the next heading of the same or a higher rank, or to the end.
    """
    heading = blocks[index]
    if heading.kind != "head":
        return False
    for position in range(index + 1, len(blocks)):
        block = blocks[position]
        if block.kind == "head" and block.rank <= heading.rank:
            return True
        if block.kind != "head" and position not in teasers:
            return False
    return True


def _drop_repeated_title(blocks: list[_Block], title: str) -> list[_Block]:
    """`blocks` without the headline repeated among the first three.

    The title may still carry the site's name ("Headline - Site": a dash is not cut from a
    title whose site is unknown), so the title without its first or last part counts too.
    """
    parts = _TITLE_SEPARATOR.split(title)[::2]
    keys = {_words(title)}
    if len(parts) > 1:
        keys |= {_words(" ".join(parts[1:])), _words(" ".join(parts[:-1]))}
    keys.discard("")
    if not keys:
        return blocks
    for index, block in enumerate(blocks[:3]):
        if _words(block.text) in keys:
            return blocks[:index] + blocks[index + 1 :]
    return blocks


# --- Selector override and fallback ----------------------------------------------------------

# Elements that start a new paragraph.
_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "thead", "tfoot", "tr", "td", "th", "ul",
}  # fmt: skip
_KIND_OF_HTML_TAG = {
    **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "head"),
    "li": "item",
    "tr": "row",
    "pre": "code",
    "blockquote": "quote",
}
# Never statement text: code, styles, embedded documents, the page's <head> and <title>.
_DROPPED_TAGS = {
    "script", "style", "noscript", "template", "svg", "iframe", "object", "head", "title",
}  # fmt: skip


def _select(html: str, url: str | None, selector: str) -> Article:
    """The text of every element `selector` matches, block elements as paragraphs."""
    from soupsieve import SelectorSyntaxError

    html = _capped(html)
    soup = parse_soup(html)
    try:
        matches = soup.select(selector)
    except SelectorSyntaxError as error:
        reason = str(error).splitlines()[0]  # the rest repeats the selector with a caret
        raise ExtractionError(f"invalid CSS selector {selector!r}: {reason}") from error
    if not matches:
        raise ExtractionError(f"selector {selector!r} matched nothing in the page")
    paragraphs = drop_bylines(
        [block.text for element in _outermost(matches) for block in _soup_blocks(element)]
    )
    # Title and date come from lxml's tree, as on the automatic path, so they are the same.
    tree = _parse(html)
    if tree is None:
        return Article(title="", text=_join(paragraphs))
    title, published = _title_and_date(tree, url)
    return Article(title, _join(paragraphs), published, _canonical_url(tree, url))


def _outermost(elements: list[Tag]) -> list[Tag]:
    """Matched elements without those nested in another match (their text is already there)."""
    chosen = {id(element) for element in elements}
    return [e for e in elements if not any(id(parent) in chosen for parent in e.parents)]


# Page furniture, for the fallback: navigation, banners, forms, sharing and promotion blocks.
_CHROME_SELECTOR = (
    "nav, aside, header, footer, button, select, input, textarea, label, [hidden],"
    " [aria-hidden=true], [role=navigation], [role=banner], [role=contentinfo],"
    " [role=complementary], [role=dialog], [role=search]"
)
_CHROME_NAME = re.compile(
    r"cookie|consent|gdpr|banner|breadcrumb|share|social|newsletter|subscribe|related|popular"
    r"|trending|sidebar|menu|navigation|advert|\bads?\b|ad-slot|promo|pagination|pager",
    re.IGNORECASE,
)


def _fallback_blocks(html: str) -> list[_Block]:
    """The page's text without its furniture, for pages trafilatura finds no content in."""
    soup = parse_soup(html)
    root = soup.body or soup
    chrome = root.select(_CHROME_SELECTOR) + [
        tag for tag in root.find_all(True) if _CHROME_NAME.search(_class_and_id(tag))
    ]
    for tag in chrome:
        if not tag.decomposed:
            tag.decompose()
    return _soup_blocks(root)


def _class_and_id(tag: Tag) -> str:
    classes = tag.get_attribute_list("class")
    return " ".join(str(name) for name in [*classes, tag.get("id")] if name)


def _soup_blocks(root: Tag) -> list[_Block]:
    """The paragraphs of an element: text between block boundaries, list items bulleted."""
    walker = _SoupWalker()
    walker.walk(root)
    return walker.blocks


@dataclass(frozen=True)
class _BlockEnd:
    """Where a block element closes, and the kind of block its parent was."""

    kind: str
    rank: int


# One step of the walk: a node, or a block's end, or a cell separator; inside a link; inside <pre>.
_Step = tuple["PageElement | _BlockEnd | str", bool, bool]


class _SoupWalker:
    """Turns a BeautifulSoup tree into blocks, tracking which text sits inside links.

    The walk keeps its own stack rather than recursing: pages nest thousands of levels deep.
    """

    def __init__(self) -> None:
        self.blocks: list[_Block] = []
        self.text = _Text()
        self.kind = "p"
        self.rank = 6

    def walk(self, root: Tag) -> None:
        from bs4 import Tag
        from bs4.element import NavigableString

        pending: list[_Step] = [(root, False, False)]
        while pending:
            node, in_link, in_pre = pending.pop()
            if isinstance(node, _BlockEnd):
                self.flush()
                self.kind, self.rank = node.kind, node.rank
            elif isinstance(node, NavigableString):
                if type(node) is NavigableString:  # comments, CDATA and doctypes are not text
                    self.text.add(str(node), in_link, keep_breaks=in_pre)
            elif isinstance(node, str):
                self.text.add(node)  # a cell separator
            elif isinstance(node, Tag) and node.name not in _DROPPED_TAGS:
                pending.extend(reversed(self._enter(node, in_link, in_pre)))
        self.flush()

    def flush(self) -> None:
        if block := self.text.block(self.kind, self.rank):
            self.blocks.append(block)
        self.text = _Text()

    def _enter(self, node: Tag, in_link: bool, in_pre: bool) -> list[_Step]:
        """Steps for the inside of `node`, in page order."""
        if node.name == "br":
            self.text.add_break()
            return []
        if node.name == "tr" and not node.find(_BLOCK_TAGS - {"tr", "td", "th"}):
            end = self._open_block("row", 6)
            return [*self._row(node, in_link), (end, False, False)]
        if node.name in _BLOCK_TAGS:
            end = self._open_block(_KIND_OF_HTML_TAG.get(node.name, "p"), _heading_rank(node.name))
            in_pre = in_pre or node.name == "pre"
            return [*((child, in_link, in_pre) for child in node.children), (end, False, False)]
        href = node.get("href") if node.name == "a" else None
        # Contact addresses are content ("Media contact: press@…"), not links elsewhere.
        in_link = in_link or (isinstance(href, str) and not href.startswith(("mailto:", "tel:")))
        return [(child, in_link, in_pre) for child in node.children]

    def _open_block(self, kind: str, rank: int) -> _BlockEnd:
        """Start a paragraph of `kind`; the returned step restores the surrounding one."""
        self.flush()
        outer = _BlockEnd(self.kind, self.rank)
        self.kind, self.rank = kind, rank
        return outer

    def _row(self, row: Tag, in_link: bool) -> list[_Step]:
        """A table row on one line, its cells separated by " | "."""
        steps: list[_Step] = []
        for cell in row.find_all(["td", "th"], recursive=False):
            if cell.get_text(strip=True):
                if steps:
                    steps.append((" | ", in_link, False))
                steps.extend((child, in_link, False) for child in cell.children)
        return steps


# --- Text tidying ---------------------------------------------------------------------------------

_SPACES = re.compile(r"[^\S\n]+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_NON_WORD = re.compile(r"\W+")


def _tidy_line(text: str) -> str:
    """One paragraph: invisible characters gone, spaces collapsed, line breaks kept single."""
    text = _INVISIBLE.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _squash(text: str) -> str:
    """Text on one line with whitespace collapsed."""
    return " ".join(_INVISIBLE.sub("", text).split())


def _words(text: str) -> str:
    """A comparison key: lower-case words only."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def _join(paragraphs: Iterable[str]) -> str:
    return "\n\n".join(p for p in paragraphs if p)


def _drop_ignored(text: str, ignore: Sequence[re.Pattern[str] | IgnorePattern]) -> str:
    """`text` with every match of the `ignore` patterns removed, emptied paragraphs dropped."""
    for pattern in ignore:
        try:
            text = pattern.sub("", text)
        except PatternTimeout as exc:
            raise ExtractionError(str(exc)) from None
    paragraphs = (_tidy_line(p) for p in re.split(r"\n\s*\n", text))
    return _join(paragraphs)
