"""The element that holds a statement, learned once so later checks can skip extraction.

Most checks of a statement find a page whose noise changed (a timestamp, a sidebar) and
whose statement did not. Full extraction is the costliest step of a check, so after each
full extraction the pipeline learns the statement's container: the parent of the smallest
element whose text holds every paragraph. The next check parses the page, finds that
element, and hashes its text together with the page's headline candidates and its number
of blocks of text of each kind. An unchanged digest means the statement cannot have changed
(every word of it lies inside the container), so extraction is skipped. Any other outcome,
including a container that is gone, falls back to full extraction, which also learns the
container anew.

The parent, not the smallest holder: a paragraph added beside the statement's element (an
editor's note after the body, an update above it) is part of what the extractor reads on
52 of 87 real news pages measured (`benchmarks/container.py`), and on 32 of them the
holder's digest never saw it: the edit went unreported. The parent adds what surrounds the
body (its headline, byline), which rarely changes. In the rest of the page, where sidebars
change their words on every fetch, only the number of blocks of each kind the extractor reads
as prose (paragraphs, quotes, preformatted text) is digested, so that one added there shows
too: the extractor reads one placed far from the body on some pages, a notice above the
page's main wrapper (`tests/test_container.py`, `EDGE_EDITS`).

The container is found, and later read, with lexbor (selectolax): an HTML5 parser several
times faster than lxml, and this digest is the whole CPU cost of a page whose statement is
unchanged apart from its fetch. Learning and reading use the same parser, so the path
always names the element the digest was taken of. Paths are CSS (`css2:` then a selector);
a path stored by an older version (an XPath, or `css:` for the holder itself) gives no
digest, so that page is extracted once and its container learned anew.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

if TYPE_CHECKING:  # not loaded for a digest: an unchanged statement needs no extractor
    from monitor.extract.base import Article

# Elements that can wrap a statement; inline elements never do.
_CONTAINER_TAGS = "article, main, section, div, td, body"
# A table's parts that hold cells, not text: `_outside_table_parts`.
_TABLE_PARTS = frozenset({"table", "thead", "tbody", "tfoot", "tr"})
_PROBE_CHARS = 80
_PREFIX = "css2:"  # css2: the holder's parent (css: of older versions, the holder)
_SAFE_ID = re.compile(r"[\w.:-]+")
# The steps of a path (`_css_path`): an anchor at an id, then a child by tag and position.
_ID_STEP = re.compile(rf'\[id="{_SAFE_ID.pattern}"\]')
_NTH_STEP = re.compile(r"([^\s:>]+):nth-of-type\(([1-9][0-9]*)\)")
# What the extractor reads a headline from (monitor.extract.article._title): the <title>, every
# <h1>, and these <meta> names, given as `property` or `name` in any case. And the blocks it
# reads as prose wherever they are, counted in the same walk of the page
# (`_headlines_and_blocks`): a note added as a <blockquote> or a <pre> above the page's
# wrapper is read. While only the <p> were counted, 50 of the 2,069 notes read by the
# extractor that were added at random places of the real pages of `extraction-dev` (as bare
# text, a quote, preformatted text, a subheading or a cell) left the digest unchanged: 46 of
# them quotes and preformatted text, 4 subheadings. Subheadings are not counted: sidebars
# change their number (a list of related stories, each under an <h3>), and counting them
# sent 3 % of the cycle benchmark's unchanged pages to extraction on every check.
_BLOCKS = frozenset({"p", "blockquote", "pre"})
_HEADLINES_AND_BLOCKS = "title, h1, meta, " + ", ".join(sorted(_BLOCKS))
_HEADLINE_META = frozenset({"og:title", "twitter:title", "og:site_name", "application-name"})
_last_parse = threading.local()  # per thread: (the page's text, its tree)


def _parsed(html: str) -> LexborHTMLParser:
    """The page's tree. The last page parsed in this thread is reused: a page whose digest
    changed is extracted and its container learned anew right after, from the same text
    (the same object: its tree cannot be another page's)."""
    last = getattr(_last_parse, "page", None)
    if last is not None and last[0] is html:
        tree: LexborHTMLParser = last[1]
        return tree
    tree = LexborHTMLParser(html)
    _last_parse.page = (html, tree)
    return tree


def _flat(text: str) -> str:
    return " ".join(text.split())


def learn_container(html: str, article: Article) -> tuple[str, str] | None:
    """The path of the statement's container in this page and the page's digest there: the
    parent of the smallest element that holds every copy of the statement (the element
    itself when its parent is <body>; the element around the table when that is a table's
    row, row group or the table: `_outside_table_parts`).

    None when no element below <body> holds the whole statement, or only a table right
    below <body> does (then every check extracts in full).
    """
    paragraphs = [p for p in article.text.split("\n\n") if p.strip()]
    if not paragraphs:
        return None
    tree = _parsed(html)
    first = _flat(paragraphs[0])[:_PROBE_CHARS]
    last = _flat(paragraphs[-1])[-_PROBE_CHARS:]
    nodes = tree.css(_CONTAINER_TAGS)  # in document order: every ancestor before its descendants
    copies = _copies(nodes, first, last)
    container = _holder_of_every_copy(nodes, copies)
    if container is None or container.tag == "body":
        return None
    parent = container.parent
    if parent is not None and parent.tag not in ("body", "html"):
        container = parent  # what lies beside the statement's element: see the module's text
    container = _outside_table_parts(container)
    if container is None:
        return None
    path = _PREFIX + _css_path(container)
    digest = _digest_of(tree, path)
    return (path, digest) if digest is not None else None


def _outside_table_parts(node: LexborNode) -> LexborNode | None:
    """`node`, or when it is a part of a table that holds no text of its own (a row, a row
    group, the table), the element around that table; None when that is <body>.

    Text misplaced in such a part (a paragraph between two cells) is moved by an HTML5
    parser such as lexbor out of the table, in front of it, while lxml, which the extractor
    reads pages with, leaves it where it was written: the extractor would read an editor's
    note added there, and a container inside the table would not hold it.
    """
    while node.tag in _TABLE_PARTS:
        parent = node.parent
        if parent is None:
            return None
        node = parent
    return None if node.tag in ("body", "html") else node


def _copies(nodes: list[LexborNode], first: str, last: str) -> list[LexborNode]:
    """The innermost of `nodes` whose text holds both probes: the statement's copies.

    A page may carry the statement twice: the visible body and a hidden copy (microdata, a
    print or mobile version). An element's text holds its every descendant's text, so every
    ancestor of a holder holds the probes too: walked from the end of the document, an
    element is read only when none of its descendants held them. The wrappers around the
    statement, whose text is most of the page's, are never read here.
    """
    copies: list[LexborNode] = []
    holding: set[int] = set()  # the ancestors of the copies found so far
    for node in reversed(nodes):  # every descendant of an element before the element
        if node.mem_id in holding:
            continue
        # Text nodes joined as they stand (like the extracted text: "a <a>link</a>." reads
        # "a link."), so the probes are found.
        text = _flat(node.text(separator=""))
        if first in text and last in text:
            copies.append(node)
            holding |= _ancestor_ids(node)
    return copies


def _holder_of_every_copy(nodes: list[LexborNode], copies: list[LexborNode]) -> LexborNode | None:
    """The smallest of `nodes` that holds every copy of the statement (None without copies).

    The extracted text may come from any copy, so the container must hold them all, or an
    edit of a copy outside it would go unseen. The holders of every copy are one line of
    ancestors, whose texts grow outwards; of those as short as the innermost, the outermost
    is taken (the element a whole-page search for the shortest holder meets first).
    """
    if not copies:
        return None
    common = set.intersection(*({c.mem_id} | _ancestor_ids(c) for c in copies))
    line = [node for node in nodes if node.mem_id in common]  # outermost first
    if not line:
        return None
    chosen = line[-1]
    length = len(_flat(chosen.text(separator="")))
    for node in reversed(line[:-1]):
        if len(_flat(node.text(separator=""))) > length:
            break
        chosen = node
    return chosen


def _ancestor_ids(node: LexborNode) -> set[int]:
    found = set()
    parent = node.parent
    while parent is not None:
        found.add(parent.mem_id)
        parent = parent.parent
    return found


def container_digest(html: str, path: str) -> str | None:
    """The digest of the container at `path` in this page; None when it is not there."""
    if not path.startswith(_PREFIX):
        return None
    return _digest_of(_parsed(html), path)


def _digest_of(tree: LexborHTMLParser, path: str) -> str | None:
    container = _element_at(tree, path.removeprefix(_PREFIX))
    if container is None:
        return None
    # The text nodes joined by NUL (which HTML parsing never leaves in text: it becomes
    # U+FFFD), each run of whitespace made one space. A space added or removed between two
    # words shows, and so does a word moved from one text node to the next (from one
    # paragraph to the next, even in markup without whitespace between the paragraphs).
    # (The text joined as it stands and the text with a space at each node, hashed together
    # before, can both be read off this one string, so it shows every edit they showed, for
    # half the CPU: 28 against 57 µs on the cycle benchmark's pages.)
    text = _flat(container.text(separator="\0"))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
    # The headline lives outside the body container on many pages: include its candidates
    # so that a quietly edited headline is never skipped.
    headlines, blocks = _headlines_and_blocks(tree)
    for headline in headlines:
        digest.update(b"\0" + headline.encode("utf-8", "surrogatepass"))
    # The extractor reads prose wherever it finds it, not only in the container: a paragraph
    # added beside it, or far from it (a notice above the page's main wrapper), is read on
    # some pages. The number of blocks of each kind in the whole page is in the digest too.
    # Not their text: the sidebars change their words on every fetch, rarely their number of
    # paragraphs.
    digest.update(b"\0" + blocks.encode("ascii"))
    return digest.hexdigest()


def _element_at(tree: LexborHTMLParser, selector: str) -> LexborNode | None:
    """The one element `selector` (a path as `_css_path` writes them) names, as lexbor's CSS
    engine finds it; None when no element or several answer to it.

    Walked a step at a time from its anchor (the root, or the element with an id): lexbor's
    CSS engine tried the last step on every element of the page and went up from each, a
    sixth of the digest's CPU on a 45 KB page (0.06 ms). A selector of another form goes to
    the CSS engine.
    """
    anchor, *steps = selector.split(" > ")
    if anchor == "html" and tree.root is not None and tree.root.tag == "html":
        node: LexborNode = tree.root
    elif _ID_STEP.fullmatch(anchor):
        found = tree.css(anchor)
        if len(found) != 1:  # an id given twice (it happens): as the CSS engine reads it
            return _only(tree, selector)
        node = found[0]
    else:
        return _only(tree, selector)
    for step in steps:
        parsed = _NTH_STEP.fullmatch(step)
        if parsed is None:
            return _only(tree, selector)
        tag, left = parsed.group(1), int(parsed.group(2))
        for child in node.iter():  # the child elements, in order
            if child.tag == tag:
                left -= 1
                if left == 0:
                    node = child
                    break
        else:
            return None
    return node


def _only(tree: LexborHTMLParser, selector: str) -> LexborNode | None:
    try:
        found = tree.css(selector)
    except SelectolaxError:
        return None
    return found[0] if len(found) == 1 else None


def _headlines_and_blocks(tree: LexborHTMLParser) -> tuple[list[str], str]:
    """Every text the extractor may read the headline from, in document order: each <title>
    and <h1>, and the metadata titles and site names (the extractor strips a site's name off
    a title), so that an edit of any of them changes the digest; and how many blocks of each
    kind of `_BLOCKS` the page has ("blockquote1 p12": a page with only paragraphs gives
    "p12"). One walk of the page for both."""
    found: list[str] = []
    blocks: dict[str, int] = {}
    for node in tree.css(_HEADLINES_AND_BLOCKS):
        tag = node.tag
        if tag in _BLOCKS:
            blocks[tag] = blocks.get(tag, 0) + 1
        elif tag == "meta":
            attributes = node.attributes
            name = (attributes.get("property") or attributes.get("name") or "").strip().lower()
            if name in _HEADLINE_META:
                found.append(f"{name}={_flat(attributes.get('content') or '')}")
        else:
            found.append(f"{tag}:{_flat(node.text(separator=''))}")
    return found, " ".join(f"{tag}{count}" for tag, count in sorted(blocks.items()))


def _css_path(node: LexborNode) -> str:
    """A selector of the element that survives changes elsewhere in the page where it can.

    Anchored at the nearest ancestor with an id when there is one (ids rarely move), else
    the positional path from the root (`tag:nth-of-type(k)` at each step).
    """
    steps: list[str] = []
    current: LexborNode | None = node
    while current is not None:
        node_id = current.attributes.get("id")
        if node_id and _SAFE_ID.fullmatch(node_id):
            steps.append(f'[id="{node_id}"]')
            break
        parent = current.parent
        if current.tag == "html" or parent is None:
            steps.append(current.tag or "html")
            break
        index = 1
        for sibling in parent.iter():
            if sibling.mem_id == current.mem_id:
                break
            if sibling.tag == current.tag:
                index += 1
        steps.append(f"{current.tag}:nth-of-type({index})")
        current = parent
    return " > ".join(reversed(steps))
