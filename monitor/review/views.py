"""What each review page shows, built from the state: independent of HTTP and of files.

The web UI (`monitor.review.app`) serves these pages and the static export
(`monitor.review.export`) writes
them to disk, from the same builders and the same templates; only the links differ, which is
what `Links` abstracts (absolute paths with query strings on the server, relative file names
on disk).

Everything shown comes from scraped pages and is hostile. The templates are autoescaped and
never mark scraped text safe; links to the outside are only made for http(s) URLs
(`urls.safe_href`), and URLs that carry credentials are shown redacted and not linked.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from monitor.clock import iso_utc, utcnow
from monitor.clock import utc_text as clock_text
from monitor.diff import compare, split_paragraphs
from monitor.events import EVENT_KINDS, Event
from monitor.review import report
from monitor.review.controls import Buttons
from monitor.sources.config import Config, format_duration
from monitor.sources.schedule import is_overdue, timing_of
from monitor.sources.urls import redact_url, safe_href
from monitor.state.records import Snapshot, SourceRecord, StatementRecord, StoredEvent
from monitor.state.store import Store

# What counts as "a change" on the dashboard and in the feed.
CHANGE_KINDS: tuple[str, ...] = ("changed", "new", "moved", "removed", "restored")

RECENT_CHANGES = 20  # on the dashboard and on a source's page
STATEMENT_EVENTS = 50  # on a statement's page
EVENTS_DEFAULT_LIMIT = 100
EVENTS_MAX_LIMIT = 2000
NEW_SUMMARY_CHARS = 240  # how much of a new statement's opening the event lists show
SEARCH_RESULTS = 50  # statements listed for a dashboard search
SEARCH_EVENTS = 500  # latest changes a dashboard search looks through


# --- errors ----------------------------------------------------------------------------------


class PageError(Exception):
    """A page that cannot be shown: the HTTP status and a message for people."""

    def __init__(self, status: int, heading: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.heading = heading
        self.message = message


def not_found(message: str) -> PageError:
    return PageError(404, "Not found", message)


def bad_request(message: str) -> PageError:
    return PageError(400, "Bad request", message)


# --- links -----------------------------------------------------------------------------------


class Links(Protocol):
    """Where each page is, for the pages that link to it.

    A method returns None when that page does not exist in this rendering (a static export
    has no filtered event lists and only the diffs it wrote); templates then show text
    without a link.
    """

    @property
    def forms(self) -> bool:
        """Whether pages may offer GET forms (a server answers them; files on disk do not)."""
        ...

    def home(self) -> str: ...
    def stylesheet(self) -> str: ...
    def events(
        self,
        source: str | None = None,
        kind: str | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> str | None: ...
    def events_form(self) -> str: ...
    def diff_form(self) -> str: ...
    def feed(self, source: str | None = None) -> str | None: ...
    def source(self, name: str) -> str | None: ...
    def statement(self, source: str, url: str) -> str | None: ...
    def diff(self, source: str, url: str, old: int, new: int) -> str | None: ...
    def original(self, source: str, url: str, version: int) -> str | None: ...


# --- small display values --------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A point in time for people: ISO for <time datetime>, UTC text, and how long ago."""

    iso: str
    text: str
    ago: str


