"""The Atom feed of changes (`/feed.xml`), built with ElementTree so every string is escaped.

Scraped titles, URLs and paragraphs may hold anything, including characters XML 1.0 forbids
even as references (most C0 controls, lone surrogates, U+FFFE/U+FFFF): those are dropped
before they reach the tree, so the feed always parses. Each entry's content is a small HTML
rendering of the change (the `ui_feed_entry.html` template, autoescaped), carried as text.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.clock import iso_utc
from monitor.meaning import describe, links_to_places
from monitor.review import report
from monitor.review.views import EventView

ATOM_NS = "http://www.w3.org/2005/Atom"

# Characters XML 1.0 does not allow in a document, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# A changed statement's entry shows at most this many changes; the diff page has them all.
MAX_CHANGES_PER_ENTRY = 20


def xml_text(text: str) -> str:
    """Text without the characters XML cannot carry."""
    return _NOT_XML.sub("", text)


def _child(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(
        parent, f"{{{ATOM_NS}}}{tag}", {k: xml_text(v) for k, v in attrs.items()}
    )
    if text is not None:
        element.text = xml_text(text)
    return element


def entry_id(event: EventView) -> str:
    """A stable id for an event's entry: the same event always gets the same id."""
    key = f"statement-monitor:event:{event.source}:{event.id}:{iso_utc(event.at_utc)}"
    return uuid.uuid5(uuid.NAMESPACE_URL, key).urn


def atom_feed(
    events: Sequence[EventView],
    *,
    feed_url: str,
    home_url: str,
    title: str,
    now: dt.datetime,
) -> bytes:
    """The Atom document (UTF-8 bytes) of these events, newest first."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _child(feed, "id", uuid.uuid5(uuid.NAMESPACE_URL, feed_url).urn)
    _child(feed, "title", title)
    _child(feed, "updated", iso_utc(events[0].at_utc if events else now))
    _child(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    _child(feed, "link", rel="alternate", type="text/html", href=home_url)
    author = _child(feed, "author")
    _child(author, "name", "statement monitor")
    _child(feed, "generator", "statement-monitor")
    for event in events:
        _entry(feed, event)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(feed: ET.Element, event: EventView) -> None:
    entry = _child(feed, "entry")
    _child(entry, "id", entry_id(event))
    _child(entry, "title", f"{event.kind}: {event.title}")
    _child(entry, "updated", iso_utc(event.at_utc))
    link = event.diff_link or event.statement_link or event.url.href
    if link:
        _child(entry, "link", rel="alternate", type="text/html", href=link)
    _child(entry, "category", term=event.kind)
    author = _child(entry, "author")
    _child(author, "name", event.source)
    if event.detail:
        _child(entry, "summary", event.detail)
    _child(entry, "content", entry_html(event), type="html")


@dataclass(frozen=True)
class EntryFinding:
    """One line of what the edit means, linking to its paragraph on the diff page."""

    line: str
    href: str | None


def entry_html(event: EventView) -> str:
    """The entry's content: what the edit means, then what changed, as autoescaped HTML.

    Each finding links to its paragraph on the diff page (when the event has one).
    """
    changed = event.kind == "changed"
    changes = event.event.changes if changed else ()
    meaning = event.event.meaning if changed else ()
    links = links_to_places(meaning, changes, event.diff_link)
    findings = [EntryFinding(describe(f), href) for f, href in zip(meaning, links, strict=True)]
    template = report.environment().get_template("ui_feed_entry.html")
    return template.render(
        event=event,
        findings=findings,
        changes=changes[:MAX_CHANGES_PER_ENTRY],
        more=max(0, len(changes) - MAX_CHANGES_PER_ENTRY),
    )
