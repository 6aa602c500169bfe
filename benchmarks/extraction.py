"""Measure article-body extraction against a labelled page set.

    python benchmarks/extraction.py --data DIR [--compare] [--repeat N] [--worst N] [--folds 5]

DIR holds `html/<id>.html.gz` pages and `ground-truth.json` ({id: {"articleBody": ...}}), the
layout of the scrapinghub article-extraction-benchmark. Scoring follows that benchmark's
`evaluate.py` exactly:

- text is tokenised with the regex `\\w+` (Unicode; case is kept, as there);
- each text becomes the multiset (Counter) of its shingles of 4 consecutive tokens;
- per page, true positives, false positives and false negatives are counted over the two
  multisets, then normalised to sum to 1 so that long pages do not weigh more;
- precision is averaged over the pages where something was extracted or expected
  (tp + fp > 0), recall over the pages with something expected (tp + fn > 0);
- F1 is the harmonic mean of the averaged precision and recall (not a mean of per-page F1).

Timing is wall-clock milliseconds per page of each extractor call (the median is the figure
to compare; the mean shows the cost of the largest pages). With --compare, plain
`trafilatura.extract(include_comments=False)` and readability-lxml are scored in the same run,
taking turns page by page so that other load on the machine weighs on all of them alike.

With --folds K, the pages are split into K folds by site (the host of the page's canonical or
og:url address), and each optional rule of the extractor is judged the honest way: for every
fold, a rule is kept only when turning it off lowers F1 on the other folds, and the F1 of that
choice is measured on the held-out fold. The mean held-out F1 is the figure that generalises;
the table also shows each rule's effect per fold.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lxml.html

# Run as a script from a checkout: the project's package is one directory up.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.extract.article import extract_article  # noqa: E402

Extractor = Callable[[str], str]
_TOKEN = re.compile(r"\w+")
_SHINGLE = 4


@dataclass(frozen=True)
class Page:
    id: str
    html: str
    expected: str


@dataclass(frozen=True)
class Score:
    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return 0.0 if self.tp == self.fp == 0 else self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return 0.0 if self.tp == self.fn == 0 else self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Result:
    name: str
    precision: float
    recall: float
    median_ms: float
    mean_ms: float
    per_page: dict[str, Score]

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def load_pages(data: Path) -> list[Page]:
    """The labelled pages of a benchmark directory, in a stable order."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for path in sorted((data / "html").glob("*.html.gz")):
        page_id = path.name.split(".")[0]
        if page_id in truth:
            with gzip.open(path, "rt", encoding="utf-8") as file:
                pages.append(Page(page_id, file.read(), truth[page_id].get("articleBody") or ""))
    return pages


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """The multiset of 4-token shingles of a text (a shorter text is one short shingle)."""
    tokens = _TOKEN.findall(text or "")
    grams = (tuple(tokens[i : i + _SHINGLE]) for i in range(max(1, len(tokens) - _SHINGLE + 1)))
    return Counter(gram for gram in grams if gram)


def score(expected: str, predicted: str) -> Score:
    """Shingle true/false positives and false negatives, normalised to sum to 1."""
    truth, prediction = shingles(expected), shingles(predicted)
    tp = sum((truth & prediction).values())
    fp = sum((prediction - truth).values())
    fn = sum((truth - prediction).values())
    total = tp + fp + fn
    return Score(tp / total, fp / total, fn / total) if total else Score(0.0, 0.0, 0.0)


def run(extractors: dict[str, Extractor], pages: list[Page], repeat: int) -> list[Result]:
    """Score and time every extractor over all pages.

    Extractors take turns page by page, so that a busy machine slows them all alike; with
    `repeat`, each page's time is the fastest of that many runs.
    """
    for extractor in extractors.values():
        extractor(pages[0].html)  # warm-up: imports and caches are not what we measure
    scores: dict[str, dict[str, Score]] = {name: {} for name in extractors}
    times: dict[str, list[float]] = {name: [] for name in extractors}
    for page in pages:
        for name, extractor in extractors.items():
            fastest = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                predicted = extractor(page.html) or ""
                fastest = min(fastest, (time.perf_counter() - start) * 1000)
            times[name].append(fastest)
            scores[name][page.id] = score(page.expected, predicted)
    return [
        Result(
            name=name,
            precision=statistics.mean(s.precision for s in per_page.values() if s.tp + s.fp > 0),
            recall=statistics.mean(s.recall for s in per_page.values() if s.tp + s.fn > 0),
            median_ms=statistics.median(times[name]),
            mean_ms=statistics.mean(times[name]),
            per_page=per_page,
        )
        for name, per_page in scores.items()
    ]


