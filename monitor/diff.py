"""Compare two versions of a statement: normalise, align paragraphs, find word-level edits.

How a comparison is made, top to bottom:

1. Both texts are cut into paragraphs (blank lines separate them). Each paragraph keeps its
   original display text and gets a normalised form (NFKC, invisible characters dropped,
   whitespace collapsed) that is what gets compared, so re-wrapping, NBSP or full-width
   characters are never reported, while every word, digit and punctuation mark still is.
2. The normalised paragraph lists are aligned with rapidfuzz (Indel opcodes over lists of
   paragraphs). Runs of identical paragraphs are unchanged; what lies between two such runs
   is a "region" of old paragraphs replaced by new ones.
3. Inside a region, old and new paragraphs are paired, in order, when they are similar enough
   (`PAIR_THRESHOLD`): a pair is "modified" and gets word-level edits; the rest are
   "removed"/"added".
4. A removed paragraph whose exact text is added elsewhere is reported once, as "moved".

`apply_changes` rebuilds the new paragraphs from the old ones and the changes: the tests use
it to prove that the change list is complete and correct.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

ChangeOp = Literal["modified", "added", "removed", "moved"]
ChangePart = Literal["body", "title"]
WordOp = Literal["equal", "delete", "insert"]

# Old and new paragraphs are paired as "modified" when fuzz.ratio of their normalised texts
# (Indel similarity, 0..100) reaches this. Measured on unrelated English paragraphs (licences,
# design notes): median 40, 99th percentile 49-50, so 0.5 would pair noise. At 60 a paragraph
# that keeps about 60% of its characters in order is paired, e.g. one that got a sentence
# appended doubling its length (67). Below it, people see the whole old and new paragraphs
# (removed + added), which is the more readable view of a rewrite anyway.
PAIR_THRESHOLD = 60.0

# Pairing is a dynamic programme over (old x new) paragraphs of a region. A region bigger than
# this many cells (a wholesale rewrite of a long page) is cut into diagonal chunks of at most
# this size, so the work grows linearly with the number of paragraphs instead of quadratically.
MAX_PAIR_CELLS = 1024

# Texts are compared character by character (bit-parallel, about len(old) * len(new) / 64
# steps: 20 KB against another 20 KB in about 8-10 ms, 100 KB ~250 ms) up to this product of
# their lengths. A changed region beyond it is measured along its paragraph pairing (linear);
# a paragraph pair beyond it along its words up to the same product of their numbers of
# tokens (paragraphs of about 60 KB, 50 ms), and a longer one still along its sentences
# (`_pair_distance`): a single 240 KB paragraph edited throughout took 2.3 s by characters,
# and a paragraph may be as long as a page (5 MB: minutes).
MAX_EXACT_SIMILARITY_CELLS = 4 * 10**8
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")

# A statement is at most this many paragraphs: the rest of a pathological page (a 5 MB page of
# 150,000 paragraphs took 56 s and 2.1 GB to compare) is neither stored nor compared nor shown.
# Press releases have 5-50; the longest real statements a few hundred.
MAX_PARAGRAPHS = 5000

# Word edits of a paragraph pair cost about tokens(old) * tokens(new) / 64 steps; beyond this
# product (two paragraphs of ~60,000 words) the pair is shown as replaced whole.
MAX_WORD_CELLS = 4 * 10**9

# Characters that change nothing a reader sees, but that CMS editors and copy-paste add and
# remove at random: soft hyphen, Mongolian vowel separator, zero-width space/non-joiner/joiner,
# left-to-right/right-to-left marks, word joiner, invisible operators, BOM.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")

# Word tokens for word-level edits. Whitespace and each punctuation mark are tokens of their
# own, so a comma added shows as just the comma and a word removed does not drag a space
# difference along; a word keeps inner apostrophes, dots, commas, colons, slashes and hyphens
# ("don't", "1,000.50", "2024-05-01", "example.org/a") so a changed number reads as a whole.
# CJK ideographs and kana are one token per character: those scripts do not put spaces
# between words. Every character falls into exactly one class, so joining the tokens
# reproduces the text.
_CJK = "\u2e80-\u2fff\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PUNCT = (
    r"!-/:-@\[-`{-~\u00a1-\u00bf\u00d7\u00f7\u060c\u061b\u061f\u066a-\u066d\u0964\u0965"
    r"\u2010-\u2027\u2030-\u205e\u3000-\u303f\ufe30-\ufe4f\uff01-\uff0f"
)
_WORD = rf"[^\s{_PUNCT}{_CJK}]+"
_TOKEN = re.compile(rf"[{_CJK}]|\s+|{_WORD}(?:['\u2019.,:/-]{_WORD})*|[{_PUNCT}]")


@dataclass(frozen=True)
class WordEdit:
    """One run of words inside a modified paragraph: kept, deleted or inserted."""

    op: WordOp
    text: str


@dataclass(frozen=True)
class Change:
    """One paragraph-level change between two versions of a statement.

    `before`/`after` hold the original (display) text of the paragraph, `old_index`/`new_index`
    its position among the old and new paragraphs; `words` details a modified paragraph
    (and a moved one that was also edited).
    The words are over the normalised paragraph texts: joining the "equal" and "delete" runs
    gives the normalised `before`, joining "equal" and "insert" the normalised `after`.
    """

    op: ChangeOp
    before: str | None = None
    after: str | None = None
    old_index: int | None = None
    new_index: int | None = None
    words: tuple[WordEdit, ...] = field(default=())
    part: ChangePart = "body"  # "title": the statement's headline, not a body paragraph

    def to_json(self, *, detail: bool = False) -> dict[str, Any]:
        """The change as in the JSON event contract: op, and before and/or after.

        `detail=True` adds what the store keeps so that alerts and pages never compare
        again: the paragraph positions and the word edits.
        """
        out: dict[str, Any] = {"op": self.op}
        if self.part != "body":
            out["part"] = self.part
        if self.before is not None:
            out["before"] = self.before
        if self.after is not None:
            out["after"] = self.after
        if detail:
            if self.old_index is not None:
                out["old_index"] = self.old_index
            if self.new_index is not None:
                out["new_index"] = self.new_index
            if self.words:
                out["words"] = [[w.op, w.text] for w in self.words]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        """The change back from `to_json` (with or without `detail`)."""
        words = tuple(WordEdit(op, text) for op, text in data.get("words") or ())
        return cls(
            op=data["op"],
            before=data.get("before"),
            after=data.get("after"),
            old_index=data.get("old_index"),
            new_index=data.get("new_index"),
            words=words,
            part=data.get("part", "body"),
        )

    @property
    def segments(self) -> tuple[WordEdit, ...]:
        """The change as runs of kept, deleted and inserted text, for display.

        A modified paragraph has its word edits; a change stored before they were kept gets
        them computed here, once.
        """
        if self.words:
            return self.words
        if self.op in ("modified", "moved") and self.before is not None and self.after is not None:
            return word_edits(self.before, self.after)
        if self.op == "removed":
            return (WordEdit("delete", self.before or ""),)
        if self.op == "added":
            return (WordEdit("insert", self.after or ""),)
        return (WordEdit("equal", self.after if self.after is not None else self.before or ""),)


@dataclass(frozen=True)
class Comparison:
    """The result of comparing two versions: a similarity score and the changes."""

    similarity: float
    changes: tuple[Change, ...] = ()

    @property
    def unchanged(self) -> bool:
        return not self.changes


@dataclass(frozen=True)
class _Paragraph:
    display: str  # as found in the text, stripped: what people are shown
    key: str  # normalised: what is compared


# --- normalisation ---------------------------------------------------------------------------


def _normalize_paragraph(text: str) -> str:
    """One paragraph's comparison form: invisibles dropped, NFKC, whitespace collapsed."""
    # Most paragraphs are printable (no line breaks, tabs, odd spaces or invisibles, which are
    # all non-printable), so the checks skip most of the work on them: 100 KB texts stay fast.
    if not text.isprintable():
        # Invisibles go before NFKC, so it can compose a letter with an accent they separated.
        text = _INVISIBLE.sub("", text)
    text = unicodedata.normalize("NFKC", text)  # may itself produce spaces, e.g. from U+00A8
    if not text.isprintable() or "  " in text:
        # str.split() cuts at runs of Unicode whitespace, the same set as re's \s.
        text = " ".join(text.split())
    return text.strip()


