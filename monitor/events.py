"""Events: what a check found, as reported on the CLI, in JSON lines, and to notifiers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from monitor.diff import Change

EventKind = Literal["baseline", "new", "changed", "moved", "removed", "error", "recovered"]

# Kinds that people are alerted about; a baseline is recorded silently, and an error only
# alerts when it completes a streak of failed checks (then `failures` is set).
ALERTING_KINDS: frozenset[str] = frozenset({"new", "changed", "moved", "removed", "recovered"})


def utcnow() -> dt.datetime:
    """The current time in UTC, to the second (what is stored and shown)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Event:
    """One finding of a check, for one statement (or one source, for source-level errors)."""

    event: EventKind
    source: str
    url: str
    title: str | None = None
    version: int | None = None
    similarity: float | None = None
    changes: tuple[Change, ...] = ()
    error: str | None = None
    moved_from: str | None = None
    published: dt.date | None = None
    summary: str | None = None  # the start of the statement's text (new statements)
    failures: int | None = None  # failed checks in a row (error and recovered alerts)
    at: dt.datetime = field(default_factory=utcnow)

    @property
    def alerts(self) -> bool:
        """True when notifiers are told of this event."""
        return self.event in ALERTING_KINDS or (self.event == "error" and self.failures is not None)

    def to_json(self) -> dict[str, Any]:
        """The event as in the JSON contract (`--format json`, webhook body)."""
        out: dict[str, Any] = {"event": self.event, "source": self.source, "url": self.url}
        if self.title is not None:
            out["title"] = self.title
        if self.version is not None:
            out["version"] = self.version
        if self.similarity is not None:
            out["similarity"] = round(self.similarity, 4)
        if self.event == "changed":
            out["changes"] = [c.to_json() for c in self.changes]
        if self.error is not None:
            out["error"] = self.error
        if self.moved_from is not None:
            out["moved_from"] = self.moved_from
        if self.published is not None:
            out["published"] = self.published.isoformat()
        if self.summary is not None:
            out["summary"] = self.summary
        if self.failures is not None:
            out["failures"] = self.failures
        out["at"] = self.at.isoformat().replace("+00:00", "Z")
        return out
