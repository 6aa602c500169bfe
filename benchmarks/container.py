"""The learned container on real pages: what an unchanged statement costs, and that edits show.

    python benchmarks/container.py [--data ../shared/extraction-dev] [--repeat 5] [--random 30]

For each page of DIR (laid out like `../shared/extraction-dev`: html/<id>.html.gz): a full
extraction learns the container, then the page is read again the way a later check whose
statement did not change reads it. Reports the share of pages with a learned container, the
CPU time of that digest (lexbor, what checks use) beside a plain lxml parse of the same page
(what the digest cost before) and a full extraction, and, as a correctness check, how many
one-word edits of the extracted body and of the <title> change the digest (must be all), and
of the paragraphs added beside the body's element (after the element holding its first
paragraph: an editor's note), how many the extractor reads as part of the statement and how
many of those change the digest (must be all). The same for the note added after elements
drawn at random from the whole page (`--random N` per page, a fixed seed): the extractor reads
a few of them far from the body, and those must change the digest too; and once more with the
note in another form at each place, drawn from `OTHER_FORMS` (a quote, preformatted text, a
subheading, bare text).
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lxml.html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package

from monitor.extract.article import extract_article  # noqa: E402
from monitor.extract.container import container_digest, learn_container  # noqa: E402


def cpu_ms(work: Callable[[], object], repeat: int) -> float:
    """The median CPU time of `work` in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        work()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def one_word_edit(html: str, text: str) -> str | None:
    """The page with the first long word of the body that occurs once in the page changed."""
    for word in text.split():
        if len(word) >= 7 and word.isalpha() and html.count(word) == 1:
            return html.replace(word, word[::-1] + "x")
    return None


NOTE = "Editor's note: this statement was corrected on 3 December to give the agreement's term."


def note_beside_body(html: str, text: str, up: int = 0) -> str | None:
    """The page with a paragraph added after the element that holds the body's first
    paragraph (as a sibling of that element), or after its ancestor `up` levels above;
    None when the paragraph is not found or the element is <body>."""
    probe = " ".join(text.split("\n\n")[0].split())[:60]
    tree = lxml.html.document_fromstring(html)
    holders = [
        e
        for e in tree.iter("p", "div", "li", "blockquote")
        if probe in " ".join(e.text_content().split())
    ]
    if not holders:
        return None
    paragraph = holders[-1]  # the innermost (document order puts descendants last)
    parent = paragraph.getparent()
    for _ in range(up):
        parent = parent.getparent() if parent is not None else None
    if parent is None or parent.tag in ("body", "html"):
        return None
    parent.addnext(lxml.html.fragment_fromstring(f"<p>{NOTE}</p>"))
    return lxml.html.tostring(tree, encoding="unicode")


# Elements after which a note is not added: they hold no visible text or sit in <head>.
_SILENT = {"html", "head", "title", "meta", "link", "script", "style", "noscript", "template"}


# The note's other forms: each is a block the extractor may read as prose, or none at all.
OTHER_FORMS = ("blockquote", "pre", "h2", "h3", "text")