def moment(value: dt.datetime | None, now: dt.datetime) -> Moment | None:
    """A stored (UTC) time for display, relative to `now`; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return Moment(
        iso=iso_utc(value),
        text=clock_text(value),
        ago=time_ago(now - value),
    )


def utc_text(value: dt.datetime | None) -> str | None:
    """A stored (UTC) time as people read it: "2026-11-26 09:00 UTC"."""
    return clock_text(value) if value is not None else None


def time_ago(delta: dt.timedelta) -> str:
    """A rough age: "just now", "5 min ago", "3 h ago", "2 days ago"."""
    seconds = delta.total_seconds()
    if seconds < -60:
        return "in the future"
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            label = unit + ("s" if unit == "day" and count != 1 else "")
            return f"{count} {label} ago"
    return "just now"  # unreachable: seconds >= 60 matched "min"


@dataclass(frozen=True)
class ExternalUrl:
    """A scraped or configured URL: the text shown, and a link only when it is safe."""

    text: str
    href: str | None


def external_url(url: str) -> ExternalUrl:
    """The URL for display: credentials redacted (and then not linked), http(s) only linked."""
    shown = redact_url(url)
    try:
        has_credentials = "@" in urlsplit(url).netloc
    except ValueError:
        has_credentials = False
    return ExternalUrl(shown, None if has_credentials else safe_href(url))


def change_summary(event: Event) -> str:
    """The changes of a `changed` event counted by kind, e.g. "2 modified · 1 added"."""
    counts = Counter(c.op for c in event.changes)
    parts = [f"{counts[op]} {op}" for op in ("modified", "added", "removed", "moved") if counts[op]]
    return " · ".join(parts) or "no text changes listed"


def shorten(text: str, limit: int) -> str:
    """Whitespace collapsed and cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# --- the state, read once per page -----------------------------------------------------------


