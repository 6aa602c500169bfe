"""Benchmark: compare(), explain() and render_diff_html() on a 100 KB statement, ~10 edits.

Run from the repository root:

    /work/venv/bin/python benchmarks/diff.py [--runs N]

Prints the median time of several runs, in milliseconds, for the realistic case (a long
statement with a handful of edits) and for bad cases that must stay bounded: a wholesale
rewrite of the same statement, a page of thousands of short paragraphs all edited, and one
paragraph of 240 KB edited throughout.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script from anywhere: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.diff import compare, split_paragraphs  # noqa: E402
from monitor.meaning import explain  # noqa: E402
from monitor.review.report import render_diff_html  # noqa: E402

SYLLABLES = "ka to ri mo se na lu pe vi da go ha ne shi ru ba ko mi te ya"
COMMON = "the of and to in a is that for on with as by at from will our this"


def _vocabulary(rng: random.Random, size: int = 2000) -> list[str]:
    """Pseudo-words, so unrelated paragraphs look as unrelated as real ones do."""
    syllables = SYLLABLES.split()
    return ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(size)]


def _paragraph(rng: random.Random, words: list[str]) -> str:
    """A paragraph of a few sentences, with numbers and punctuation like a press release."""
    common = COMMON.split()
    sentences = []
    for _ in range(rng.randint(2, 6)):
        tokens = [
            rng.choice(common) if rng.random() < 0.35 else rng.choice(words)
            for _ in range(rng.randint(9, 25))
        ]
        if rng.random() < 0.3:
            tokens.insert(
                rng.randrange(len(tokens)), f"{rng.randint(1, 999):,}.{rng.randint(0, 99)}"
            )
        if rng.random() < 0.3:
            tokens[rng.randrange(len(tokens))] += ","
        sentences.append(" ".join(tokens).capitalize() + ".")
    return " ".join(sentences)


def statement(size: int = 100_000, seed: int = 7) -> tuple[str, str]:
    """An old statement of about `size` characters and a new version with 10 edits."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    paragraphs: list[str] = []
    while sum(len(p) + 2 for p in paragraphs) < size:
        paragraphs.append(_paragraph(rng, words))
    n = len(paragraphs)
    paragraphs[n // 7] += " The fee is 1,250.00 per year."  # in both versions; a digit changes
    new = list(paragraphs)
    new[n // 10] = new[n // 10].replace(" ", "\n", 1)  # re-wrapped only: not a change
    words_of = new[n // 9].split(" ")
    new[n // 9] = " ".join(words_of[:3] + words_of[4:])  # one word removed
    new[n // 8] = new[n // 8][:-1] + "!"  # punctuation changed
    new[n // 7] = new[n // 7].replace("1,250.00", "1,350.00")  # one digit changed
    new[n // 6] += " A sentence was added at the end of this paragraph."
    new[n // 5] = "A new paragraph, inserted by the editor. " + new[n // 5]
    new[n // 4] = _paragraph(rng, words)  # rewritten: removed + added
    del new[n // 3]  # removed
    new.insert(n // 2, _paragraph(rng, words))  # added
    new.insert(3 * n // 4, new.pop(n // 20))  # moved
    return "\n\n".join(paragraphs), "\n\n".join(new)


def rewrite(size: int = 100_000) -> tuple[str, str]:
    """The same statement against an entirely different one of the same size."""
    old, _ = statement(size, seed=7)
    other, _ = statement(size, seed=8)
    return old, other


def many_paragraphs(count: int = 5000) -> tuple[str, str]:
    """Thousands of short paragraphs, every one edited: one huge replace region."""
    old = "\n\n".join(f"Item {i}: the quick brown fox number {i}." for i in range(count))
    new = "\n\n".join(f"Item {i}: the quick red fox number {i}!" for i in range(count))
    return old, new


def one_long_paragraph(sentences: int = 3000) -> tuple[str, str]:
    """One paragraph of about 240 KB (no paragraph breaks), every tenth sentence rewritten."""
    rng = random.Random(11)
    words = _vocabulary(rng)
    old = [_paragraph(rng, words).split(". ")[0] + "." for _ in range(sentences)]
    new = [_paragraph(rng, words).split(". ")[0] + "." if i % 10 == 0 else s
           for i, s in enumerate(old)]  # fmt: skip
    return " ".join(old), " ".join(new)


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm up (imports, template compilation)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench(name: str, old: str, new: str, runs: int) -> None:
    """Time compare() and render_diff_html() on one pair of texts and print the medians."""
    comparison = compare(old, new)

    def render() -> str:
        return render_diff_html(
            title="Benchmark statement",
            url="https://example.org/news/statement",
            source="bench",
            from_version=1,
            to_version=2,
            from_time="2024-01-01 00:00",
            to_time="2024-01-02 00:00",
            comparison=comparison,
            old_text=old,
            new_text=new,
        )

    compare_ms = _median_ms(lambda: compare(old, new), runs)
    # what a check adds to a changed statement's event (the page renders them again)
    explain_ms = _median_ms(lambda: explain(old, new, comparison=comparison), runs)
    render_ms = _median_ms(render, runs)
    counts: dict[str, int] = {}
    for change in comparison.changes:
        counts[change.op] = counts.get(change.op, 0) + 1
    print(
        f"{name:<18} {len(old) / 1000:6.0f} KB {len(split_paragraphs(old)):5d} paragraphs"
        f"  compare {compare_ms:8.1f} ms  explain {explain_ms:8.1f} ms"
        f"  render_diff_html {render_ms:8.1f} ms"
        f"  similarity {comparison.similarity:.4f}  changes {counts}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per figure (median)")
    args = parser.parse_args()
    bench("10 edits", *statement(), runs=args.runs)
    bench("rewrite", *rewrite(), runs=max(3, args.runs // 3))
    bench("one long paragraph", *one_long_paragraph(), runs=max(3, args.runs // 3))
    bench("5000 paragraphs", *many_paragraphs(), runs=max(3, args.runs // 3))


if __name__ == "__main__":
    main()