def _is_blank(line: str) -> bool:
    """Whether a line separates paragraphs: nothing but whitespace and invisibles."""
    stripped = line.strip()
    return not stripped or (not stripped.isprintable() and not _INVISIBLE.sub("", stripped).strip())


def _paragraphs(text: str) -> list[_Paragraph]:
    """The paragraphs of a text, in order, each with its display and normalised text."""
    # U+2029 PARAGRAPH SEPARATOR means exactly what a blank line means.
    lines = text.replace("\u2029", "\n\n").splitlines()
    paragraphs: list[_Paragraph] = []
    current: list[str] = []
    for line in [*lines, ""]:  # the sentinel blank line closes the last paragraph
        if len(paragraphs) >= MAX_PARAGRAPHS:
            break
        if not _is_blank(line):
            current.append(line)
            continue
        if current:
            display = "\n".join(current).strip()
            key = _normalize_paragraph(display)
            if key:
                paragraphs.append(_Paragraph(display, key))
            current = []
    return paragraphs


def normalize(text: str) -> str:
    """Text for comparison: Unicode NFKC, whitespace collapsed, paragraphs joined by blank lines.

    Zero-width characters and soft hyphens are dropped, NBSP and other spaces become a plain
    space, whitespace runs inside a paragraph (line breaks included) become one space, and
    empty paragraphs are dropped. Case, punctuation, digits and quotes are kept as they are.
    """
    return "\n\n".join(p.key for p in _paragraphs(text))