@dataclass
class StateView:
    """The state's sources and statements, read once for one page.

    Pages need the sources of statements and whether an event's URL is a tracked statement
    (to link it), so both are read up front. Each statement is here once, however many
    sources track it: counts of statements never double.
    """

    store: Store
    sources: list[SourceRecord]
    statements: list[StatementRecord]
    tracked: set[tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.tracked = {(name, s.url) for s in self.statements for name in s.sources}

    @classmethod
    def read(cls, store: Store) -> StateView:
        return cls(store, store.sources(), store.statements())

    def source_of(self, statement: StatementRecord) -> str:
        """The source a statement is shown under (the first of those tracking it)."""
        return statement.sources[0] if statement.sources else ""


# --- sources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceView:
    """A source as the dashboard and its page show it."""

    name: str
    kind: str
    url: ExternalUrl
    link: str | None
    status: str  # css class: "ok", "error", "unchecked", "disabled"
    status_text: str
    error: str | None
    failures: int
    last_check: Moment | None
    last_success: Moment | None
    last_change: Moment | None
    statements: int
    interval: str | None  # "1h", from the configuration
    overdue: bool  # no successful check for `overdue_after` periods (as /healthz says)
    configured: bool
    paused: bool = False  # by a button of the UI: no checks until resumed


def source_names(state: StateView, config: Config | None) -> list[str]:
    """The configured sources' names in order, then those only the state knows."""
    configured = [source.name for source in config.sources] if config is not None else []
    known = set(configured)
    return configured + [record.name for record in state.sources if record.name not in known]


def source_views(
    state: StateView,
    config: Config | None,
    links: Links,
    now: dt.datetime,
    paused: frozenset[str] = frozenset(),
) -> list[SourceView]:
    """Every configured source (in configuration order), then those only the state knows."""
    records = {record.name: record for record in state.sources}
    counts = Counter(name for s in state.statements for name in s.sources)
    views: list[SourceView] = []
    configured = config.sources if config is not None else ()
    for source in configured:
        assert config is not None
        interval = config.interval_of(source)
        views.append(
            _source_view(
                source.name,
                source.kind,
                source.url,
                records.get(source.name),
                counts[source.name],
                links,
                now,
                interval=interval,
                enabled=source.enabled,
                configured=True,
                period=timing_of(source, config).period(now),
                overdue_after=config.defaults.overdue_after,
                paused=source.name in paused,
            )
        )
    known = {source.name for source in configured}
    for record in state.sources:
        if record.name not in known:
            views.append(
                _source_view(
                    record.name,
                    record.kind,
                    record.url,
                    record,
                    counts[record.name],
                    links,
                    now,
                    interval=None,
                    enabled=True,
                    configured=config is None,
                )
            )
    return views


def _source_view(
    name: str,
    kind: str,
    url: str,
    record: SourceRecord | None,
    statements: int,
    links: Links,
    now: dt.datetime,
    *,
    interval: float | None,
    enabled: bool,
    configured: bool,
    period: float | None = None,
    overdue_after: float = 3.0,
    paused: bool = False,
) -> SourceView:
    status, status_text = _source_status(record, enabled)
    last_check = record.last_check_at if record else None
    # The same rule as /healthz: no successful check for `overdue_after` periods (of the
    # interval or of the cron schedule), counted from the source's first check.
    overdue = bool(
        enabled
        and not paused
        and period is not None
        and record is not None
        and is_overdue(period, record.last_success_at, record.created_at, now, overdue_after)
    )
    return SourceView(
        name=name,
        kind=kind,
        url=external_url(url),
        link=links.source(name),
        status=status,
        status_text=status_text,
        error=record.last_error if record and record.last_status == "error" else None,
        failures=record.consecutive_failures if record else 0,
        last_check=moment(last_check, now),
        last_success=moment(record.last_success_at if record else None, now),
        last_change=moment(record.last_change_at if record else None, now),
        statements=statements,
        interval=format_duration(interval) if interval is not None else None,
        overdue=overdue,
        configured=configured,
        paused=paused,
    )


def _source_status(record: SourceRecord | None, enabled: bool) -> tuple[str, str]:
    if not enabled:
        return "disabled", "disabled"
    if record is None or record.last_status is None:
        return "unchecked", "not checked yet"
    if record.last_status == "error":
        failures = record.consecutive_failures
        return "error", f"failing ({failures} check{'s' if failures != 1 else ''} in a row)"
    return "ok", "ok"


# --- statements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementView:
    """A statement as a source's page lists it."""

    title: str
    url: ExternalUrl
    link: str | None
    status: str
    versions: int
    first_seen: Moment | None
    last_changed: Moment | None
    last_checked: Moment | None
    latest_diff: str | None


def statement_view(
    statement: StatementRecord, source: str, links: Links, now: dt.datetime
) -> StatementView:
    version = statement.version
    return StatementView(
        title=statement.title or statement.url,
        url=external_url(statement.url),
        link=links.statement(source, statement.url),
        status=statement.status,
        versions=version,
        first_seen=moment(statement.first_seen_at, now),
        last_changed=moment(statement.last_changed_at, now),
        last_checked=moment(statement.last_checked_at, now),
        latest_diff=links.diff(source, statement.url, version - 1, version)
        if version > 1
        else None,
    )


def _by_latest_activity(statement: StatementRecord) -> tuple[dt.datetime, dt.datetime]:
    """Sort key: most recently changed first, then most recently seen."""
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    return (statement.last_changed_at or oldest, statement.first_seen_at or oldest)


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventView:
    """An event as the lists and the feed show it."""

    id: int
    kind: str
    source: str
    source_link: str | None
    title: str
    url: ExternalUrl
    raw_url: str
    statement_link: str | None
    diff_link: str | None
    version: int | None
    at: Moment
    at_utc: dt.datetime
    detail: str | None
    moved_from: ExternalUrl | None
    moved_from_link: str | None
    event: Event
    count: int = 1  # repeated errors of a source shown as one row: how many
    first_at: Moment | None = None  # of those, the earliest
    other_errors: tuple[str, ...] = ()  # of those, messages that differ from the latest
    unread: bool = False  # newer than the last visit of the dashboard


def event_view(event: StoredEvent, state: StateView, links: Links, now: dt.datetime) -> EventView:
    tracked = (event.source, event.url) in state.tracked
    version = event.version
    diff_link = None
    if tracked and event.kind == "changed" and version is not None and version > 1:
        diff_link = links.diff(event.source, event.url, version - 1, version)
    moved_from = event.event.moved_from
    moved_from_tracked = moved_from is not None and (event.source, moved_from) in state.tracked
    at = moment(event.at, now)
    assert at is not None  # events always have a time
    return EventView(
        id=event.id,
        kind=event.kind,
        source=event.source,
        source_link=links.source(event.source),
        title=event.title or event.url,
        url=external_url(event.url),
        raw_url=event.url,
        statement_link=links.statement(event.source, event.url) if tracked else None,
        diff_link=diff_link,
        version=version,
        at=at,
        at_utc=event.at,
        detail=_event_detail(event.event),
        moved_from=external_url(moved_from) if moved_from is not None else None,
        moved_from_link=(
            links.statement(event.source, moved_from)
            if moved_from is not None and moved_from_tracked
            else None
        ),
        event=event.event,
    )


def _event_detail(event: Event) -> str | None:
    """One line saying what happened beyond the kind: the changes, the error, the opening."""
    if event.event == "changed":
        summary = change_summary(event)
        if event.similarity is not None:
            summary += f" · similarity {report.format_similarity(event.similarity)}"
        return summary
    if event.event == "error":
        return event.error or None
    if event.event == "recovered":
        failures = event.failures
        return f"checks succeed again after {failures} failures" if failures else None
    if event.event == "new" and event.summary:
        return shorten(event.summary, NEW_SUMMARY_CHARS)
    return None


def event_views(
    events: Iterable[StoredEvent], state: StateView, links: Links, now: dt.datetime
) -> list[EventView]:
    return [event_view(event, state, links, now) for event in events]


def collapse_errors(views: Sequence[EventView]) -> list[EventView]:
    """A streak of errors of one source (and URL) as one row with a count, at the latest.

    `views` is newest first. A source's streak is broken by any other event of that source
    (a success in between means two separate outages); other sources' events in between
    do not break it.
    """
    rows: list[EventView] = []
    open_streak: dict[tuple[str, str], int] = {}  # (source, url) → index in rows
    for view in views:
        key = (view.source, view.raw_url)
        if view.kind != "error":
            for streak in [k for k in open_streak if k[0] == view.source]:
                del open_streak[streak]
            rows.append(view)
            continue
        index = open_streak.get(key)
        if index is None:
            open_streak[key] = len(rows)
            rows.append(view)
            continue
        latest = rows[index]
        others = latest.other_errors
        message = view.detail or ""
        if message and message != latest.detail and message not in others:
            others = (*others, message)
        rows[index] = replace(latest, count=latest.count + 1, first_at=view.at, other_errors=others)
    return rows


def notice(done: str | None, source: str | None) -> str | None:
    """What a button just did, for the page it returns to (`?done=&done_for=`)."""
    if not source:
        return None
    messages = {
        "recheck": f"A check of {source} was started; reload in a moment to see its result.",
        "pause": f"{source} is paused: no checks until it is resumed.",
        "resume": f"{source} is checked on its schedule again.",
    }
    return messages.get(done or "")


def _matches(query: str, *texts: str | None) -> bool:
    return any(query in text.casefold() for text in texts if text)


@dataclass(frozen=True)
class EventFilters:
    """The events page's filters, from its query string."""

    source: str | None = None
    kind: str | None = None
    since: dt.datetime | None = None
    limit: int = EVENTS_DEFAULT_LIMIT

    @property
    def since_text(self) -> str:
        """The `since` date as the form shows it back."""
        if self.since is None:
            return ""
        if self.since.time() == dt.time(0, 0):
            return self.since.date().isoformat()
        return self.since.isoformat().replace("+00:00", "Z")


def parse_since(value: str) -> dt.datetime:
    """A date (2026-11-26) or ISO date-time; naive values are UTC. Raises ValueError."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_event_filters(params: Mapping[str, str]) -> EventFilters:
    """The filters of `/events?source=&type=&since=&limit=`; blank values are no filter."""
    source = (params.get("source") or "").strip() or None
    kind = (params.get("type") or "").strip() or None
    if kind is not None and kind not in EVENT_KINDS:
        raise bad_request(f"Unknown event type {kind!r}: use one of {', '.join(EVENT_KINDS)}.")
    since = None
    if (params.get("since") or "").strip():
        try:
            since = parse_since(params["since"])
        except ValueError:
            raise bad_request(
                f"Cannot read the date {params['since']!r}: write it like 2026-11-26 "
                "or 2026-11-26T09:00."
            ) from None
    limit = EVENTS_DEFAULT_LIMIT
    if (params.get("limit") or "").strip():
        try:
            limit = int(params["limit"])
        except ValueError:
            raise bad_request("The limit must be a whole number.") from None
        limit = max(1, min(limit, EVENTS_MAX_LIMIT))
    return EventFilters(source, kind, since, limit)


# --- pages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A page to render: its template and variables (`links` and `generated` are added)."""

    template: str
    title: str
    context: dict[str, Any]


def dashboard_page(
    store: Store,
    config: Config | None,
    links: Links,
    now: dt.datetime,
    since: dt.datetime | None = None,
    *,
    query: str = "",
    seen: int | None = None,
    buttons: Buttons | None = None,
    notice: str | None = None,
) -> Page:
    """Sources with their status, then the latest changes of statements.

    `query` narrows both to what mentions it (source name, statement title or URL) and lists
    the matching statements; changes with an id above `seen` are marked unread.
    """
    state = StateView.read(store)
    paused = buttons.paused if buttons else frozenset()
    sources = source_views(state, config, links, now, paused)
    week = store.count_events(CHANGE_KINDS, since=now - dt.timedelta(days=7))
    needle = " ".join(query.split()).casefold()
    if needle:
        found = store.events(kinds=CHANGE_KINDS, since=since, limit=SEARCH_EVENTS)
        recent = [e for e in found if _matches(needle, e.source, e.title, e.url)][:RECENT_CHANGES]
        shown_sources = [s for s in sources if _matches(needle, s.name, s.url.text)]
        statements = [
            statement_view(s, state.source_of(s), links, now)
            for s in sorted(state.statements, key=_by_latest_activity, reverse=True)
            if _matches(needle, s.title, s.url, state.source_of(s))
        ]
    else:
        recent = store.events(kinds=CHANGE_KINDS, since=since, limit=RECENT_CHANGES)
        shown_sources, statements = sources, []
    newest = store.events(limit=1)
    views = [
        replace(view, unread=True) if seen is not None and view.id > seen else view
        for view in event_views(recent, state, links, now)
    ]
    return Page(
        "ui_dashboard.html",
        f"Search: {query}" if needle else "Dashboard",
        {
            "nav": "dashboard",
            "sources": shown_sources,
            "source_total": len(sources),
            "failing": sum(1 for s in sources if s.status == "error"),
            "paused": sum(1 for s in sources if s.paused),
            "statement_count": len(state.statements),
            "changes_this_week": week,
            "recent": views,
            "unread": sum(1 for view in views if view.unread),
            "since": moment(since, now),
            "query": query.strip(),
            "statements": statements[:SEARCH_RESULTS],
            "more_statements": len(statements) > SEARCH_RESULTS,
            "newest_event": newest[0].id if newest else None,
            "buttons": buttons,
            "notice": notice,
        },
    )


def source_page(
    store: Store,
    config: Config | None,
    links: Links,
    now: dt.datetime,
    name: str,
    since: dt.datetime | None = None,
    *,
    buttons: Buttons | None = None,
    notice: str | None = None,
) -> Page:
    """One source: its status and settings, its statements, its latest events."""
    state = StateView.read(store)
    paused = buttons.paused if buttons else frozenset()
    views = source_views(state, config, links, now, paused)
    view = next((s for s in views if s.name == name), None)
    if view is None:
        raise not_found(f"There is no source named “{name}” in the configuration or the state.")
    # as this source sees them (a statement its listing says moved is "moved" here)
    statements = sorted(store.statements(name), key=_by_latest_activity, reverse=True)
    events = store.events(source=name, since=since, limit=RECENT_CHANGES)
    return Page(
        "ui_source.html",
        f"Source {name}",
        {
            "nav": "dashboard",
            "source": view,
            "statements": [statement_view(s, name, links, now) for s in statements],
            "events": collapse_errors(event_views(events, state, links, now)),
            "all_events": links.events(source=name),
            "source_feed": links.feed(source=name),
            "buttons": buttons,
            "notice": notice,
        },
    )


@dataclass(frozen=True)
class VersionView:
    """One version on a statement's timeline."""

    version: int
    fetched: Moment | None
    title: str
    title_changed: bool
    paragraphs: int
    characters: int
    summary: str | None
    diff_link: str | None  # from the version before
    latest_diff_link: str | None  # to the latest version, when neither is adjacent
    original_link: str | None = None  # the page as fetched, from the archive


def find_statement(store: Store, url: str, source: str | None) -> tuple[StatementRecord, str]:
    """The statement tracked at `url` and its source's name (see `Store.find_statement`)."""
    if not url.strip():
        raise bad_request("Say which statement: add ?url=<the statement's URL>.")
    found = store.find_statement(url, source)
    if found is None:
        where = f" in source “{source}”" if source else ""
        raise not_found(f"No statement is tracked at {url}{where}.")
    return found


def statement_page(
    store: Store, links: Links, now: dt.datetime, url: str, source: str | None
) -> Page:
    """A statement's timeline: every version, with the changes from the one before."""
    statement, source_name = find_statement(store, url, source)
    snapshots = store.snapshots(statement.id)
    return statement_page_for(store, links, now, statement, source_name, snapshots)


def statement_page_for(
    store: Store,
    links: Links,
    now: dt.datetime,
    statement: StatementRecord,
    source: str,
    snapshots: Sequence[Snapshot],
    state: StateView | None = None,
) -> Page:
    """The statement page of a known statement whose snapshots are already read.

    The versions' summaries come from their `changed` events (no comparing again); the
    events list shows the latest ones.
    """
    state = state or StateView.read(store)
    url = statement.url
    # whichever source's check recorded them: one statement, one timeline
    edits = store.events(url=url, kinds=["changed"], limit=len(snapshots) + 1)
    changed = {e.version: e.event for e in edits if e.version}
    events = store.events(url=url, limit=STATEMENT_EVENTS)
    versions = _version_views(statement, source, snapshots, changed, links, now)
    latest = snapshots[-1] if snapshots else None
    return Page(
        "ui_statement.html",
        statement.title or statement.url,
        {
            "nav": "dashboard",
            "statement": statement_view(statement, source, links, now),
            "source": source,
            "source_link": links.source(source),
            # every source tracking it (their checks share its timeline)
            "tracked_by": [(links.source(name), name) for name in statement.sources or (source,)],
            "raw_url": statement.url,
            "versions": list(reversed(versions)),
            "version_numbers": [s.version for s in snapshots],
            "latest": latest,
            "latest_paragraphs": split_paragraphs(latest.text) if latest else [],
            "events": collapse_errors(event_views(events, state, links, now)),
        },
    )


def _version_views(
    statement: StatementRecord,
    source: str,
    snapshots: Sequence[Snapshot],
    changed: Mapping[int, Event],
    links: Links,
    now: dt.datetime,
) -> list[VersionView]:
    latest = snapshots[-1].version if snapshots else 0
    views: list[VersionView] = []
    previous: Snapshot | None = None
    for snap in snapshots:
        summary = None
        if previous is not None:
            edit = changed.get(snap.version)
            summary = _event_detail(edit) if edit else _summary_by_comparing(previous, snap)
        views.append(
            VersionView(
                version=snap.version,
                fetched=moment(snap.fetched_at, now),
                title=snap.title or statement.url,
                title_changed=previous is not None and previous.title != snap.title,
                paragraphs=len(split_paragraphs(snap.text)),
                characters=len(snap.text),
                summary=summary,
                diff_link=(
                    links.diff(source, statement.url, previous.version, snap.version)
                    if previous is not None
                    else None
                ),
                latest_diff_link=(
                    links.diff(source, statement.url, snap.version, latest)
                    if snap.version < latest - 1
                    else None
                ),
                original_link=(
                    links.original(source, statement.url, snap.version)
                    if snap.archive_file is not None
                    else None
                ),
            )
        )
        previous = snap
    return views


def _summary_by_comparing(old: Snapshot, new: Snapshot) -> str:
    """A version without its `changed` event (an odd state): compare the texts instead."""
    comparison = compare(old.text, new.text)
    similarity = report.format_similarity(comparison.similarity)
    return f"{report.summarize(comparison)} · similarity {similarity}"


def parse_version(value: str | None, name: str) -> int | None:
    """A version number from the query string; blank is None. Raises PageError (400)."""
    if value is None or not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"“{name}” must be a version number, like 1 or 2.") from None
    if number < 1:
        raise bad_request(f"“{name}” must be a version number from 1 up.")
    return number


