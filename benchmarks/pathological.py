"""A pathological page: 5 MB of 150,000 paragraphs, extracted then compared after an edit.

Before the paragraph cap (monitor.diff.MAX_PARAGRAPHS) this took 56 s and 2.1 GB.
Run: python benchmarks/pathological.py
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

# Run as a script from anywhere: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor import diff  # noqa: E402
from monitor.extract.article import extract_statement  # noqa: E402

COUNT = 150_000


def page(edit: str) -> str:
    body = "".join(
        f"<p>Paragraph {i} {edit if i % 1000 == 0 else 'says'} x.</p>" for i in range(COUNT)
    )
    head = "<html><head><title>T</title></head><body><article><h1>T</h1>"
    return f"{head}{body}</article></body></html>"


def main() -> None:
    started = time.perf_counter()
    old = extract_statement(page("says"), "https://example.org/a")
    new = extract_statement(page("tells"), "https://example.org/a")
    extracted = time.perf_counter()
    comparison = diff.compare(old.text, new.text)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"page {len(page('says')) / 1e6:.1f} MB, {COUNT} paragraphs -> "
        f"{len(diff.split_paragraphs(new.text))} kept; extract x2 {extracted - started:.1f} s, "
        f"compare {done - extracted:.2f} s, {len(comparison.changes)} changes, "
        f"peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
