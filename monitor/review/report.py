"""Render a comparison for people: a terminal word diff, a standalone HTML page, JSON.

Everything shown here comes from scraped pages and is hostile: the HTML templates are
autoescaped (never `|safe` on scraped text), links are only made for http(s) URLs, and the
terminal output shows control and bidi-override characters as escapes instead of passing them
to the terminal.

The HTML is built from `diff_rows` (the two versions merged into one sequence of rows, old
and new side by side) and `fold_unchanged` (long unchanged stretches folded away); the web UI
reuses both, with `diff_context` and the `diff_block.html` template fragment.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jinja2
from rich.console import Console
from rich.text import Text

from monitor import templating
from monitor.diff import Change, ChangeOp, Comparison, WordEdit, split_paragraphs
from monitor.meaning import Finding, anchors, describe, explain
from monitor.sources.urls import safe_href
from monitor.terminal import with_visible_controls

RowKind = Literal["same", "modified", "removed", "added", "moved_out", "moved_in"]

# Change kinds in the order summaries list them.
_OPS: tuple[ChangeOp, ...] = ("modified", "added", "removed", "moved")

# Characters that would act on a terminal or reorder what it shows (C0/C1 controls but line
# breaks and tabs, bidi embeddings/overrides/isolates): shown as \x1b-style escapes instead.

# A moved paragraph did not change: the terminal shows only its start, to recognise it.
_MOVED_PREVIEW = 100


# --- rows: the two versions merged, for inline and side-by-side views -----------------------


@dataclass(frozen=True)
class Row:
    """One step through both versions: a paragraph on the old side, the new side, or both.

    Numbers are 1-based paragraph positions, for people. A moved paragraph gives two rows:
    `moved_out` where it was (old side; `new_number` says where it went) and `moved_in` where it
    is now (new side; `old_number` says where it came from).
    """

    kind: RowKind
    old_number: int | None = None
    new_number: int | None = None
    old_text: str | None = None
    new_text: str | None = None
    words: tuple[WordEdit, ...] = ()

    @property
    def on_old_side(self) -> bool:
        return self.kind in ("same", "modified", "removed", "moved_out")

    @property
    def anchor(self) -> str:
        """The row's id on the page, as `meaning.paragraph_anchor` names a change's place."""
        if self.kind in ("removed", "moved_out"):
            return f"was-p{self.old_number}"
        return f"p{self.new_number}"

    @property
    def on_new_side(self) -> bool:
        return self.kind in ("same", "modified", "added", "moved_in")


@dataclass(frozen=True)
class FindingLink:
    """A finding of what the edit means, as a line linking to its paragraph on the page."""

    kind: str
    line: str
    anchor: str | None  # the id of its row (or of the headline); None if not found


def finding_links(findings: Sequence[Finding], comparison: Comparison) -> list[FindingLink]:
    """The findings as lines for the page, each with the id of the paragraph it is about."""
    places = anchors(findings, comparison.changes)
    return [
        FindingLink(f.kind, describe(f), place) for f, place in zip(findings, places, strict=True)
    ]


@dataclass(frozen=True)
class Block:
    """Consecutive rows, shown as they are or, for a long unchanged stretch, folded."""

    rows: tuple[Row, ...]
    folded: bool = False


def diff_rows(
    comparison: Comparison, old_paragraphs: Sequence[str], new_paragraphs: Sequence[str]
) -> list[Row]:
    """Merge both versions into rows, in reading order, using the comparison's changes.

    Removed paragraphs come before added ones at the same place, like a unified diff.
    Raises ValueError when the comparison was not made from these paragraphs.
    """
    by_old = {c.old_index: c for c in comparison.changes if c.old_index is not None}
    by_new = {c.new_index: c for c in comparison.changes if c.new_index is not None}
    rows: list[Row] = []
    i = j = 0
    while i < len(old_paragraphs) or j < len(new_paragraphs):
        old_change = by_old.get(i) if i < len(old_paragraphs) else None
        new_change = by_new.get(j) if j < len(new_paragraphs) else None
        if old_change is not None and old_change.op in ("removed", "moved"):
            rows.append(_old_side_row(old_change, i, old_paragraphs[i]))
            i += 1
        elif new_change is not None and new_change.op in ("added", "moved"):
            rows.append(_new_side_row(new_change, j, new_paragraphs[j]))
            j += 1
        elif i < len(old_paragraphs) and j < len(new_paragraphs) and old_change is new_change:
            # Unchanged paragraphs and modified pairs keep their order on both sides, so
            # once one-sided rows are out of the way the next old and new paragraphs match.
            kind: RowKind = "same" if old_change is None else "modified"
            words = () if old_change is None else old_change.words
            rows.append(Row(kind, i + 1, j + 1, old_paragraphs[i], new_paragraphs[j], words))
            i, j = i + 1, j + 1
        else:
            raise ValueError("the comparison was not made from these paragraphs")
    return rows


def _old_side_row(change: Change, index: int, text: str) -> Row:
    if change.op == "moved" and change.new_index is not None:
        return Row("moved_out", index + 1, change.new_index + 1, old_text=text, words=change.words)
    return Row("removed", index + 1, old_text=text)


def _new_side_row(change: Change, index: int, text: str) -> Row:
    if change.op == "moved" and change.old_index is not None:
        return Row("moved_in", change.old_index + 1, index + 1, new_text=text, words=change.words)
    return Row("added", new_number=index + 1, new_text=text)


def fold_unchanged(rows: Sequence[Row], context: int = 1, min_folded: int = 2) -> list[Block]:
    """Group rows into blocks, folding unchanged stretches except `context` rows by a change.

    A stretch is folded only when at least `min_folded` rows would be hidden: folding a single
    paragraph saves nothing.
    """
    groups = [
        (same, tuple(group))
        for same, group in itertools.groupby(rows, key=lambda row: row.kind == "same")
    ]
    blocks: list[Block] = []
    for position, (same, group) in enumerate(groups):
        if not same:
            blocks.append(Block(group))
            continue
        head = context if position > 0 else 0  # a change comes before this stretch
        tail = context if position < len(groups) - 1 else 0  # and one after it
        if len(group) - head - tail < min_folded:
            blocks.append(Block(group))
            continue
        if head:
            blocks.append(Block(group[:head]))
        blocks.append(Block(group[head : len(group) - tail], folded=True))
        if tail:
            blocks.append(Block(group[len(group) - tail :]))
    return blocks


# --- terminal --------------------------------------------------------------------------------


def _position(change: Change) -> str:
    """Where a change is, for people: its new paragraph, and the old one when it differs."""
    if change.part == "title":
        return "title"
    old = None if change.old_index is None else change.old_index + 1
    new = None if change.new_index is None else change.new_index + 1
    if new is None:
        return f"(was ¶{old})"
    if old is None or old == new:
        return f"¶{new}"
    return f"¶{new} (was ¶{old})"


def _prefixed_lines(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def render_rich(comparison: Comparison) -> Text:
    """The comparison as a rich Text: a header per change, then its text.

    Modified paragraphs show removed words as `[-…-]` (red) and added ones as `{+…+}`
    (green), like `git diff --word-diff`; removed and added paragraphs are `- ` / `+ ` lines;
    a moved paragraph shows its start, or its word edits when it was also edited. Built with
    styles, never markup, so scraped text containing `[bold]` stays text.
    """
    out = Text()
    if comparison.unchanged:
        out.append("no changes\n", style="dim")
        return out
    for number, change in enumerate(comparison.changes):
        if number:
            out.append("\n")
        edited = " and edited" if change.op == "moved" and change.words else ""
        out.append(f"{change.op}{edited} {_position(change)}\n", style="bold")
        if change.op == "modified" or edited:
            out.append("  ")
            for edit in change.words:
                _append_word(out, edit)
            out.append("\n")
        elif change.op == "removed":
            out.append(
                _prefixed_lines(with_visible_controls(change.before or ""), "- ") + "\n", "red"
            )
        elif change.op == "added":
            out.append(
                _prefixed_lines(with_visible_controls(change.after or ""), "+ ") + "\n", "green"
            )
        else:
            out.append(f"  {_preview(change.after or '')}\n", style="dim")
    return out


def _append_word(out: Text, edit: WordEdit) -> None:
    text = with_visible_controls(edit.text)
    if edit.op == "delete":
        out.append(f"[-{text}-]", style="bold red")
    elif edit.op == "insert":
        out.append(f"{{+{text}+}}", style="bold green")
    else:
        out.append(text)


def _preview(text: str) -> str:
    flat = " ".join(with_visible_controls(text).split())
    return flat if len(flat) <= _MOVED_PREVIEW else flat[: _MOVED_PREVIEW - 1] + "…"


def render_text(comparison: Comparison, *, color: bool = False) -> str:
    """A readable terminal diff of a comparison (see `render_rich`), ending with a newline.

    Plain text by default; with `color=True`, the same text with ANSI colours.
    """
    text = render_rich(comparison)
    if not color:
        return text.plain
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", soft_wrap=True)
    console.print(text, end="")
    return buffer.getvalue()


# --- JSON ------------------------------------------------------------------------------------


def change_to_json(change: Change) -> dict[str, Any]:
    """A change as in the event contract, plus its positions and, if modified, its words."""
    out = change.to_json()
    # `*_index` count from 0 (as stored); `*_paragraph` from 1, as the text and HTML say ¶N
    if change.old_index is not None:
        out["old_index"] = change.old_index
        out["old_paragraph"] = change.old_index + 1
    if change.new_index is not None:
        out["new_index"] = change.new_index
        out["new_paragraph"] = change.new_index + 1
    if change.op == "modified":
        out["words"] = [{"op": w.op, "text": w.text} for w in change.words]
    return out


def diff_to_json(comparison: Comparison) -> dict[str, Any]:
    """The comparison for `monitor diff --format json`: similarity, unchanged, changes."""
    return {
        "similarity": round(comparison.similarity, 4),
        "unchanged": comparison.unchanged,
        "changes": [change_to_json(c) for c in comparison.changes],
    }


# --- HTML ------------------------------------------------------------------------------------


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the review templates, autoescaping everything."""
    return templating.environment(jinja2.PackageLoader("monitor.review", "templates"))


