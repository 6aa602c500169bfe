"""Benchmark: precision and recall of monitor.meaning, and its speed on a 10 KB statement.

Run from the repository root:

    /work/main/.venv/bin/python benchmarks/meaning.py [--runs N]

Quality is measured on two sets: the table the unit tests walk (`tests/meaning_cases.py`,
which the rules were tuned on) and a held-out set written from real statement styles
(`tests/meaning_heldout.py`, not tuned on). A produced finding is correct when an expected
finding of the case has the same kind and direction and, on each side, the same words, or
both sides missing, or one containing the other ("March" for "by March"); "strict" needs
the words equal. Precision is correct / produced, recall matched expected / expected.

Speed: a 10 KB English statement built from the cases' sentences, with 10 paragraphs
edited; the median of many runs of `explain` given the comparison (what the pipeline does,
the comparison being made anyway) and of `compare` + `explain`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script from anywhere: the repository root and the tests folder (the case tables).
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from meaning_cases import CASES, Case, E  # noqa: E402
from meaning_heldout import HELDOUT  # noqa: E402

from monitor.diff import compare  # noqa: E402
from monitor.meaning import Finding, explain  # noqa: E402


def _same_words(expected: str | None, found: str | None, strict: bool) -> bool:
    if expected is None or found is None:
        return expected is None and found is None
    a, b = expected.casefold(), found.casefold()
    return a == b if strict else a in b or b in a


def _matches(e: E, f: Finding, strict: bool) -> bool:
    return (
        e.kind == f.kind
        and (e.direction or None) == f.direction
        and _same_words(e.before, f.before, strict)
        and _same_words(e.after, f.after, strict)
    )


def score(cases: list[Case], strict: bool = False) -> tuple[float, float, list[str]]:
    """Precision, recall and the misses/extras (for reading) over a set of cases."""
    produced = correct = expected_total = matched_total = 0
    notes: list[str] = []
    for case in cases:
        found = list(
            explain(case.before, case.after, old_title=case.old_title, new_title=case.new_title)
        )
        produced += len(found)
        expected_total += len(case.expected)
        used: set[int] = set()
        for f in found:
            hit = next(
                (
                    k
                    for k, e in enumerate(case.expected)
                    if k not in used and _matches(e, f, strict)
                ),
                None,
            )
            if hit is None:
                notes.append(f"  extra  {case.name}: {f.kind} {f.before!r} → {f.after!r}")
            else:
                used.add(hit)
                correct += 1
        matched_total += len(used)
        for k, e in enumerate(case.expected):
            if k not in used:
                notes.append(f"  missed {case.name}: {e.kind} {e.before!r} → {e.after!r}")
    precision = correct / produced if produced else 1.0
    recall = matched_total / expected_total if expected_total else 1.0
    return precision, recall, notes


def statement(size: int = 10_000, edits: int = 10) -> tuple[str, str]:
    """An English statement of about `size` characters and a version with `edits` edits."""
    edited = [c for c in CASES + HELDOUT if c.expected and c.before != c.after]
    befores = [c.before.replace("\n\n", " ") for c in edited]
    afters = [c.after.replace("\n\n", " ") for c in edited]
    old: list[str] = []
    new: list[str] = []
    k = 0
    while sum(len(p) + 2 for p in old) < size:
        i = k % len(befores)
        paragraph_old = " ".join(befores[(i + n) % len(befores)] for n in range(3))
        old.append(paragraph_old)
        new.append(paragraph_old)
        k += 3
    step = max(1, len(old) // edits)
    for n in range(edits):
        p = n * step % len(old)
        i = (p * 3) % len(befores)
        new[p] = " ".join((afters if m == 0 else befores)[(i + m) % len(befores)] for m in range(3))
    return "\n\n".join(old), "\n\n".join(new)


def _median_ms(fn: object, runs: int) -> float:
    assert callable(fn)
    fn()  # warm caches (compiled regexes, rapidfuzz)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--verbose", action="store_true", help="list every miss and extra")
    args = parser.parse_args()
    for name, cases in (("table (tuned)", CASES), ("held-out", HELDOUT)):
        p, r, notes = score(cases)
        ps, rs, _ = score(cases, strict=True)
        expected = sum(len(c.expected) for c in cases)
        print(
            f"{name:14} {len(cases):3} cases, {expected:3} expected findings: "
            f"precision {p:.1%} recall {r:.1%} (strict words: {ps:.1%} / {rs:.1%})"
        )
        if args.verbose:
            print("\n".join(notes))
    old, new = statement()
    comparison = compare(old, new)
    findings = explain(old, new, comparison=comparison)
    with_comparison = _median_ms(lambda: explain(old, new, comparison=comparison), args.runs)
    whole = _median_ms(lambda: explain(old, new, comparison=compare(old, new)), args.runs)
    compare_only = _median_ms(lambda: compare(old, new), args.runs)
    print(
        f"statement: {len(new) / 1000:.1f} KB, {len(comparison.changes)} changed paragraphs, "
        f"{len(findings)} findings"
    )
    print(f"explain (given the comparison): {with_comparison:.2f} ms median of {args.runs}")
    print(f"compare + explain:              {whole:.2f} ms (compare alone {compare_only:.2f} ms)")


if __name__ == "__main__":
    main()