def ours(html: str) -> str:
    return extract_article(html).text


# The comparison extractors are imported on first use: only --compare needs them.


def plain_trafilatura(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False) or ""


_BLOCK_TAGS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre"}


def readability(html: str) -> str:
    from readability import Document

    summary = Document(html).summary(html_partial=True)
    if not summary.strip():
        return ""
    tree = lxml.html.fromstring(summary)
    # Block boundaries become line breaks so that words of adjacent paragraphs stay apart.
    for element in tree.iter(*_BLOCK_TAGS):
        element.tail = "\n" + (element.tail or "")
    return tree.text_content()


def print_table(results: list[Result], pages: int) -> None:
    print(f"{pages} pages; token-shingle (n={_SHINGLE}) scores averaged over pages")
    print(
        f"{'extractor':<14}{'F1':>8}{'precision':>11}{'recall':>8}{'median ms':>11}{'mean ms':>9}"
    )
    for r in results:
        print(
            f"{r.name:<14}{r.f1:>8.4f}{r.precision:>11.4f}{r.recall:>8.4f}"
            f"{r.median_ms:>11.1f}{r.mean_ms:>9.1f}"
        )


def print_worst(result: Result, count: int) -> None:
    worst = sorted(result.per_page.items(), key=lambda item: item[1].f1)[:count]
    print(f"\nworst pages for {result.name}:")
    for page_id, s in worst:
        print(f"  {page_id}  F1={s.f1:.3f}  precision={s.precision:.3f}  recall={s.recall:.3f}")


# The extractor's optional rules, each turned off by replacing one function of
# monitor.extract.article (a pass-through of the same signature).
RULES: dict[str, tuple[str, Callable[..., object]]] = {
    "drop furniture": ("_drop_furniture", lambda tree: None),
    "join split bodies": ("_join_split_bodies", lambda tree: None),
    "protect bodies": ("_protect_bodies", lambda tree: None),
    "keep quotes": ("_keep_quotes", lambda tree: None),
    "drop related sections": ("_drop_related_sections", lambda tree: None),
    "paragraphs from breaks": ("_paragraphs_from_breaks", lambda tree: None),
    "drop noise blocks": ("_drop_noise", lambda blocks, title: blocks),
    "drop widget labels": ("_is_widget_label", lambda text: False),
    "drop repeated title": ("_drop_repeated_title", lambda blocks, title: blocks),
    "drop bylines": ("drop_bylines", lambda paragraphs: list(paragraphs)),
    "drop closing notices": ("_is_closing_notice", lambda text: False),
    "drop closing credits": ("_is_credit_line", lambda block, before: False),
}


def site_of(page: Page) -> str:
    """The site a page comes from, so that pages of one site never sit in different folds.

    The host of its canonical or og:url address; failing that, the name it gives itself
    (og:site_name); failing that, the host its absolute links and resources point to most.
    (Before the fallbacks, a page without a canonical address was a site of its own, and two
    pages of one site could be split over two folds: one trained the rules the other tested.)
    """
    match = re.search(
        r"""(?:rel=["']canonical["'][^>]*href|property=["']og:url["'][^>]*content)=["']"""
        r"""https?://([^/"']+)""",
        page.html,
    )
    if match:
        return match.group(1).lower().removeprefix("www.")
    named = re.search(
        r"""<meta[^>]*(?:property=["']og:site_name["'][^>]*content=["']([^"']+)"""
        r"""|content=["']([^"']+)["'][^>]*property=["']og:site_name["'])""",
        page.html,
    )
    if named:
        return "name:" + (named.group(1) or named.group(2)).strip().lower()
    hosts = Counter(
        host.lower().removeprefix("www.")
        for host in re.findall(r"""(?:href|src)=["']https?://([^/"':]+)""", page.html)
    )
    return "links:" + hosts.most_common(1)[0][0] if hosts else page.id