def _format_time(value: dt.datetime | dt.date | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def format_similarity(similarity: float) -> str:
    """A similarity as a percentage, rounded down so that a changed text never shows 100%."""
    return f"{math.floor(similarity * 10000) / 100:.2f}%"


def summarize(comparison: Comparison) -> str:
    """The changes counted by kind, e.g. "2 modified · 1 added", or "no changes"."""
    counts = Counter(c.op for c in comparison.changes)
    parts = [f"{counts[op]} {op}" for op in _OPS if counts[op]]
    return " · ".join(parts) or "no changes"


def diff_context(
    *,
    title: str | None,
    url: str,
    source: str,
    from_version: int | str | None,
    to_version: int | str | None,
    from_time: dt.datetime | dt.date | str | None,
    to_time: dt.datetime | dt.date | str | None,
    comparison: Comparison,
    old_text: str,
    new_text: str,
    context: int = 1,
    old_title: str | None = None,
    new_title: str | None = None,
) -> dict[str, Any]:
    """The variables of the `diff_block.html` fragment, for this page and the web UI.

    The findings of what the edit means (monitor.meaning) are made here from the same
    comparison, for any two versions; with both titles, a changed headline is one of them.
    """
    rows = diff_rows(comparison, split_paragraphs(old_text), split_paragraphs(new_text))
    findings = explain(
        old_text, new_text, old_title=old_title, new_title=new_title, comparison=comparison
    )
    return {
        "title": title or url,
        "url": url,
        "href": safe_href(url),
        "source": source,
        "from_version": "" if from_version is None else str(from_version),
        "to_version": "" if to_version is None else str(to_version),
        "from_time": _format_time(from_time),
        "to_time": _format_time(to_time),
        "similarity": format_similarity(comparison.similarity),
        "summary": summarize(comparison),
        "unchanged": comparison.unchanged,
        "blocks": fold_unchanged(rows, context=context),
        "findings": finding_links(findings, comparison),
    }


def render_diff_html(**page: Any) -> str:
    """One standalone HTML page reviewing a comparison, inline and side by side.

    Takes the arguments of `diff_context` (`old_text`/`new_text` are the texts the
    comparison was made from). Both views are in the page; links switch between them with
    CSS `:target`, no JavaScript.
    """
    variables = diff_context(**page)
    return environment().get_template("diff.html").render(variables)
