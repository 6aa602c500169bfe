"""Real-page noise benchmark: real news pages, one mutation at a time, through `monitor check`.

For every page of an extraction data set (`../shared/extraction-dev`: real news pages with
their hand-checked article bodies), the page is served on loopback and checked once (the
baseline); then each mutation below is applied on its own and the page checked again, from
a copy of the baseline state. Text is classified as body or boilerplate by the true article
body, so a mutation touches exactly what it says.

Noise that must stay silent (a `changed` event is a false alarm):
  boilerplate    a word of a sidebar / related headline / navigation text changed (not of
                 the page's own headline)
  digits         digits outside the body changed (timestamps, view and comment counts)
  reorder        a related-links list (outside the body) in reverse order
  markup         class names changed, the body wrapped in a new element, a script and a style
  ad-slot        "Advertisement" and a promo link inserted between two body paragraphs
  tracking       tracking parameters on every link, and a cookie banner

Edits that must be found (a miss: no `changed` event, or the edit not in its changes):
  word, digit, sentence-removed, paragraph-added (in the body), headline (a word of the
  headline: of the <h1> and <h2> before the body, the one most like the page's og:title /
  <title>, and the same word in those titles; the titles alone when no heading is there)

Only what a reader sees is mutated: text inside elements hidden by their markup (`hidden`,
`display: none`, such as a video player's end card repeating a caption) is neither body
nor boilerplate.

The same pairs are also judged the way other tools compare: plain trafilatura's text,
readability-lxml's text and the whole page's text (what page-level monitors compare), each
"changed" when its text differs. Every page gets a footer with a time and view/comment
counts in all versions, so that the digits mutation applies to every page.

    python benchmarks/realpages.py --data ../shared/extraction-dev [--limit N]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from extraction import load_pages, plain_trafilatura, readability  # noqa: E402
from loopback import page_server  # noqa: E402

NOISE = ("boilerplate", "digits", "reorder", "markup", "ad-slot", "tracking")
EDITS = ("word", "digit", "sentence-removed", "paragraph-added", "headline")
BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "table",
    "section",
    "article",
    "aside",
    "nav",
    "header",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "figure",
}
ADDED_PARAGRAPH = (
    "The two organisations also said that an independent review of the programme will be "
    "published in full next spring."
)
FOOTER = (
    '<footer class="page-stats"><p>Updated <time>{time}</time> · {views} views · '
    "{comments} comments</p></footer>"
)


def squash(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Mutated:
    html: str
    evidence: str | None = None  # text that must appear in the event's changes


@dataclass
class PageCase:
    page_id: str
    baseline: str
    mutations: dict[str, Mutated] = field(default_factory=dict)


# --- classifying blocks ------------------------------------------------------------------------


def _leaf_blocks(tree: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """Elements that hold text but no other block elements."""
    found = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in {"script", "style", "head"}:
            continue
        if any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in element.iterchildren()):
            continue
        if squash(element.text_content()):
            found.append(element)
    return found


def _in_head(element: lxml.html.HtmlElement) -> bool:
    return any(a.tag == "head" for a in element.iterancestors())


_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")


def _hidden(element: lxml.html.HtmlElement) -> bool:
    """Whether a reader never sees the element (it or an ancestor hidden by its markup)."""
    for node in (element, *element.iterancestors()):
        if node.get("hidden") is not None or _HIDING_STYLE.search(node.get("style") or ""):
            return True
    return False


def classify(tree: lxml.html.HtmlElement, body: str) -> tuple[list, list]:
    """(body paragraphs, boilerplate blocks) of a page, by the true article body."""
    truth = squash(body)
    words = truth.split()
    windows = {" ".join(words[i : i + 5]) for i in range(max(0, len(words) - 4))}
    body_blocks, boilerplate = [], []
    for element in _leaf_blocks(tree):
        if _in_head(element) or _hidden(element):
            continue
        text = squash(element.text_content())
        if element.tag == "p" and len(text) >= 40 and text in truth:
            body_blocks.append(element)
            continue
        tokens = text.split()
        if len(tokens) < 3 or text in truth:
            continue
        shingles = {" ".join(tokens[i : i + 5]) for i in range(max(1, len(tokens) - 4))}
        if not shingles & windows and not any(t in truth for t in (text,)):
            boilerplate.append(element)
    return body_blocks, boilerplate


# --- editing text inside elements --------------------------------------------------------------


def _sub_once(
    element: lxml.html.HtmlElement, pattern: str, repl: Callable[[re.Match], str]
) -> str | None:
    """Replace the first match in the element's own text runs; returns the new run's text."""
    compiled = re.compile(pattern)
    holders: list[tuple[lxml.html.HtmlElement, str]] = [(element, "text")]
    for child in element.iterdescendants():
        holders += [(child, "text"), (child, "tail")]
    for node, attribute in holders:
        value = getattr(node, attribute)
        if value and compiled.search(value):
            new = compiled.sub(repl, value, count=1)
            setattr(node, attribute, new)
            return squash(new)
    return None


def _swap_word(match: re.Match) -> str:
    word = match.group(0)
    return "quietly" if word.lower() != "quietly" else "openly"


WORD = r"\b[A-Za-z]{5,}\b"


def _serialize(tree: lxml.html.HtmlElement) -> str:
    return lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>")


def _with_footer(tree: lxml.html.HtmlElement, views: int) -> None:
    body = tree.find(".//body")
    target = body if body is not None else tree
    target.append(
        lxml.html.fragment_fromstring(
            FOOTER.format(time="10:42", views=f"{views:,}", comments=views % 97)
        )
    )


# --- the headline --------------------------------------------------------------------------------


def metadata_titles(tree: lxml.html.HtmlElement) -> list[str]:
    """The page's og:title, twitter:title and <title>, in that order, those it has."""
    found = [
        meta.get("content") or ""
        for meta in tree.iter("meta")
        if meta.get("property") == "og:title" or meta.get("name") == "twitter:title"
    ]
    found += [title.text_content() for title in tree.iter("title")][:1]
    return [squash(title) for title in found if title and not title.isspace()]


