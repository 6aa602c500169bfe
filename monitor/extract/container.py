"""The element that holds a statement, learned once so later checks can skip extraction.

Most checks of a statement find a page whose noise changed (a timestamp, a sidebar) and
whose statement did not. Full extraction is the costliest step of a check, so after each
full extraction the pipeline learns the statement's container: the smallest element whose
text holds every paragraph. The next check parses the page, finds that element, and hashes
its text together with the page's headline candidates. An unchanged digest means the
statement cannot have changed (every word of it lies inside the container), so extraction
is skipped. Any other outcome, including a container that is gone, falls back to full
extraction, which also learns the container anew.
"""

from __future__ import annotations

import hashlib
import re

import lxml.html
from lxml import etree

from monitor.extract.article import Article

# Elements that can wrap a statement; inline elements never do.
_CONTAINER_TAGS = ("article", "main", "section", "div", "td", "body")
_PROBE_CHARS = 80


def _flat(text: str) -> str:
    return " ".join(text.split())


def _parse(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def learn_container(html: str, article: Article) -> tuple[str, str] | None:
    """The XPath of the statement's container in this page and the page's digest there.

    None when no element below <body> holds the whole statement (then every check
    extracts in full).
    """
    paragraphs = [p for p in article.text.split("\n\n") if p.strip()]
    tree = _parse(html) if paragraphs else None
    if tree is None:
        return None
    first = _flat(paragraphs[0])[:_PROBE_CHARS]
    last = _flat(paragraphs[-1])[-_PROBE_CHARS:]
    best: tuple[int, lxml.html.HtmlElement] | None = None
    for element in tree.iter(*_CONTAINER_TAGS):
        text = _flat(element.text_content())
        if first in text and last in text and (best is None or len(text) < best[0]):
            best = (len(text), element)
    if best is None or best[1].tag == "body":
        return None
    path = _xpath(best[1])
    digest = container_digest_of(tree, path)
    return (path, digest) if digest is not None else None


def container_digest(html: str, path: str) -> str | None:
    """The digest of the container at `path` in this page; None when it is not there."""
    tree = _parse(html)
    return container_digest_of(tree, path) if tree is not None else None


def container_digest_of(tree: lxml.html.HtmlElement, path: str) -> str | None:
    try:
        found = tree.xpath(path)
    except etree.XPathError:
        return None
    if len(found) != 1 or not isinstance(found[0], lxml.html.HtmlElement):
        return None
    digest = hashlib.sha256(_flat(found[0].text_content()).encode("utf-8"))
    # The headline lives outside the body container on many pages: include its candidates
    # so that a quietly edited headline is never skipped.
    for headline in _headline_candidates(tree):
        digest.update(b"\0" + headline.encode("utf-8"))
    return digest.hexdigest()


def _headline_candidates(tree: lxml.html.HtmlElement) -> list[str]:
    found = tree.xpath(
        "(//title)[1]//text() | (//h1)[1]//text() "
        "| //meta[@property='og:title' or @name='twitter:title']/@content"
    )
    return [_flat(str(text)) for text in found]


def _xpath(element: lxml.html.HtmlElement) -> str:
    """A path to the element that survives changes elsewhere in the page where it can.

    Anchored at the nearest ancestor with an id when there is one (ids rarely move), else
    the positional path from the root.
    """
    steps: list[str] = []
    node: lxml.html.HtmlElement | None = element
    while node is not None:
        node_id = node.get("id")
        if node_id and re.fullmatch(r"[\w.:-]+", node_id):
            return f"//*[@id='{node_id}']" + "".join(reversed(steps))
        parent = node.getparent()
        if parent is None:
            break
        same = [c for c in parent if c.tag == node.tag]
        index = same.index(node) + 1
        steps.append(f"/{node.tag}[{index}]")
        node = parent
    return element.getroottree().getpath(element)
