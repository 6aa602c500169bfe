"""Messages from Jinja2 templates: a subject, a text body and an HTML body.

The built-in templates live in `monitor/alerts/templates/`. A user's folder
(`[defaults] templates = "…"`) is searched first, one file at a time, so a user can
override only `alert.html`, say. A user template that fails (syntax error, undefined
variable) never stops delivery: the built-in template is used instead and the problem,
naming the template file and line, is reported in `RenderedMessage.problems`.

Template names: `alert_subject.txt`, `alert.txt`, `alert.html` (one alert) and
`digest_subject.txt`, `digest.txt`, `digest.html` (several alerts in one message).
Templates see `alert` (an `AlertView`; `alerts` and `sources` in digests) and
`event` (the JSON event of the contract, as a webhook receives it). HTML templates are
autoescaped.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from monitor import templating
from monitor.clock import iso_utc
from monitor.diff import Change, WordEdit
from monitor.events import Event
from monitor.meaning import Finding, describe, links_to_places
from monitor.sources.urls import safe_href

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "[monitor]"
SUBJECT_LIMIT = 200  # characters; longer subjects are cut with an ellipsis
# An alert leads with at most this many findings (one line each); the diff page has them all.
MAX_FINDINGS = 8

KIND_LABELS = {
    "new": "New",
    "changed": "Changed",
    "moved": "Moved",
    "removed": "Removed",
    "restored": "Restored",
    "error": "Error",
    "recovered": "Recovered",
    "test": "Test",
}


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready for any channel; `problems` lists template errors worked around."""

    subject: str
    text: str
    html: str
    problems: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# What templates see
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeView:
    """One paragraph-level change, with word-level segments for display."""

    op: str  # "modified", "added", "removed", "moved"
    before: str | None
    after: str | None
    segments: tuple[WordEdit, ...]
    part: str = "body"  # "title" when the headline changed


@dataclass(frozen=True)
class FindingView:
    """One finding of what a change means, as a line for people (see monitor.meaning)."""

    kind: str
    line: str  # e.g. '"will" → "may" (weaker commitment)'
    short: str  # the same without the explanation, for a subject: '"will" → "may"'
    sentence: str
    direction: str | None
    link: str | None  # its paragraph on the UI's diff page (None without public_url)


@dataclass(frozen=True)
class AlertView:
    """An event prepared for templates: every field present (None when unknown)."""

    kind: str
    label: str
    source: str
    url: str
    title: str | None  # on one line
    heading: str  # the title, or the URL when the statement has none
    version: int | None
    similarity: float | None
    changes: tuple[ChangeView, ...]
    error: str | None
    moved_from: str | None
    published: str | None
    summary: str | None
    at: str | None
    link: str | None  # the full diff in the web UI (None without public_url)
    href: str | None  # the statement's URL when it is http(s), safe in an href
    delivery_id: str | None
    event: dict[str, Any] = field(repr=False)
    meaning: tuple[FindingView, ...] = ()  # the first MAX_FINDINGS, most important first
    more_findings: int = 0  # how many more there are

    @property
    def lead(self) -> str | None:
        """The most important finding, short (the subject names it), or None."""
        return self.meaning[0].short if self.meaning else None

    @property
    def removed_count(self) -> int:
        return sum(1 for c in self.changes if c.op in {"removed", "modified"})

    @property
    def added_count(self) -> int:
        return sum(1 for c in self.changes if c.op in {"added", "modified"})


def diff_link(public_url: str | None, event: Event) -> str | None:
    """The link to the change in the web UI, or None when public_url is unset.

    A changed statement links to its diff (the UI's permalink format), anything else to
    the statement's page.
    """
    if not public_url or not event.url:
        return None
    base, url = public_url.rstrip("/"), quote(event.url, safe="")
    version = event.version
    if event.event == "changed" and version is not None and version > 1:
        return f"{base}/diff?url={url}&from={version - 1}&to={version}"
    return f"{base}/statement?url={url}"


def change_view(change: Change) -> ChangeView:
    """A change of an event, with segments to display."""
    return ChangeView(change.op, change.before, change.after, change.segments, change.part)


def finding_view(finding: Finding, link: str | None) -> FindingView:
    """A finding of an event, with its line and its link (to its paragraph in the diff:
    `links_to_places`)."""
    return FindingView(
        kind=finding.kind,
        line=one_line(describe(finding), 500),
        short=one_line(describe(finding, short=True), 120),
        sentence=finding.sentence,
        direction=finding.direction,
        link=link,
    )