def _word_set(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def headline(
    tree: lxml.html.HtmlElement, body: lxml.html.HtmlElement
) -> lxml.html.HtmlElement | None:
    """The element showing the page's headline, or None: of the <h1> and <h2> elements
    before the body's first paragraph, the one whose words are most like those of one of
    the page's metadata titles (at least half shared, Jaccard), the last <h1> if none is.

    The first <h1> of a page is not always its headline: sites use it for their logo or for
    a featured story in a sidebar, and an edit there is boilerplate, not a headline edit.
    """
    titles = [_word_set(title) for title in metadata_titles(tree)]
    before: list[lxml.html.HtmlElement] = []
    for element in tree.iter("h1", "h2", body.tag):
        if element is body:
            break
        before.append(element)
    best, best_score = None, 0.5
    for heading in before:
        if heading.tag not in {"h1", "h2"}:
            continue
        key = _word_set(heading.text_content())
        for title in titles:
            score = len(key & title) / len(key | title) if key | title else 0.0
            if score >= best_score:
                best, best_score = heading, score
    if best is not None:
        return best
    return next((h for h in reversed(before) if h.tag == "h1"), None)


# --- the mutations -----------------------------------------------------------------------------


def build_case(page_id: str, html: str, body: str) -> PageCase | None:
    try:
        original = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None
    _with_footer(original, 1234)
    baseline = _serialize(original)
    case = PageCase(page_id, baseline)

    def fresh() -> tuple[lxml.html.HtmlElement, list, list]:
        tree = lxml.html.document_fromstring(baseline)
        paragraphs, chrome = classify(tree, body)
        return tree, paragraphs, chrome

    tree, paragraphs, chrome = fresh()
    if len(paragraphs) < 2:
        return None  # the true body is not found as paragraphs in the markup: not usable

    # noise
    tree, paragraphs, chrome = fresh()
    heading = headline(tree, paragraphs[0])
    for block in chrome:
        # The headline is not in the true body but is no boilerplate either (see "headline").
        if heading is not None and (block is heading or heading in block.iterancestors()):
            continue
        if _sub_once(block, WORD, _swap_word):
            case.mutations["boilerplate"] = Mutated(_serialize(tree))
            break
    tree, paragraphs, chrome = fresh()
    stats = tree.find(".//footer[@class='page-stats']/p")
    if stats is not None and _sub_once(stats, r"1,234", lambda m: "1,305"):
        _sub_once(stats, r"10:42", lambda m: "11:07")
        case.mutations["digits"] = Mutated(_serialize(tree))
    tree, paragraphs, chrome = fresh()
    chrome_set = set(chrome)
    for listing in tree.iter("ul", "ol"):
        items = [li for li in listing if li.tag == "li"]
        inside = any(p in set(listing.iterdescendants()) for p in paragraphs)
        if (
            len(items) >= 3
            and not inside
            and any(li in chrome_set or li.find(".//a") is not None for li in items)
        ):
            for li in items:
                listing.remove(li)
            for li in reversed(items):
                listing.append(li)
            case.mutations["reorder"] = Mutated(_serialize(tree))
            break
    tree, paragraphs, chrome = fresh()
    for element in tree.iter():
        if isinstance(element.tag, str) and element.get("class"):
            element.set("class", element.get("class", "") + " v2-x")
    parent = paragraphs[0].getparent()
    if parent is not None and parent.getparent() is not None:
        grand = parent.getparent()
        wrapper = etree.Element("div", {"class": "content-wrapper-new"})
        grand.replace(parent, wrapper)
        wrapper.append(parent)
    head = tree.find(".//head")
    if head is not None:
        head.append(lxml.html.fragment_fromstring("<style>.v2-x{margin:0}</style>"))
    body_el = tree.find(".//body")
    if body_el is not None:
        body_el.append(lxml.html.fragment_fromstring("<script>window.__v=2;</script>"))
    case.mutations["markup"] = Mutated(_serialize(tree))
    tree, paragraphs, chrome = fresh()
    ad = lxml.html.fragment_fromstring(
        '<div class="ad-slot"><p>Advertisement</p>'
        '<a href="/promo">Get 50% off a digital subscription today</a></div>'
    )
    paragraphs[0].addnext(ad)
    case.mutations["ad-slot"] = Mutated(_serialize(tree))
    tree, paragraphs, chrome = fresh()
    for anchor in tree.iter("a"):
        href = anchor.get("href")
        if href and not href.startswith(("#", "mailto:", "javascript:")):
            joiner = "&" if "?" in href else "?"
            anchor.set("href", f"{href}{joiner}utm_source=newsletter&utm_medium=email")
    body_el = tree.find(".//body")
    if body_el is not None:
        body_el.insert(
            0,
            lxml.html.fragment_fromstring(
                '<div id="cookie-consent" class="cookie-banner"><p>We use cookies to improve your '
                "experience. By continuing to browse you accept our cookie policy.</p>"
                "<button>Accept all</button></div>"
            ),
        )
    case.mutations["tracking"] = Mutated(_serialize(tree))

    # edits
    tree, paragraphs, chrome = fresh()
    for p in paragraphs:
        changed = _sub_once(p, WORD, _swap_word)
        if changed:
            case.mutations["word"] = Mutated(
                _serialize(tree), "quietly" if "quietly" in changed else "openly"
            )
            break
    tree, paragraphs, chrome = fresh()
    for p in paragraphs:
        digit = re.search(r"\d", p.text_content())
        if digit:
            new = str((int(digit.group(0)) + 1) % 10)
            changed = _sub_once(p, r"\d", lambda m, new=new: new)
            if changed:
                case.mutations["digit"] = Mutated(_serialize(tree), None)
            break
    tree, paragraphs, chrome = fresh()
    for p in paragraphs:
        if len(p) == 0 and p.text:
            sentences = re.split(r"(?<=[.!?])\s+", p.text.strip())
            if len(sentences) >= 2 and len(sentences[-1]) > 20:
                p.text = " ".join(sentences[:-1])
                case.mutations["sentence-removed"] = Mutated(_serialize(tree), sentences[-1][:30])
                break
    tree, paragraphs, chrome = fresh()
    added = etree.Element("p")
    added.text = ADDED_PARAGRAPH
    paragraphs[len(paragraphs) // 2].addnext(added)
    case.mutations["paragraph-added"] = Mutated(_serialize(tree), ADDED_PARAGRAPH[:40])
    tree, paragraphs, chrome = fresh()
    heading = headline(tree, paragraphs[0])
    titles = metadata_titles(tree)
    words = heading.text_content() if heading is not None else " ".join(titles[:1])
    match = re.search(WORD, words)
    if match:
        old = match.group(0)
        if heading is not None:
            _sub_once(heading, re.escape(old), _swap_word)
        title = tree.find(".//title")
        if title is not None and title.text:
            title.text = title.text.replace(old, "quietly", 1)
        for meta in tree.iter("meta"):
            if meta.get("property") in {"og:title"} or meta.get("name") in {"twitter:title"}:
                meta.set("content", (meta.get("content") or "").replace(old, "quietly", 1))
        case.mutations["headline"] = Mutated(_serialize(tree), "quietly")
    return case


# --- running -----------------------------------------------------------------------------------


def monitor_check(config: Path, state: Path) -> list[dict]:
    monitor = Path(sys.executable).parent / "monitor"
    run = subprocess.run(
        [str(monitor), "check", "--config", str(config), "--state", str(state), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def whole_page(html: str) -> str:
    try:
        tree = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    for element in tree.iter("script", "style"):
        element.drop_tree()
    return squash(tree.text_content())


def found_in_changes(event: dict, evidence: str | None) -> bool:
    if evidence is None:
        return True
    texts = [
        str(c.get("before", "")) + " " + str(c.get("after", "")) for c in event.get("changes", [])
    ]
    return any(squash(evidence) in squash(t) for t in texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "extraction-dev")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    parser.add_argument(
        "--pages", nargs="+", default=[], metavar="ID", help="only the pages whose id starts so"
    )
    parser.add_argument("--no-others", action="store_true", help="skip the other extractors")
    parser.add_argument(
        "--wrong", action="store_true", help="list our false alarms and misses (page, mutation)"
    )
    args = parser.parse_args()
    pages = load_pages(args.data)
    if args.pages:
        pages = [p for p in pages if p.id.startswith(tuple(args.pages))]
    if args.limit:
        pages = pages[: args.limit]
    cases = [c for c in (build_case(p.id, p.html, p.expected) for p in pages) if c is not None]
    kinds = [*NOISE, *EDITS]
    print(f"{len(cases)} of {len(pages)} pages usable (true body found as paragraphs)")
    cycles = [{f"/p/{c.page_id}": c.baseline.encode("utf-8") for c in cases}]
    for kind in kinds:
        cycles.append(
            {
                f"/p/{c.page_id}": (
                    c.mutations[kind].html if kind in c.mutations else c.baseline
                ).encode("utf-8")
                for c in cases
            }
        )
    ours: dict[str, list[bool]] = defaultdict(list)  # kind -> wrong (false alarm / miss) per page
    wrong: list[tuple[str, str, dict | None]] = []  # (mutation, page id, event) we got wrong
    with tempfile.TemporaryDirectory(prefix="realpages-") as work, page_server(cycles) as server:
        folder = Path(work)
        config = folder / "sources.toml"
        lines = ['[defaults]\ntimeout = "10s"\nretries = 1\nconcurrency = 8\n']
        for c in cases:
            lines.append(
                f'[[sources]]\nname = "p{c.page_id[:12]}"\n'
                f'url = "{server.url("/p/" + c.page_id)}"\n'
            )
        config.write_text("\n".join(lines), encoding="utf-8")
        baseline_state = folder / "state0"
        server.switch(0)
        first = monitor_check(config, baseline_state)
        baselined = {e["url"] for e in first if e["event"] == "baseline"}
        for number, kind in enumerate(kinds, start=1):
            state = folder / f"state-{kind}"
            shutil.copytree(baseline_state, state)
            server.switch(number)
            events = monitor_check(config, state)
            changed = {e["url"]: e for e in events if e["event"] == "changed"}
            for c in cases:
                url = server.url("/p/" + c.page_id)
                if kind not in c.mutations or url not in baselined:
                    continue
                event = changed.get(url)
                if kind in NOISE:
                    ours[kind].append(event is not None)
                else:
                    ours[kind].append(
                        event is None or not found_in_changes(event, c.mutations[kind].evidence)
                    )
                if ours[kind][-1]:
                    wrong.append((kind, c.page_id, event))
    others: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    if not args.no_others:
        extractors = {
            "trafilatura": plain_trafilatura,
            "readability": readability,
            "whole page": whole_page,
        }
        for name, extract in extractors.items():
            for c in cases:
                before = squash(extract(c.baseline) or "")
                for kind, mutated in c.mutations.items():
                    after = squash(extract(mutated.html) or "")
                    differs = before != after
                    others[name][kind].append(differs if kind in NOISE else not differs)
    names = ["ours", *others]
    print(f"\n{'mutation':<18}{'pages':>6}" + "".join(f"{n:>14}" for n in names))
    pooled: dict[str, dict[str, list[bool]]] = {n: {"noise": [], "edits": []} for n in names}
    for kind in kinds:
        row = [ours[kind], *(others[n][kind] for n in others)]
        label = "false alarms" if kind in NOISE else "misses"
        cells = "".join(f"{(sum(r) / len(r) if r else 0):>13.1%} " for r in row)
        print(f"{kind:<18}{len(ours[kind]):>6}{cells}  {label}")
        for name, values in zip(names, row, strict=True):
            pooled[name]["noise" if kind in NOISE else "edits"] += values
    for group, label in (("noise", "false alarms, pooled"), ("edits", "misses, pooled")):
        cells = "".join(
            f"{(sum(pooled[n][group]) / len(pooled[n][group]) if pooled[n][group] else 0):>13.1%} "
            for n in names
        )
        print(f"{label:<24}{cells}")
    if args.wrong:
        print("\nour wrong answers (mutation, page, the changes reported):")
        for kind, page_id, event in wrong:
            print(f"  {kind:<18}{page_id}")
            for change in (event or {}).get("changes", []):
                print(f"    {json.dumps(change, ensure_ascii=False)[:300]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
