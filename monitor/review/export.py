"""Static export: the review pages written as files that open from disk (`monitor report`).

The export renders the web UI's pages (`monitor.review.views`) with the same templates; only the
links differ: relative file names instead of server paths, and no forms (nothing answers
them on disk). The layout of the folder:

    index.html               the dashboard
    events.html              every event (since --since), newest first
    feed.xml                 the Atom feed of changes, with relative links
    style.css                the stylesheet every page links
    sources/<name>.html      one page per source
    statements/<id>-<slug>.html   one page per statement: its versions
    diffs/<id>-v<N>-v<M>.html     one page per change: version N to M = N+1

`--since DATE` limits the events and the diff files to changes since that date; every source
and statement page is written regardless, so links between pages always resolve.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from monitor.clock import utcnow
from monitor.review import views as ui_pages
from monitor.review.app import stylesheet
from monitor.review.feed import atom_feed
from monitor.sources.config import Config
from monitor.state.records import StatementRecord
from monitor.state.store import Store

# Pages opened from disk get no HTTP headers: the policy is in a <meta> tag. Forms go nowhere.
EXPORT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'"
)

EXPORTED_EVENTS = 1000  # at most, on events.html
FEED_ENTRIES = 50

_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str, limit: int = 48) -> str:
    """A short, file-name-safe form of a title: lower-case ASCII letters, digits and '-'."""
    ascii_text = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:limit].rstrip("-")


def source_file_name(name: str) -> str:
    """A source's file name: its name when plain (config names are), else a safe form."""
    safe = _UNSAFE_IN_FILE_NAME.sub("_", name).lstrip(".") or "source"
    return f"{safe}.html"


# --- what is written -------------------------------------------------------------------------


@dataclass
class ExportPlan:
    """Every file of an export, decided before any is written, so every link resolves."""

    sources: dict[str, str] = field(default_factory=dict)  # name -> sources/<file>
    statements: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, url) ->
    diffs: dict[tuple[str, str, int, int], str] = field(default_factory=dict)  # (.., old, new)


def plan_export(
    store: Store, state: ui_pages.StateView, config: Config | None, since: dt.datetime | None
) -> ExportPlan:
    """The files to write: every source and statement, and each change since `since`."""
    plan = ExportPlan()
    names = ui_pages.source_names(state, config)
    used: set[str] = set()
    for name in names:
        file_name = source_file_name(name)
        while file_name in used:
            file_name = "_" + file_name
        used.add(file_name)
        plan.sources[name] = f"sources/{file_name}"
    for statement in state.statements:
        # one file per statement, linked to under each source tracking it
        tracking = statement.sources or ("",)
        stem = f"{statement.id}-{slug(statement.title or statement.url)}".rstrip("-")
        for source in tracking:
            plan.statements[(source, statement.url)] = f"statements/{stem}.html"
        for snap in store.snapshots(statement.id)[1:]:
            if since is None or snap.fetched_at >= since:
                path = f"diffs/{statement.id}-v{snap.version - 1}-v{snap.version}.html"
                for source in tracking:
                    plan.diffs[(source, statement.url, snap.version - 1, snap.version)] = path
    return plan