def _f1(scores: list[Score]) -> float:
    precision = statistics.mean([s.precision for s in scores if s.tp + s.fp > 0] or [0.0])
    recall = statistics.mean([s.recall for s in scores if s.tp + s.fn > 0] or [0.0])
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _scores_without(pages: list[Page], off: frozenset[str]) -> list[Score]:
    """Every page's score with the named rules turned off."""
    import monitor.extract.article as article

    saved = {RULES[rule][0]: getattr(article, RULES[rule][0]) for rule in off}
    try:
        for rule in off:
            setattr(article, RULES[rule][0], RULES[rule][1])
        return [score(p.expected, article.extract_article(p.html).text) for p in pages]
    finally:
        for name, function in saved.items():
            setattr(article, name, function)


def cross_validate(pages: list[Page], folds: int) -> None:
    """Per-fold rule selection on the other folds, scored on the held-out one (see --folds).

    A rule is kept for a fold when turning it off alone lowers F1 on the training folds; the
    held-out fold is then scored with exactly that choice of rules.
    """
    sites = sorted({site_of(p) for p in pages})
    fold_of_site = {site: i % folds for i, site in enumerate(sites)}
    fold = [fold_of_site[site_of(p)] for p in pages]
    cache: dict[frozenset[str], list[Score]] = {}

    def scores(off: frozenset[str]) -> list[Score]:
        if off not in cache:
            cache[off] = _scores_without(pages, off)
        return cache[off]

    def f1(off: frozenset[str], rows: list[int]) -> float:
        every = scores(off)
        return _f1([every[i] for i in rows])

    none: frozenset[str] = frozenset()
    print(f"\n{len(pages)} pages from {len(sites)} sites in {folds} folds by site")
    print(f"{'held-out fold':<16}{'pages':>6}{'all rules':>11}{'chosen':>9}  rules dropped")
    held_out: list[float] = []
    with_all: list[float] = []
    for k in range(folds):
        train = [i for i, f in enumerate(fold) if f != k]
        test = [i for i, f in enumerate(fold) if f == k]
        if not test:
            continue
        base = f1(none, train)
        dropped = frozenset(r for r in RULES if f1(frozenset({r}), train) >= base)
        chosen = f1(dropped, test)
        held_out.append(chosen)
        with_all.append(f1(none, test))
        print(
            f"fold {k:<11}{len(test):>6}{f1(none, test):>11.4f}{chosen:>9.4f}  "
            f"{', '.join(sorted(dropped)) or '-'}"
        )
    print(f"mean held-out F1 with all rules: {statistics.mean(with_all):.4f}")
    mean = statistics.mean(held_out)
    print(f"mean held-out F1 with the rules chosen on the other folds: {mean:.4f}")
    print(
        f"\n{'F1 change, rule off':<22}" + "".join(f"{'fold ' + str(k):>9}" for k in range(folds))
    )
    for rule in RULES:
        deltas = []
        for k in range(folds):
            test = [i for i, f in enumerate(fold) if f == k]
            deltas.append(f1(frozenset({rule}), test) - f1(none, test))
        print(f"{rule:<22}" + "".join(f"{d:>+9.4f}" for d in deltas))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="benchmark directory")
    parser.add_argument(
        "--compare", action="store_true", help="also run trafilatura and readability-lxml"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="time each page N times, keep the fastest",
    )
    parser.add_argument("--worst", type=int, default=0, metavar="N", help="list our N worst pages")
    parser.add_argument(
        "--folds", type=int, default=0, metavar="K", help="cross-validate the rules by site"
    )
    args = parser.parse_args(argv)
    # trafilatura warns about every page it finds no text in; the table is what matters here.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)

    pages = load_pages(args.data)
    if not pages:
        parser.error(f"no labelled pages under {args.data}")
    extractors: dict[str, Extractor] = {"ours": ours}
    if args.compare:
        extractors.update(trafilatura=plain_trafilatura, readability=readability)
    results = run(extractors, pages, args.repeat)
    print_table(results, len(pages))
    if args.worst:
        print_worst(results[0], args.worst)
    if args.folds:
        cross_validate(pages, args.folds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