def cap_paragraphs(text: str) -> tuple[str, int]:
    """The text cut after its first MAX_PARAGRAPHS paragraphs, and how many were cut off."""
    found = 0
    cut: int | None = None
    offset = 0
    blank_before = True
    for line in text.splitlines(keepends=True):
        if _is_blank(line):
            blank_before = True
        elif blank_before:
            blank_before = False
            found += 1
            if found == MAX_PARAGRAPHS + 1:
                cut = offset
        if line.endswith("\u2029"):  # a paragraph separator ends its line's paragraph
            blank_before = True
        offset += len(line)
    if cut is None:
        return text, 0
    return text[:cut].rstrip(), found - MAX_PARAGRAPHS


def split_paragraphs(text: str) -> list[str]:
    """The non-empty paragraphs of a text (separated by blank lines), stripped.

    These are the display texts; the i-th one is the i-th paragraph of `normalize(text)`, and
    `old_index`/`new_index` of a `Change` index into this list.
    """
    return [p.display for p in _paragraphs(text)]


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """rapidfuzz Indel opcodes (equal/delete/insert) between two sequences, as plain tuples."""
    return [
        (op.tag, op.src_start, op.src_end, op.dest_start, op.dest_end) for op in Indel.opcodes(a, b)
    ]


# --- word-level edits ------------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Words, punctuation marks and whitespace runs of a text; joined, they are the text."""
    return _TOKEN.findall(text)