def diff_versions(statement: StatementRecord, old: int | None, new: int | None) -> tuple[int, int]:
    """The versions to compare: `to` defaults to the latest, `from` to the one before `to`."""
    if statement.version < 1:
        raise not_found(f"No version of {statement.url} has been stored yet.")
    new = new if new is not None else statement.version
    old = old if old is not None else max(1, new - 1)
    for number in (old, new):
        if number > statement.version:
            raise not_found(
                f"{statement.url} has no version {number}: it has versions 1 to "
                f"{statement.version}."
            )
    return old, new


def diff_page(
    store: Store,
    links: Links,
    now: dt.datetime,
    url: str,
    source: str | None,
    old: int | None,
    new: int | None,
) -> Page:
    """The diff of two versions of a statement (the permalink `/diff?url=&from=&to=`)."""
    statement, source_name = find_statement(store, url, source)
    old, new = diff_versions(statement, old, new)
    old_snap = store.snapshot(statement.id, old)
    new_snap = store.snapshot(statement.id, new)
    if old_snap is None or new_snap is None:
        missing = old if old_snap is None else new
        raise not_found(f"Version {missing} of {statement.url} is not in the state.")
    return diff_page_for(links, now, statement, source_name, old_snap, new_snap)


def diff_page_for(
    links: Links,
    now: dt.datetime,
    statement: StatementRecord,
    source: str,
    old: Snapshot,
    new: Snapshot,
) -> Page:
    """The diff page of two snapshots already read."""
    comparison = compare(old.text, new.text)
    context = report.diff_context(
        title=new.title or statement.title,
        url=statement.url,
        source=source,
        from_version=old.version,
        to_version=new.version,
        from_time=utc_text(old.fetched_at),
        to_time=utc_text(new.fetched_at),
        comparison=comparison,
        old_text=old.text,
        new_text=new.text,
        old_title=old.title,
        new_title=new.title,
    )
    latest = statement.version
    url = statement.url
    adjacent = new.version == old.version + 1
    context.update(
        {
            "nav": "dashboard",
            "source_link": links.source(source),
            "statement_link": links.statement(source, url),
            "raw_url": url,
            "earlier": links.diff(source, url, old.version - 1, old.version)
            if adjacent and old.version > 1
            else None,
            "later": links.diff(source, url, new.version, new.version + 1)
            if adjacent and new.version < latest
            else None,
            "permalink": links.diff(source, url, old.version, new.version),
            "version_numbers": list(range(1, latest + 1)),
            "only_version": latest == 1,
        }
    )
    title = f"Changes: {new.title or statement.title or url}"
    return Page("ui_diff.html", title, context)


