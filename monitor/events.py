"""Events: what a check found, as reported on the CLI, in JSON lines, and to notifiers.

One `Event` type travels from the pipeline through the store to alerts and pages. The store
keeps `to_json(detail=True)` (the contract's fields plus the word edits of each change) and
gives back `Event.from_json` of it, so nothing downstream reads a dict or compares again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from monitor.clock import iso_utc, parse_utc, utcnow
from monitor.diff import Change
from monitor.meaning import Finding

EventKind = Literal[
    "baseline", "new", "changed", "moved", "removed", "restored", "error", "recovered", "test"
]
# The kinds a check records (all but `test`), in the order people filter on them.
EVENT_KINDS: tuple[str, ...] = tuple(k for k in get_args(EventKind) if k != "test")

# Kinds that people are alerted about; a baseline is recorded silently, and an error only
# alerts when it completes a streak of failed checks (then `failures` is set). `test` is the
# message of `monitor notify --test`, never stored.
ALERTING_KINDS: frozenset[str] = frozenset(
    {"new", "changed", "moved", "removed", "restored", "recovered"}
)


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
    # What a `changed` event's edits mean (monitor.meaning), most important first.
    meaning: tuple[Finding, ...] = ()

    @property
    def alerts(self) -> bool:
        """True when notifiers are told of this event."""
        return self.event in ALERTING_KINDS or (self.event == "error" and self.failures is not None)

    def to_json(self, *, detail: bool = False) -> dict[str, Any]:
        """The event as in the JSON contract (`--format json`, webhook body).

        `detail=True` is the stored form: each change also keeps its word edits.
        """
        out: dict[str, Any] = {"event": self.event, "source": self.source, "url": self.url}
        if self.title is not None:
            out["title"] = self.title
        if self.version is not None:
            out["version"] = self.version
        if self.similarity is not None:
            out["similarity"] = round(self.similarity, 4)
        if self.event == "changed":
            out["changes"] = [c.to_json(detail=detail) for c in self.changes]
            out["meaning"] = [f.to_json() for f in self.meaning]
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
        out["at"] = iso_utc(self.at)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        """The event back from `to_json` (either form); raises ValueError when it is not one."""
        try:
            kind = data["event"]
            if kind not in get_args(EventKind):
                raise ValueError(f"unknown event kind {kind!r}")
            published = data.get("published")
            return cls(
                event=kind,
                source=str(data["source"]),
                url=str(data["url"]),
                title=data.get("title"),
                version=data.get("version"),
                similarity=data.get("similarity"),
                changes=tuple(Change.from_json(c) for c in data.get("changes") or ()),
                error=data.get("error"),
                moved_from=data.get("moved_from"),
                published=dt.date.fromisoformat(published) if published else None,
                summary=data.get("summary"),
                failures=data.get("failures"),
                at=parse_utc(data["at"]),
                meaning=tuple(Finding.from_json(f) for f in data.get("meaning") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored event: {exc}") from exc