def word_edits(old: str, new: str) -> tuple[WordEdit, ...]:
    """The word-level edit script from `old` to `new`, as runs of equal/delete/insert text.

    Where words were replaced, the deleted run comes before the inserted one. A kept run that
    is only whitespace between two edits is folded into them, so a rewritten phrase reads as
    one deletion and one insertion instead of a word-by-word zigzag.
    """
    a, b = tokenize(old), tokenize(new)
    if len(a) * len(b) > MAX_WORD_CELLS:
        return (WordEdit("delete", old), WordEdit("insert", new))
    # A part is kept text (str) or an edited stretch (deleted, inserted); Indel yields only
    # equal/delete/insert, so consecutive non-equal opcodes are merged into one stretch.
    parts: list[str | tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        if tag == "equal":
            parts.append("".join(a[i1:i2]))
            continue
        deleted, inserted = "".join(a[i1:i2]), "".join(b[j1:j2])
        last = parts[-1] if parts else None
        if isinstance(last, tuple):
            parts[-1] = (last[0] + deleted, last[1] + inserted)
        else:
            parts.append((deleted, inserted))
    return tuple(_edits(_fold_spaces(parts)))


def _fold_spaces(parts: list[str | tuple[str, str]]) -> list[str | tuple[str, str]]:
    """Merge edit, whitespace-only kept text, edit into one edit."""
    folded: list[str | tuple[str, str]] = []
    for part in parts:
        if (
            isinstance(part, tuple)
            and len(folded) >= 2
            and isinstance(folded[-1], str)
            and not folded[-1].strip()
            and isinstance(folded[-2], tuple)
        ):
            space = folded.pop()
            prev = folded.pop()
            assert isinstance(space, str) and isinstance(prev, tuple)  # checked above, for mypy
            part = (prev[0] + space + part[0], prev[1] + space + part[1])
        folded.append(part)
    return folded


def _edits(parts: list[str | tuple[str, str]]) -> Iterable[WordEdit]:
    for part in parts:
        if isinstance(part, str):
            yield WordEdit("equal", part)
            continue
        deleted, inserted = part
        if deleted:
            yield WordEdit("delete", deleted)
        if inserted:
            yield WordEdit("insert", inserted)


# --- pairing old and new paragraphs inside a region ------------------------------------------


def _pair_distance(a: str, b: str) -> int:
    """The Indel distance between two paragraphs; for a pair too long to compare character
    by character (`MAX_EXACT_SIMILARITY_CELLS`), the distance along an alignment of their
    words, or of their sentences when those are too many too. That distance is never less
    (the words or sentences equal on both sides, in order, are characters the two have in
    common), so a similarity is never overstated."""
    if len(a) * len(b) <= MAX_EXACT_SIMILARITY_CELLS:
        return Indel.distance(a, b)
    # about two tokens a space (a word and the space after it), counted before tokenizing
    if 4 * (a.count(" ") + 1) * (b.count(" ") + 1) <= MAX_EXACT_SIMILARITY_CELLS:
        old, new = tokenize(a), tokenize(b)
    else:
        old, new = _SENTENCE_BREAK.split(a), _SENTENCE_BREAK.split(b)
    kept = sum(
        sum(map(len, old[i1:i2])) for tag, i1, i2, _j1, _j2 in _opcodes(old, new) if tag == "equal"
    )
    return len(a) + len(b) - 2 * kept


def _pair_ratio(a: str, b: str) -> float:
    """fuzz.ratio of two paragraphs (0..100, from `_pair_distance`), 0 below PAIR_THRESHOLD."""
    if len(a) * len(b) <= MAX_EXACT_SIMILARITY_CELLS:
        return float(fuzz.ratio(a, b, score_cutoff=PAIR_THRESHOLD))
    score = 100.0 * (1 - _pair_distance(a, b) / (len(a) + len(b)))
    return score if score >= PAIR_THRESHOLD else 0.0


def _pair_in_order(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Order-preserving pairs (i, j) of similar paragraphs with the highest total similarity.

    Dynamic programme over the (old x new) grid, like a sequence alignment where only pairs
    scoring at least `PAIR_THRESHOLD` may be matched. Quadratic: callers bound the grid.
    """
    n, m = len(old), len(new)
    score = [
        [_pair_ratio(a, b) for b in new]  # 0 when below the threshold
        for a in old
    ]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        row, above, scores = best[i], best[i - 1], score[i - 1]
        for j in range(1, m + 1):
            value = max(above[j], row[j - 1])
            if scores[j - 1] and above[j - 1] + scores[j - 1] > value:
                value = above[j - 1] + scores[j - 1]
            row[j] = value
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i and j:
        s = score[i - 1][j - 1]
        if s and best[i][j] == best[i - 1][j - 1] + s:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif best[i][j] == best[i - 1][j]:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


def _pair_region(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs (i, j) of similar paragraphs in a region, with the search bounded for big ones."""
    n, m = len(old), len(new)
    if not n or not m:
        return []
    if n * m <= MAX_PAIR_CELLS:
        return _pair_in_order(old, new)
    # Too big to search whole: cut both sides into k proportional chunks and pair chunk t of
    # old with chunk t of new. A rewrite keeps roughly the same order, so similar paragraphs
    # land in the same chunk; what does not is reported as removed + added, never lost.
    # With one side small, the whole region is searched (linear in the other side).
    chunks = min(math.ceil(math.sqrt(n * m / MAX_PAIR_CELLS)), n, m)
    pairs: list[tuple[int, int]] = []
    for t in range(chunks):
        i1, i2 = n * t // chunks, n * (t + 1) // chunks
        j1, j2 = m * t // chunks, m * (t + 1) // chunks
        if i1 < i2 and j1 < j2:
            sub = _pair_in_order(old[i1:i2], new[j1:j2])
            pairs.extend((i1 + i, j1 + j) for i, j in sub)
    return pairs


# --- comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    """Old paragraphs [i1, i2) replaced by new paragraphs [j1, j2) between unchanged runs."""

    i1: int
    i2: int
    j1: int
    j2: int


def _regions(old_keys: list[str], new_keys: list[str]) -> list[_Region]:
    """The stretches between runs of identical paragraphs, in document order."""
    regions: list[_Region] = []
    open_region: list[int] | None = None
    # Indel yields only equal/delete/insert; consecutive non-equal opcodes form one region.
    for tag, i1, i2, j1, j2 in _opcodes(old_keys, new_keys):
        if tag == "equal":
            if open_region:
                regions.append(_Region(*open_region))
                open_region = None
        elif open_region is None:
            open_region = [i1, i2, j1, j2]
        else:
            open_region[1], open_region[3] = i2, j2
    if open_region:
        regions.append(_Region(*open_region))
    return regions


def _region_changes(old: list[_Paragraph], new: list[_Paragraph], region: _Region) -> list[Change]:
    """Changes of one region, in document order: removed before added, pairs as modified."""
    old_keys = [p.key for p in old[region.i1 : region.i2]]
    new_keys = [p.key for p in new[region.j1 : region.j2]]
    changes: list[Change] = []
    i, j = region.i1, region.j1
    # Walk the pairs in order: what lies between two pairs is removed (old side) or added (new
    # side). A sentinel pair just past the region's end flushes what follows the last pair.
    sentinel = (len(old_keys), len(new_keys))
    for pi, pj in [*_pair_region(old_keys, new_keys), sentinel]:
        pi, pj = pi + region.i1, pj + region.j1
        changes.extend(Change("removed", before=old[k].display, old_index=k) for k in range(i, pi))
        changes.extend(Change("added", after=new[k].display, new_index=k) for k in range(j, pj))
        if pi < region.i2:
            a, b = old[pi], new[pj]
            words = word_edits(a.key, b.key)
            changes.append(Change("modified", a.display, b.display, pi, pj, words))
        i, j = pi + 1, pj + 1
    return changes


def _detect_moves(
    changes: list[Change], old: list[_Paragraph], new: list[_Paragraph]
) -> list[Change]:
    """Report a removed paragraph that is added back elsewhere as moved.

    Exact copies pair first. Then, among what is left, a removed and an added paragraph at
    least PAIR_THRESHOLD alike are one paragraph moved and edited: reported as `moved` with
    its word edits, rather than as a removal and an unrelated addition.
    """
    removed: dict[str, deque[int]] = defaultdict(deque)
    for change in changes:
        if change.op == "removed" and change.old_index is not None:
            removed[old[change.old_index].key].append(change.old_index)
    moved_from: dict[int, int] = {}  # new index -> old index
    for change in changes:
        if change.op == "added" and change.new_index is not None:
            candidates = removed.get(new[change.new_index].key)
            if candidates:
                moved_from[change.new_index] = candidates.popleft()
    left_old = [k for keys in removed.values() for k in keys]
    left_new = [
        c.new_index
        for c in changes
        if c.op == "added" and c.new_index is not None and c.new_index not in moved_from
    ]
    moved_from.update(_similar_pairs(left_old, left_new, old, new))
    taken = set(moved_from.values())
    result: list[Change] = []
    for change in changes:
        if change.op == "removed" and change.old_index in taken:
            continue  # the moved paragraph is shown where it now is
        if change.op == "added" and change.new_index in moved_from:
            k = moved_from[change.new_index]
            a, b = old[k], new[change.new_index]
            words = word_edits(a.key, b.key) if a.key != b.key else ()
            change = Change("moved", a.display, b.display, k, change.new_index, words)
        result.append(change)
    return result


def _similar_pairs(
    old_indexes: list[int], new_indexes: list[int], old: list[_Paragraph], new: list[_Paragraph]
) -> dict[int, int]:
    """Best-first pairs (new index -> old index) of paragraphs at least PAIR_THRESHOLD alike."""
    if not old_indexes or not new_indexes or len(old_indexes) * len(new_indexes) > MAX_PAIR_CELLS:
        return {}
    scored = [
        (score, j, k)
        for k in old_indexes
        for j in new_indexes
        if (score := _pair_ratio(old[k].key, new[j].key))
    ]
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for _score, j, k in sorted(scored, reverse=True):
        if j not in pairs and k not in used:
            pairs[j] = k
            used.add(k)
    return pairs


def _region_distance(
    region: _Region, old_keys: list[str], new_keys: list[str], changes: list[Change]
) -> int:
    """Indel distance between the old and new text of a region (its changes are given).

    Each paragraph counts with the blank line that separates it from the next, so the region
    distances add up to the distance between the whole normalised texts (giving the last
    paragraph a separator too adds the same suffix to both texts, which changes no distance).
    A region too big to compare at once (a rewrite) is measured along its paragraph pairing
    instead: modified pairs compared, every other paragraph counted whole. Both are alignments
    of the texts, so the similarity is never overstated.
    """
    before = "".join(p + "\n\n" for p in old_keys[region.i1 : region.i2])
    after = "".join(p + "\n\n" for p in new_keys[region.j1 : region.j2])
    if len(before) * len(after) <= MAX_EXACT_SIMILARITY_CELLS:
        return Indel.distance(before, after)
    distance = len(before) + len(after)
    for c in changes:
        if c.op == "modified" and c.old_index is not None and c.new_index is not None:
            a, b = old_keys[c.old_index], new_keys[c.new_index]
            # Replace "counted whole" by the pair's own distance.
            distance += _pair_distance(a, b) - (len(a) + 2) - (len(b) + 2)
    return distance


def compare(old_text: str, new_text: str) -> Comparison:
    """Compare two statement texts; identical normalised text gives no changes.

    Changes come in document order (of the new text, removed paragraphs where they were).
    Every textual edit is reported, however small; whitespace-only and NFKC-equivalent
    differences are not. `similarity` is the rapidfuzz Indel normalised similarity of the two
    normalised texts (0..1).
    """
    old, new = _paragraphs(old_text), _paragraphs(new_text)
    old_keys, new_keys = [p.key for p in old], [p.key for p in new]
    if old_keys == new_keys:
        return Comparison(similarity=1.0)
    changes: list[Change] = []
    distance = 0
    for region in _regions(old_keys, new_keys):
        region_changes = _region_changes(old, new, region)
        distance += _region_distance(region, old_keys, new_keys, region_changes)
        changes.extend(region_changes)
    total = len("\n\n".join(old_keys)) + len("\n\n".join(new_keys))
    # One side empty: every character differs, and the "\n\n" counted after the last paragraph
    # has no counterpart, so the distance would overshoot; the similarity is 0 there.
    similarity = max(0.0, 1.0 - distance / total) if old and new else 0.0
    return Comparison(similarity, tuple(_detect_moves(changes, old, new)))


def title_change(old_title: str, new_title: str) -> Change | None:
    """The headline's edit, or None when the titles are equal once normalised.

    An empty title on either side is no change: it means the page did not say, not that the
    headline was removed.
    """
    old, new = _normalize_paragraph(old_title), _normalize_paragraph(new_title)
    if not old or not new or old == new:
        return None
    return Change(
        "modified", old_title, new_title, words=word_edits(old_title, new_title), part="title"
    )


def apply_changes(old_paragraphs: Sequence[str], changes: Iterable[Change]) -> list[str]:
    """Rebuild the new paragraphs from the old ones and a comparison's changes.

    Paragraphs not named by any change are unchanged and keep their order; changed paragraphs
    take their `after` text at `new_index`. Raises ValueError when the changes do not fit the
    old paragraphs. This is how the tests prove a change list complete and correct.
    """
    consumed: set[int] = set()
    placed: dict[int, str] = {}
    for change in changes:
        if change.part != "body":
            continue  # the headline is not one of the paragraphs
        if change.op != "added":
            if change.old_index is None or not 0 <= change.old_index < len(old_paragraphs):
                raise ValueError(f"{change.op} change without a valid old_index")
            if change.old_index in consumed:
                raise ValueError(f"old paragraph {change.old_index} changed twice")
            consumed.add(change.old_index)
        if change.op != "removed":
            if change.new_index is None or change.after is None or change.new_index in placed:
                raise ValueError(f"{change.op} change without a valid new_index/after")
            placed[change.new_index] = change.after
    kept = iter([p for k, p in enumerate(old_paragraphs) if k not in consumed])
    size = len(old_paragraphs) - len(consumed) + len(placed)
    if any(k >= size for k in placed):
        raise ValueError("a new_index lies beyond the new paragraphs")
    return [placed[k] if k in placed else next(kept) for k in range(size)]