def notes_anywhere(
    html: str, count: int, rng: random.Random, forms: tuple[str, ...] = ("p",)
) -> list[str]:
    """The page with a note added after an element drawn at random, `count` times (one note
    per page), as one of `forms` drawn at random: an element's tag, or "text" (bare text)."""
    tree = lxml.html.document_fromstring(html)
    places = [
        index
        for index, element in enumerate(tree.iter())
        if isinstance(element.tag, str)
        and element.tag not in _SILENT
        and element.getparent() is not None
        and element.getparent().tag not in ("head", "html")
    ]
    noted = []
    for index in rng.sample(places, min(count, len(places))):
        tree = lxml.html.document_fromstring(html)
        element = next(e for i, e in enumerate(tree.iter()) if i == index)
        form = forms[0] if len(forms) == 1 else rng.choice(forms)
        if form == "text":
            element.tail = f" {NOTE} {element.tail or ''}"
        else:
            element.addnext(lxml.html.fragment_fromstring(f"<{form}>{NOTE}</{form}>"))
        noted.append(lxml.html.tostring(tree, encoding="unicode"))
    return noted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/extraction-dev"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--random", type=int, default=30, help="notes at random places per page")
    args = parser.parse_args()
    rng, other_rng = random.Random(1), random.Random(2)
    anywhere_read = anywhere_found = other_read = other_found = 0

    sizes, digest, lxml_parse, extraction = [], [], [], []
    learned = body_edits = body_found = title_edits = title_found = 0
    notes_read, notes_found = [0, 0, 0], [0, 0, 0]  # by levels above the body's element
    pages = sorted((args.data / "html").glob("*.html.gz"))
    for file in pages:
        html = gzip.decompress(file.read_bytes()).decode("utf-8", "replace")
        article = extract_article(html)
        found = learn_container(html, article)
        if found is None:
            continue
        learned += 1
        path, stored = found
        sizes.append(len(html.encode()) / 1000)
        # Each call on its own copy of the text, as each check has: the tree of the text
        # just learned from is kept for the digest that follows it (one parse per page).
        copies = iter([html.encode().decode() for _ in range(args.repeat)])
        digest.append(cpu_ms(lambda: container_digest(next(copies), path), args.repeat))  # noqa: B023
        lxml_parse.append(cpu_ms(lambda: lxml.html.document_fromstring(html), args.repeat))  # noqa: B023
        extraction.append(cpu_ms(lambda: extract_article(html), 1))  # noqa: B023
        assert container_digest(html, path) == stored
        edited = one_word_edit(html, article.text)
        if edited is not None:
            body_edits += 1
            body_found += container_digest(edited, path) != stored
        if article.title and html.count(article.title) >= 1 and "<title>" in html:
            title_edits += 1
            retitled = html.replace("<title>", "<title>Updated: ", 1)
            title_found += container_digest(retitled, path) != stored
        # The noted page is serialised anew by lxml: learned on the page without the note
        # serialised alike, so that only the note differs.
        unnoted = lxml.html.tostring(lxml.html.document_fromstring(html), encoding="unicode")
        again = learn_container(unnoted, extract_article(unnoted))
        for up in range(3):
            noted = note_beside_body(html, article.text, up)
            if again is not None and noted is not None and NOTE in extract_article(noted).text:
                notes_read[up] += 1
                notes_found[up] += container_digest(noted, again[0]) != again[1]
        for noted in notes_anywhere(unnoted, args.random, rng) if again is not None else []:
            if NOTE in extract_article(noted).text:
                anywhere_read += 1
                anywhere_found += container_digest(noted, again[0]) != again[1]
        others = notes_anywhere(unnoted, args.random, other_rng, OTHER_FORMS) if again else []
        for noted in others:
            if NOTE in extract_article(noted).text:
                other_read += 1
                other_found += container_digest(noted, again[0]) != again[1]

    def line(name: str, values: list[float]) -> str:
        values = sorted(values)
        p90 = values[int(len(values) * 0.9)]
        return (
            f"{name:<34}mean {statistics.mean(values):6.2f} ms, "
            f"median {statistics.median(values):6.2f} ms, p90 {p90:6.2f} ms"
        )

    print(f"pages: {len(pages)}, container learned: {learned} ({learned / len(pages):.0%})")
    print(f"page size: median {statistics.median(sizes):.0f} KB, max {max(sizes):.0f} KB")
    print(line("container digest (lexbor)", digest))
    print(line("lxml parse alone (the old digest)", lxml_parse))
    print(line("full extraction", extraction))
    print(f"one-word body edits that change the digest: {body_found}/{body_edits}")
    print(f"<title> edits that change the digest: {title_found}/{title_edits}")
    for up, where in enumerate(("the body's element", "its parent", "its grandparent")):
        print(
            f"a note added beside {where}, read by the extractor, changes the digest: "
            f"{notes_found[up]}/{notes_read[up]}"
        )
    print(
        f"a note added at {args.random} random places per page, read by the extractor, changes "
        f"the digest: {anywhere_found}/{anywhere_read}"
    )
    print(
        f"the same in other forms ({', '.join(OTHER_FORMS)}), read by the extractor, changes "
        f"the digest: {other_found}/{other_read}"
    )


if __name__ == "__main__":
    main()