@dataclass(frozen=True)
class FileLinks:
    """Links between exported files, relative to a page `prefix` ("" or "../") deep."""

    plan: ExportPlan
    prefix: str = ""
    forms: bool = False

    def _to(self, path: str | None) -> str | None:
        return None if path is None else self.prefix + path

    def home(self) -> str:
        return self.prefix + "index.html"

    def stylesheet(self) -> str:
        return self.prefix + "style.css"

    def events(
        self,
        source: str | None = None,
        kind: str | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> str | None:
        filtered = source or kind or since or limit
        return None if filtered else self.prefix + "events.html"

    def events_form(self) -> str:
        return ""  # no forms on disk

    def diff_form(self) -> str:
        return ""

    def feed(self, source: str | None = None) -> str | None:
        return None if source else self.prefix + "feed.xml"

    def source(self, name: str) -> str | None:
        return self._to(self.plan.sources.get(name))

    def statement(self, source: str, url: str) -> str | None:
        return self._to(self.plan.statements.get((source, url)))

    def diff(self, source: str, url: str, old: int, new: int) -> str | None:
        return self._to(self.plan.diffs.get((source, url, old, new)))

    def original(self, source: str, url: str, version: int) -> str | None:
        return None  # archived pages stay in the archive (`monitor archive export`)


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    out: Path
    pages: int
    diffs: int


def export_report(
    store: Store,
    config: Config | None,
    out: Path,
    *,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> ExportResult:
    """Write the review pages of the state to `out` (created; existing files replaced)."""
    now = now or utcnow()
    state = ui_pages.StateView.read(store)
    plan = plan_export(store, state, config, since)
    top, nested = FileLinks(plan), FileLinks(plan, "../")
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("sources", "statements", "diffs"):
        _real_folder(out / sub)
    _write(out / "style.css", stylesheet()[0])
    pages = 0
    for path, page, links in _pages(store, config, state, plan, top, nested, now, since):
        html = ui_pages.render(page, links, meta_csp=EXPORT_CSP, now=now)
        _write(out / path, html.encode("utf-8"))
        pages += 1
    events = store.events(kinds=ui_pages.CHANGE_KINDS, since=since, limit=FEED_ENTRIES)
    feed = atom_feed(
        ui_pages.event_views(events, state, top, now),
        feed_url="feed.xml",
        home_url="index.html",
        title="statement monitor: changes",
        now=now,
    )
    _write(out / "feed.xml", feed)
    return ExportResult(out, pages, len(plan.diffs))


def _real_folder(path: Path) -> None:
    """A folder of the export, never a symlink to somewhere else (the link is replaced)."""
    if path.is_symlink():
        path.unlink()
    path.mkdir(exist_ok=True)


def _write(path: Path, data: bytes) -> None:
    """Write a file of the export without following a symlink at its name.

    The bytes go to a new file beside it (O_EXCL|O_NOFOLLOW), which then replaces the name:
    a link planted in DIR is replaced itself, its target never written.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _pages(
    store: Store,
    config: Config | None,
    state: ui_pages.StateView,
    plan: ExportPlan,
    top: FileLinks,
    nested: FileLinks,
    now: dt.datetime,
    since: dt.datetime | None,
) -> Iterator[tuple[str, ui_pages.Page, FileLinks]]:
    """Every page with its file path and links, one at a time (a diff page can be large)."""
    yield "index.html", ui_pages.dashboard_page(store, config, top, now, since), top
    filters = ui_pages.EventFilters(since=since, limit=EXPORTED_EVENTS)
    yield "events.html", ui_pages.events_page(store, config, top, now, filters), top
    for name, path in plan.sources.items():
        yield path, ui_pages.source_page(store, config, nested, now, name, since), nested
    for statement in state.statements:
        yield from _statement_pages(store, state, plan, nested, now, statement)


def _statement_pages(
    store: Store,
    state: ui_pages.StateView,
    plan: ExportPlan,
    links: FileLinks,
    now: dt.datetime,
    statement: StatementRecord,
) -> Iterator[tuple[str, ui_pages.Page, FileLinks]]:
    """A statement's page and the diff pages of its exported changes."""
    source = state.source_of(statement)
    snapshots = store.snapshots(statement.id)
    path = plan.statements[(source, statement.url)]
    page = ui_pages.statement_page_for(store, links, now, statement, source, snapshots, state)
    yield path, page, links
    for old, new in zip(snapshots, snapshots[1:], strict=False):
        diff_path = plan.diffs.get((source, statement.url, old.version, new.version))
        if diff_path is not None:
            page = ui_pages.diff_page_for(links, now, statement, source, old, new)
            yield diff_path, page, links