def events_page(
    store: Store,
    config: Config | None,
    links: Links,
    now: dt.datetime,
    filters: EventFilters,
) -> Page:
    """Every event, newest first, filtered by source, type and date."""
    state = StateView.read(store)
    kinds = [filters.kind] if filters.kind else None
    events = store.events(
        source=filters.source, kinds=kinds, since=filters.since, limit=filters.limit + 1
    )
    more = len(events) > filters.limit
    names = source_names(state, config)
    return Page(
        "ui_events.html",
        "Events",
        {
            "nav": "events",
            "filters": filters,
            "kinds": EVENT_KINDS,
            "source_names": names,
            "events": collapse_errors(event_views(events[: filters.limit], state, links, now)),
            "more": more,
            "more_limit": min(filters.limit * 2, EVENTS_MAX_LIMIT),
            "can_show_more": more and filters.limit < EVENTS_MAX_LIMIT,
        },
    )


# --- rendering -------------------------------------------------------------------------------


def render(page: Page, links: Links, *, meta_csp: str, now: dt.datetime | None = None) -> str:
    """The page's HTML, with the shared variables every `ui_*` template uses."""
    now = now or utcnow()
    generated = moment(now, now)
    template = report.environment().get_template(page.template)
    return template.render(
        {
            **page.context,
            "page_title": page.title,
            "links": links,
            "generated": generated,
            "meta_csp": meta_csp,
        }
    )


def error_page(error: PageError) -> Page:
    return Page(
        "ui_error.html",
        error.heading,
        {"nav": "", "status": error.status, "heading": error.heading, "message": error.message},
    )
