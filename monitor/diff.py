"""Compare two versions of a statement: normalise, align paragraphs, find word-level edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChangeOp = Literal["modified", "added", "removed", "moved"]
WordOp = Literal["equal", "delete", "insert"]


@dataclass(frozen=True)
class WordEdit:
    """One run of words inside a modified paragraph: kept, deleted or inserted."""

    op: WordOp
    text: str


@dataclass(frozen=True)
class Change:
    """One paragraph-level change between two versions of a statement.

    `before`/`after` hold the original (display) text of the paragraph, `old_index`/`new_index`
    its position among the old and new paragraphs; `words` details a modified paragraph.
    """

    op: ChangeOp
    before: str | None = None
    after: str | None = None
    old_index: int | None = None
    new_index: int | None = None
    words: tuple[WordEdit, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The change as in the JSON event contract: op, and before and/or after."""
        out: dict[str, Any] = {"op": self.op}
        if self.before is not None:
            out["before"] = self.before
        if self.after is not None:
            out["after"] = self.after
        return out


@dataclass(frozen=True)
class Comparison:
    """The result of comparing two versions: a similarity score and the changes."""

    similarity: float
    changes: tuple[Change, ...] = ()

    @property
    def unchanged(self) -> bool:
        return not self.changes


def normalize(text: str) -> str:
    """Text for comparison: Unicode NFKC, whitespace collapsed, paragraphs joined by blank lines."""
    raise NotImplementedError


def split_paragraphs(text: str) -> list[str]:
    """The non-empty paragraphs of a text (separated by blank lines), stripped."""
    raise NotImplementedError


def compare(old_text: str, new_text: str) -> Comparison:
    """Compare two statement texts; identical normalised text gives no changes."""
    raise NotImplementedError