def alert_view(
    event: Event, *, public_url: str | None = None, delivery_id: str | None = None
) -> AlertView:
    """Prepare an event for the templates."""
    title = one_line(event.title, 500) if event.title else None
    link = diff_link(public_url, event)
    findings = event.meaning if event.event == "changed" else ()
    shown = findings[:MAX_FINDINGS]
    links = links_to_places(shown, event.changes, link)
    return AlertView(
        kind=event.event,
        label=KIND_LABELS.get(event.event, event.event.capitalize()),
        source=event.source,
        url=event.url,
        title=title,
        heading=title or one_line(event.url, 500),
        version=event.version,
        similarity=event.similarity,
        changes=tuple(change_view(c) for c in event.changes),
        error=event.error,
        moved_from=event.moved_from,
        published=event.published.isoformat() if event.published else None,
        summary=event.summary,
        at=iso_utc(event.at),
        link=link,
        href=safe_href(event.url),
        delivery_id=delivery_id,
        event=event.to_json(),
        meaning=tuple(finding_view(f, href) for f, href in zip(shown, links, strict=True)),
        more_findings=max(0, len(findings) - MAX_FINDINGS),
    )


# Controls, line breaks and bidi overrides (in a subject they make it read other than it is).
_NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """Text safe for a header or title: control characters and newlines become spaces."""
    flat = " ".join(_NOT_IN_A_LINE.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def describe_template_error(name: str, exc: BaseException, folder: Path | None) -> str:
    """A message naming the template (file and line where known) and what is wrong."""
    where = str(folder / name) if folder is not None else name
    line: int | None
    if isinstance(exc, jinja2.TemplateSyntaxError):
        line = exc.lineno
        what = f"syntax error: {(exc.message or '').rstrip('.')}"
    else:
        line = _template_line(exc, name)
        detail = getattr(exc, "message", None) or str(exc)
        what = f"{type(exc).__name__}: {str(detail).rstrip('.')}"
    return f"template {where}" + (f", line {line}" if line else "") + f": {what}"


def _template_line(exc: BaseException, name: str) -> int | None:
    """The template line an error was raised at (Jinja rewrites tracebacks to point there)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(name):
            line = frame.lineno
    return line


class MessageRenderer:
    """Renders alerts and digests; a user folder overrides the built-in templates."""

    def __init__(self, user_folder: Path | None = None) -> None:
        builtin = jinja2.PackageLoader("monitor.alerts", "templates")
        self.user_folder = user_folder
        self._builtin = templating.environment(builtin, text_too=True)
        self._env = self._builtin
        self._setup_problems: tuple[str, ...] = ()
        if user_folder is not None:
            if not user_folder.is_dir():
                self._setup_problems = (
                    f"templates folder {user_folder} does not exist; using the built-in templates",
                )
            loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(user_folder)), builtin])
            self._env = templating.environment(loader, text_too=True)

    def alert(
        self,
        event: Event,
        *,
        public_url: str | None = None,
        delivery_id: str | None = None,
    ) -> RenderedMessage:
        """The message for one alert."""
        view = alert_view(event, public_url=public_url, delivery_id=delivery_id)
        return self._message("alert", {"alert": view, "event": view.event})

    def digest(self, events: Sequence[Event], *, public_url: str | None = None) -> RenderedMessage:
        """One message listing several alerts."""
        views = [alert_view(e, public_url=public_url) for e in events]
        sources = sorted({v.source for v in views if v.source})
        context = {"alerts": views, "sources": sources, "events": [v.event for v in views]}
        return self._message("digest", context)

    def _message(self, kind: str, context: dict[str, Any]) -> RenderedMessage:
        problems = list(self._setup_problems)
        subject = self._render(f"{kind}_subject.txt", context, problems)
        text = self._render(f"{kind}.txt", context, problems)
        html = self._render(f"{kind}.html", context, problems)
        return RenderedMessage(one_line(subject), text, html, tuple(problems))

    def _render(self, name: str, context: dict[str, Any], problems: list[str]) -> str:
        try:
            return self._env.get_template(name).render(context)
        except Exception as exc:  # any error in a user's template: fall back, report it
            if self._env is self._builtin:
                raise
            problem = describe_template_error(name, exc, self.user_folder)
            problem += "; used the built-in template instead"
            log.warning("%s", problem)
            problems.append(problem)
            return self._builtin.get_template(name).render(context)
